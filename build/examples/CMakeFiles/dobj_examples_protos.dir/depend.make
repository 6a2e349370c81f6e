# Empty dependencies file for dobj_examples_protos.
# This may be replaced when dependencies are built.
