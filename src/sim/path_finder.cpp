// Recast build + Detour queries, following habitat-sim's esp/nav/PathFinder.cpp so that
// distances, snapping and tryStep agree with Habitat on the same navmesh.
#include "sim/path_finder.h"

#include <DetourCommon.h>
#include <DetourNavMesh.h>
#include <DetourNavMeshBuilder.h>
#include <DetourNavMeshQuery.h>
#include <Recast.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <tuple>

#include "sim/gzip_io.h"

namespace svln::sim {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// Half-extents of the box searched for the nearest polygon, as Habitat's projectToPoly.
constexpr float kPolyPickExt[3] = {2.f, 4.f, 2.f};
constexpr int kMaxPathPolys = 2048;
constexpr int kMaxQueryNodes = 65535;  // Detour's limit for one dtNavMeshQuery

// Area ids and flags as Habitat's PathFinder (so saved tiles carry the same flags).
enum PolyArea : unsigned char { kAreaGround = 0 };
enum PolyFlag : unsigned short { kFlagWalk = 0x01, kFlagDisabled = 0x04 };

// Detour sample "MSET" tiled-navmesh set, the layout of Habitat's `.navmesh` files.
constexpr int kNavMeshSetMagic = 'M' << 24 | 'S' << 16 | 'E' << 8 | 'T';
struct NavMeshSetHeader {
  int magic;
  int version;
  int num_tiles;
  dtNavMeshParams params;
};
struct NavMeshTileHeader {
  dtTileRef tile_ref;
  int data_size;
};
// habitat-sim's esp::nav::NavMeshSettings as written raw after the header in version 2.
struct HabitatNavMeshSettings {
  float cell_size, cell_height, agent_height, agent_radius, agent_max_climb, agent_max_slope,
      region_min_size, region_merge_size, edge_max_len, edge_max_error, verts_per_poly,
      detail_sample_dist, detail_sample_max_error;
  bool filter_low_hanging_obstacles, filter_ledge_spans, filter_walkable_low_height_spans,
      include_static_objects;
};
static_assert(sizeof(NavMeshSetHeader) == 40, "MSET header is 40 bytes in Habitat files");
static_assert(sizeof(NavMeshTileHeader) == 8, "tile header is 8 bytes (32-bit dtTileRef)");
static_assert(sizeof(HabitatNavMeshSettings) == 56, "Habitat NavMeshSettings are 56 bytes");

HabitatNavMeshSettings toHabitat(const NavMeshSettings& s) {
  return {s.cell_size,
          s.cell_height,
          s.agent_height,
          s.agent_radius,
          s.agent_max_climb,
          s.agent_max_slope_deg,
          s.region_min_size,
          s.region_merge_size,
          s.edge_max_len,
          s.edge_max_error,
          s.verts_per_poly,
          s.detail_sample_dist,
          s.detail_sample_max_error,
          s.filter_low_hanging_obstacles,
          s.filter_ledge_spans,
          s.filter_walkable_low_height_spans,
          false};
}

NavMeshSettings fromHabitat(const HabitatNavMeshSettings& h) {
  NavMeshSettings s;
  s.cell_size = h.cell_size;
  s.cell_height = h.cell_height;
  s.agent_height = h.agent_height;
  s.agent_radius = h.agent_radius;
  s.agent_max_climb = h.agent_max_climb;
  s.agent_max_slope_deg = h.agent_max_slope;
  s.region_min_size = h.region_min_size;
  s.region_merge_size = h.region_merge_size;
  s.edge_max_len = h.edge_max_len;
  s.edge_max_error = h.edge_max_error;
  s.verts_per_poly = h.verts_per_poly;
  s.detail_sample_dist = h.detail_sample_dist;
  s.detail_sample_max_error = h.detail_sample_max_error;
  s.filter_low_hanging_obstacles = h.filter_low_hanging_obstacles;
  s.filter_ledge_spans = h.filter_ledge_spans;
  s.filter_walkable_low_height_spans = h.filter_walkable_low_height_spans;
  return s;
}

// Habitat compares settings with a 1e-5 tolerance.
bool sameSettings(const NavMeshSettings& a, const NavMeshSettings& b) {
  const HabitatNavMeshSettings x = toHabitat(a), y = toHabitat(b);
  const float* fx = &x.cell_size;
  const float* fy = &y.cell_size;
  for (int i = 0; i < 13; ++i) {
    if (std::fabs(fx[i] - fy[i]) > 1e-5f) return false;
  }
  return x.filter_low_hanging_obstacles == y.filter_low_hanging_obstacles &&
         x.filter_ledge_spans == y.filter_ledge_spans &&
         x.filter_walkable_low_height_spans == y.filter_walkable_low_height_spans;
}

struct RecastWorkspace {
  rcHeightfield* solid = nullptr;
  rcCompactHeightfield* chf = nullptr;
  rcContourSet* cset = nullptr;
  rcPolyMesh* pmesh = nullptr;
  rcPolyMeshDetail* dmesh = nullptr;
  ~RecastWorkspace() {
    rcFreeHeightField(solid);
    rcFreeCompactHeightfield(chf);
    rcFreeContourSet(cset);
    rcFreePolyMesh(pmesh);
    rcFreePolyMeshDetail(dmesh);
  }
};

struct NavMeshDeleter {
  void operator()(dtNavMesh* m) const { dtFreeNavMesh(m); }
};
using NavMeshPtr = std::unique_ptr<dtNavMesh, NavMeshDeleter>;

Vec3 toVec(const float* p) { return {p[0], p[1], p[2]}; }

// dtQueryFilter::passFilter for our filter (the packaged libDetour keeps it inline-only).
bool passesFilter(const dtPoly* poly) {
  return (poly->flags & kFlagWalk) != 0 && (poly->flags & kFlagDisabled) == 0;
}

// Triangles of a polygon's detail mesh (exact surface heights), as Habitat's
// getPolygonTriangles.
template <typename F>
void forEachDetailTriangle(const dtMeshTile* tile, int poly_index, F&& f) {
  const dtPoly& poly = tile->polys[poly_index];
  const dtPolyDetail& pd = tile->detailMeshes[poly_index];
  for (int j = 0; j < pd.triCount; ++j) {
    const unsigned char* t = &tile->detailTris[(pd.triBase + j) * 4];
    Vec3 v[3];
    for (int k = 0; k < 3; ++k) {
      v[k] = t[k] < poly.vertCount
                 ? toVec(&tile->verts[poly.verts[t[k]] * 3])
                 : toVec(&tile->detailVerts[(pd.vertBase + (t[k] - poly.vertCount)) * 3]);
    }
    f(v[0], v[1], v[2]);
  }
}

float triangleArea(const Vec3& a, const Vec3& b, const Vec3& c) {
  return 0.5f * length(cross(b - a, c - a));
}

// Uniform double in [0, 1) from the top 53 bits, identical on every platform.
double unitDouble(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Checks that a tile's counts fit its byte size (the layout dtNavMesh::addTile reads), so
// a corrupt file is rejected instead of read out of bounds.
bool tileLayoutValid(const unsigned char* data, int size) {
  if (size < static_cast<int>(sizeof(dtMeshHeader))) return false;
  dtMeshHeader h;
  std::memcpy(&h, data, sizeof(h));
  if (h.magic != DT_NAVMESH_MAGIC || h.version != DT_NAVMESH_VERSION) return false;
  const int counts[] = {h.vertCount,       h.polyCount,      h.maxLinkCount, h.detailMeshCount,
                        h.detailVertCount, h.detailTriCount, h.bvNodeCount,  h.offMeshConCount};
  for (int c : counts) {
    if (c < 0 || c > (1 << 24)) return false;
  }
  auto align4 = [](size_t x) { return (x + 3) & ~size_t(3); };
  const size_t need =
      align4(sizeof(dtMeshHeader)) + align4(sizeof(float) * 3 * h.vertCount) +
      align4(sizeof(dtPoly) * h.polyCount) + align4(sizeof(dtLink) * h.maxLinkCount) +
      align4(sizeof(dtPolyDetail) * h.detailMeshCount) +
      align4(sizeof(float) * 3 * h.detailVertCount) +
      align4(4 * static_cast<size_t>(h.detailTriCount)) + align4(sizeof(dtBVNode) * h.bvNodeCount) +
      align4(sizeof(dtOffMeshConnection) * h.offMeshConCount);
  if (need > static_cast<size_t>(size)) return false;
  if (h.detailMeshCount != 0 && h.detailMeshCount != h.polyCount) return false;
  if (h.polyCount > 0 && h.vertCount < 3) return false;
  for (int k = 0; k < 3; ++k)
    if (!std::isfinite(h.bmin[k]) || !std::isfinite(h.bmax[k]) || h.bmin[k] > h.bmax[k])
      return false;
  if (!std::isfinite(h.walkableHeight) || !std::isfinite(h.walkableRadius) ||
      !std::isfinite(h.walkableClimb) || !std::isfinite(h.bvQuantFactor))
    return false;
  // Section starts, in Detour's order.
  const unsigned char* v = data + align4(sizeof(dtMeshHeader));
  const unsigned char* p = v + align4(sizeof(float) * 3 * h.vertCount);
  const unsigned char* pd =
      p + align4(sizeof(dtPoly) * h.polyCount) + align4(sizeof(dtLink) * h.maxLinkCount);
  const unsigned char* dv = pd + align4(sizeof(dtPolyDetail) * h.detailMeshCount);
  const unsigned char* dt = dv + align4(sizeof(float) * 3 * h.detailVertCount);
  const unsigned char* bv = dt + align4(4 * static_cast<size_t>(h.detailTriCount));
  const unsigned char* om = bv + align4(sizeof(dtBVNode) * h.bvNodeCount);
  // Every coordinate is a finite number (a NaN vertex poisons every query near it).
  auto finiteFloats = [](const unsigned char* at, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      float f;
      std::memcpy(&f, at + i * sizeof(float), sizeof(float));
      if (!std::isfinite(f)) return false;
    }
    return true;
  };
  if (!finiteFloats(v, 3 * static_cast<size_t>(h.vertCount)) ||
      !finiteFloats(dv, 3 * static_cast<size_t>(h.detailVertCount)))
    return false;
  // Vertex, neighbour, detail and BV-tree indices must stay inside their arrays.
  for (int i = 0; i < h.polyCount; ++i) {
    dtPoly poly;
    std::memcpy(&poly, p + i * sizeof(dtPoly), sizeof(dtPoly));
    const bool offmesh = poly.getType() == DT_POLYTYPE_OFFMESH_CONNECTION;
    if (poly.vertCount > DT_VERTS_PER_POLYGON || poly.vertCount < (offmesh ? 2 : 3)) return false;
    for (int k = 0; k < poly.vertCount; ++k) {
      if (poly.verts[k] >= h.vertCount) return false;
      const unsigned short n = poly.neis[k];
      if (n != 0 && !(n & DT_EXT_LINK) && n - 1 >= h.polyCount) return false;
    }
    if (i < h.detailMeshCount) {
      dtPolyDetail det;
      std::memcpy(&det, pd + i * sizeof(dtPolyDetail), sizeof(dtPolyDetail));
      // In 64 bits: a huge base must not wrap around into range.
      if (static_cast<uint64_t>(det.triBase) + det.triCount > static_cast<uint64_t>(h.detailTriCount) ||
          static_cast<uint64_t>(det.vertBase) + det.vertCount > static_cast<uint64_t>(h.detailVertCount))
        return false;
      for (int t = 0; t < det.triCount; ++t) {
        const unsigned char* tri = dt + 4 * (static_cast<size_t>(det.triBase) + t);
        for (int k = 0; k < 3; ++k)
          if (tri[k] >= poly.vertCount + det.vertCount) return false;
      }
    }
  }
  for (int i = 0; i < h.bvNodeCount; ++i) {
    dtBVNode node;
    std::memcpy(&node, bv + i * sizeof(dtBVNode), sizeof(dtBVNode));
    if (node.i >= 0 ? node.i >= h.polyCount : i - node.i > h.bvNodeCount) return false;
  }
  for (int i = 0; i < h.offMeshConCount; ++i) {
    dtOffMeshConnection con;
    std::memcpy(&con, om + i * sizeof(dtOffMeshConnection), sizeof(dtOffMeshConnection));
    if (con.poly >= h.polyCount || !std::isfinite(con.rad) || !finiteFloats(om + i * sizeof(con), 6))
      return false;
  }
  return true;
}

}  // namespace

