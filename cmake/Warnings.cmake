# One INTERFACE target carries the warning set; every project target links it.
add_library(ringside_warnings INTERFACE)
target_compile_options(ringside_warnings INTERFACE -Wall -Wextra -Wpedantic
  $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>      # clang has no =local variant
  $<$<CXX_COMPILER_ID:Clang>:-Wshadow-uncaptured-local>)
if(RINGSIDE_WERROR)
  target_compile_options(ringside_warnings INTERFACE -Werror)
endif()
