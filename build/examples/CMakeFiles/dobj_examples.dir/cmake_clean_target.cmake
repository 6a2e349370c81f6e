file(REMOVE_RECURSE
  "libdobj_examples.a"
)
