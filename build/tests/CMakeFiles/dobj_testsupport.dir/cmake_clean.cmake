file(REMOVE_RECURSE
  "CMakeFiles/dobj_testsupport.dir/support/fixture.c.o"
  "CMakeFiles/dobj_testsupport.dir/support/fixture.c.o.d"
  "libdobj_testsupport.a"
  "libdobj_testsupport.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dobj_testsupport.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
