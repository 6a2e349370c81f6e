# Empty dependencies file for dobj_objs.
# This may be replaced when dependencies are built.
