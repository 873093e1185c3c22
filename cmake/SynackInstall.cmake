# Installation: libraries, headers, the synack command and its man pages, a CMake package
# (find_package(synack) -> synack::wire, synack::tcp, ...) and a pkg-config file (synack.pc).
include(CMakePackageConfigHelpers)

set(SYNACK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/synack)
get_property(synack_libraries GLOBAL PROPERTY SYNACK_EXPORTED_LIBRARIES)

install(TARGETS ${synack_libraries} EXPORT synackTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS synack RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
# Every public header but the sandbox's, which belongs to the (internal, uninstalled) synack_sandbox.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/synack DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT development PATTERN sandbox EXCLUDE)

install(EXPORT synackTargets NAMESPACE synack:: DESTINATION ${SYNACK_CMAKE_DIR} FILE synackTargets.cmake
  COMPONENT development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/synackConfig.cmake.in
  ${PROJECT_BINARY_DIR}/synackConfig.cmake INSTALL_DESTINATION ${SYNACK_CMAKE_DIR})
# 0.x: a minor release may break the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/synackConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/synackConfig.cmake ${PROJECT_BINARY_DIR}/synackConfigVersion.cmake
  DESTINATION ${SYNACK_CMAKE_DIR} COMPONENT development)

# pkg-config: every exported library, users before what they use.
set(SYNACK_PC_LIBS "")
foreach(lib synack_analyze synack_sim synack_observe synack_driver synack_link synack_stack synack_tcp synack_capture
            synack_wire)
  string(APPEND SYNACK_PC_LIBS " -l${lib}")
endforeach()
# Relocatable: the prefix is found from where synack.pc lies (pkg-config's ${pcfiledir}), so an install with
# `cmake --install --prefix P` works, not only the prefix configured.
file(RELATIVE_PATH SYNACK_PC_UP /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
set(SYNACK_PC_PREFIX "\${pcfiledir}/${SYNACK_PC_UP}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(SYNACK_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(SYNACK_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(SYNACK_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(SYNACK_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# fmt and nlohmann_json: some public headers include them (capture, sim, analyze). libsodium and libpcap:
# private to shared libraries, which carry them as DT_NEEDED. Static archives carry nothing, so there
# they are plain requirements: `pkg-config --libs synack` links either kind, and nobody needs --static
# (which would also pull libpcap's own private dependencies, dbus and systemd, absent as static libraries).
if(BUILD_SHARED_LIBS)
  set(SYNACK_PC_REQUIRES "fmt nlohmann_json")
  set(SYNACK_PC_REQUIRES_PRIVATE "libsodium libpcap")
else()
  set(SYNACK_PC_REQUIRES "fmt nlohmann_json libsodium libpcap")
  set(SYNACK_PC_REQUIRES_PRIVATE "")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/synack.pc.in ${PROJECT_BINARY_DIR}/synack.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/synack.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT development)

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
  COMPONENT runtime)
# The examples as documentation, with the CMakeLists.txt that builds them against this installation.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
  COMPONENT development FILES_MATCHING PATTERN "*.cpp" PATTERN "CMakeLists.txt")
install(FILES ${PROJECT_SOURCE_DIR}/docs/embedding.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT development)
