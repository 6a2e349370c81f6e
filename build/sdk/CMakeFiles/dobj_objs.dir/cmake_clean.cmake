file(REMOVE_RECURSE
  "CMakeFiles/dobj_objs.dir/src/client.c.o"
  "CMakeFiles/dobj_objs.dir/src/client.c.o.d"
  "CMakeFiles/dobj_objs.dir/src/err.c.o"
  "CMakeFiles/dobj_objs.dir/src/err.c.o.d"
  "CMakeFiles/dobj_objs.dir/src/id.c.o"
  "CMakeFiles/dobj_objs.dir/src/id.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobj_objs.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