struct PathFinder::Impl {
  NavMeshPtr navmesh;
  dtQueryFilter filter;
  NavMeshSettings settings;

  // Island of each polygon: islands[tile index][poly index], -1 for disabled polygons.
  std::vector<std::vector<int>> islands;
  std::vector<float> island_area;
  float total_area = 0;
  // A* holds at most one node per polygon, so a pool of polygon-count nodes never runs
  // out (a partial path would read as unreachable) and costs ~40 B per polygon.
  int query_nodes = 64;
  PathSearchLimits limits;
  int polygons = 0;  // in the loaded navmesh
  // Nodes each Detour query is initialised with.
  void updateQueryNodes() {
    clearPool();
    query_nodes = limits.max_nodes > 0 ? std::clamp(limits.max_nodes, 64, kMaxQueryNodes)
                                       : std::clamp(polygons + 1, 64, kMaxQueryNodes);
  }
  // Walkable detail triangles with a running area sum, for area-uniform sampling.
  struct Tri {
    Vec3 a, b, c;
    int island;
  };
  std::vector<Tri> tris;
  std::vector<double> tri_cdf;                   // inclusive prefix sums of triangle areas
  std::vector<std::vector<size_t>> island_tris;  // triangle ids per island
  std::vector<std::vector<double>> island_cdf;   // their prefix area sums
  Vec3 lo{kNaN, kNaN, kNaN}, hi{kNaN, kNaN, kNaN};

