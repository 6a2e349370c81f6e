file(REMOVE_RECURSE
  "libdobj.a"
  "libdobj.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobj_static.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
