#include "sim/renderer.h"

#include <embree3/rtcore.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace svln::sim {
namespace {

constexpr float kDegToRad = 3.14159265358979323846f / 180.f;
constexpr int kSrgbLutSize = 4096;  // linear [0,1] quantised to 12 bits before encoding

// Packet types and entry points per width; tiles are TW x TH pixels, one packet each.
template <int N>
struct Packet;
template <>
struct Packet<4> {
  using RayHit = RTCRayHit4;
  static constexpr int kTileW = 2, kTileH = 2;
  static void intersect(const int* valid, RTCScene s, RTCIntersectContext* c, RayHit* r) {
    rtcIntersect4(valid, s, c, r);
  }
};
template <>
struct Packet<8> {
  using RayHit = RTCRayHit8;
  static constexpr int kTileW = 4, kTileH = 2;
  static void intersect(const int* valid, RTCScene s, RTCIntersectContext* c, RayHit* r) {
    rtcIntersect8(valid, s, c, r);
  }
};
template <>
struct Packet<16> {
  using RayHit = RTCRayHit16;
  static constexpr int kTileW = 4, kTileH = 4;
  static void intersect(const int* valid, RTCScene s, RTCIntersectContext* c, RayHit* r) {
    rtcIntersect16(valid, s, c, r);
  }
};

void embreeError(void* /*user*/, RTCError code, const char* msg) {
  spdlog::error("embree error {}: {}", static_cast<int>(code), msg ? msg : "");
}

float srgbToLinear(float c) {
  return c <= 0.04045f ? c / 12.92f : std::pow((c + 0.055f) / 1.055f, 2.4f);
}
float linearToSrgb(float c) {
  return c <= 0.0031308f ? 12.92f * c : 1.055f * std::pow(c, 1.f / 2.4f) - 0.055f;
}

// Per-material shading record; textures stay 8-bit sRGB and are decoded through a LUT.
struct ShadeMaterial {
  float r, g, b;     // linear base colour
  int texture = -1;  // index into Impl::textures
};

struct TextureView {
  int width, height;
  const uint8_t* rgb;
};

// Camera frame for one render: ray direction for pixel (col, row) is
//   dir = forward + right * sx(col) + up * sy(row),
//   sx = ((col + 0.5) / W * 2 - 1) * tan(hfov/2),  sy = (1 - (row + 0.5) / H * 2) * tan(vfov/2),
// so dir's component along the optical axis is 1 and the hit distance t is the z-depth.
struct Frame {
  Vec3 eye, fwd, right;
  float sx0, dsx, sy0, dsy;  // sx = sx0 + col * dsx, sy = sy0 + row * dsy
  float tfar;
};

}  // namespace

struct Renderer::Impl {
  RTCDevice device = nullptr;
  RTCScene scene = nullptr;
  int packet_width = 1;               // 16, 8 or 4 when Embree has native packets; 1 = single rays
  std::vector<int32_t> tri_material;  // index into materials, -1 = default grey
  std::vector<float> tri_uv;          // 6 per triangle (u0 v0 u1 v1 u2 v2); empty when untextured
  std::vector<ShadeMaterial> materials;
  std::vector<std::vector<uint8_t>> texture_data;
  std::vector<TextureView> textures;
  std::array<float, 256> srgb_to_linear{};
  std::array<uint8_t, kSrgbLutSize> linear_to_srgb{};

  explicit Impl(const Mesh& mesh);
  ~Impl();

  void buildScene(const Mesh& mesh);
  void buildShading(const Mesh& mesh);

  template <int N>
  void renderPackets(const CameraSpec& cam, const Frame& f, uint8_t* rgb, float* depth) const;
  template <int N>
  void intersect(const int* valid, RTCIntersectContext* ctx, typename Packet<N>::RayHit* rh) const;
  void shade(int prim, float u, float v, float ngx, float ngy, float ngz, const Vec3& dir,
             uint8_t* out) const;
  void sampleTexture(const TextureView& tex, float u, float v, float* out) const;

  uint8_t encode(float linear) const {
    const float x = std::min(std::max(linear, 0.f), 1.f);
    return linear_to_srgb[static_cast<int>(x * (kSrgbLutSize - 1) + 0.5f)];
  }
};

