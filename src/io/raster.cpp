#include "io/raster.h"

#include <stb/stb_easy_font.h>

#include <algorithm>
#include <cmath>

namespace svln::io {

Image::Image(int w, int h, Color fill) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3) {
  for (size_t i = 0; i < rgb.size(); i += 3) {
    rgb[i] = fill.r;
    rgb[i + 1] = fill.g;
    rgb[i + 2] = fill.b;
  }
}

void blendPixel(Image& img, int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height || c.a == 0) return;
  uint8_t* p = img.at(x, y);
  if (c.a == 255) {
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
    return;
  }
  const int a = c.a;
  // Integer blend with rounding: (a*c + (255-a)*p + 127) / 255.
  p[0] = static_cast<uint8_t>((a * c.r + (255 - a) * p[0] + 127) / 255);
  p[1] = static_cast<uint8_t>((a * c.g + (255 - a) * p[1] + 127) / 255);
  p[2] = static_cast<uint8_t>((a * c.b + (255 - a) * p[2] + 127) / 255);
}

void fillRect(Image& img, float x0, float y0, float x1, float y1, Color c) {
  // Pixels whose centre (x+0.5) lies in [x0, x1).
  const int xa = std::max(0, static_cast<int>(std::ceil(std::min(x0, x1) - 0.5f)));
  const int xb = std::min(img.width, static_cast<int>(std::ceil(std::max(x0, x1) - 0.5f)));
  const int ya = std::max(0, static_cast<int>(std::ceil(std::min(y0, y1) - 0.5f)));
  const int yb = std::min(img.height, static_cast<int>(std::ceil(std::max(y0, y1) - 0.5f)));
  for (int y = ya; y < yb; ++y)
    for (int x = xa; x < xb; ++x) blendPixel(img, x, y, c);
}

void drawLine(Image& img, PointF a, PointF b, float thickness, Color c) {
  const float r = std::max(0.5f, thickness * 0.5f);
  const int xa = std::max(0, static_cast<int>(std::floor(std::min(a.x, b.x) - r)));
  const int xb = std::min(img.width - 1, static_cast<int>(std::ceil(std::max(a.x, b.x) + r)));
  const int ya = std::max(0, static_cast<int>(std::floor(std::min(a.y, b.y) - r)));
  const int yb = std::min(img.height - 1, static_cast<int>(std::ceil(std::max(a.y, b.y) + r)));
  const float dx = b.x - a.x, dy = b.y - a.y;
  const float len2 = dx * dx + dy * dy;
  for (int y = ya; y <= yb; ++y) {
    for (int x = xa; x <= xb; ++x) {
      const float px = x + 0.5f - a.x, py = y + 0.5f - a.y;
      // Distance from the pixel centre to the segment: project, clamp t to [0,1].
      const float t = len2 > 0.f ? std::clamp((px * dx + py * dy) / len2, 0.f, 1.f) : 0.f;
      const float ex = px - t * dx, ey = py - t * dy;
      if (ex * ex + ey * ey <= r * r) blendPixel(img, x, y, c);
    }
  }
}

void drawPolyline(Image& img, const std::vector<PointF>& pts, float thickness, Color c) {
  for (size_t i = 1; i < pts.size(); ++i) drawLine(img, pts[i - 1], pts[i], thickness, c);
}

void fillCircle(Image& img, PointF o, float radius, Color c) {
  drawLine(img, o, o, 2.f * radius, c);
}

void drawCircle(Image& img, PointF o, float radius, float thickness, Color c) {
  const float r_out = radius + thickness * 0.5f, r_in = std::max(0.f, radius - thickness * 0.5f);
  const int xa = std::max(0, static_cast<int>(std::floor(o.x - r_out)));
  const int xb = std::min(img.width - 1, static_cast<int>(std::ceil(o.x + r_out)));
  const int ya = std::max(0, static_cast<int>(std::floor(o.y - r_out)));
  const int yb = std::min(img.height - 1, static_cast<int>(std::ceil(o.y + r_out)));
  for (int y = ya; y <= yb; ++y) {
    for (int x = xa; x <= xb; ++x) {
      const float dx = x + 0.5f - o.x, dy = y + 0.5f - o.y;
      const float d2 = dx * dx + dy * dy;
      if (d2 <= r_out * r_out && d2 >= r_in * r_in) blendPixel(img, x, y, c);
    }
  }
}

