file(REMOVE_RECURSE
  "CMakeFiles/dobj_examples.dir/counter/counter.c.o"
  "CMakeFiles/dobj_examples.dir/counter/counter.c.o.d"
  "libdobj_examples.a"
  "libdobj_examples.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobj_examples.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
