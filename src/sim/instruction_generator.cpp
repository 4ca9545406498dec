#include "sim/instruction_generator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "sim/procedural_scene.h"

namespace svln::sim {
namespace {

constexpr float kPi = 3.14159265358979323846f;
constexpr float kSampleStep = 0.05f;

struct Sample {
  Vec3 p;
  float s;  // arclength from the start
  int room;
};

std::vector<Sample> samplePath(const Mesh& mesh, const std::vector<Vec3>& path) {
  std::vector<Sample> out;
  float s = 0.f;
  out.push_back({path[0], 0.f, roomIndexAt(mesh, path[0])});
  for (size_t i = 1; i < path.size(); ++i) {
    const float len = distance(path[i - 1], path[i]);
    const int steps = std::max(1, static_cast<int>(std::ceil(len / kSampleStep)));
    for (int k = 1; k <= steps; ++k) {
      const float t = static_cast<float>(k) / steps;
      const Vec3 p = path[i - 1] + (path[i] - path[i - 1]) * t;
      out.push_back({p, s + len * t, roomIndexAt(mesh, p)});
    }
    s += len;
  }
  return out;
}

struct Visit {
  int room;
  float s_enter, s_exit;
};

std::vector<Visit> visits(const std::vector<Sample>& samples) {
  std::vector<Visit> v;
  for (const Sample& smp : samples) {
    if (smp.room < 0) continue;
    if (v.empty() || v.back().room != smp.room)
      v.push_back({smp.room, smp.s, smp.s});
    else
      v.back().s_exit = smp.s;
  }
  // Drop short middle visits, then merge the neighbours they separated.
  std::vector<Visit> kept;
  for (size_t i = 0; i < v.size(); ++i) {
    const bool middle = i > 0 && i + 1 < v.size();
    if (middle && v[i].s_exit - v[i].s_enter < 0.2f) continue;
    if (!kept.empty() && kept.back().room == v[i].room)
      kept.back().s_exit = v[i].s_exit;
    else
      kept.push_back(v[i]);
  }
  return kept;
}

// Signed horizontal angle from direction a to b; positive turns left (counter-clockwise
// seen from above, i.e. about +Y).
float signedAngle(const Vec3& a, const Vec3& b) {
  const float cross_y = a.z * b.x - a.x * b.z;
  return std::atan2(cross_y, a.x * b.x + a.z * b.z);
}

struct Turn {
  float s;
  float angle;  // radians, + = left
  Vec3 p;
  bool used = false;
};

std::vector<Turn> turns(const std::vector<Vec3>& path, const InstructionOptions& opt) {
  std::vector<Turn> corners;
  std::vector<float> cum(path.size(), 0.f);
  for (size_t i = 1; i < path.size(); ++i) cum[i] = cum[i - 1] + distance(path[i - 1], path[i]);
  auto flat = [](const Vec3& v) { return normalize(Vec3{v.x, 0, v.z}); };
  for (size_t i = 1; i + 1 < path.size(); ++i) {
    const Vec3 din = flat(path[i] - path[i - 1]), dout = flat(path[i + 1] - path[i]);
    if (length(din) < 0.5f || length(dout) < 0.5f) continue;  // zero-length segment
    corners.push_back({cum[i], signedAngle(din, dout), path[i]});
  }
  // Shortest paths bend in several small corners around a door jamb; add those up.
  std::vector<Turn> merged;
  for (const Turn& c : corners) {
    if (!merged.empty() && c.s - merged.back().s <= opt.corner_merge_m) {
      merged.back().angle += c.angle;
      merged.back().s = (merged.back().s + c.s) / 2;
      merged.back().p = (merged.back().p + c.p) * 0.5f;
    } else {
      merged.push_back(c);
    }
  }
  const float threshold = opt.turn_threshold_deg * kPi / 180.f;
  std::vector<Turn> out;
  for (const Turn& t : merged)
    if (std::fabs(t.angle) >= threshold) out.push_back(t);
  return out;
}

class Phrases {
 public:
  explicit Phrases(std::mt19937_64& rng) : rng_(rng) {}
  std::string pick(const std::vector<std::string>& options) {
    return options[rng_() % options.size()];
  }
  static std::string fill(std::string s, const std::string& key, const std::string& value) {
    for (size_t pos = s.find(key); pos != std::string::npos; pos = s.find(key, pos))
      s.replace(pos, key.size(), value), pos += value.size();
    return s;
  }
  std::string turnWord(float angle) const { return angle > 0 ? "left" : "right"; }

