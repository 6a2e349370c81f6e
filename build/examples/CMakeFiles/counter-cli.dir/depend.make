# Empty dependencies file for counter-cli.
# This may be replaced when dependencies are built.
