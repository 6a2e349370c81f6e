file(REMOVE_RECURSE
  "libdobj_examples_protos.a"
)