  // Each concurrent query borrows its own dtNavMeshQuery (they hold per-search node pools).
  mutable std::mutex pool_mutex;
  mutable std::vector<dtNavMeshQuery*> pool;

  Impl() {
    filter.setIncludeFlags(kFlagWalk);
    filter.setExcludeFlags(kFlagDisabled);
  }
  ~Impl() { clearPool(); }

  void clearPool() {
    for (dtNavMeshQuery* q : pool) dtFreeNavMeshQuery(q);
    pool.clear();
  }

  class QueryLease {
   public:
    explicit QueryLease(const Impl& impl) : impl_(impl) {
      {
        std::lock_guard<std::mutex> lock(impl_.pool_mutex);
        if (!impl_.pool.empty()) {
          q_ = impl_.pool.back();
          impl_.pool.pop_back();
          return;
        }
      }
      q_ = dtAllocNavMeshQuery();
      if (!q_ || dtStatusFailed(q_->init(impl_.navmesh.get(), impl_.query_nodes))) {
        dtFreeNavMeshQuery(q_);
        throw std::runtime_error("navmesh: cannot allocate a Detour query");
      }
    }
    ~QueryLease() {
      std::lock_guard<std::mutex> lock(impl_.pool_mutex);
      impl_.pool.push_back(q_);
    }
    QueryLease(const QueryLease&) = delete;
    QueryLease& operator=(const QueryLease&) = delete;
    const dtNavMeshQuery* operator->() const { return q_; }

   private:
    const Impl& impl_;
    dtNavMeshQuery* q_ = nullptr;
  };

  void requireLoaded() const {
    if (!navmesh) throw std::logic_error("PathFinder: no navmesh built or loaded");
  }

  // Habitat's projectToPoly: nearest polygon within kPolyPickExt; ref 0 when none.
  std::pair<dtPolyRef, Vec3> project(const QueryLease& q, const Vec3& p) const {
    const float pt[3] = {p.x, p.y, p.z};
    float out[3] = {kNaN, kNaN, kNaN};
    dtPolyRef ref = 0;
    const dtStatus st = q->findNearestPoly(pt, kPolyPickExt, &filter, &ref, out);
    if (dtStatusFailed(st) || ref == 0 || std::isnan(out[0])) return {0, Vec3{kNaN, kNaN, kNaN}};
    return {ref, toVec(out)};
  }

  int islandOf(dtPolyRef ref) const {
    if (ref == 0) return -1;
    unsigned int salt = 0, it = 0, ip = 0;
    navmesh->decodePolyId(ref, salt, it, ip);
    if (it >= islands.size() || ip >= islands[it].size()) return -1;
    return islands[it][ip];
  }

  // Straight-path length between two snapped points; +inf when unreachable.
  // Habitat's findPathInternal: A* between the snapped points (start, end), the straight path
  // between the requested ones (req_start, req_end), which Detour clamps onto the first and
  // last polygon horizontally only, so a point above or below the surface keeps its height.
  float pathBetween(const QueryLease& q, dtPolyRef start_ref, const Vec3& start,
                    const Vec3& req_start, dtPolyRef end_ref, const Vec3& end, const Vec3& req_end,
                    std::vector<Vec3>* points) const {
    if (start == end) {
      if (points) *points = {start, end};
      return 0.f;
    }
    const int si = islandOf(start_ref);
    if (si < 0 || si != islandOf(end_ref)) return kInf;
    dtPolyRef polys[kMaxPathPolys];
    int npolys = 0;
    const float s[3] = {start.x, start.y, start.z};
    const float e[3] = {end.x, end.y, end.z};
    const int max_polys = std::clamp(limits.max_path_polys, 2, kMaxPathPolys);
    dtStatus st = q->findPath(start_ref, end_ref, s, e, &filter, polys, &npolys, max_polys);
    // A partial result (node pool or path buffer exhausted) does not reach the goal.
    if (st != DT_SUCCESS || npolys == 0 || polys[npolys - 1] != end_ref) return kInf;
    float straight[kMaxPathPolys * 3];
    int npoints = 0;
    const float rs[3] = {req_start.x, req_start.y, req_start.z};
    const float re[3] = {req_end.x, req_end.y, req_end.z};
    st = q->findStraightPath(rs, re, polys, npolys, straight, nullptr, nullptr, &npoints,
                             kMaxPathPolys);
    if (dtStatusFailed(st) || npoints == 0) return kInf;
    float len = 0.f;
    for (int i = 1; i < npoints; ++i)
      len += distance(toVec(&straight[3 * (i - 1)]), toVec(&straight[3 * i]));
    if (points) {
      points->clear();
      for (int i = 0; i < npoints; ++i) points->push_back(toVec(&straight[3 * i]));
    }
    return len;
  }

