file(REMOVE_RECURSE
  "CMakeFiles/dobj_wire.dir/dobj/wire.pb-c.c.o"
  "CMakeFiles/dobj_wire.dir/dobj/wire.pb-c.c.o.d"
  "dobj/wire.pb-c.c"
  "dobj/wire.pb-c.h"
  "libdobj_wire.a"
  "libdobj_wire.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobj_wire.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
