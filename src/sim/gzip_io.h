// Whole-file reads and atomic writes, gzip-aware (zlib). Used for the `.json.gz` episode
// files and anything else the project stores compressed.
#pragma once

#include <cstddef>
#include <string>

namespace svln::sim {

// Reads a whole file. When the name ends in ".gz" (or the bytes start with the gzip magic
// 1f 8b) the content is decompressed; a truncated or corrupt stream throws
// std::runtime_error("<path>: <problem>").
std::string readFileMaybeGzip(const std::string& path);

// gzip-compresses `data` with a deterministic header (no name, mtime 0, OS "unknown"), so
// the same input always gives the same bytes.
std::string gzipCompress(const std::string& data, int level = 6);
// Decompresses one or more concatenated gzip members. `what` names the source in errors.
// Refuses to inflate past max_bytes (default 4 GiB: a small file that inflates further is a
// gzip bomb, not data), naming `what`.
std::string gzipDecompress(const std::string& data, const std::string& what,
                           size_t max_bytes = size_t{4} << 30);

// Writes `data` to `path` atomically: a temp file beside it is written, flushed, then
// renamed over the target, so readers never see half a file. Compresses when the name
// ends in ".gz".
void writeFileAtomic(const std::string& path, const std::string& data);

// Deletes `path` and everything under it (symbolic links themselves, never their targets);
// nothing to do when it does not exist. Throws std::runtime_error("<path>: cannot remove:
// <reason>"). Walks the tree with nftw: std::filesystem::remove_all crashed the GPU build,
// linked against the PyTorch wheel's libtorch (docs/benchmarks.md).
void removeTree(const std::string& path);
// `path` as a new, empty directory (whatever was there is removed first).
void freshDirectory(const std::string& path);
// Publishes the finished directory `staged` as `target`: an older `target` is removed and
// `staged` renamed into place, so `target` is never a half-written directory.
void publishDirectory(const std::string& staged, const std::string& target);

bool endsWith(const std::string& s, const std::string& suffix);

}  // namespace svln::sim
