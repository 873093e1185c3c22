# The libraries' SONAME version: the ABI may change with every 0.x release, so major.minor until 1.0.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(SYNACK_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(SYNACK_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

# Compile options for synack's own code. Third-party headers come in as SYSTEM and are not held to these.
# Linked PRIVATE (and only in the build tree) by everything synack builds; never part of a public interface.
add_library(synack_options INTERFACE)
target_compile_options(synack_options INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough -Werror
  # GCC 12 at -O3 (Release) reports a false -Wrestrict inside libstdc++ for "x" + std::string
  # (char_traits.h: memcpy "may overlap up to 9223372036854775813 bytes") in at least five places in
  # src/ and tests/. Off for GCC 12 only: later GCCs and clang keep the check.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>)
target_include_directories(synack_options INTERFACE ${PROJECT_SOURCE_DIR}/include)

if(SYNACK_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Link-time optimisation of synack's own code in optimised builds (Release, RelWithDebInfo, MinSizeRel), where
# the compiler and linker support it: the Stack's public calls cross a translation unit (pimpl) and the engine
# is spread over several libraries, so LTO lets them inline into each other. Only for synack as the top-level
# project, never under sanitizers or fuzzing. A consumer is never made to use LTO: the static libraries
# carry regular machine code beside their LTO bytecode (fat objects), so they link with or without LTO and
# with either compiler; shared libraries are plain. Only our libraries are compiled for it, and only the
# synack command and the benchmarks link with it (synack_enable_lto); tests link the regular code.
option(SYNACK_LTO "Link-time optimisation of synack's libraries, command and benchmarks (optimised builds)"
       ${PROJECT_IS_TOP_LEVEL})
set(SYNACK_LTO_ACTIVE OFF)
if(SYNACK_LTO AND NOT SYNACK_SANITIZE AND NOT SYNACK_FUZZ)
  include(CheckIPOSupported)
  check_ipo_supported(RESULT synack_ipo_ok OUTPUT synack_ipo_output LANGUAGES CXX)
  if(synack_ipo_ok)
    set(SYNACK_LTO_ACTIVE ON)
  else()
    message(STATUS "SYNACK_LTO: link-time optimisation not supported here, built without it: ${synack_ipo_output}")
  endif()
endif()

# synack_enable_lto(target) — link-time optimisation for `target` in optimised builds (when SYNACK_LTO_ACTIVE).
function(synack_enable_lto target)
  if(NOT SYNACK_LTO_ACTIVE)
    return()
  endif()
  foreach(config RELEASE RELWITHDEBINFO MINSIZEREL)
    set_property(TARGET ${target} PROPERTY INTERPROCEDURAL_OPTIMIZATION_${config} ON)
  endforeach()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "STATIC_LIBRARY")
    # Regular code beside the bytecode: a link without LTO (tests, or a consumer) uses it.
    target_compile_options(${target} PRIVATE
      $<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-ffat-lto-objects>)
  elseif(type STREQUAL "EXECUTABLE")
    synack_pgo_link(${target})  # cmake/SynackPgo.cmake
  endif()
endfunction()

include(${CMAKE_CURRENT_LIST_DIR}/SynackPgo.cmake)  # synack_pgo(): profile-guided optimisation of the engine

# synack_library(name SOURCES... [DEPS ...] [EXPORT_NAME n]) — one library per layer, static unless
# BUILD_SHARED_LIBS. The warnings (synack_options) are PRIVATE and build-interface only, so a consumer
# (add_subdirectory or find_package) gets none of them; what it gets is the include directory, C++23 and
# the DEPS. With EXPORT_NAME the library is also synack::<n> (an ALIAS here, the same name once installed:
# cmake/SynackInstall.cmake) and part of the installed export set.
function(synack_library name)
  cmake_parse_arguments(ARG "" "EXPORT_NAME" "SOURCES;DEPS" ${ARGN})
  if(ARG_EXPORT_NAME)
    add_library(${name} ${ARG_SOURCES})
  else()
    # Internal to the synack command (e.g. the sandbox): always static, never installed.
    add_library(${name} STATIC ${ARG_SOURCES})
  endif()
  target_link_libraries(${name} PRIVATE $<BUILD_INTERFACE:synack_options> PUBLIC ${ARG_DEPS})
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${name} PUBLIC cxx_std_23)
  set_target_properties(${name} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${SYNACK_SOVERSION})
  synack_enable_lto(${name})
  synack_pgo(${name})  # cmake/SynackPgo.cmake: the engine libraries only
  if(ARG_EXPORT_NAME)
    set_target_properties(${name} PROPERTIES EXPORT_NAME ${ARG_EXPORT_NAME})
    add_library(synack::${ARG_EXPORT_NAME} ALIAS ${name})
    set_property(GLOBAL APPEND PROPERTY SYNACK_EXPORTED_LIBRARIES ${name})
  endif()
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
  if("unit" IN_LIST ARG_LABELS)
    synack_unit_program(${name})
  endif()
endfunction()

# synack_unit_program(target...) — programs that tests labelled `unit` run: the `synack_unit_suite` target
# builds them all (and what they depend on), so a build that runs only the unit suites (the sanitizer
# build in scripts/test.sh) compiles nothing else. A program a unit test runs by path (not one it links)
# needs add_dependencies() from the test's program, or its own call here.
function(synack_unit_program)
  set_property(GLOBAL APPEND PROPERTY SYNACK_UNIT_PROGRAMS ${ARGN})
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
  set_property(GLOBAL APPEND PROPERTY SYNACK_FUZZ_PROGRAMS ${name})  # the `synack_fuzzers` target
endfunction()
