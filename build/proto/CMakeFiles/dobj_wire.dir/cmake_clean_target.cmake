file(REMOVE_RECURSE
  "libdobj_wire.a"
)