void fillPolygon(Image& img, const std::vector<PointF>& pts, Color c) {
  if (pts.size() < 3) return;
  float ymin = pts[0].y, ymax = pts[0].y;
  for (const PointF& p : pts) {
    ymin = std::min(ymin, p.y);
    ymax = std::max(ymax, p.y);
  }
  const int ya = std::max(0, static_cast<int>(std::floor(ymin)));
  const int yb = std::min(img.height - 1, static_cast<int>(std::ceil(ymax)));
  std::vector<float> xs;
  for (int y = ya; y <= yb; ++y) {
    const float sy = y + 0.5f;
    xs.clear();
    for (size_t i = 0, j = pts.size() - 1; i < pts.size(); j = i++) {
      const PointF& p = pts[i];
      const PointF& q = pts[j];
      // Half-open rule (p.y <= sy < q.y or the reverse) so shared vertices count once.
      if ((p.y <= sy) != (q.y <= sy)) xs.push_back(p.x + (sy - p.y) * (q.x - p.x) / (q.y - p.y));
    }
    std::sort(xs.begin(), xs.end());
    for (size_t k = 0; k + 1 < xs.size(); k += 2) {
      const int xa = std::max(0, static_cast<int>(std::ceil(xs[k] - 0.5f)));
      const int xb = std::min(img.width, static_cast<int>(std::ceil(xs[k + 1] - 0.5f)));
      for (int x = xa; x < xb; ++x) blendPixel(img, x, y, c);
    }
  }
}

namespace {

// stb_easy_font emits axis-aligned quads: 4 vertices of {float x, y, z; uint8 rgba[4]}.
struct FontVertex {
  float x, y, z;
  unsigned char color[4];
};

// The font covers printable ASCII only; anything else (UTF-8 bytes, tabs) becomes '?'.
std::vector<char> fontText(const std::string& text) {
  std::vector<char> buf;
  buf.reserve(text.size() + 1);
  for (char ch : text) buf.push_back(ch == '\n' || (ch >= 32 && ch < 127) ? ch : '?');
  buf.push_back('\0');
  return buf;
}

}  // namespace

int drawText(Image& img, float x, float y, const std::string& text, Color c, int scale) {
  std::vector<char> buf = fontText(text);
  // At most ~20 segments (one quad = 4 vertices) per glyph.
  std::vector<FontVertex> verts(buf.size() * 80 + 64);
  const int quads = stb_easy_font_print(0.f, 0.f, buf.data(), nullptr, verts.data(),
                                        static_cast<int>(verts.size() * sizeof(FontVertex)));
  for (int q = 0; q < quads; ++q) {
    const FontVertex* v = &verts[static_cast<size_t>(q) * 4];
    fillRect(img, x + v[0].x * scale, y + v[0].y * scale, x + v[2].x * scale, y + v[2].y * scale,
             c);
  }
  return textWidth(text, scale);
}

int textWidth(const std::string& text, int scale) {
  std::vector<char> buf = fontText(text);
  return stb_easy_font_width(buf.data()) * scale;
}

int textHeight(const std::string& text, int scale) {
  std::vector<char> buf = fontText(text);
  return stb_easy_font_height(buf.data()) * scale;
}

void blit(Image& dst, const Image& src, int x, int y) {
  for (int sy = 0; sy < src.height; ++sy) {
    const int dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    for (int sx = 0; sx < src.width; ++sx) {
      const int dx = x + sx;
      if (dx < 0 || dx >= dst.width) continue;
      const uint8_t* s = src.at(sx, sy);
      uint8_t* d = dst.at(dx, dy);
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
}

Image resizeNearest(const Image& src, int w, int h) {
  Image out(w, h);
  if (src.width == 0 || src.height == 0) return out;
  for (int y = 0; y < h; ++y) {
    const int sy = std::min(src.height - 1, y * src.height / h);
    for (int x = 0; x < w; ++x) {
      const int sx = std::min(src.width - 1, x * src.width / w);
      const uint8_t* s = src.at(sx, sy);
      uint8_t* d = out.at(x, y);
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
  return out;
}

}  // namespace svln::io
