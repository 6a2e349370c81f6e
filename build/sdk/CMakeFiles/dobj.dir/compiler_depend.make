# Empty compiler generated dependencies file for dobj.
# This may be replaced when dependencies are built.
