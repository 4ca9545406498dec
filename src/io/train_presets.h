// Named bundles of `streamvln train` flags (--preset NAME). A preset is a list of flag values
// as a user would type them; it fills the flags the command line did not give, so explicit
// flags always override it. The tables are in train_presets.cpp, one line per flag with the
// reason (for budvln: the reference's file:line, shared/spec/budvln-reference.md).
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace svln::io {

struct PresetSetting {
  std::string flag;   // "--group_size"
  std::string value;  // as typed after the flag; "true" / "false" for a switch
};

struct TrainPreset {
  std::string name;
  std::string summary;  // one line, for --help
  std::vector<PresetSetting> settings;
};

const std::vector<TrainPreset>& trainPresets();

// What --preset did: the values it set, and the ones the command line overrode.
struct PresetResolution {
  struct Override {
    std::string flag;
    std::string preset_value;
    std::string given_value;  // as the command line gave it
  };
  std::string name;  // "" without --preset
  std::vector<PresetSetting> applied;
  std::vector<Override> overridden;
  // "none", or "budvln"; and the overrides as "--group_size 4 (preset: 2), ..." ("none").
  std::string nameText() const;
  std::string overridesText() const;
};

// Registers --preset NAME (one of trainPresets(); anything else is a parse error naming
// --preset) on `app`, storing the name in `name`.
void addPresetFlag(CLI::App& app, std::string& name);

// After app.parse(): every flag of preset `name` that the command line did not give (neither
// it nor a flag it excludes, e.g. --disable_recovery against --enable_recovery) is set through
// the flag's own parser, range check and callback, as if typed. "" does nothing. Throws
// std::runtime_error("--preset NAME: ...") for an unknown preset or a flag `app` lacks, and
// the flag's own error for a value it refuses.
PresetResolution applyTrainPreset(CLI::App& app, const std::string& name);

}  // namespace svln::io
