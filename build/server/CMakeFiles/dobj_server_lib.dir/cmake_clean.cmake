file(REMOVE_RECURSE
  "CMakeFiles/dobj_server_lib.dir/arena.c.o"
  "CMakeFiles/dobj_server_lib.dir/arena.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/clock.c.o"
  "CMakeFiles/dobj_server_lib.dir/clock.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/ctx.c.o"
  "CMakeFiles/dobj_server_lib.dir/ctx.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/listener.c.o"
  "CMakeFiles/dobj_server_lib.dir/listener.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/log.c.o"
  "CMakeFiles/dobj_server_lib.dir/log.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/main.c.o"
  "CMakeFiles/dobj_server_lib.dir/main.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/migrations_builtin.c.o"
  "CMakeFiles/dobj_server_lib.dir/migrations_builtin.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/object.c.o"
  "CMakeFiles/dobj_server_lib.dir/object.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/pgstore.c.o"
  "CMakeFiles/dobj_server_lib.dir/pgstore.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/registry.c.o"
  "CMakeFiles/dobj_server_lib.dir/registry.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/server.c.o"
  "CMakeFiles/dobj_server_lib.dir/server.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/shard.c.o"
  "CMakeFiles/dobj_server_lib.dir/shard.c.o.d"
  "CMakeFiles/dobj_server_lib.dir/storage.c.o"
  "CMakeFiles/dobj_server_lib.dir/storage.c.o.d"
  "libdobjserver.a"
  "libdobjserver.pdb"
  "migrations_builtin.c"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobj_server_lib.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