Renderer::Impl::Impl(const Mesh& mesh) {
  for (int i = 0; i < 256; ++i) srgb_to_linear[i] = srgbToLinear(i / 255.f);
  for (int i = 0; i < kSrgbLutSize; ++i) {
    const float s = linearToSrgb(static_cast<float>(i) / (kSrgbLutSize - 1));
    linear_to_srgb[i] = static_cast<uint8_t>(std::lround(std::min(std::max(s, 0.f), 1.f) * 255.f));
  }
  buildShading(mesh);
  buildScene(mesh);
}

Renderer::Impl::~Impl() {
  if (scene) rtcReleaseScene(scene);
  if (device) rtcReleaseDevice(device);
}

void Renderer::Impl::buildShading(const Mesh& mesh) {
  const size_t ntri = mesh.numTriangles();
  if (mesh.indices.size() % 3 != 0)
    throw std::runtime_error("renderer: mesh index count " + std::to_string(mesh.indices.size()) +
                             " is not a multiple of 3");
  for (uint32_t i : mesh.indices)
    if (i >= mesh.positions.size())
      throw std::runtime_error("renderer: mesh index " + std::to_string(i) + " out of range (" +
                               std::to_string(mesh.positions.size()) + " positions)");
  if (!mesh.triangle_material.empty() && mesh.triangle_material.size() != ntri)
    throw std::runtime_error("renderer: mesh has " + std::to_string(mesh.triangle_material.size()) +
                             " triangle materials for " + std::to_string(ntri) + " triangles");
  if (!mesh.uvs.empty() && mesh.uvs.size() != mesh.positions.size())
    throw std::runtime_error("renderer: mesh has " + std::to_string(mesh.uvs.size()) + " uvs for " +
                             std::to_string(mesh.positions.size()) + " positions");

  for (const Texture& t : mesh.textures) {
    if (t.width <= 0 || t.height <= 0 ||
        t.rgb.size() != static_cast<size_t>(t.width) * t.height * 3)
      throw std::runtime_error("renderer: texture of " + std::to_string(t.width) + "x" +
                               std::to_string(t.height) + " has " + std::to_string(t.rgb.size()) +
                               " bytes");
    texture_data.push_back(t.rgb);
  }
  for (size_t i = 0; i < texture_data.size(); ++i)
    textures.push_back({mesh.textures[i].width, mesh.textures[i].height, texture_data[i].data()});

  bool any_texture = false;
  for (const Material& m : mesh.materials) {
    const int tex =
        (m.texture >= 0 && m.texture < static_cast<int>(textures.size())) ? m.texture : -1;
    if (m.texture >= static_cast<int>(textures.size()))
      throw std::runtime_error("renderer: material '" + m.name + "' refers to texture " +
                               std::to_string(m.texture) + " of " +
                               std::to_string(textures.size()));
    any_texture |= tex >= 0;
    materials.push_back({m.base_color.x, m.base_color.y, m.base_color.z, tex});
  }

  tri_material.assign(ntri, -1);
  for (size_t t = 0; t < mesh.triangle_material.size(); ++t) {
    const int32_t m = mesh.triangle_material[t];
    tri_material[t] = (m >= 0 && m < static_cast<int32_t>(materials.size())) ? m : -1;
  }
  if (any_texture && !mesh.uvs.empty()) {
    tri_uv.resize(ntri * 6);
    for (size_t t = 0; t < ntri; ++t)
      for (int k = 0; k < 3; ++k) {
        const Vec2& uv = mesh.uvs[mesh.indices[t * 3 + k]];
        tri_uv[t * 6 + k * 2] = uv.u;
        tri_uv[t * 6 + k * 2 + 1] = uv.v;
      }
  } else {
    for (ShadeMaterial& m : materials) m.texture = -1;  // nothing to sample without uvs
  }
}

