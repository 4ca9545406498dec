// A tiny RGB raster for maps, plots and video frames: anti-aliasing-free shapes with
// alpha blending and a built-in bitmap font (stb_easy_font). Pixel centres are at
// integer + 0.5; (0,0) is the top-left corner, y grows downwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace svln::io {

struct Color {
  uint8_t r = 0, g = 0, b = 0, a = 255;
};

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel

  Image() = default;
  Image(int w, int h, Color fill = {255, 255, 255, 255});
  uint8_t* at(int x, int y) { return rgb.data() + (static_cast<size_t>(y) * width + x) * 3; }
  const uint8_t* at(int x, int y) const {
    return rgb.data() + (static_cast<size_t>(y) * width + x) * 3;
  }
};

struct PointF {
  float x = 0.f, y = 0.f;
};

// out = a*c + (1-a)*out per channel, a = c.a/255.
void blendPixel(Image& img, int x, int y, Color c);
void fillRect(Image& img, float x0, float y0, float x1, float y1, Color c);
// Pixels whose centre lies within thickness/2 of the segment (a capsule).
void drawLine(Image& img, PointF a, PointF b, float thickness, Color c);
void drawPolyline(Image& img, const std::vector<PointF>& pts, float thickness, Color c);
void fillCircle(Image& img, PointF centre, float radius, Color c);
// Ring of the given thickness centred on the circle of `radius`.
void drawCircle(Image& img, PointF centre, float radius, float thickness, Color c);
// Even-odd scanline fill; each pixel is written once, so alpha does not stack.
void fillPolygon(Image& img, const std::vector<PointF>& pts, Color c);
// Text with its top-left corner at (x, y); `scale` multiplies the ~7 px high glyphs.
// Returns the width in pixels. '\n' starts a new line.
int drawText(Image& img, float x, float y, const std::string& text, Color c, int scale = 1);
int textWidth(const std::string& text, int scale = 1);
int textHeight(const std::string& text, int scale = 1);
// Copies src into dst with its top-left corner at (x, y), clipped.
void blit(Image& dst, const Image& src, int x, int y);
// Nearest-neighbour resize (frames are shown at a fixed size beside the map).
Image resizeNearest(const Image& src, int w, int h);

}  // namespace svln::io
