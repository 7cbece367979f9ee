# ringside_fuzz_target(NAME SOURCES file... [LIBS target...])
# One libFuzzer executable of an adapter's fuzz/ folder, built with clang,
# ASan and UBSan (configure with CXX=clang++ -DRINGSIDE_FUZZ=ON; scripts/fuzz
# does). The code under test is listed among SOURCES rather than linked from
# its library, so that it carries the coverage instrumentation libFuzzer
# steers by. It sees the adapter's include/ folder and the project's.
# ringside_warnings carries a GCC-only flag; clang gets its own set here.
function(ringside_fuzz_target name)
  cmake_parse_arguments(PARSE_ARGV 1 FUZZ "" "" "SOURCES;LIBS")
  add_executable(${name} ${FUZZ_SOURCES})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/../include ${PROJECT_SOURCE_DIR}/include)
  if(FUZZ_LIBS)
    target_link_libraries(${name} PRIVATE ${FUZZ_LIBS})
  endif()
  target_compile_options(${name} PRIVATE -Wall -Wextra -Wpedantic -Werror
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()
