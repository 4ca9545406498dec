# svln_layer(NAME DEPS...): one static library per folder of src/, sources globbed so
# adding a file needs no CMake edit. Headers are included as "<layer>/<file>.h".
function(svln_layer name)
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(_srcs)
    add_library(svln_${name} STATIC ${_srcs})
    set(_scope PUBLIC)
  else()
    add_library(svln_${name} INTERFACE)
    set(_scope INTERFACE)
  endif()
  target_include_directories(svln_${name} ${_scope} ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(svln_${name} ${_scope} ${ARGN})
endfunction()
