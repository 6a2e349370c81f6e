sdk/CMakeFiles/dobj_objs.dir/src/client.c.o: /work/main/sdk/src/client.c \
 /usr/include/stdc-predef.h
