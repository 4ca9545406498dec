// Procedural apartments: the built-in world used when no Matterport scenes are at hand.
//
// An apartment is a grid of rectangular cells, N of which (a connected set) become rooms
// of distinct types. Each room owns the inner half of its four walls (so neighbouring
// rooms show their own wall colour on either side), a textured floor, a ceiling, door
// openings to its neighbours (a spanning tree plus a few extra doors) and furniture of
// its type placed so that every door of the room stays reachable from every other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/mesh.h"

namespace svln::sim {

struct ApartmentSpec {
  int min_rooms = 3;
  int max_rooms = 8;
  float min_room_size_m = 3.0f;  // side lengths of a grid cell
  float max_room_size_m = 5.0f;
  float min_wall_height_m = 2.5f;  // also the ceiling height
  float max_wall_height_m = 2.8f;
  float min_wall_thickness_m = 0.10f;
  float max_wall_thickness_m = 0.15f;
  float min_door_width_m = 0.9f;
  float max_door_width_m = 1.2f;
  float door_height_m = 2.1f;
  float extra_door_probability = 0.3f;  // per adjacent room pair outside the spanning tree
  float agent_radius_m = 0.1f;          // free space kept around furniture for walking
  int texture_size = 64;                // floor textures are texture_size^2 texels
  bool furniture = true;
  bool ceiling = true;
};

// Builds the apartment for `seed`; the same seed and spec give the same mesh. Y is up,
// the floor is at y = 0 and the apartment is centred on the origin (within +-12 m).
// Objects: one "<room> floor", "<room> wall", "<room> ceiling" per room, one "door" per
// opening (room = one of its two rooms), and the furniture ("blue sofa", ...).
Mesh generateApartment(uint64_t seed, const ApartmentSpec& spec = {});

// The room of the vision-dependent "choice" task (gen-data --task choice): one empty room
// of side room_size_m with one full-height column of a distinct vivid colour in each of
// its corners' quadrants (objects "<colour> column", category "column"). Which column
// stands where is drawn per seed, so only the images tell where the named one is.
struct ChoiceRoomSpec {
  int columns = 4;             // 2..4, one per quadrant
  float room_size_m = 12.f;    // square room
  float column_width_m = 0.5f;
  float min_corner_inset_m = 0.9f;  // column centre to the two nearest walls
  float max_corner_inset_m = 1.6f;
};
Mesh generateChoiceRoom(uint64_t seed, const ChoiceRoomSpec& spec = {});
// The column colours the choice task draws from, in order.
const std::vector<std::string>& choiceColumnColors();

// True for objects that are furniture (landmarks), false for floors, walls, ceilings and
// doors.
bool isFurniture(const SceneObject& obj);

}  // namespace svln::sim
