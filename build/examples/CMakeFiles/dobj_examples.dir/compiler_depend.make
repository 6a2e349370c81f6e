# Empty compiler generated dependencies file for dobj_examples.
# This may be replaced when dependencies are built.