  // Prepares a freshly built/loaded navmesh: disables zero-area polygons (Habitat does
  // this because Detour misbehaves inside them), floods islands, collects triangles.
  void finalize() {
    clearPool();
    islands.clear();
    island_area.clear();
    tris.clear();
    tri_cdf.clear();
    island_tris.clear();
    island_cdf.clear();
    total_area = 0;
    const dtNavMesh* nm = navmesh.get();
    islands.resize(nm->getMaxTiles());
    int polys = 0;
    for (int it = 0; it < nm->getMaxTiles(); ++it) {
      const dtMeshTile* tile = nm->getTile(it);
      if (tile && tile->header) polys += tile->header->polyCount;
    }
    polygons = polys;
    updateQueryNodes();
    for (int it = 0; it < nm->getMaxTiles(); ++it) {
      const dtMeshTile* tile = nm->getTile(it);
      if (!tile || !tile->header) continue;
      islands[it].assign(tile->header->polyCount, -1);
      for (int ip = 0; ip < tile->header->polyCount; ++ip) {
        float area = 0;
        forEachDetailTriangle(tile, ip, [&](const Vec3& a, const Vec3& b, const Vec3& c) {
          area += triangleArea(a, b, c);
        });
        if (area < 1e-5f)
          navmesh->setPolyFlags(nm->encodePolyId(tile->salt, it, ip), kFlagDisabled);
      }
    }
    // Flood fill over polygon links that pass the filter.
    int next_island = 0;
    std::vector<dtPolyRef> stack;
    for (int it = 0; it < nm->getMaxTiles(); ++it) {
      const dtMeshTile* tile = nm->getTile(it);
      if (!tile || !tile->header) continue;
      for (int ip = 0; ip < tile->header->polyCount; ++ip) {
        const dtPolyRef ref = nm->encodePolyId(tile->salt, it, ip);
        if (islands[it][ip] >= 0 || !passesFilter(&tile->polys[ip])) continue;
        if (tile->polys[ip].getType() != DT_POLYTYPE_GROUND) continue;
        const int id = next_island++;
        islands[it][ip] = id;
        stack.assign(1, ref);
        while (!stack.empty()) {
          const dtPolyRef cur = stack.back();
          stack.pop_back();
          const dtMeshTile* ct = nullptr;
          const dtPoly* cp = nullptr;
          nm->getTileAndPolyByRefUnsafe(cur, &ct, &cp);
          for (unsigned int l = cp->firstLink; l != DT_NULL_LINK; l = ct->links[l].next) {
            const dtPolyRef nref = ct->links[l].ref;
            const dtMeshTile* nt = nullptr;
            const dtPoly* np = nullptr;
            nm->getTileAndPolyByRefUnsafe(nref, &nt, &np);
            unsigned int salt = 0, nit = 0, nip = 0;
            nm->decodePolyId(nref, salt, nit, nip);
            if (islands[nit][nip] >= 0 || !passesFilter(np)) continue;
            islands[nit][nip] = id;
            stack.push_back(nref);
          }
        }
      }
    }
    island_area.assign(next_island, 0.f);
    island_tris.assign(next_island, {});
    island_cdf.assign(next_island, {});
    const float inf = kInf;
    lo = {inf, inf, inf};
    hi = {-inf, -inf, -inf};
    double cum = 0;
    for (int it = 0; it < nm->getMaxTiles(); ++it) {
      const dtMeshTile* tile = nm->getTile(it);
      if (!tile || !tile->header) continue;
      for (int ip = 0; ip < tile->header->polyCount; ++ip) {
        const int island = islands[it][ip];
        if (island < 0) continue;
        forEachDetailTriangle(tile, ip, [&](const Vec3& a, const Vec3& b, const Vec3& c) {
          const float area = triangleArea(a, b, c);
          island_area[island] += area;
          total_area += area;
          cum += area;
          island_tris[island].push_back(tris.size());
          island_cdf[island].push_back(
              (island_cdf[island].empty() ? 0.0 : island_cdf[island].back()) + area);
          tris.push_back({a, b, c, island});
          tri_cdf.push_back(cum);
          for (const Vec3& v : {a, b, c}) {
            lo = vmin(lo, v);
            hi = vmax(hi, v);
          }
        });
      }
    }
    if (tris.empty()) lo = hi = Vec3{kNaN, kNaN, kNaN};
    spdlog::debug("navmesh: {} islands, {:.2f} m^2 walkable, {} triangles", next_island, total_area,
                  tris.size());
  }
};

PathFinder::PathFinder() : impl_(std::make_unique<Impl>()) {}
PathFinder::~PathFinder() = default;
PathFinder::PathFinder(PathFinder&&) noexcept = default;
PathFinder& PathFinder::operator=(PathFinder&&) noexcept = default;

