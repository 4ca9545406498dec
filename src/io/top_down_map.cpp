#include "io/top_down_map.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "io/png_writer.h"

namespace svln::io {
namespace {

constexpr Color kBackground{250, 250, 250, 255};
constexpr Color kNavmesh{200, 214, 229, 255};
constexpr Color kOutline{60, 60, 60, 255};
constexpr Color kText{20, 20, 20, 255};
constexpr int kHeaderPx = 22;

// Cut of triangle (a,b,c) by the plane y = h; false when it does not cross.
bool sliceTriangle(const sim::Vec3& a, const sim::Vec3& b, const sim::Vec3& c, float h,
                   sim::Vec3& p, sim::Vec3& q) {
  const sim::Vec3* v[3] = {&a, &b, &c};
  sim::Vec3 hits[3];
  int n = 0;
  for (int i = 0; i < 3; ++i) {
    const sim::Vec3& s = *v[i];
    const sim::Vec3& e = *v[(i + 1) % 3];
    // Half-open test so a vertex exactly on the plane is counted by one edge only.
    if ((s.y < h) != (e.y < h)) {
      const float t = (h - s.y) / (e.y - s.y);
      hits[n++] = s + (e - s) * t;
    }
  }
  if (n != 2) return false;
  p = hits[0];
  q = hits[1];
  return true;
}

void extend(float& lo_x, float& lo_z, float& hi_x, float& hi_z, const sim::Vec3& p) {
  if (!std::isfinite(p.x) || !std::isfinite(p.z)) return;
  lo_x = std::min(lo_x, p.x);
  lo_z = std::min(lo_z, p.z);
  hi_x = std::max(hi_x, p.x);
  hi_z = std::max(hi_z, p.z);
}

void drawCross(Image& img, PointF p, float r, float t, Color c) {
  drawLine(img, {p.x - r, p.y - r}, {p.x + r, p.y + r}, t, c);
  drawLine(img, {p.x - r, p.y + r}, {p.x + r, p.y - r}, t, c);
}

void drawLegend(Image& img, int y) {
  int x = 8;
  auto item = [&](Color c, const char* label, int kind) {
    const PointF p{x + 6.f, y + 4.f};
    if (kind == 0) drawLine(img, {p.x - 6, p.y}, {p.x + 6, p.y}, 3.f, c);
    if (kind == 1) drawCross(img, p, 4.f, 2.f, c);
    if (kind == 2) drawCircle(img, p, 5.f, 1.5f, c);
    if (kind == 3) fillRect(img, p.x - 4, p.y - 4, p.x + 4, p.y + 4, c);
    x += 16 + drawText(img, x + 16.f, y, label, kText) + 12;
  };
  item(kPolicyColor, "policy", 0);
  item(kExpertColor, "expert", 0);
  item(kReferenceColor, "reference", 0);
  item(kTriggerColor, "off-track", 1);
  item(kGoalColor, "goal radius", 2);
  item(Color{0, 0, 0, 255}, "stop", 3);
}

}  // namespace

MapGeometry makeMapGeometry(const sim::PathFinder& pf, const sim::Mesh* mesh, float floor_y,
                            const std::vector<float>& slice_heights_m) {
  MapGeometry geo;
  if (pf.isLoaded()) geo.navmesh_triangles = pf.navMeshTriangles();
  if (mesh == nullptr) return geo;
  for (size_t t = 0; t < mesh->numTriangles(); ++t) {
    const sim::Vec3& a = mesh->positions[mesh->indices[3 * t]];
    const sim::Vec3& b = mesh->positions[mesh->indices[3 * t + 1]];
    const sim::Vec3& c = mesh->positions[mesh->indices[3 * t + 2]];
    for (float h : slice_heights_m) {
      sim::Vec3 p, q;
      if (sliceTriangle(a, b, c, floor_y + h, p, q)) {
        geo.outline_segments.push_back(p);
        geo.outline_segments.push_back(q);
      }
    }
  }
  return geo;
}

MapFrame mapFrame(const MapGeometry& geo, const EpisodeTrace& trace, const MapOptions& opt,
                  int* width, int* height) {
  const float inf = std::numeric_limits<float>::infinity();
  float lo_x = inf, lo_z = inf, hi_x = -inf, hi_z = -inf;
  for (const sim::Vec3& p : geo.navmesh_triangles) extend(lo_x, lo_z, hi_x, hi_z, p);
  for (const sim::Vec3& p : trace.positions) extend(lo_x, lo_z, hi_x, hi_z, p);
  for (const sim::Vec3& p : trace.reference_path) extend(lo_x, lo_z, hi_x, hi_z, p);
  for (const sim::Goal& g : trace.goals) {
    extend(lo_x, lo_z, hi_x, hi_z, g.position - sim::Vec3(g.radius, 0, g.radius));
    extend(lo_x, lo_z, hi_x, hi_z, g.position + sim::Vec3(g.radius, 0, g.radius));
  }
  if (!(lo_x <= hi_x)) lo_x = hi_x = lo_z = hi_z = 0.f;  // nothing to show: a 1 m square
  const float span = std::max({hi_x - lo_x, hi_z - lo_z, 1.f});
  MapFrame f;
  f.x_min = lo_x;
  f.z_min = lo_z;
  f.scale = std::min(opt.pixels_per_m, static_cast<float>(opt.max_size_px) / span);
  f.margin = opt.margin_px;
  f.header = kHeaderPx;
  const int legend_px = opt.legend ? 18 : 0;
  if (width)
    *width = std::max(360, static_cast<int>(std::ceil((hi_x - lo_x) * f.scale)) + 2 * f.margin);
  if (height)
    *height =
        static_cast<int>(std::ceil((hi_z - lo_z) * f.scale)) + 2 * f.margin + f.header + legend_px;
  return f;
}

Image renderTopDownMap(const MapGeometry& geo, const EpisodeTrace& trace, const MapOptions& opt) {
  int w = 0, h = 0;
  const MapFrame f = mapFrame(geo, trace, opt, &w, &h);
  Image img(w, h, kBackground);
  const auto px = [&](const sim::Vec3& p) { return f.toPixel(p); };

  for (size_t i = 0; i + 2 < geo.navmesh_triangles.size(); i += 3)
    fillPolygon(img,
                {px(geo.navmesh_triangles[i]), px(geo.navmesh_triangles[i + 1]),
                 px(geo.navmesh_triangles[i + 2])},
                kNavmesh);
  for (size_t i = 0; i + 1 < geo.outline_segments.size(); i += 2)
    drawLine(img, px(geo.outline_segments[i]), px(geo.outline_segments[i + 1]), 1.5f, kOutline);

  const float line_w = std::max(2.f, f.scale * 0.12f);
  std::vector<PointF> ref;
  for (const sim::Vec3& p : trace.reference_path) ref.push_back(px(p));
  drawPolyline(img, ref, line_w * 2.f, kReferenceColor);
  for (const sim::Goal& g : trace.goals) {
    fillCircle(img, px(g.position), g.radius * f.scale, Color{214, 39, 40, 28});
    drawCircle(img, px(g.position), g.radius * f.scale, 1.5f, kGoalColor);
    fillCircle(img, px(g.position), line_w * 1.6f, kGoalColor);
  }

  for (size_t i = 0; i + 1 < trace.positions.size(); ++i) {
    const bool expert = i < trace.expert_steps.size() && trace.expert_steps[i];
    drawLine(img, px(trace.positions[i]), px(trace.positions[i + 1]), line_w,
             expert ? kExpertColor : kPolicyColor);
  }
  if (!trace.positions.empty()) {
    fillCircle(img, px(trace.positions.front()), line_w * 1.8f, kPolicyColor);
    drawCircle(img, px(trace.positions.front()), line_w * 1.8f, 1.f, Color{255, 255, 255, 255});
  }
  for (const sim::Vec3& t : trace.triggers)
    drawCross(img, px(t), line_w * 1.6f, 2.f, kTriggerColor);
  if (trace.stopped && !trace.positions.empty()) {
    const PointF s = px(trace.positions.back());
    const float r = line_w * 1.6f;
    fillRect(img, s.x - r, s.y - r, s.x + r, s.y + r, Color{0, 0, 0, 255});
  }

  // Header: id, outcome, final distance; scale bar of 1 m (or 5 m for small scales).
  char head[160];
  if (trace.finished)
    std::snprintf(head, sizeof(head), "ep %s  %s%s", trace.episode_id.c_str(),
                  trace.success ? "SUCCESS" : "FAIL", trace.stopped ? "" : " (no stop)");
  else
    std::snprintf(head, sizeof(head), "ep %s  step %zu", trace.episode_id.c_str(),
                  trace.positions.empty() ? size_t{0} : trace.positions.size() - 1);
  std::string title = head;
  if (trace.distance_to_goal >= 0.f) {
    std::snprintf(head, sizeof(head), "  d_goal %.2f m", trace.distance_to_goal);
    title += head;
  }
  drawText(img, 8.f, 6.f, title, kText, 1);
  const float bar_m = f.scale >= 10.f ? 1.f : 5.f;
  const float bar_x1 = static_cast<float>(w - 8), bar_x0 = bar_x1 - bar_m * f.scale;
  drawLine(img, {bar_x0, 16.f}, {bar_x1, 16.f}, 2.f, kText);
  drawLine(img, {bar_x0, 12.f}, {bar_x0, 18.f}, 1.5f, kText);
  drawLine(img, {bar_x1, 12.f}, {bar_x1, 18.f}, 1.5f, kText);
  const std::string bar_label = bar_m == 1.f ? "1 m" : "5 m";
  drawText(img, bar_x0 - textWidth(bar_label) - 4.f, 8.f, bar_label, kText);
  if (opt.legend) drawLegend(img, h - 14);
  return img;
}

void writeTopDownMap(const std::string& path, const MapGeometry& geo, const EpisodeTrace& trace,
                     const MapOptions& opt) {
  writePng(path, renderTopDownMap(geo, trace, opt));
}

}  // namespace svln::io