void Renderer::Impl::buildScene(const Mesh& mesh) {
  device = rtcNewDevice("verbose=0");
  if (!device)
    throw std::runtime_error("renderer: cannot create Embree device (error " +
                             std::to_string(static_cast<int>(rtcGetDeviceError(nullptr))) + ")");
  rtcSetDeviceErrorFunction(device, embreeError, nullptr);
  if (rtcGetDeviceProperty(device, RTC_DEVICE_PROPERTY_NATIVE_RAY16_SUPPORTED))
    packet_width = 16;
  else if (rtcGetDeviceProperty(device, RTC_DEVICE_PROPERTY_NATIVE_RAY8_SUPPORTED))
    packet_width = 8;
  else if (rtcGetDeviceProperty(device, RTC_DEVICE_PROPERTY_NATIVE_RAY4_SUPPORTED))
    packet_width = 4;

  // Static scene, best BVH (spatial splits): scenes are built once and traced millions of times.
  scene = rtcNewScene(device);
  rtcSetSceneFlags(scene, RTC_SCENE_FLAG_NONE);
  rtcSetSceneBuildQuality(scene, RTC_BUILD_QUALITY_HIGH);
  const size_t ntri = mesh.numTriangles();
  if (ntri > 0) {
    RTCGeometry geom = rtcNewGeometry(device, RTC_GEOMETRY_TYPE_TRIANGLE);
    rtcSetGeometryBuildQuality(geom, RTC_BUILD_QUALITY_HIGH);
    auto* vb = static_cast<float*>(rtcSetNewGeometryBuffer(geom, RTC_BUFFER_TYPE_VERTEX, 0,
                                                           RTC_FORMAT_FLOAT3, 3 * sizeof(float),
                                                           mesh.positions.size()));
    auto* ib = static_cast<uint32_t*>(rtcSetNewGeometryBuffer(
        geom, RTC_BUFFER_TYPE_INDEX, 0, RTC_FORMAT_UINT3, 3 * sizeof(uint32_t), ntri));
    if (!vb || !ib) {
      rtcReleaseGeometry(geom);
      throw std::runtime_error("renderer: Embree could not allocate buffers for " +
                               std::to_string(ntri) + " triangles");
    }
    for (size_t i = 0; i < mesh.positions.size(); ++i) {
      vb[i * 3] = mesh.positions[i].x;
      vb[i * 3 + 1] = mesh.positions[i].y;
      vb[i * 3 + 2] = mesh.positions[i].z;
    }
    std::copy(mesh.indices.begin(), mesh.indices.end(), ib);
    rtcCommitGeometry(geom);
    rtcAttachGeometry(scene, geom);
    rtcReleaseGeometry(geom);
  }
  rtcCommitScene(scene);
  if (rtcGetDeviceError(device) != RTC_ERROR_NONE)
    throw std::runtime_error("renderer: Embree failed to build the scene of " +
                             std::to_string(ntri) + " triangles");
  spdlog::debug("renderer: {} triangles, {} materials, {} textures, packets of {}", ntri,
                materials.size(), textures.size(), packet_width);
}

// Wrapped bilinear lookup in linear space; (u, v) = (0, 0) is the image's top-left corner.
void Renderer::Impl::sampleTexture(const TextureView& tex, float u, float v, float* out) const {
  const float x = u * tex.width - 0.5f, y = v * tex.height - 0.5f;
  const float fx0 = std::floor(x), fy0 = std::floor(y);
  const float ax = x - fx0, ay = y - fy0;
  auto wrap = [](float i, int n) {  // i is integral; uvs beyond +-2^63 texels are not a concern
    const int k = static_cast<int>(static_cast<int64_t>(i) % n);
    return k < 0 ? k + n : k;
  };
  const int x0 = wrap(fx0, tex.width), y0 = wrap(fy0, tex.height);
  const int x1 = x0 + 1 == tex.width ? 0 : x0 + 1, y1 = y0 + 1 == tex.height ? 0 : y0 + 1;
  const uint8_t* r0 = tex.rgb + static_cast<size_t>(y0) * tex.width * 3;
  const uint8_t* r1 = tex.rgb + static_cast<size_t>(y1) * tex.width * 3;
  const float w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
  for (int c = 0; c < 3; ++c)
    out[c] = w00 * srgb_to_linear[r0[x0 * 3 + c]] + w10 * srgb_to_linear[r0[x1 * 3 + c]] +
             w01 * srgb_to_linear[r1[x0 * 3 + c]] + w11 * srgb_to_linear[r1[x1 * 3 + c]];
}