void PathFinder::build(const Mesh& mesh, const NavMeshSettings& bs) {
  if (mesh.numTriangles() == 0)
    throw std::runtime_error("navmesh build: the scene has no triangles");
  std::vector<float> verts;
  verts.reserve(mesh.positions.size() * 3);
  for (const Vec3& p : mesh.positions) verts.insert(verts.end(), {p.x, p.y, p.z});
  std::vector<int> idx(mesh.indices.begin(), mesh.indices.end());
  const int nverts = static_cast<int>(mesh.positions.size());
  const int ntris = static_cast<int>(mesh.numTriangles());
  Vec3 bmin, bmax;
  mesh.boundingBox(bmin, bmax);

  // Step 1: configuration, converted to voxels exactly as Habitat does.
  rcConfig cfg{};
  cfg.cs = bs.cell_size;
  cfg.ch = bs.cell_height;
  cfg.walkableSlopeAngle = bs.agent_max_slope_deg;
  cfg.walkableHeight = static_cast<int>(std::ceil(bs.agent_height / cfg.ch));
  cfg.walkableClimb = static_cast<int>(std::floor(bs.agent_max_climb / cfg.ch));
  cfg.walkableRadius = static_cast<int>(std::ceil(bs.agent_radius / cfg.cs));
  cfg.maxEdgeLen = static_cast<int>(bs.edge_max_len / bs.cell_size);
  cfg.maxSimplificationError = bs.edge_max_error;
  cfg.minRegionArea = static_cast<int>(rcSqr(bs.region_min_size));  // area = size^2
  cfg.mergeRegionArea = static_cast<int>(rcSqr(bs.region_merge_size));
  cfg.maxVertsPerPoly = static_cast<int>(bs.verts_per_poly);
  cfg.detailSampleDist = bs.detail_sample_dist < 0.9f ? 0 : bs.cell_size * bs.detail_sample_dist;
  cfg.detailSampleMaxError = bs.cell_height * bs.detail_sample_max_error;
  const float fmin[3] = {bmin.x, bmin.y, bmin.z};
  const float fmax[3] = {bmax.x, bmax.y, bmax.z};
  rcVcopy(cfg.bmin, fmin);
  rcVcopy(cfg.bmax, fmax);
  rcCalcGridSize(cfg.bmin, cfg.bmax, cfg.cs, &cfg.width, &cfg.height);
  if (cfg.maxVertsPerPoly < 3 || cfg.maxVertsPerPoly > DT_VERTS_PER_POLYGON)
    throw std::runtime_error("navmesh build: verts_per_poly must be in [3, 6]");
  spdlog::debug("navmesh: building with {}x{} cells", cfg.width, cfg.height);

  rcContext ctx(false);
  RecastWorkspace ws;
  auto fail = [](const char* what) {
    throw std::runtime_error(std::string("navmesh build: ") + what);
  };
  // Step 2: rasterize the walkable-marked triangle soup.
  ws.solid = rcAllocHeightfield();
  if (!ws.solid || !rcCreateHeightfield(&ctx, *ws.solid, cfg.width, cfg.height, cfg.bmin, cfg.bmax,
                                        cfg.cs, cfg.ch))
    fail("could not create the heightfield");
  std::vector<unsigned char> areas(ntris, 0);
  rcMarkWalkableTriangles(&ctx, cfg.walkableSlopeAngle, verts.data(), nverts, idx.data(), ntris,
                          areas.data());
  if (!rcRasterizeTriangles(&ctx, verts.data(), nverts, idx.data(), areas.data(), ntris, *ws.solid,
                            cfg.walkableClimb))
    fail("could not rasterize the triangles");
  // Step 3: filter spans the agent cannot stand on.
  if (bs.filter_low_hanging_obstacles)
    rcFilterLowHangingWalkableObstacles(&ctx, cfg.walkableClimb, *ws.solid);
  if (bs.filter_ledge_spans)
    rcFilterLedgeSpans(&ctx, cfg.walkableHeight, cfg.walkableClimb, *ws.solid);
  if (bs.filter_walkable_low_height_spans)
    rcFilterWalkableLowHeightSpans(&ctx, cfg.walkableHeight, *ws.solid);
  // Step 4: compact heightfield, erode by the agent radius, watershed regions.
  ws.chf = rcAllocCompactHeightfield();
  if (!ws.chf ||
      !rcBuildCompactHeightfield(&ctx, cfg.walkableHeight, cfg.walkableClimb, *ws.solid, *ws.chf))
    fail("could not build the compact heightfield");
  if (!rcErodeWalkableArea(&ctx, cfg.walkableRadius, *ws.chf)) fail("could not erode");
  if (!rcBuildDistanceField(&ctx, *ws.chf)) fail("could not build the distance field");
  if (!rcBuildRegions(&ctx, *ws.chf, 0, cfg.minRegionArea, cfg.mergeRegionArea))
    fail("could not build watershed regions");
  // Steps 5-7: contours, polygon mesh, detail mesh.
  ws.cset = rcAllocContourSet();
  if (!ws.cset ||
      !rcBuildContours(&ctx, *ws.chf, cfg.maxSimplificationError, cfg.maxEdgeLen, *ws.cset))
    fail("could not build contours");
  ws.pmesh = rcAllocPolyMesh();
  if (!ws.pmesh || !rcBuildPolyMesh(&ctx, *ws.cset, cfg.maxVertsPerPoly, *ws.pmesh))
    fail("could not triangulate contours");
  ws.dmesh = rcAllocPolyMeshDetail();
  if (!ws.dmesh || !rcBuildPolyMeshDetail(&ctx, *ws.pmesh, *ws.chf, cfg.detailSampleDist,
                                          cfg.detailSampleMaxError, *ws.dmesh))
    fail("could not build the detail mesh");
  if (ws.pmesh->npolys == 0) fail("the scene has no walkable surface");

  // Step 8: Detour data, one tile (what Habitat's single-tile dtNavMesh::init produces).
  for (int i = 0; i < ws.pmesh->npolys; ++i) {
    if (ws.pmesh->areas[i] == RC_WALKABLE_AREA) ws.pmesh->areas[i] = kAreaGround;
    if (ws.pmesh->areas[i] == kAreaGround) ws.pmesh->flags[i] = kFlagWalk;
  }
  dtNavMeshCreateParams params{};
  params.verts = ws.pmesh->verts;
  params.vertCount = ws.pmesh->nverts;
  params.polys = ws.pmesh->polys;
  params.polyAreas = ws.pmesh->areas;
  params.polyFlags = ws.pmesh->flags;
  params.polyCount = ws.pmesh->npolys;
  params.nvp = ws.pmesh->nvp;
  params.detailMeshes = ws.dmesh->meshes;
  params.detailVerts = ws.dmesh->verts;
  params.detailVertsCount = ws.dmesh->nverts;
  params.detailTris = ws.dmesh->tris;
  params.detailTriCount = ws.dmesh->ntris;
  params.walkableHeight = bs.agent_height;
  params.walkableRadius = bs.agent_radius;
  params.walkableClimb = bs.agent_max_climb;
  rcVcopy(params.bmin, ws.pmesh->bmin);
  rcVcopy(params.bmax, ws.pmesh->bmax);
  params.cs = cfg.cs;
  params.ch = cfg.ch;
  params.buildBvTree = true;
  unsigned char* data = nullptr;
  int data_size = 0;
  if (!dtCreateNavMeshData(&params, &data, &data_size)) fail("could not create Detour data");
  NavMeshPtr nm(dtAllocNavMesh());
  if (!nm || dtStatusFailed(nm->init(data, data_size, DT_TILE_FREE_DATA))) {
    dtFree(data);
    fail("could not initialise the Detour navmesh");
  }
  impl_->clearPool();
  impl_->navmesh = std::move(nm);
  impl_->settings = bs;
  impl_->finalize();
  spdlog::debug("navmesh: {} vertices, {} polygons", ws.pmesh->nverts, ws.pmesh->npolys);
}

