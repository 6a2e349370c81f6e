
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/server/dobjd.c" "server/CMakeFiles/dobjd.dir/dobjd.c.o" "gcc" "server/CMakeFiles/dobjd.dir/dobjd.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/server/CMakeFiles/dobj_server_lib.dir/DependInfo.cmake"
  "/work/main/build/examples/CMakeFiles/dobj_examples.dir/DependInfo.cmake"
  "/work/main/build/sdk/CMakeFiles/dobj_static.dir/DependInfo.cmake"
  "/work/main/build/proto/CMakeFiles/dobj_wire.dir/DependInfo.cmake"
  "/work/main/build/examples/CMakeFiles/dobj_examples_protos.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
