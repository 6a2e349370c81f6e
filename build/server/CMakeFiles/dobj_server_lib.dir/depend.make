# Empty dependencies file for dobj_server_lib.
# This may be replaced when dependencies are built.
