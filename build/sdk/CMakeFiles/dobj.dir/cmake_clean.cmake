file(REMOVE_RECURSE
  "libdobj.pdb"
  "libdobj.so"
  "libdobj.so.0"
  "libdobj.so.0.1.0"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobj.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
