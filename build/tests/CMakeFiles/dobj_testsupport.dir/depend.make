# Empty dependencies file for dobj_testsupport.
# This may be replaced when dependencies are built.
