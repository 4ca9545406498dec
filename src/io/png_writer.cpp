#include "io/png_writer.h"

#include <stb/stb_image_write.h>

#include <stdexcept>

#include "sim/gzip_io.h"

namespace svln::io {
namespace {

void appendBytes(void* ctx, void* data, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace

std::string encodePng(const Image& img) {
  if (img.width <= 0 || img.height <= 0 ||
      img.rgb.size() != static_cast<size_t>(img.width) * img.height * 3)
    throw std::runtime_error("png: image has no pixels or a wrong buffer size");
  std::string out;
  if (!stbi_write_png_to_func(appendBytes, &out, img.width, img.height, 3, img.rgb.data(),
                              img.width * 3))
    throw std::runtime_error("png: encoder failed");
  return out;
}

void writePng(const std::string& path, const Image& img) {
  std::string bytes;
  try {
    bytes = encodePng(img);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  sim::writeFileAtomic(path, bytes);
}

std::string base64Encode(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  // Every 3 bytes -> 4 sextets; the tail is padded with '='.
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string pngDataUri(const std::string& png_bytes) {
  return "data:image/png;base64," + base64Encode(png_bytes);
}

}  // namespace svln::io
