#include "model/image_resize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace svln::model {
namespace {

// Keys' cubic convolution kernel, a = -0.5, with each library's order of operations (the
// last bit can decide a rounding of the quantised weight).
double cubicFilter(double x, BicubicKernel kernel) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x >= 2.0) return 0.0;
  if (kernel == BicubicKernel::kPillow) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;  // aten cubic_convolution2
}

// For each output index: the first input index, how many inputs it reads, and the
// fixed-point weights (`precision` fraction bits), ksize slots per output.
struct AxisWeights {
  int ksize = 0;
  int precision = 0;
  std::vector<int> first, count;
  std::vector<int32_t> k;
};

AxisWeights computeAxisWeights(int in_size, int out_size, BicubicKernel kernel) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double inv_filter_scale = 1.0 / filter_scale;
  const double support = 2.0 * filter_scale;
  AxisWeights a;
  a.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  a.first.resize(out_size);
  a.count.resize(out_size);
  std::vector<double> w(static_cast<size_t>(out_size) * a.ksize, 0.0);
  double w_max = 0.0;
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    // Truncating casts as in both C implementations (values >= -0.5 before max()).
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = std::clamp(hi - lo, 0, a.ksize);
    double total = 0.0;
    double* wi = &w[static_cast<size_t>(i) * a.ksize];
    for (int j = 0; j < n; ++j) {
      wi[j] = cubicFilter((j + lo - center + 0.5) * inv_filter_scale, kernel);
      total += wi[j];
    }
    for (int j = 0; j < n; ++j) {
      if (total != 0.0) wi[j] /= total;
      w_max = std::max(w_max, wi[j]);
    }
    a.first[i] = lo;
    a.count[i] = n;
  }
  if (kernel == BicubicKernel::kPillow) {
    a.precision = 22;  // PIL: PRECISION_BITS = 32 - 8 - 2
  } else {
    // torch: the largest precision whose doubled largest weight still fits in int16.
    for (a.precision = 0; a.precision < 22; ++a.precision) {
      if (static_cast<int>(0.5 + w_max * (1 << (a.precision + 1))) >= (1 << 15)) break;
    }
  }
  const double unit = static_cast<double>(1 << a.precision);
  a.k.resize(w.size());
  for (size_t j = 0; j < w.size(); ++j) {
    const double v = w[j] * unit;
    a.k[j] = static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);
    if (kernel == BicubicKernel::kTorchUint8) a.k[j] = static_cast<int16_t>(a.k[j]);
  }
  return a;
}

uint8_t clip8(int64_t acc, int precision) {
  const int64_t v = acc >> precision;  // arithmetic shift: floor, as in both C versions
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

// One separable pass along an axis: `stride_in/out` step along the axis, `lines` counts
// the independent 1-D signals, `line_in/out` steps between them (all in elements).
void resamplePass(const uint8_t* in, uint8_t* out, const AxisWeights& a, int out_size,
                  int lines, int channels, size_t line_in, size_t line_out, size_t stride_in,
                  size_t stride_out) {
  const int64_t half = int64_t{1} << (a.precision - 1);
  for (int line = 0; line < lines; ++line) {
    const uint8_t* src = in + line * line_in;
    uint8_t* dst = out + line * line_out;
    for (int i = 0; i < out_size; ++i) {
      const int32_t* k = &a.k[static_cast<size_t>(i) * a.ksize];
      for (int c = 0; c < channels; ++c) {
        int64_t acc = half;
        for (int j = 0; j < a.count[i]; ++j) {
          acc += static_cast<int64_t>(src[(a.first[i] + j) * stride_in + c]) * k[j];
        }
        dst[i * stride_out + c] = clip8(acc, a.precision);
      }
    }
  }
}

}  // namespace

ResizeMatrix bicubicResizeMatrix(int in_size, int out_size, BicubicKernel kernel) {
  if (in_size <= 0 || out_size <= 0)
    throw std::invalid_argument("bicubicResizeMatrix: empty axis " + std::to_string(in_size) +
                                " -> " + std::to_string(out_size));
  const AxisWeights a = computeAxisWeights(in_size, out_size, kernel);
  ResizeMatrix m;
  m.precision = a.precision;
  m.weights.assign(static_cast<size_t>(out_size) * in_size, 0);
  for (int i = 0; i < out_size; ++i)
    for (int j = 0; j < a.count[i]; ++j)
      m.weights[static_cast<size_t>(i) * in_size + a.first[i] + j] =
          a.k[static_cast<size_t>(i) * a.ksize + j];
  return m;
}

std::vector<uint8_t> resizeBicubic(const uint8_t* src, int height, int width, int channels,
                                   int out_height, int out_width, BicubicKernel kernel) {
  if (height <= 0 || width <= 0 || channels <= 0 || out_height <= 0 || out_width <= 0) {
    throw std::invalid_argument("resizeBicubic: empty image " + std::to_string(height) + "x" +
                                std::to_string(width) + " -> " + std::to_string(out_height) +
                                "x" + std::to_string(out_width));
  }
  const size_t c = static_cast<size_t>(channels);
  std::vector<uint8_t> current(src, src + static_cast<size_t>(height) * width * c);
  if (out_width != width) {  // horizontal: rows are the lines
    const AxisWeights a = computeAxisWeights(width, out_width, kernel);
    std::vector<uint8_t> next(static_cast<size_t>(height) * out_width * c);
    resamplePass(current.data(), next.data(), a, out_width, height, channels, width * c,
                 out_width * c, c, c);
    current.swap(next);
  }
  if (out_height != height) {  // vertical: columns are the lines
    const AxisWeights a = computeAxisWeights(height, out_height, kernel);
    std::vector<uint8_t> next(static_cast<size_t>(out_height) * out_width * c);
    resamplePass(current.data(), next.data(), a, out_height, out_width, channels, c, c,
                 out_width * c, out_width * c);
    current.swap(next);
  }
  return current;
}

}  // namespace svln::model