  std::string leave(const std::string& room) {
    return fill(
        pick({"walk out of the {r}", "exit the {r}", "leave the {r}", "head out of the {r}"}),
        "{r}", room);
  }
  std::string enterTurning(const std::string& room, float angle) {
    if (std::fabs(angle) >= 150.f * kPi / 180.f)
      return fill("turn around into the {r}", "{r}", room);
    return fill(
        fill(pick({"turn {d} into the {r}", "take a {d} into the {r}", "go {d} into the {r}"}),
             "{d}", turnWord(angle)),
        "{r}", room);
  }
  std::string through(const std::string& room) {
    return fill(pick({"go through the {r}", "walk through the {r}", "continue through the {r}",
                      "cross the {r}"}),
                "{r}", room);
  }
  std::string enter(const std::string& room) {
    return fill(
        pick({"enter the {r}", "go into the {r}", "walk into the {r}", "continue into the {r}"}),
        "{r}", room);
  }
  std::string turn(float angle, const std::string& landmark) {
    std::string t =
        std::fabs(angle) >= 150.f * kPi / 180.f
            ? std::string("turn around")
            : fill(pick({"turn {d}", "make a {d}", "take a {d}"}), "{d}", turnWord(angle));
    if (!landmark.empty()) t += " at the " + landmark;
    return t;
  }
  std::string pass(const std::string& obj) {
    return fill(pick({"walk past the {o}", "pass the {o}", "go past the {o}"}), "{o}", obj);
  }
  std::string stopAt(const std::string& obj, const std::string& room) {
    return fill(fill(pick({"stop next to the {o} in the {r}", "stop by the {o} in the {r}",
                           "wait near the {o} in the {r}", "stop beside the {o} in the {r}"}),
                     "{o}", obj),
                "{r}", room);
  }
  std::string stopIn(const std::string& room) {
    return fill(pick({"stop in the {r}", "wait in the {r}", "stop once you are in the {r}"}), "{r}",
                room);
  }

 private:
  std::mt19937_64& rng_;
};

std::string capitalised(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// "a, b, and c" (two clauses: "a and b").
std::string joinClauses(const std::vector<std::string>& c) {
  if (c.size() == 1) return c[0];
  if (c.size() == 2)
    return c[0] + (c[0].find(" and ") == std::string::npos ? " and " : ", then ") + c[1];
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    if (i > 0) out += i + 1 == c.size() ? ", and " : ", ";
    out += c[i];
  }
  return out;
}

}  // namespace

int roomIndexAt(const Mesh& mesh, const Vec3& p) {
  for (size_t i = 0; i < mesh.rooms.size(); ++i) {
    const Room& r = mesh.rooms[i];
    if (p.x >= r.bbox_min.x && p.x <= r.bbox_max.x && p.z >= r.bbox_min.z && p.z <= r.bbox_max.z)
      return static_cast<int>(i);
  }
  return -1;
}

std::vector<int> roomSequence(const Mesh& mesh, const std::vector<Vec3>& path) {
  std::vector<int> rooms;
  if (path.empty()) return rooms;
  for (const Visit& v : visits(samplePath(mesh, path))) rooms.push_back(v.room);
  return rooms;
}

float distanceToObject(const SceneObject& obj, const Vec3& p) {
  const float dx = std::max({obj.bbox_min.x - p.x, 0.f, p.x - obj.bbox_max.x});
  const float dz = std::max({obj.bbox_min.z - p.z, 0.f, p.z - obj.bbox_max.z});
  return std::hypot(dx, dz);
}

std::vector<int> uniqueLandmarks(const Mesh& mesh) {
  std::map<std::string, int> count;
  for (const SceneObject& o : mesh.objects) ++count[o.name];
  std::vector<int> out;
  for (size_t i = 0; i < mesh.objects.size(); ++i)
    if (isFurniture(mesh.objects[i]) && count[mesh.objects[i].name] == 1)
      out.push_back(static_cast<int>(i));
  return out;
}

GeneratedInstruction generateInstruction(const Mesh& mesh, const std::vector<Vec3>& path,
                                         float start_heading_rad, std::mt19937_64& rng,
                                         const InstructionOptions& opt) {
  if (path.size() < 2) throw std::invalid_argument("generateInstruction: path needs 2 points");
  GeneratedInstruction out;
  Phrases ph(rng);
  const std::vector<Sample> samples = samplePath(mesh, path);
  const std::vector<Visit> route = visits(samples);
  if (route.empty()) throw std::invalid_argument("generateInstruction: path lies in no room");
  for (const Visit& v : route) out.rooms.push_back(v.room);
  const float total = samples.back().s;
  const Vec3 goal = path.back();
  const std::string& goal_room = mesh.rooms[route.back().room].name;
  const std::vector<int> landmarks = uniqueLandmarks(mesh);

  // Stop landmark: nearest unique furniture of the goal's room within reach of the goal.
  float best = opt.goal_landmark_m;
  for (int li : landmarks) {
    const SceneObject& o = mesh.objects[li];
    const float d = distanceToObject(o, goal);
    if (o.room == goal_room && d <= best) {
      best = d;
      out.goal_landmark = li;
    }
  }

  // Landmarks passed on the way, in the room the path is in when closest to them.
  struct Pass {
    float s;
    int obj;
  };
  std::vector<Pass> passes;
  for (int li : landmarks) {
    if (li == out.goal_landmark) continue;
    const SceneObject& o = mesh.objects[li];
    const Sample* closest = nullptr;
    float dmin = opt.pass_distance_m;
    for (const Sample& smp : samples) {
      const float d = distanceToObject(o, smp.p);
      if (d <= dmin) {
        dmin = d;
        closest = &smp;
      }
    }
    if (closest && closest->room >= 0 && mesh.rooms[closest->room].name == o.room &&
        closest->s > 0.5f && closest->s < total - 1.5f)
      passes.push_back({closest->s, li});
  }
  for (size_t i = passes.size(); i > 1; --i) std::swap(passes[i - 1], passes[rng() % i]);
  if (static_cast<int>(passes.size()) > opt.max_pass_landmarks)
    passes.resize(opt.max_pass_landmarks);
  std::sort(passes.begin(), passes.end(), [](const Pass& a, const Pass& b) { return a.s < b.s; });

  std::vector<Turn> bends = turns(path, opt);
  // Events along the path: entering room k (k >= 1), a standalone turn, a landmark passed.
  struct Event {
    float s;
    std::string text;
  };
  std::vector<Event> events;
  for (size_t k = 1; k < route.size(); ++k) {
    Turn* nearest = nullptr;
    for (Turn& t : bends)
      if (!t.used && std::fabs(t.s - route[k].s_enter) <= 1.5f &&
          (!nearest ||
           std::fabs(t.s - route[k].s_enter) < std::fabs(nearest->s - route[k].s_enter)))
        nearest = &t;
    const std::string& room = mesh.rooms[route[k].room].name;
    std::string text;
    if (nearest) {
      nearest->used = true;
      text = ph.enterTurning(room, nearest->angle);
    } else {
      text = k + 1 < route.size() ? ph.through(room) : ph.enter(room);
    }
    events.push_back({route[k].s_enter, text});
  }
  for (const Turn& t : bends) {
    if (t.used || t.s > total - 0.3f) continue;
    std::string at;
    const int room = roomIndexAt(mesh, t.p);
    for (int li : landmarks) {
      const SceneObject& o = mesh.objects[li];
      if (li != out.goal_landmark && room >= 0 && o.room == mesh.rooms[room].name &&
          distanceToObject(o, t.p) <= 1.0f) {
        at = o.name;
        out.landmarks.push_back(li);
        break;
      }
    }
    events.push_back({t.s, ph.turn(t.angle, at)});
  }
  for (const Pass& p : passes) {
    if (std::find(out.landmarks.begin(), out.landmarks.end(), p.obj) != out.landmarks.end())
      continue;
    events.push_back({p.s, ph.pass(mesh.objects[p.obj].name)});
    out.landmarks.push_back(p.obj);
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.s < b.s; });

