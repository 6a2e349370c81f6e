# SPDX-License-Identifier: MIT
# Small build helpers shared by every folder.

# dobj_protoc_c(<out-var> <proto-dir> <file.proto>...): runs protoc-c at build time and
# returns the generated .pb-c.c files in <out-var>; headers land in the same folder.
function(dobj_protoc_c out import_dir)
  set(srcs)
  foreach(p ${ARGN})
    get_filename_component(abs ${p} ABSOLUTE)
    file(RELATIVE_PATH rel ${import_dir} ${abs})
    string(REGEX REPLACE "\\.proto$" "" base ${rel})
    set(c ${CMAKE_CURRENT_BINARY_DIR}/${base}.pb-c.c)
    set(h ${CMAKE_CURRENT_BINARY_DIR}/${base}.pb-c.h)
    add_custom_command(
      OUTPUT ${c} ${h}
      COMMAND ${PROTOC_C} --proto_path=${import_dir} --c_out=${CMAKE_CURRENT_BINARY_DIR} ${abs}
      DEPENDS ${abs}
      COMMENT "protoc-c ${rel}"
      VERBATIM)
    list(APPEND srcs ${c})
  endforeach()
  set(${out} ${srcs} PARENT_SCOPE)
endfunction()

# dobj_add_test(<name> SOURCES <src>... [LIBS <lib>...] [LABELS <label>...]):
# one Criterion executable registered with ctest.
function(dobj_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CRITERION Threads::Threads)
  add_test(NAME ${name} COMMAND ${name} --jobs 1)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
endfunction()
