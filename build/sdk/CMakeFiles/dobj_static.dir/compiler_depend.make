# Empty compiler generated dependencies file for dobj_static.
# This may be replaced when dependencies are built.
