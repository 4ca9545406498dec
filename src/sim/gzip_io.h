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

bool endsWith(const std::string& s, const std::string& suffix);

}  // namespace svln::sim
