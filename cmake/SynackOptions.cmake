# Compile options for synack's own code. Third-party headers come in as SYSTEM and are not held to these.
add_library(synack_options INTERFACE)
target_compile_options(synack_options INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough -Werror)
target_include_directories(synack_options INTERFACE ${PROJECT_SOURCE_DIR}/include)

if(SYNACK_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# synack_library(name SOURCES... [DEPS ...]) — one static library per layer.
function(synack_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC synack_options ${ARG_DEPS})
endfunction()

# synack_test(name SOURCES... [DEPS ...] [LABELS ...]) — a GoogleTest program registered with CTest.
function(synack_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE synack_options ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 30)
endfunction()

# Fuzzing build (clang only): every library is instrumented for coverage; fuzzer programs link libFuzzer.
if(SYNACK_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# synack_fuzzer(name SOURCES... [DEPS ...]) — a libFuzzer program; its seed corpus lives in
# fuzz/corpus/<name>/ and CI runs it for a bounded time (scripts/test.sh).
function(synack_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE synack_options ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()