  std::vector<std::string> clauses;
  // Opening: how to face the first leg, then leaving the start room.
  std::string opening;
  Vec3 first_dir;
  for (size_t i = 1; i < path.size() && length(first_dir) < 1e-3f; ++i)
    first_dir = normalize(Vec3{path[i].x - path[0].x, 0, path[i].z - path[0].z});
  const float initial = signedAngle(forwardFromHeading(start_heading_rad), first_dir);
  if (std::fabs(initial) >= 135.f * kPi / 180.f)
    opening = "turn around";
  else if (std::fabs(initial) >= 45.f * kPi / 180.f)
    opening = ph.turn(initial, "");
  const std::string& start_room = mesh.rooms[route.front().room].name;
  std::string first;
  if (route.size() > 1)
    first = ph.leave(start_room);
  else if (events.empty())
    first = ph.pick({"walk forward", "go straight ahead", "move ahead", "walk ahead"});
  if (!opening.empty() && !first.empty())
    clauses.push_back(opening + " and " + first);
  else if (!opening.empty() || !first.empty())
    clauses.push_back(opening.empty() ? first : opening);
  for (const Event& e : events) clauses.push_back(e.text);
  clauses.push_back(out.goal_landmark >= 0
                        ? ph.stopAt(mesh.objects[out.goal_landmark].name, goal_room)
                        : ph.stopIn(goal_room));

  if (clauses.size() >= 4 && rng() % 2 == 0) {
    const size_t k = clauses.size() / 2;
    const std::vector<std::string> a(clauses.begin(), clauses.begin() + k);
    const std::vector<std::string> b(clauses.begin() + k, clauses.end());
    // "Then" only once: not after a first sentence that already says "then".
    const std::string first_part = joinClauses(a);
    const std::string link = first_part.find("then") != std::string::npos
                                 ? ph.pick({"After that,", "Next,"})
                                 : ph.pick({"Then", "After that,", "Next,"});
    out.text = capitalised(first_part) + ". " + link + " " + joinClauses(b) + ".";
  } else {
    out.text = capitalised(joinClauses(clauses)) + ".";
  }
  return out;
}

}  // namespace svln::sim
