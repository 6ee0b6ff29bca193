# Use ccache when it is installed: rebuilds in CI and locally stay fast.
find_program(TROUPE_CCACHE ccache)
if(TROUPE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${TROUPE_CCACHE}")
endif()
