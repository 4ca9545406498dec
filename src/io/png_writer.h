// PNG files and in-memory PNGs (for data: URIs in report.html), through Debian's libstb.
#pragma once

#include <string>

#include "io/raster.h"

namespace svln::io {

// PNG bytes of an RGB image. Throws std::runtime_error when the encoder fails.
std::string encodePng(const Image& img);
// Writes atomically (temp file + rename). Throws "<path>: <problem>".
void writePng(const std::string& path, const Image& img);
// "data:image/png;base64,...".
std::string pngDataUri(const std::string& png_bytes);
std::string base64Encode(const std::string& bytes);

}  // namespace svln::io