void PathFinder::loadNavMesh(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open navmesh file");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& what) { return std::runtime_error(path + ": " + what); };
  size_t off = 0;
  auto read = [&](void* dst, size_t n, const char* what) {
    if (bytes.size() - off < n) throw bad(std::string("truncated navmesh (") + what + ")");
    std::memcpy(dst, bytes.data() + off, n);
    off += n;
  };
  NavMeshSetHeader header{};
  read(&header, sizeof(header), "header");
  if (header.magic != kNavMeshSetMagic)
    throw bad("not a Habitat/Detour navmesh (magic is not 'MSET')");
  if (header.version != 1 && header.version != 2)
    throw bad("unsupported navmesh version " + std::to_string(header.version) + " (want 1 or 2)");
  NavMeshSettings file_settings;
  if (header.version == 2) {
    HabitatNavMeshSettings hs{};
    read(&hs, sizeof(hs), "settings");
    file_settings = fromHabitat(hs);
  }
  const dtNavMeshParams& p = header.params;
  // Detour allocates maxTiles tiles up front and packs tile and polygon ids into 32-bit
  // references: bound both, and the tile count by what the file can hold.
  if (header.num_tiles <= 0 || p.maxTiles <= 0 || header.num_tiles > p.maxTiles ||
      p.maxTiles > (1 << 16) || p.maxPolys <= 0 || p.maxPolys > (1 << 20) ||
      static_cast<size_t>(header.num_tiles) >
          bytes.size() / (sizeof(NavMeshTileHeader) + sizeof(dtMeshHeader)) ||
      !std::isfinite(p.tileWidth) || !std::isfinite(p.tileHeight) || !std::isfinite(p.orig[0]) ||
      !std::isfinite(p.orig[1]) || !std::isfinite(p.orig[2]))
    throw bad("invalid navmesh parameters (" + std::to_string(header.num_tiles) + " tiles)");
  NavMeshPtr nm(dtAllocNavMesh());
  if (!nm || dtStatusFailed(nm->init(&header.params)))
    throw bad("Detour rejected the navmesh parameters");
  for (int i = 0; i < header.num_tiles; ++i) {
    NavMeshTileHeader th{};
    read(&th, sizeof(th), "tile header");
    if (th.tile_ref == 0 || th.data_size <= 0)
      throw bad("tile " + std::to_string(i) + " has an empty reference or size");
    if (bytes.size() - off < static_cast<size_t>(th.data_size))
      throw bad("truncated navmesh (tile " + std::to_string(i) + " data)");
    if (!tileLayoutValid(reinterpret_cast<const unsigned char*>(bytes.data() + off), th.data_size))
      throw bad("corrupt tile " + std::to_string(i));
    auto* data = static_cast<unsigned char*>(dtAlloc(th.data_size, DT_ALLOC_PERM));
    if (!data) throw bad("out of memory");
    read(data, th.data_size, "tile data");
    if (dtStatusFailed(nm->addTile(data, th.data_size, DT_TILE_FREE_DATA, th.tile_ref, nullptr))) {
      dtFree(data);
      throw bad("Detour rejected tile " + std::to_string(i));
    }
  }
  impl_->clearPool();
  impl_->navmesh = std::move(nm);
  impl_->settings = file_settings;
  impl_->finalize();
  spdlog::debug("{}: loaded navmesh v{} with {} tiles", path, header.version, header.num_tiles);
}

