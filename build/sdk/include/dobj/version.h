/* SPDX-License-Identifier: MIT */
/* dobj/version.h - the SDK version, written by CMake from the one version in CMakeLists.txt. */
#ifndef DOBJ_VERSION_H
#define DOBJ_VERSION_H

#define DOBJ_VERSION_MAJOR 0
#define DOBJ_VERSION_MINOR 1
#define DOBJ_VERSION_PATCH 0
#define DOBJ_VERSION_STRING "0.1.0"

#endif /* DOBJ_VERSION_H */
