file(REMOVE_RECURSE
  "CMakeFiles/counter-cli.dir/counter/counter_cli.c.o"
  "CMakeFiles/counter-cli.dir/counter/counter_cli.c.o.d"
  "counter-cli"
  "counter-cli.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/counter-cli.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
