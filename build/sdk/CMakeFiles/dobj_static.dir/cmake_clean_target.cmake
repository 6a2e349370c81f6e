file(REMOVE_RECURSE
  "libdobj.a"
)
