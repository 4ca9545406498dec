// Declaration shim, see gloo/README.md: ProcessGroupGloo.hpp uses nothing from this header.
#pragma once
#if __has_include_next(<gloo/algorithm.h>)
#include_next <gloo/algorithm.h>
#else
#include "gloo/context.h"
#endif
