# SPDX-License-Identifier: GPL-2.0
#
# cmake -DOUTPUT=<file> -DFRAGMENTS=<json;json;...> -P KmsdkMergeCompileCommands.cmake
#
# Joins the per-module compile_commands.json arrays written by
# kmsdk-kbuild.sh into one. The file is only rewritten when it changes, so
# clangd does not reindex after every build.

set(entries "")
foreach(fragment IN LISTS FRAGMENTS)
  if(NOT EXISTS "${fragment}")
    continue()
  endif()
  file(READ "${fragment}" json)
  string(JSON count LENGTH "${json}")
  if(count EQUAL 0)
    continue()
  endif()
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON entry GET "${json}" ${i})
    list(APPEND entries "${entry}")
  endforeach()
endforeach()

list(JOIN entries ",\n" body)
file(CONFIGURE OUTPUT "${OUTPUT}" CONTENT "[\n${body}\n]\n")
