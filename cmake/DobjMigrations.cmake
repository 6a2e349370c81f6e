# SPDX-License-Identifier: MIT
# Embeds migrations/NNNN_name.sql into a C file so that dobjd carries its own schema.
# Script mode: cmake -DMIGRATIONS_DIR=... -DOUT=... -P DobjMigrations.cmake
file(GLOB files RELATIVE ${MIGRATIONS_DIR} ${MIGRATIONS_DIR}/[0-9][0-9][0-9][0-9]_*.sql)
list(SORT files)
set(body "")
set(table "")
set(i 0)
foreach(f ${files})
  file(READ ${MIGRATIONS_DIR}/${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "static const char sql_${i}[] = {${bytes}0};\n")
  string(APPEND table "\t{\"${f}\", sql_${i}, sizeof(sql_${i}) - 1},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE ${OUT}.tmp
"/* generated from migrations/NNNN_name.sql by cmake/DobjMigrations.cmake; do not edit */
#include <stddef.h>
#include \"migrate.h\"

${body}
const dobj__migration_file dobj__builtin_migrations[] = {
${table}};
const size_t dobj__builtin_migrations_count = ${i};
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