void Renderer::Impl::shade(int prim, float u, float v, float ngx, float ngy, float ngz,
                           const Vec3& dir, uint8_t* out) const {
  float albedo[3] = {0.8f, 0.8f, 0.8f};
  const int m = tri_material[prim];
  if (m >= 0) {
    const ShadeMaterial& mat = materials[m];
    albedo[0] = mat.r, albedo[1] = mat.g, albedo[2] = mat.b;
    if (mat.texture >= 0) {
      // Barycentric interpolation: uv = (1-u-v) uv0 + u uv1 + v uv2.
      const float* t = &tri_uv[static_cast<size_t>(prim) * 6];
      const float w0 = 1.f - u - v;
      float texel[3];
      sampleTexture(textures[mat.texture], w0 * t[0] + u * t[2] + v * t[4],
                    w0 * t[1] + u * t[3] + v * t[5], texel);
      for (int c = 0; c < 3; ++c) albedo[c] *= texel[c];
    }
  }
  // Two-sided: flip the normal to face the camera, i.e. against the ray direction.
  const float len2 = ngx * ngx + ngy * ngy + ngz * ngz;
  float inv = len2 > 0 ? 1.f / std::sqrt(len2) : 0.f;
  if (ngx * dir.x + ngy * dir.y + ngz * dir.z > 0) inv = -inv;
  const float ndotl = (ngx * kShadeToLight.x + ngy * kShadeToLight.y + ngz * kShadeToLight.z) * inv;
  const float light = kShadeAmbient + kShadeDiffuse * std::max(ndotl, 0.f);
  for (int c = 0; c < 3; ++c) out[c] = encode(albedo[c] * light);
}

template <int N>
void Renderer::Impl::intersect(const int* valid, RTCIntersectContext* ctx,
                               typename Packet<N>::RayHit* rh) const {
  if (packet_width == N) {
    Packet<N>::intersect(valid, scene, ctx, rh);
    return;
  }
  for (int k = 0; k < N; ++k) {  // Embree without packet support: trace lane by lane
    if (!valid[k]) continue;
    RTCRayHit one{};
    one.ray.org_x = rh->ray.org_x[k], one.ray.org_y = rh->ray.org_y[k];
    one.ray.org_z = rh->ray.org_z[k];
    one.ray.dir_x = rh->ray.dir_x[k], one.ray.dir_y = rh->ray.dir_y[k];
    one.ray.dir_z = rh->ray.dir_z[k];
    one.ray.tnear = rh->ray.tnear[k], one.ray.tfar = rh->ray.tfar[k];
    one.ray.mask = rh->ray.mask[k];
    one.hit.geomID = RTC_INVALID_GEOMETRY_ID;
    rtcIntersect1(scene, ctx, &one);
    rh->ray.tfar[k] = one.ray.tfar;
    rh->hit.geomID[k] = one.hit.geomID, rh->hit.primID[k] = one.hit.primID;
    rh->hit.u[k] = one.hit.u, rh->hit.v[k] = one.hit.v;
    rh->hit.Ng_x[k] = one.hit.Ng_x, rh->hit.Ng_y[k] = one.hit.Ng_y, rh->hit.Ng_z[k] = one.hit.Ng_z;
  }
}

