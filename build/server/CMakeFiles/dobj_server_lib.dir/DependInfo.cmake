
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/server/arena.c" "server/CMakeFiles/dobj_server_lib.dir/arena.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/arena.c.o.d"
  "/work/main/server/clock.c" "server/CMakeFiles/dobj_server_lib.dir/clock.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/clock.c.o.d"
  "/work/main/server/ctx.c" "server/CMakeFiles/dobj_server_lib.dir/ctx.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/ctx.c.o.d"
  "/work/main/server/listener.c" "server/CMakeFiles/dobj_server_lib.dir/listener.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/listener.c.o.d"
  "/work/main/server/log.c" "server/CMakeFiles/dobj_server_lib.dir/log.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/log.c.o.d"
  "/work/main/server/main.c" "server/CMakeFiles/dobj_server_lib.dir/main.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/main.c.o.d"
  "/work/main/build/server/migrations_builtin.c" "server/CMakeFiles/dobj_server_lib.dir/migrations_builtin.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/migrations_builtin.c.o.d"
  "/work/main/server/object.c" "server/CMakeFiles/dobj_server_lib.dir/object.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/object.c.o.d"
  "/work/main/server/pgstore.c" "server/CMakeFiles/dobj_server_lib.dir/pgstore.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/pgstore.c.o.d"
  "/work/main/server/registry.c" "server/CMakeFiles/dobj_server_lib.dir/registry.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/registry.c.o.d"
  "/work/main/server/server.c" "server/CMakeFiles/dobj_server_lib.dir/server.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/server.c.o.d"
  "/work/main/server/shard.c" "server/CMakeFiles/dobj_server_lib.dir/shard.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/shard.c.o.d"
  "/work/main/server/storage.c" "server/CMakeFiles/dobj_server_lib.dir/storage.c.o" "gcc" "server/CMakeFiles/dobj_server_lib.dir/storage.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/sdk/CMakeFiles/dobj_static.dir/DependInfo.cmake"
  "/work/main/build/proto/CMakeFiles/dobj_wire.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
