file(REMOVE_RECURSE
  "libdobjserver.a"
)
