// Declaration shim, see gloo/README.md: ProcessGroupGloo.hpp holds these by pointer only.
#pragma once
#if __has_include_next(<gloo/transport/device.h>)
#include_next <gloo/transport/device.h>
#else
namespace gloo::transport {
class Device;
class UnboundBuffer;
}  // namespace gloo::transport
#endif
