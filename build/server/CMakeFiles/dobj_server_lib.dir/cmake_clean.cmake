file(REMOVE_RECURSE
  "CMakeFiles/dobj_server_lib.dir/migrations_builtin.c.o"
  "CMakeFiles/dobj_server_lib.dir/migrations_builtin.c.o.d"
  "libdobjserver.a"
  "libdobjserver.pdb"
  "migrations_builtin.c"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobj_server_lib.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
