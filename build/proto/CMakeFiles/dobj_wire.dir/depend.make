# Empty dependencies file for dobj_wire.
# This may be replaced when dependencies are built.
