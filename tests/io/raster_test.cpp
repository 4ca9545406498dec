#include "io/raster.h"

#include <gtest/gtest.h>
#include <stb/stb_image.h>

#include "io/png_writer.h"

namespace svln::io {
namespace {

int countColor(const Image& img, Color c) {
  int n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = img.at(x, y);
      n += p[0] == c.r && p[1] == c.g && p[2] == c.b;
    }
  return n;
}

TEST(Raster, AlphaBlendRoundsTowardsTheNearestByte) {
  Image img(1, 1);  // white
  blendPixel(img, 0, 0, Color{255, 0, 0, 128});
  // (128*255 + 127*255 + 127)/255 = 255 for red; (0 + 127*255 + 127)/255 = 127 for green.
  EXPECT_EQ(img.at(0, 0)[0], 255);
  EXPECT_EQ(img.at(0, 0)[1], 127);
  EXPECT_EQ(img.at(0, 0)[2], 127);
  blendPixel(img, 5, 5, Color{0, 0, 0, 255});  // outside: ignored, no crash
}

TEST(Raster, ShapesCoverThePixelsWhoseCentresTheyContain) {
  const Color k{0, 0, 0, 255};
  Image a(20, 20);
  fillRect(a, 0.f, 0.f, 2.f, 3.f, k);
  EXPECT_EQ(countColor(a, k), 6);

  Image b(20, 20);
  drawLine(b, {0.5f, 5.5f}, {9.5f, 5.5f}, 1.f, k);  // row 5, x = 0..9
  EXPECT_EQ(countColor(b, k), 10);
  EXPECT_EQ(b.at(9, 5)[0], 0);
  EXPECT_EQ(b.at(10, 5)[0], 255);
  EXPECT_EQ(b.at(5, 4)[0], 255);

  // Centres at offsets +-0.5 (4 pixels, d^2 = 0.5) and (+-0.5, +-1.5) (8 pixels, d^2 = 2.5)
  // lie within r = 2; (+-1.5, +-1.5) has d^2 = 4.5 > 4.
  Image c(20, 20);
  fillCircle(c, {5.f, 5.f}, 2.f, k);
  EXPECT_EQ(countColor(c, k), 12);

  // A 4 x 4 square of half-transparent red: each pixel blended exactly once.
  Image d(20, 20);
  fillPolygon(d, {{2, 2}, {6, 2}, {6, 6}, {2, 6}}, Color{255, 0, 0, 128});
  EXPECT_EQ(countColor(d, Color{255, 127, 127, 255}), 16);
}

TEST(Raster, TextDrawsGlyphsAndMeasuresThem) {
  Image img(60, 20);
  const Color k{0, 0, 0, 255};
  const int w = drawText(img, 2.f, 2.f, "SR 0.5", k);
  EXPECT_EQ(w, textWidth("SR 0.5"));
  EXPECT_GT(w, 20);
  EXPECT_GT(countColor(img, k), 20);
  EXPECT_EQ(textWidth("ab", 2), 2 * textWidth("ab"));
  // Bytes outside printable ASCII are drawn as '?', never read past the font tables.
  EXPECT_EQ(textWidth("\xc3\xa9"), textWidth("??"));
}

TEST(PngWriter, EncodesPixelsThatDecodeBackExactly) {
  Image img(3, 2);
  img.at(1, 0)[0] = 10;
  img.at(2, 1)[2] = 200;
  const std::string png = encodePng(img);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  int w = 0, h = 0, n = 0;
  unsigned char* px = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()),
                                            static_cast<int>(png.size()), &w, &h, &n, 3);
  ASSERT_NE(px, nullptr);
  EXPECT_EQ(w, 3);
  EXPECT_EQ(h, 2);
  EXPECT_EQ(std::vector<uint8_t>(px, px + 18), img.rgb);
  stbi_image_free(px);
  EXPECT_THROW(encodePng(Image()), std::runtime_error);
}

TEST(PngWriter, Base64MatchesRfc4648) {
  EXPECT_EQ(base64Encode("Man"), "TWFu");
  EXPECT_EQ(base64Encode("Ma"), "TWE=");
  EXPECT_EQ(base64Encode("M"), "TQ==");
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(pngDataUri("M"), "data:image/png;base64,TQ==");
}

}  // namespace
}  // namespace svln::io
