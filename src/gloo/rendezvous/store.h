// Declaration shim, see gloo/README.md: the abstract key-value store interface that
// c10d's inline GlooStore overrides (same virtual signatures as gloo's own header).
#pragma once
#if __has_include_next(<gloo/rendezvous/store.h>)
#include_next <gloo/rendezvous/store.h>
#else
#include <chrono>
#include <string>
#include <vector>

namespace gloo::rendezvous {
class Store {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout = std::chrono::seconds(30);
  virtual ~Store() = default;
  virtual void set(const std::string& key, const std::vector<char>& data) = 0;
  virtual std::vector<char> get(const std::string& key) = 0;
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;
};
}  // namespace gloo::rendezvous
#endif
