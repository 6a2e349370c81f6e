# SPDX-License-Identifier: MIT
# dobj_generate(TARGET <lib> PROTOS <file.proto>... [PB_PROTOS <file.proto>...]
#               [IMPORT_DIRS <dir>...])
#
# Runs protoc-c and protoc-gen-dobj on PROTOS at build time and builds a static library <lib>
# from the generated <name>.pb-c.c and <name>.dobj.c, with the output folder as its public
# include directory, linked to libdobj and protobuf-c. PB_PROTOS are compiled by protoc-c only:
# imported messages that need C types but no dobj code (google/protobuf/timestamp.proto).
# A file's generated name is its path relative to the first import directory holding it
# (its own folder if none does), so `#include "<name>.dobj.h"` in the user's code.
#
# Settings (cache variables, preset by dobj's package config or the in-tree build):
#   DOBJ_PROTOC_GEN_DOBJ      the plugin: a target name in-tree, an absolute path installed
#   DOBJ_PROTO_DIR            the folder holding dobj/options.proto
#   DOBJ_PROTOBUF_IMPORT_DIR  the folder holding google/protobuf/descriptor.proto
#   DOBJ_LIBRARY              the libdobj target to link (dobj in-tree, dobj::dobj installed)
find_program(DOBJ_PROTOC protoc REQUIRED)
find_program(DOBJ_PROTOC_C protoc-c REQUIRED)
find_path(DOBJ_PROTOBUF_IMPORT_DIR google/protobuf/descriptor.proto
          PATHS /usr/include /usr/local/include REQUIRED)
# Defaults for the in-tree build; an installed package's config sets these before including
# this file (and a normal variable must not be replaced by the cache default: CMP0126).
if(NOT DEFINED DOBJ_PROTOC_GEN_DOBJ)
  set(DOBJ_PROTOC_GEN_DOBJ protoc-gen-dobj CACHE STRING "protoc-gen-dobj: target or path")
endif()
if(NOT DEFINED DOBJ_PROTO_DIR)
  get_filename_component(dobj__proto_dir ${CMAKE_CURRENT_LIST_DIR}/../proto ABSOLUTE)
  set(DOBJ_PROTO_DIR ${dobj__proto_dir} CACHE PATH "folder of dobj/options.proto")
endif()
if(NOT DEFINED DOBJ_LIBRARY)
  set(DOBJ_LIBRARY dobj CACHE STRING "libdobj target for generated code")
endif()

# dobj__generate_rel sets <out> to p's path relative to the first of dirs holding it.
function(dobj__generate_rel out p)
  foreach(d ${ARGN})
    file(RELATIVE_PATH rel ${d} ${p})
    if(NOT rel MATCHES "^\\.\\./")
      set(${out} ${rel} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  get_filename_component(rel ${p} NAME)
  set(${out} ${rel} PARENT_SCOPE)
endfunction()

# dobj_options_pb: dobj/options.proto and descriptor.proto in C, which the protoc-c output of
# any file importing dobj/options.proto includes. Made once per build.
function(dobj__generate_options)
  if(TARGET dobj_options_pb)
    return()
  endif()
  set(out ${CMAKE_BINARY_DIR}/dobj_options_pb)
  set(srcs)
  foreach(p ${DOBJ_PROTO_DIR}/dobj/options.proto
          ${DOBJ_PROTOBUF_IMPORT_DIR}/google/protobuf/descriptor.proto)
    get_filename_component(p ${p} ABSOLUTE)
    dobj__generate_rel(rel ${p} ${DOBJ_PROTO_DIR} ${DOBJ_PROTOBUF_IMPORT_DIR})
    string(REGEX REPLACE "\\.proto$" "" base ${rel})
    add_custom_command(
      OUTPUT ${out}/${base}.pb-c.c ${out}/${base}.pb-c.h
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
      COMMAND ${DOBJ_PROTOC_C} -I${DOBJ_PROTO_DIR} -I${DOBJ_PROTOBUF_IMPORT_DIR} --c_out=${out} ${p}
      DEPENDS ${p}
      COMMENT "protoc-c ${rel}"
      VERBATIM)
    list(APPEND srcs ${out}/${base}.pb-c.c)
  endforeach()
  add_library(dobj_options_pb STATIC ${srcs})
  set_target_properties(dobj_options_pb PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(dobj_options_pb PUBLIC ${out})
  target_link_libraries(dobj_options_pb PUBLIC PkgConfig::PROTOBUFC)
  target_compile_options(dobj_options_pb PRIVATE -Wno-missing-prototypes)
endfunction()

function(dobj_generate)
  cmake_parse_arguments(G "" "TARGET" "PROTOS;PB_PROTOS;IMPORT_DIRS" ${ARGN})
  if(NOT G_TARGET OR NOT G_PROTOS)
    message(FATAL_ERROR "dobj_generate: TARGET and PROTOS are required")
  endif()
  dobj__generate_options()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${G_TARGET}_gen)
  set(dirs)
  foreach(d ${G_IMPORT_DIRS})
    get_filename_component(d ${d} ABSOLUTE)
    list(APPEND dirs ${d})
  endforeach()
  list(APPEND dirs ${DOBJ_PROTO_DIR} ${DOBJ_PROTOBUF_IMPORT_DIR})
  if(TARGET ${DOBJ_PROTOC_GEN_DOBJ})
    set(plugin $<TARGET_FILE:${DOBJ_PROTOC_GEN_DOBJ}>)
  else()
    set(plugin ${DOBJ_PROTOC_GEN_DOBJ})
  endif()

  set(pb_only)
  foreach(p ${G_PB_PROTOS})
    get_filename_component(p ${p} ABSOLUTE)
    list(APPEND pb_only ${p})
  endforeach()
  set(pb_srcs)
  set(dobj_srcs)
  foreach(p ${G_PROTOS} ${G_PB_PROTOS})
    get_filename_component(p ${p} ABSOLUTE)
    get_filename_component(own ${p} DIRECTORY)
    dobj__generate_rel(rel ${p} ${dirs} ${own})
    string(REGEX REPLACE "\\.proto$" "" base ${rel})
    set(includes)
    foreach(d ${dirs} ${own})
      list(APPEND includes -I${d})
    endforeach()
    list(REMOVE_DUPLICATES includes)
    set(outputs ${out}/${base}.pb-c.c ${out}/${base}.pb-c.h)
    set(commands COMMAND ${DOBJ_PROTOC_C} ${includes} --c_out=${out} ${p})
    if(NOT p IN_LIST pb_only)
      list(APPEND outputs ${out}/${base}.dobj.c ${out}/${base}.dobj.h)
      list(APPEND commands COMMAND ${DOBJ_PROTOC} --plugin=protoc-gen-dobj=${plugin} ${includes}
           --dobj_out=${out} ${p})
      list(APPEND dobj_srcs ${out}/${base}.dobj.c)
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
      ${commands}
      DEPENDS ${p} ${DOBJ_PROTOC_GEN_DOBJ}
      COMMENT "protoc-c and protoc-gen-dobj ${rel}"
      VERBATIM)
    list(APPEND pb_srcs ${out}/${base}.pb-c.c)
  endforeach()
  set_source_files_properties(${pb_srcs} PROPERTIES COMPILE_OPTIONS -Wno-missing-prototypes)
  add_library(${G_TARGET} STATIC ${pb_srcs} ${dobj_srcs})
  set_target_properties(${G_TARGET} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${G_TARGET} PUBLIC ${out})
  target_link_libraries(${G_TARGET} PUBLIC ${DOBJ_LIBRARY} dobj_options_pb PkgConfig::PROTOBUFC)
endfunction()