void PathFinder::saveNavMesh(const std::string& path, int format_version) const {
  impl_->requireLoaded();
  if (format_version != 1 && format_version != 2)
    throw std::runtime_error(path + ": navmesh format version must be 1 or 2");
  const dtNavMesh* nm = impl_->navmesh.get();
  std::string out;
  NavMeshSetHeader header{};
  header.magic = kNavMeshSetMagic;
  header.version = format_version;
  for (int i = 0; i < nm->getMaxTiles(); ++i) {
    const dtMeshTile* tile = nm->getTile(i);
    if (tile && tile->header && tile->dataSize) ++header.num_tiles;
  }
  std::memcpy(&header.params, nm->getParams(), sizeof(dtNavMeshParams));
  out.append(reinterpret_cast<const char*>(&header), sizeof(header));
  if (format_version == 2) {
    const HabitatNavMeshSettings hs = toHabitat(impl_->settings);
    out.append(reinterpret_cast<const char*>(&hs), sizeof(hs));
  }
  for (int i = 0; i < nm->getMaxTiles(); ++i) {
    const dtMeshTile* tile = nm->getTile(i);
    if (!tile || !tile->header || !tile->dataSize) continue;
    NavMeshTileHeader th{nm->getTileRef(tile), tile->dataSize};
    out.append(reinterpret_cast<const char*>(&th), sizeof(th));
    out.append(reinterpret_cast<const char*>(tile->data), tile->dataSize);
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error(path + ": cannot write navmesh");
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    f.close();
    if (!f) {
      std::remove(tmp.c_str());
      throw std::runtime_error(path + ": cannot write navmesh");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot rename the temporary navmesh into place");
  }
}

namespace {

// FNV-1a over the geometry the navmesh is built from (positions and triangles), as hex.
std::string geometryKey(const Mesh& mesh) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  mix(mesh.positions.data(), mesh.positions.size() * sizeof(Vec3));
  mix(mesh.indices.data(), mesh.indices.size() * sizeof(uint32_t));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Polygons across edge `edge` of `poly` that pass our filter (Detour's neighbour rule:
// tile-border links, else the internal neighbour index). Returns how many (at most 8).
int edgeNeighbours(const dtNavMesh& nav, const dtMeshTile* tile, const dtPoly* poly, int edge,
                   dtPolyRef* out) {
  constexpr int kMaxNeighbours = 8;
  int n = 0;
  if (poly->neis[edge] & DT_EXT_LINK) {
    for (unsigned int k = poly->firstLink; k != DT_NULL_LINK; k = tile->links[k].next) {
      const dtLink& link = tile->links[k];
      if (link.edge != edge || link.ref == 0) continue;
      const dtMeshTile* ntile = nullptr;
      const dtPoly* npoly = nullptr;
      nav.getTileAndPolyByRefUnsafe(link.ref, &ntile, &npoly);
      if (passesFilter(npoly) && n < kMaxNeighbours) out[n++] = link.ref;
    }
  } else if (poly->neis[edge]) {
    const unsigned int idx = poly->neis[edge] - 1u;
    const dtPolyRef ref = nav.getPolyRefBase(tile) | idx;
    if (passesFilter(&tile->polys[idx])) out[n++] = ref;
  }
  return n;
}

// Detour's moveAlongSurface with sliding off, the rule of habitat-sim's Detour fork
// (erikwijmans/recastnavigation @8eef00be, `allowSliding = false`): the move keeps to the
// segment start -> end. A neighbour polygon is entered only through an edge the segment
// crosses (2-D, both parameters in [0, 1]); where the segment meets a wall edge the move
// ends at that crossing, the crossing nearest `end` (2-D) when there are several; `end`
// itself when a reached polygon holds it. Detour's search bounds are kept: a 64-node pool,
// at most 48 polygons queued, edges beyond the circle around the segment's midpoint
// skipped. Writes the polygons from the start's to the result's into `visited` and returns
// how many (0, with `result` = start, when nothing was reached).
int moveAlongSurfaceNoSliding(const dtNavMesh& nav, dtPolyRef start_ref, const float* start,
                              const float* end, float* result, dtPolyRef* visited,
                              int max_visited) {
  constexpr int kMaxNodes = 64;  // Detour's tiny node pool
  constexpr int kMaxQueued = 48;
  struct Node {
    dtPolyRef ref;
    int parent;
    bool closed;
  };
  Node nodes[kMaxNodes];
  int num_nodes = 0;
  const auto nodeOf = [&](dtPolyRef ref) {
    for (int k = 0; k < num_nodes; ++k)
      if (nodes[k].ref == ref) return k;
    if (num_nodes == kMaxNodes) return -1;
    nodes[num_nodes] = {ref, -1, false};
    return num_nodes++;
  };
  int queue[kMaxNodes];  // each node is queued at most once
  int head = 0, tail = 0;
  nodes[num_nodes++] = {start_ref, -1, true};
  queue[tail++] = 0;

  float best[3];
  dtVcopy(best, start);
  float best_dist2 = FLT_MAX;
  int best_node = -1;
  float mid[3];
  dtVlerp(mid, start, end, 0.5f);
  const float radius2 = dtSqr(dtVdist(start, end) / 2.f + 0.001f);
  float verts[DT_VERTS_PER_POLYGON * 3];
  while (head < tail) {
    const int cur = queue[head++];
    const dtMeshTile* tile = nullptr;
    const dtPoly* poly = nullptr;
    nav.getTileAndPolyByRefUnsafe(nodes[cur].ref, &tile, &poly);
    const int nv = poly->vertCount;
    for (int k = 0; k < nv; ++k) dtVcopy(&verts[k * 3], &tile->verts[poly->verts[k] * 3]);
    if (dtPointInPolygon(end, verts, nv)) {
      best_node = cur;
      dtVcopy(best, end);
      break;
    }
    for (int i = 0, j = nv - 1; i < nv; j = i++) {
      const float* vj = &verts[j * 3];
      const float* vi = &verts[i * 3];
      float s = 0.f, t = 0.f;  // crossing at vj + s (vi - vj) = start + t (end - start)
      const bool crosses = dtIntersectSegSeg2D(vj, vi, start, end, s, t) && t >= 0.f && t <= 1.f &&
                           s >= 0.f && s <= 1.f;
      dtPolyRef neighbours[8];
      const int nn = edgeNeighbours(nav, tile, poly, j, neighbours);
      if (nn == 0) {  // a wall: the move may end where the segment meets it
        if (!crosses) continue;
        float at[3];
        dtVlerp(at, vj, vi, s);
        const float d2 = dtVdist2DSqr(at, end);
        if (d2 < best_dist2) {
          dtVcopy(best, at);
          best_dist2 = d2;
          best_node = cur;
        }
        continue;
      }
      for (int k = 0; k < nn; ++k) {
        const int n = nodeOf(neighbours[k]);
        if (n < 0 || nodes[n].closed) continue;
        float tseg = 0.f;
        if (dtDistancePtSegSqr2D(mid, vj, vi, tseg) > radius2) continue;
        if (!crosses) continue;
        if (tail - head < kMaxQueued) {
          nodes[n].parent = cur;
          nodes[n].closed = true;
          queue[tail++] = n;
        }
      }
    }
  }
  dtVcopy(result, best);
  if (best_node < 0) return 0;
  int chain[kMaxNodes];
  int len = 0;
  for (int n = best_node; n >= 0; n = nodes[n].parent) chain[len++] = n;
  const int count = std::min(len, max_visited);
  for (int k = 0; k < count; ++k) visited[k] = nodes[chain[len - 1 - k]].ref;
  return count;
}

}  // namespace

void PathFinder::loadOrBuild(const std::string& navmesh_path, const Mesh& mesh,
                             const NavMeshSettings& settings) {
  // "<navmesh>.geometry" records which geometry a navmesh this cache built came from, so a
  // .navmesh left from an older version of the scene is rebuilt. A .navmesh without one
  // (shipped with a dataset, as Matterport's are) is trusted, as Habitat trusts it.
  const std::string key_path = navmesh_path + ".geometry";
  const std::string key = geometryKey(mesh);
  std::string recorded;
  if (std::ifstream k(key_path); k) std::getline(k, recorded);
  if (!recorded.empty() && recorded != key) {
    spdlog::info("{}: built from other geometry, rebuilding", navmesh_path);
  } else if (std::filesystem::exists(navmesh_path)) {
    try {
      loadNavMesh(navmesh_path);
      // Version-1 files do not record settings; their loader reports the defaults.
      if (sameSettings(impl_->settings, settings)) return;
      spdlog::info("{}: built with other settings, rebuilding", navmesh_path);
    } catch (const std::runtime_error& e) {
      spdlog::warn("{} (rebuilding)", e.what());
    }
  }
  build(mesh, settings);
  // The file beside a scene is its navmesh for Habitat's default agent; a navmesh for
  // another agent (RxR-CE's 0.88 m / 0.18 m) stays in memory, as habitat-sim recomputes it,
  // so the scene's own file is never overwritten.
  if (!sameSettings(settings, NavMeshSettings{})) {
    spdlog::info("{}: navmesh for agent radius {} m, height {} m built in memory", navmesh_path,
                 settings.agent_radius, settings.agent_height);
    return;
  }
  try {
    saveNavMesh(navmesh_path, 1);
    writeFileAtomic(key_path, key + "\n");
  } catch (const std::runtime_error& e) {
    spdlog::warn("navmesh cache not written: {}", e.what());
  }
}

bool PathFinder::isLoaded() const { return impl_ && impl_->navmesh != nullptr; }

void PathFinder::setSearchLimits(const PathSearchLimits& limits) {
  if (limits.max_path_polys < 2 || limits.max_nodes < 0)
    throw std::invalid_argument("PathFinder::setSearchLimits: need >= 2 path polygons, >= 0 nodes");
  impl_->limits = limits;
  impl_->updateQueryNodes();
}

const PathSearchLimits& PathFinder::searchLimits() const { return impl_->limits; }

const NavMeshSettings& PathFinder::settings() const { return impl_->settings; }

float PathFinder::geodesicDistance(const Vec3& start, const Vec3& end) const {
  impl_->requireLoaded();
  Impl::QueryLease q(*impl_);
  const auto [sref, s] = impl_->project(q, start);
  const auto [eref, e] = impl_->project(q, end);
  if (sref == 0 || eref == 0) return kInf;
  return impl_->pathBetween(q, sref, s, start, eref, e, end, nullptr);
}

float PathFinder::geodesicDistance(const Vec3& start, const std::vector<Vec3>& ends) const {
  impl_->requireLoaded();
  Impl::QueryLease q(*impl_);
  const auto [sref, s] = impl_->project(q, start);
  if (sref == 0) return kInf;
  // Visit goals by their straight-line distance (Habitat's minTheoreticalDist, between the
  // requested points) and stop once it exceeds the best.
  std::vector<std::tuple<float, dtPolyRef, Vec3, Vec3>> goals;
  for (const Vec3& e : ends) {
    const auto [eref, ep] = impl_->project(q, e);
    if (eref != 0) goals.emplace_back(distance(start, e), eref, ep, e);
  }
  std::sort(goals.begin(), goals.end(),
            [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  float best = kInf;
  for (const auto& [bound, eref, ep, e] : goals) {
    if (bound > best) break;
    best = std::min(best, impl_->pathBetween(q, sref, s, start, eref, ep, e, nullptr));
  }
  return best;
}

bool PathFinder::findPath(const Vec3& start, const Vec3& end, std::vector<Vec3>& points,
                          float* geodesic_distance) const {
  impl_->requireLoaded();
  points.clear();
  if (geodesic_distance) *geodesic_distance = kInf;
  Impl::QueryLease q(*impl_);
  const auto [sref, s] = impl_->project(q, start);
  const auto [eref, e] = impl_->project(q, end);
  if (sref == 0 || eref == 0) return false;
  const float d = impl_->pathBetween(q, sref, s, start, eref, e, end, &points);
  if (geodesic_distance) *geodesic_distance = d;
  if (!std::isfinite(d)) points.clear();
  return std::isfinite(d);
}

Vec3 PathFinder::snapPoint(const Vec3& p) const {
  impl_->requireLoaded();
  Impl::QueryLease q(*impl_);
  return impl_->project(q, p).second;
}

bool PathFinder::isNavigable(const Vec3& p, float max_y_delta) const {
  impl_->requireLoaded();
  Impl::QueryLease q(*impl_);
  const auto [ref, s] = impl_->project(q, p);
  if (ref == 0) return false;
  // Habitat: on the surface within max_y_delta vertically and 1 cm horizontally.
  return std::fabs(s.y - p.y) <= max_y_delta && horizontalDistance(s, p) <= 1e-2f;
}

Vec3 PathFinder::tryStep(const Vec3& start, const Vec3& end) const {
  return step(start, end, true);
}

Vec3 PathFinder::tryStepNoSliding(const Vec3& start, const Vec3& end) const {
  return step(start, end, false);
}

Vec3 PathFinder::step(const Vec3& start, const Vec3& end, bool allow_sliding) const {
  impl_->requireLoaded();
  Impl::QueryLease q(*impl_);
  const auto [sref, s] = impl_->project(q, start);
  const auto [eref, e] = impl_->project(q, end);
  if (sref == 0 || eref == 0) return start;
  if (impl_->islandOf(sref) != impl_->islandOf(eref)) return start;
  dtPolyRef visited[kMaxPathPolys];
  int nvisited = 0;
  const float sp[3] = {s.x, s.y, s.z};
  const float ep[3] = {end.x, end.y, end.z};
  float result[3];
  // Detour's moveAlongSurface returns the reachable point closest to `end`, which slides
  // along walls (Habitat's allowSliding = true); without sliding the move stops at the wall.
  if (allow_sliding)
    q->moveAlongSurface(sref, sp, ep, &impl_->filter, result, visited, &nvisited, kMaxPathPolys);
  else
    nvisited =
        moveAlongSurfaceNoSliding(*impl_->navmesh, sref, sp, ep, result, visited, kMaxPathPolys);
  if (nvisited == 0) return start;
  const dtPolyRef last = visited[nvisited - 1];
  q->getPolyHeight(last, result, &result[1]);
  Vec3 out = toVec(result);
  // Habitat's fix for infinitely thin walls: a point on an edge shared with another island
  // is nudged 0.1 mm towards the centre of the polygon moveAlongSurface ended in.
  if (impl_->islandOf(impl_->project(q, out).first) != impl_->islandOf(sref)) {
    const dtMeshTile* tile = nullptr;
    const dtPoly* poly = nullptr;
    impl_->navmesh->getTileAndPolyByRefUnsafe(last, &tile, &poly);
    Vec3 centre;
    for (int i = 0; i < poly->vertCount; ++i) centre += toVec(&tile->verts[poly->verts[i] * 3]);
    centre = centre / static_cast<float>(poly->vertCount);
    out += normalize(centre - out) * 1e-4f;
  }
  return out;
}

float PathFinder::distanceToClosestObstacle(const Vec3& p, float max_search_radius_m) const {
  impl_->requireLoaded();
  Impl::QueryLease q(*impl_);
  const auto [ref, s] = impl_->project(q, p);
  if (ref == 0) return kInf;
  const float centre[3] = {s.x, s.y, s.z};
  float hit_dist = kNaN, hit_pos[3], hit_normal[3];
  q->findDistanceToWall(ref, centre, max_search_radius_m, &impl_->filter, &hit_dist, hit_pos,
                        hit_normal);
  return hit_dist;
}

int PathFinder::islandIndex(const Vec3& p) const {
  impl_->requireLoaded();
  Impl::QueryLease q(*impl_);
  return impl_->islandOf(impl_->project(q, p).first);
}

float PathFinder::navigableArea(int island) const {
  if (island < 0) return impl_->total_area;
  if (island >= static_cast<int>(impl_->island_area.size())) return 0.f;
  return impl_->island_area[island];
}

Vec3 PathFinder::randomNavigablePoint(std::mt19937_64& rng, int island) const {
  impl_->requireLoaded();
  const auto& tris = impl_->tris;
  const auto& cdf = impl_->tri_cdf;
  if (navigableArea(island) <= 0.f)
    throw std::runtime_error("navmesh has no navigable area" +
                             (island >= 0 ? " on island " + std::to_string(island) : ""));
  // Pick a triangle with probability area / (total area of the chosen set).
  const std::vector<double>& c = island < 0 ? cdf : impl_->island_cdf[island];
  const double u = unitDouble(rng) * c.back();
  size_t k = std::upper_bound(c.begin(), c.end(), u) - c.begin();
  k = std::min(k, c.size() - 1);
  const size_t ti = island < 0 ? k : impl_->island_tris[island][k];
  // Uniform point in a triangle: (1 - sqrt(r1)) a + sqrt(r1) (1 - r2) b + sqrt(r1) r2 c.
  const auto& t = tris[ti];
  const float r1 = std::sqrt(static_cast<float>(unitDouble(rng)));
  const float r2 = static_cast<float>(unitDouble(rng));
  return t.a * (1 - r1) + t.b * (r1 * (1 - r2)) + t.c * (r1 * r2);
}

void PathFinder::bounds(Vec3& lo, Vec3& hi) const {
  lo = impl_->lo;
  hi = impl_->hi;
}

std::vector<Vec3> PathFinder::navMeshTriangles() const {
  std::vector<Vec3> out;
  out.reserve(impl_->tris.size() * 3);
  for (const auto& t : impl_->tris) out.insert(out.end(), {t.a, t.b, t.c});
  return out;
}

}  // namespace svln::sim
