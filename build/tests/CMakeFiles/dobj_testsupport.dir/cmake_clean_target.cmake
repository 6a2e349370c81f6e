file(REMOVE_RECURSE
  "libdobj_testsupport.a"
)
