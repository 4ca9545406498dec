// Small fixed-size vector math for the simulator. Habitat convention: Y is up,
// the agent looks along -Z at heading 0, positive rotation about +Y turns left.
#pragma once

#include <cmath>

namespace svln::sim {

struct Vec3 {
  float x = 0, y = 0, z = 0;

  Vec3() = default;
  constexpr Vec3(float x_, float y_, float z_) : x(x_), y(y_), z(z_) {}

  Vec3 operator+(const Vec3& o) const { return {x + o.x, y + o.y, z + o.z}; }
  Vec3 operator-(const Vec3& o) const { return {x - o.x, y - o.y, z - o.z}; }
  Vec3 operator*(float s) const { return {x * s, y * s, z * s}; }
  Vec3 operator/(float s) const { return {x / s, y / s, z / s}; }
  Vec3& operator+=(const Vec3& o) { x += o.x; y += o.y; z += o.z; return *this; }
  Vec3& operator-=(const Vec3& o) { x -= o.x; y -= o.y; z -= o.z; return *this; }
  bool operator==(const Vec3& o) const { return x == o.x && y == o.y && z == o.z; }
  bool operator!=(const Vec3& o) const { return !(*this == o); }
  float& operator[](int i) { return i == 0 ? x : (i == 1 ? y : z); }
  float operator[](int i) const { return i == 0 ? x : (i == 1 ? y : z); }
};

inline float dot(const Vec3& a, const Vec3& b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline float length(const Vec3& a) { return std::sqrt(dot(a, a)); }
inline Vec3 normalize(const Vec3& a) {
  const float n = length(a);
  return n > 0 ? a / n : a;
}
inline float distance(const Vec3& a, const Vec3& b) { return length(a - b); }
// Distance in the horizontal (XZ) plane, ignoring height.
inline float horizontalDistance(const Vec3& a, const Vec3& b) {
  return std::hypot(a.x - b.x, a.z - b.z);
}
inline Vec3 vmin(const Vec3& a, const Vec3& b) {
  return {std::fmin(a.x, b.x), std::fmin(a.y, b.y), std::fmin(a.z, b.z)};
}
inline Vec3 vmax(const Vec3& a, const Vec3& b) {
  return {std::fmax(a.x, b.x), std::fmax(a.y, b.y), std::fmax(a.z, b.z)};
}

struct Vec2 {
  float u = 0, v = 0;
};

// Rotation as a unit quaternion stored [x, y, z, w] like the VLN-CE episode files.
struct Quat {
  float x = 0, y = 0, z = 0, w = 1;
};

// Heading (radians, counter-clockwise about +Y seen from above) <-> quaternion about +Y.
inline Quat quatFromHeading(float heading_rad) {
  return {0.f, std::sin(heading_rad / 2), 0.f, std::cos(heading_rad / 2)};
}
// Extracts the yaw of an arbitrary quaternion: the angle of its rotated -Z axis.
inline float headingFromQuat(const Quat& q) {
  // Forward = R * (0,0,-1); heading h satisfies forward = (-sin h, 0, -cos h).
  const float fx = -(2 * (q.x * q.z + q.w * q.y));
  const float fz = -(1 - 2 * (q.x * q.x + q.y * q.y));
  return std::atan2(-fx, -fz);
}
// Unit forward direction in the horizontal plane for a heading.
inline Vec3 forwardFromHeading(float heading_rad) {
  return {-std::sin(heading_rad), 0.f, -std::cos(heading_rad)};
}
// Wraps an angle to (-pi, pi].
inline float wrapAngle(float a) {
  constexpr float kPi = 3.14159265358979323846f;
  while (a > kPi) a -= 2 * kPi;
  while (a <= -kPi) a += 2 * kPi;
  return a;
}

}  // namespace svln::sim
