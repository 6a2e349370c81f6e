# SPDX-License-Identifier: MIT
# What `cmake --install` puts into a prefix: libdobj (shared and static), its headers, dobjd,
# protoc-gen-dobj, options.proto, the CMake package (find_package(dobj): dobj::dobj) and
# dobj.pc.
include(CMakePackageConfigHelpers)

set(DOBJ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/dobj)

install(TARGETS dobj dobj_static EXPORT dobjTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/sdk/include/dobj DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_BINARY_DIR}/sdk/include/dobj/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dobj)

set_target_properties(dobjd PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
install(TARGETS dobjd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET protoc-gen-dobj)
  install(TARGETS protoc-gen-dobj RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
if(EXISTS ${CMAKE_SOURCE_DIR}/cmake/DobjGenerate.cmake)
  install(FILES ${CMAKE_SOURCE_DIR}/cmake/DobjGenerate.cmake DESTINATION ${DOBJ_CMAKE_DIR})
endif()

install(EXPORT dobjTargets NAMESPACE dobj:: DESTINATION ${DOBJ_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/dobjConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/dobjConfig.cmake
                              INSTALL_DESTINATION ${DOBJ_CMAKE_DIR}
                              PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/dobjConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/dobjConfig.cmake ${CMAKE_BINARY_DIR}/dobjConfigVersion.cmake
        DESTINATION ${DOBJ_CMAKE_DIR})

configure_file(${CMAKE_SOURCE_DIR}/cmake/dobj.pc.in ${CMAKE_BINARY_DIR}/dobj.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/dobj.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
