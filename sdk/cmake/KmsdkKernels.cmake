# SPDX-License-Identifier: GPL-2.0
#
# Which kernels modules are built for. KMSDK_KERNELS is a list whose entries
# may be a cached release (6.1.0-56-amd64), a series (6.1: its newest cached
# release), or a kernel build folder (/lib/modules/$(uname -r)/build).
# Empty means every kernel in the kmsdk cache.
#
# kmsdk_resolve_kernels(<out> [<entry>...]) sets <out> to the releases, in
# the order asked for (default entries: KMSDK_KERNELS), and records each
# one's Kbuild folder for kmsdk_kernel_kdir(<release> <out>).

include_guard(GLOBAL)

# How to fetch a kernel: the source tree's script, or the installed one.
if(NOT KMSDK_KERNELS_SCRIPT)
  set(KMSDK_KERNELS_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/../../scripts/kernels.sh")
  cmake_path(NORMAL_PATH KMSDK_KERNELS_SCRIPT)
endif()

if(DEFINED ENV{KMSDK_CACHE})
  set(_kmsdk_default_cache "$ENV{KMSDK_CACHE}")
elseif(DEFINED ENV{XDG_CACHE_HOME})
  set(_kmsdk_default_cache "$ENV{XDG_CACHE_HOME}/kmsdk")
else()
  set(_kmsdk_default_cache "$ENV{HOME}/.cache/kmsdk")
endif()
set(KMSDK_CACHE "${_kmsdk_default_cache}" CACHE PATH
    "kmsdk cache holding fetched kernels (kernels/<release>/)")
set(KMSDK_KERNELS "" CACHE STRING
    "Kernels to build modules for: releases, series or build folders (default: every cached kernel)")

# Cached releases, newest first.
function(_kmsdk_cached_releases out)
  file(GLOB infos LIST_DIRECTORIES false "${KMSDK_CACHE}/kernels/*/kernel.info")
  set(releases "")
  foreach(info IN LISTS infos)
    get_filename_component(dir "${info}" DIRECTORY)
    get_filename_component(release "${dir}" NAME)
    list(APPEND releases "${release}")
  endforeach()
  list(SORT releases COMPARE NATURAL ORDER DESCENDING)
  set(${out} "${releases}" PARENT_SCOPE)
endfunction()

function(_kmsdk_release_of_kdir kdir out)
  set(release_file "${kdir}/include/config/kernel.release")
  if(NOT EXISTS "${release_file}")
    message(FATAL_ERROR
      "kmsdk: ${kdir} is not a configured kernel build folder "
      "(no include/config/kernel.release). Point KMSDK_KERNELS at a kernel's "
      "headers, or fetch one with: ${KMSDK_KERNELS_SCRIPT} fetch 6.1")
  endif()
  file(STRINGS "${release_file}" release LIMIT_COUNT 1)
  set(${out} "${release}" PARENT_SCOPE)
endfunction()

# kmsdk_kernel_spec(<release> <out>): what users call a Debian release:
# 6.12 for 6.12.117+deb12-amd64, 6.12-rt for its PREEMPT_RT twin. Another
# name (a kernel built elsewhere) stays whole.
function(kmsdk_kernel_spec release out)
  if(release MATCHES "^([0-9]+\\.[0-9]+)[^-]*(-[0-9]+)?-(rt-amd64|cloud-amd64|amd64)$")
    set(spec "${CMAKE_MATCH_1}")
    if(NOT CMAKE_MATCH_3 STREQUAL "amd64")
      string(REPLACE "-amd64" "" flavour "${CMAKE_MATCH_3}")
      string(APPEND spec "-${flavour}")
    endif()
  else()
    set(spec "${release}")
  endif()
  set(${out} "${spec}" PARENT_SCOPE)
endfunction()

# Whether a cached release is what an entry of KMSDK_KERNELS names: the
# release itself, its spec (6.12, 6.12-rt), or a version prefix of a
# release of the generic flavour (6.12.117+deb12).
function(_kmsdk_release_matches release entry out)
  kmsdk_kernel_spec("${release}" spec)
  string(REGEX REPLACE "([][+.*?^$()|\\])" "\\\\\\1" entry_regex "${entry}")
  if(release STREQUAL entry OR spec STREQUAL entry OR
     (release MATCHES "^${entry_regex}[.+~-]" AND release MATCHES "[0-9]-amd64$"))
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

function(kmsdk_kernel_kdir release out)
  get_property(kdir GLOBAL PROPERTY KMSDK_KDIR_${release})
  set(${out} "${kdir}" PARENT_SCOPE)
endfunction()

function(kmsdk_resolve_kernels out)
  _kmsdk_cached_releases(cached)
  set(wanted "${ARGN}")
  if(NOT wanted)
    set(wanted "${KMSDK_KERNELS}")
  endif()
  if(NOT wanted)
    set(wanted "${cached}")
  endif()
  if(NOT wanted)
    message(FATAL_ERROR
      "kmsdk: no kernel to build modules for: the cache ${KMSDK_CACHE}/kernels "
      "is empty and KMSDK_KERNELS is not set. Fetch kernels with "
      "'${KMSDK_KERNELS_SCRIPT} fetch 6.1 6.12', or set "
      "-DKMSDK_KERNELS=/lib/modules/$(uname -r)/build.")
  endif()

  set(releases "")
  foreach(entry IN LISTS wanted)
    set(release "")
    if(IS_DIRECTORY "${entry}" AND EXISTS "${entry}/Makefile")
      _kmsdk_release_of_kdir("${entry}" release)
      set(kdir "${entry}")
    else()
      foreach(candidate IN LISTS cached)
        _kmsdk_release_matches("${candidate}" "${entry}" matches)
        if(matches)
          set(release "${candidate}")
          set(kdir "${KMSDK_CACHE}/kernels/${candidate}/build")
          break()
        endif()
      endforeach()
      if(NOT release AND EXISTS "/lib/modules/${entry}/build/Makefile")
        set(release "${entry}")
        set(kdir "/lib/modules/${entry}/build")
      endif()
    endif()
    if(NOT release)
      message(FATAL_ERROR
        "kmsdk: no kernel matches '${entry}' in KMSDK_KERNELS. Cached: "
        "${cached}. Fetch it with: ${KMSDK_KERNELS_SCRIPT} fetch ${entry}")
    endif()
    if(NOT release IN_LIST releases)
      list(APPEND releases "${release}")
      set_property(GLOBAL PROPERTY KMSDK_KDIR_${release} "${kdir}")
    endif()
  endforeach()
  set(${out} "${releases}" PARENT_SCOPE)
endfunction()
