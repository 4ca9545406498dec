// Pinhole RGB-D cameras ray-traced with Embree over one shared scene. One Renderer per
// scene; render() is const and safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <memory>

#include "sim/mesh.h"
#include "sim/vec3.h"

namespace svln::sim {

struct CameraSpec {
  int width = 224;
  int height = 224;
  float hfov_deg = 79.f;
  float sensor_height_m = 1.25f;  // above the agent's feet
  float min_depth_m = 0.f;
  float max_depth_m = 10.f;
  bool normalize_depth = false;  // depth -> (d - min) / (max - min) in [0, 1]
  // A depth ray that hits nothing: false reads min_depth, as Habitat (its far-plane pixels
  // are 0, then clipped to [min, max]); true reads max_depth (YAML depth_sensor.miss_depth:
  // max, an extension). A hit beyond max_depth reads max_depth either way.
  bool miss_reads_max_depth = false;
};

// Shading (docs/rendering.md): linear colour = albedo * (kShadeAmbient + kShadeDiffuse *
// max(0, n . kShadeToLight)), with n the geometric normal turned towards the camera and
// albedo = material base_color times the texture at the hit's uv (bilinear, wrapped);
// the result is sRGB-encoded to 8 bits. Rays that hit nothing are black.
inline constexpr Vec3 kShadeToLight{0.36f, 0.8f, 0.48f};  // unit vector towards the light
inline constexpr float kShadeAmbient = 0.4f;
inline constexpr float kShadeDiffuse = 0.6f;

class Renderer {
 public:
  explicit Renderer(const Mesh& mesh);  // keeps its own copy of what it needs
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Renders from an agent at `position` (feet) looking along its heading. `rgb` receives
  // height*width*3 bytes (row 0 = top), `depth` height*width floats in metres clipped to
  // [min, max] (misses read min, or max when the camera says so; normalised when asked).
  // Either may be null.
  void render(const CameraSpec& cam, const Vec3& position, float heading_rad, uint8_t* rgb,
              float* depth) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace svln::sim