template <int N>
void Renderer::Impl::renderPackets(const CameraSpec& cam, const Frame& f, uint8_t* rgb,
                                   float* depth) const {
  using P = Packet<N>;
  RTCIntersectContext ctx;
  rtcInitIntersectContext(&ctx);
  ctx.flags = RTC_INTERSECT_CONTEXT_FLAG_COHERENT;  // primary rays of a tile are coherent
  const int W = cam.width, H = cam.height;
  const float dmin = cam.min_depth_m, dmax = cam.max_depth_m;
  const float dmiss = cam.miss_reads_max_depth ? dmax : dmin;
  const float scale = cam.normalize_depth ? 1.f / (dmax - dmin) : 1.f;
  const float offset = cam.normalize_depth ? dmin : 0.f;
  alignas(64) int valid[N];
  alignas(64) typename P::RayHit rh;
  for (int ty = 0; ty < H; ty += P::kTileH) {
    for (int tx = 0; tx < W; tx += P::kTileW) {
      for (int k = 0; k < N; ++k) {
        const int col = tx + k % P::kTileW, row = ty + k / P::kTileW;
        valid[k] = (col < W && row < H) ? -1 : 0;
        const float sx = f.sx0 + col * f.dsx, sy = f.sy0 + row * f.dsy;
        rh.ray.org_x[k] = f.eye.x, rh.ray.org_y[k] = f.eye.y, rh.ray.org_z[k] = f.eye.z;
        rh.ray.dir_x[k] = f.fwd.x + f.right.x * sx;
        rh.ray.dir_y[k] = sy;  // forward and right are horizontal, up = +Y
        rh.ray.dir_z[k] = f.fwd.z + f.right.z * sx;
        rh.ray.tnear[k] = 0.f, rh.ray.tfar[k] = f.tfar, rh.ray.time[k] = 0.f;
        rh.ray.mask[k] = ~0u, rh.ray.id[k] = k, rh.ray.flags[k] = 0;
        rh.hit.geomID[k] = RTC_INVALID_GEOMETRY_ID;
        rh.hit.instID[0][k] = RTC_INVALID_GEOMETRY_ID;
      }
      intersect<N>(valid, &ctx, &rh);
      for (int k = 0; k < N; ++k) {
        if (!valid[k]) continue;
        const size_t pix = static_cast<size_t>(ty + k / P::kTileW) * W + tx + k % P::kTileW;
        const bool hit = rh.hit.geomID[k] != RTC_INVALID_GEOMETRY_ID;
        if (depth) {
          const float d = hit ? std::min(std::max(rh.ray.tfar[k], dmin), dmax) : dmiss;
          depth[pix] = (d - offset) * scale;
        }
        if (rgb) {
          uint8_t* out = rgb + pix * 3;
          if (hit) {
            const Vec3 dir{rh.ray.dir_x[k], rh.ray.dir_y[k], rh.ray.dir_z[k]};
            shade(static_cast<int>(rh.hit.primID[k]), rh.hit.u[k], rh.hit.v[k], rh.hit.Ng_x[k],
                  rh.hit.Ng_y[k], rh.hit.Ng_z[k], dir, out);
          } else {
            out[0] = out[1] = out[2] = 0;
          }
        }
      }
    }
  }
}

Renderer::Renderer(const Mesh& mesh) : impl_(std::make_unique<Impl>(mesh)) {}
Renderer::~Renderer() = default;

void Renderer::render(const CameraSpec& cam, const Vec3& position, float heading_rad, uint8_t* rgb,
                      float* depth) const {
  if (cam.width <= 0 || cam.height <= 0)
    throw std::runtime_error("renderer: camera size " + std::to_string(cam.width) + "x" +
                             std::to_string(cam.height) + " must be positive");
  if (!(cam.hfov_deg > 0 && cam.hfov_deg < 180))
    throw std::runtime_error("renderer: hfov_deg " + std::to_string(cam.hfov_deg) +
                             " must be in (0, 180)");
  if (!(cam.max_depth_m > cam.min_depth_m))
    throw std::runtime_error("renderer: max_depth_m must exceed min_depth_m");
  if (!rgb && !depth) return;

  Frame f;
  f.eye = position + Vec3{0.f, cam.sensor_height_m, 0.f};
  f.fwd = forwardFromHeading(heading_rad);
  f.right = {-f.fwd.z, 0.f, f.fwd.x};  // forward x up
  const float tan_h = std::tan(0.5f * cam.hfov_deg * kDegToRad);
  const float tan_v = tan_h * static_cast<float>(cam.height) / cam.width;  // square pixels
  f.dsx = 2.f * tan_h / cam.width;
  f.sx0 = -tan_h + 0.5f * f.dsx;
  f.dsy = -2.f * tan_v / cam.height;
  f.sy0 = tan_v + 0.5f * f.dsy;
  // Depth-only renders may stop at max depth when a miss reads max too; colour, and a miss
  // that reads min, need to know what lies beyond it.
  f.tfar = rgb || !cam.miss_reads_max_depth ? std::numeric_limits<float>::infinity()
                                            : cam.max_depth_m;

  switch (impl_->packet_width) {
    case 16:
      impl_->renderPackets<16>(cam, f, rgb, depth);
      break;
    case 8:
      impl_->renderPackets<8>(cam, f, rgb, depth);
      break;
    default:
      impl_->renderPackets<4>(cam, f, rgb, depth);
      break;
  }
}

}  // namespace svln::sim
