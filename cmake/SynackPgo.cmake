# Profile-guided optimisation of the engine (the wire, tcp and stack libraries), GCC only, optimised
# single-configuration builds, synack as the top-level project, never under sanitizers or fuzzing.
#
# Two builds in one: at configure time the main build declares a training build of the same sources in
# <build>/pgo-train (ExternalProject), with SYNACK_PGO_PHASE=generate, which compiles only the engine
# libraries with -fprofile-generate and links src/cli/pgo_train.cpp, a program that runs the handshakes
# `synack bench` measures (RST and FIN closes at 1 to 4,096 in flight, in memory, in virtual time; a few
# seconds). Its run leaves one .gcda profile per object file in <build>/pgo-profile; the engine libraries
# of the main build are then compiled with -fprofile-use, both builds at -O3 (the instrumented code and the
# optimised code must have the same control flow; with the profile, -O3's inlining limits are what lets GCC
# inline the hot calls between the engine's layers). -fprofile-prefix-path names each profile by its
# object's path below the build directory, which both builds share. -fprofile-partial-training keeps code
# the training never ran (data transfer, loss recovery, the forwarder) optimised as without profiles, not
# for size. Measured (BENCHMARKS.md, round 18): ≈ 13 % fewer instructions per handshake, 5–11 % more
# handshakes per second.
#
# A change to an engine source re-runs the training (seconds) and recompiles the engine libraries (the
# profile changed); -DSYNACK_PGO=OFF builds without it.
option(SYNACK_PGO "Profile-guided optimisation of the engine (GCC, optimised builds)" ${PROJECT_IS_TOP_LEVEL})
set(SYNACK_PGO_PHASE "" CACHE STRING "Internal: 'generate' in the PGO training build")
mark_as_advanced(SYNACK_PGO_PHASE)
set(SYNACK_PGO_LIBRARIES synack_wire synack_tcp synack_stack)

set(SYNACK_PGO_ACTIVE OFF)
string(TOUPPER "${CMAKE_BUILD_TYPE}" synack_pgo_build_type)
if(SYNACK_PGO AND NOT SYNACK_PGO_PHASE AND NOT SYNACK_SANITIZE AND NOT SYNACK_FUZZ
   AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT CMAKE_CONFIGURATION_TYPES
   AND synack_pgo_build_type MATCHES "^(RELEASE|RELWITHDEBINFO|MINSIZEREL)$")
  set(SYNACK_PGO_ACTIVE ON)
elseif(SYNACK_PGO AND NOT SYNACK_PGO_PHASE AND PROJECT_IS_TOP_LEVEL)
  message(STATUS "SYNACK_PGO: off (GCC and a Release, RelWithDebInfo or MinSizeRel build without "
                 "sanitizers or fuzzing only)")
endif()

if(NOT SYNACK_PGO_PHASE)
  set(SYNACK_PGO_DIR "${CMAKE_BINARY_DIR}/pgo-profile")  # (the training build is given it: -DSYNACK_PGO_DIR)
endif()
set(synack_pgo_flags "")
if(SYNACK_PGO_PHASE STREQUAL "generate")
  set(synack_pgo_flags -O3 -fprofile-generate=${SYNACK_PGO_DIR} -fprofile-prefix-path=${CMAKE_BINARY_DIR}
                       -fprofile-update=single)
elseif(SYNACK_PGO_ACTIVE)
  set(synack_pgo_stamp "${SYNACK_PGO_DIR}/trained.stamp")
  set(synack_pgo_trainer "${CMAKE_BINARY_DIR}/pgo-train/synack-pgo-train")
  include(ExternalProject)
  # Always asked to build: a no-op when nothing changed, and then the trainer's file keeps its time, so
  # the training below does not run again (the byproduct is restat).
  ExternalProject_Add(synack_pgo_build
    SOURCE_DIR "${PROJECT_SOURCE_DIR}"
    BINARY_DIR "${CMAKE_BINARY_DIR}/pgo-train"
    CMAKE_ARGS -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
               -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} "-DCMAKE_CXX_FLAGS=${CMAKE_CXX_FLAGS}"
               "-DCMAKE_CXX_FLAGS_${synack_pgo_build_type}=${CMAKE_CXX_FLAGS_${synack_pgo_build_type}}"
               -DSYNACK_PGO_PHASE=generate
               -DSYNACK_PGO_DIR=${SYNACK_PGO_DIR} -DSYNACK_LTO=${SYNACK_LTO} -DBUILD_SHARED_LIBS=OFF
               -DSYNACK_TESTS=OFF -DSYNACK_BENCH=OFF -DSYNACK_EXAMPLES=OFF -DSYNACK_MAN=OFF
               -DSYNACK_INSTALL=OFF
    BUILD_COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> --target synack_pgo_train
    BUILD_ALWAYS ON
    BUILD_BYPRODUCTS "${synack_pgo_trainer}"
    INSTALL_COMMAND "")
  add_custom_command(OUTPUT "${synack_pgo_stamp}"
    COMMAND ${CMAKE_COMMAND} -E rm -rf "${SYNACK_PGO_DIR}"
    COMMAND "${synack_pgo_trainer}"
    COMMAND ${CMAKE_COMMAND} -E touch "${synack_pgo_stamp}"
    DEPENDS "${synack_pgo_trainer}" synack_pgo_build
    COMMENT "Training the engine's profile (PGO: cmake/SynackPgo.cmake)"
    VERBATIM)
  add_custom_target(synack_pgo_profile DEPENDS "${synack_pgo_stamp}")
  # A function whose code differs from what was trained (it should not: the same sources, compiler and
  # flags) is compiled without its profile, with a warning, not an error.
  set(synack_pgo_flags -O3 -fprofile-use=${SYNACK_PGO_DIR} -fprofile-prefix-path=${CMAKE_BINARY_DIR}
                       -fprofile-partial-training -Wno-missing-profile -Wno-error=coverage-mismatch)
endif()

# synack_pgo_link(target) — an executable linked with link-time optimisation links with the engine's profile
# options too (GCC's advice for LTO: the same optimisation options when compiling and linking; measured, the
# count was the same either way) and after the training.
function(synack_pgo_link target)
  if(SYNACK_PGO_ACTIVE)
    target_link_options(${target} PRIVATE ${synack_pgo_flags})
    add_dependencies(${target} synack_pgo_profile)
  endif()
endfunction()

# synack_pgo(target) — the engine libraries: instrumented in the training build, compiled with the profile
# in the main build (each object waits for, and is rebuilt after, the training run).
function(synack_pgo target)
  if(NOT target IN_LIST SYNACK_PGO_LIBRARIES OR NOT synack_pgo_flags)
    return()
  endif()
  target_compile_options(${target} PRIVATE ${synack_pgo_flags})
  if(SYNACK_PGO_ACTIVE)
    add_dependencies(${target} synack_pgo_profile)
    get_target_property(sources ${target} SOURCES)
    set_property(SOURCE ${sources} DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} APPEND PROPERTY OBJECT_DEPENDS
                 "${synack_pgo_stamp}")
  endif()
endfunction()
