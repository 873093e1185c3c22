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
