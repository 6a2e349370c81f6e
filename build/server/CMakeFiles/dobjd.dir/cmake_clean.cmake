file(REMOVE_RECURSE
  "CMakeFiles/dobjd.dir/dobjd.c.o"
  "CMakeFiles/dobjd.dir/dobjd.c.o.d"
  "dobjd"
  "dobjd.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobjd.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
