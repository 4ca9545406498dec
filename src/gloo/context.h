// Declaration shim, see gloo/README.md: ProcessGroupGloo.hpp holds gloo::Context by pointer.
#pragma once
#if __has_include_next(<gloo/context.h>)
#include_next <gloo/context.h>
#else
namespace gloo {
class Context;
}
#endif
