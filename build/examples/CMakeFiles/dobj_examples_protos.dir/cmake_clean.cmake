file(REMOVE_RECURSE
  "CMakeFiles/dobj_examples_protos.dir/counter/counter.pb-c.c.o"
  "CMakeFiles/dobj_examples_protos.dir/counter/counter.pb-c.c.o.d"
  "counter/counter.pb-c.c"
  "counter/counter.pb-c.h"
  "libdobj_examples_protos.a"
  "libdobj_examples_protos.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobj_examples_protos.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
