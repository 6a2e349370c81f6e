# Empty compiler generated dependencies file for dobjd.
# This may be replaced when dependencies are built.
