# SPDX-License-Identifier: GPL-2.0
#
# kmsdk_add_module(<name>
#                  [SOURCES <file.c>...]            default: <name>.c
#                  [DEPENDS <kmsdk module target>...]
#                  [INCLUDE_DIRECTORIES <dir>...]
#                  [KERNELS <release|series|kdir>...] default: KMSDK_KERNELS
#                  [ALLOW_UNRESOLVED])
#
# ALLOW_UNRESOLVED lets modpost leave symbols it cannot resolve (it warns
# instead of failing), so the kernel's own checks at load time can be shown:
# for a module that must not get a DEPENDS module's symbol versions.
#
# Builds a kernel module with Kbuild, out of source, once per kernel, side by
# side in the build tree:
#   <binary dir>/kbuild/<release>/<name>/   Kbuild's folder (M=)
#   ${KMSDK_MODULES_OUTPUT_DIR}/<release>/<name>.ko
#
# Kbuild writes next to the sources of M=, so M= is a build folder holding a
# generated Kbuild file whose pattern rule links each source in on demand
# (`make M=<build> src=<sources>` fails on 6.12). The sources' own folder,
# and those of DEPENDS, are on the include path, so headers resolve to the
# real files and Kbuild's dependency tracking sees edits to them.
#
# A DEPENDS module is built first for each kernel, and its Module.symvers is
# handed to modpost (KBUILD_EXTRA_SYMBOLS), which otherwise fails on the
# symbols it exports.
#
# Target properties of <name>: KMSDK_MODULE (true), KMSDK_SOURCE_DIR,
# KMSDK_KBUILD_DIR, KMSDK_KERNEL_RELEASES. The global property
# KMSDK_BUILT_RELEASES lists every kernel some module is built for.

include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/KmsdkKernels.cmake")

set(KMSDK_MODULES_OUTPUT_DIR "${CMAKE_BINARY_DIR}/modules" CACHE PATH
    "Where built .ko files are gathered, one folder per kernel release")
set(KMSDK_CLANGD_KERNEL "" CACHE STRING
    "Kernel whose compile commands go to compile_commands.json (default: the first built)")
option(KMSDK_MODULE_WERROR "Fail a module's build on any compiler or modpost warning" OFF)
# Off by default: a build writes nothing into its project's sources unless
# asked to.
option(KMSDK_WRITE_CLANGD
       "Write a .clangd for module code into the source tree when it has none" OFF)

find_program(KMSDK_MAKE make REQUIRED)
find_program(KMSDK_BASH bash REQUIRED)

# Build-time signing: once Kbuild made a module, `kmsdk sign` signs it with
# its kernel's own sign-file and hash (kmsdk sign --help).
option(KMSDK_SIGN_MODULES "Sign each built module with its kernel's sign-file (kmsdk sign)" OFF)
set(KMSDK_SIGNING_KEY "" CACHE FILEPATH
    "PEM private key that signs modules (empty: kmsdk's own, made once in its cache)")
set(KMSDK_SIGNING_CERT "" CACHE FILEPATH "X.509 certificate of KMSDK_SIGNING_KEY, PEM or DER")

# What a module's add_custom_command takes after its Kbuild COMMAND to sign
# `ko`: a COMMAND when signing is on, and DEPENDS that re-make the module
# when the signing setup changes (on, off, another key), which a file
# rewritten only when its text changes stands for.
function(_kmsdk_signing_step ko out)
  set(setup "${CMAKE_BINARY_DIR}/kmsdk-signing.txt")
  file(CONFIGURE OUTPUT "${setup}" CONTENT
       "sign=${KMSDK_SIGN_MODULES}\nkey=${KMSDK_SIGNING_KEY}\ncert=${KMSDK_SIGNING_CERT}\n")
  set(step DEPENDS "${setup}")
  if(NOT KMSDK_SIGN_MODULES)
    set(${out} "${step}" PARENT_SCOPE)
    return()
  endif()
  if(TARGET kmsdk_cli)
    set(kmsdk "$<TARGET_FILE:kmsdk_cli>")
    list(APPEND step kmsdk_cli)
  elseif(KMSDK_CLI AND EXISTS "${KMSDK_CLI}")
    set(kmsdk "${KMSDK_CLI}")
    list(APPEND step "${KMSDK_CLI}")
  else()
    message(FATAL_ERROR "KMSDK_SIGN_MODULES needs the kmsdk command, and this build has none "
                        "(KMSDK_CLI='${KMSDK_CLI}'): install kmsdk with its CLI, or turn "
                        "KMSDK_SIGN_MODULES off")
  endif()
  set(key_args "")
  if(KMSDK_SIGNING_KEY OR KMSDK_SIGNING_CERT)
    foreach(file IN ITEMS KMSDK_SIGNING_KEY KMSDK_SIGNING_CERT)
      if(NOT EXISTS "${${file}}")
        message(FATAL_ERROR "${file} '${${file}}' does not exist: give both "
                            "KMSDK_SIGNING_KEY and KMSDK_SIGNING_CERT, or neither for kmsdk's key")
      endif()
    endforeach()
    set(key_args --key "${KMSDK_SIGNING_KEY}" --cert "${KMSDK_SIGNING_CERT}")
    list(APPEND step "${KMSDK_SIGNING_KEY}" "${KMSDK_SIGNING_CERT}")
  endif()
  list(APPEND step COMMAND "${kmsdk}" sign --quiet ${key_args} "${ko}")
  set(${out} "${step}" PARENT_SCOPE)
endfunction()

function(kmsdk_add_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "ALLOW_UNRESOLVED" ""
                        "SOURCES;DEPENDS;INCLUDE_DIRECTORIES;KERNELS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "kmsdk_add_module(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_SOURCES)
    set(arg_SOURCES "${name}.c")
  endif()

  set(source_dir "${CMAKE_CURRENT_SOURCE_DIR}")
  set(kbuild_script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/kmsdk-kbuild.sh")
  foreach(src IN LISTS arg_SOURCES)
    if(IS_ABSOLUTE "${src}" OR src MATCHES "(^|/)\\.\\.(/|$)" OR NOT src MATCHES "\\.c$")
      message(FATAL_ERROR
        "kmsdk_add_module(${name}): source '${src}' must be a .c file given "
        "relative to ${source_dir}, inside it")
    endif()
    if(NOT EXISTS "${source_dir}/${src}")
      message(FATAL_ERROR "kmsdk_add_module(${name}): ${source_dir}/${src} does not exist")
    endif()
  endforeach()

  set(include_dirs "${source_dir}")
  foreach(dir IN LISTS arg_INCLUDE_DIRECTORIES)
    get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR "${source_dir}")
    list(APPEND include_dirs "${dir}")
  endforeach()
  foreach(dep IN LISTS arg_DEPENDS)
    get_target_property(is_module ${dep} KMSDK_MODULE)
    if(NOT is_module)
      message(FATAL_ERROR "kmsdk_add_module(${name}): DEPENDS ${dep} is not a kmsdk module target")
    endif()
    get_target_property(dep_source_dir ${dep} KMSDK_SOURCE_DIR)
    list(APPEND include_dirs "${dep_source_dir}")
  endforeach()

  # Kbuild tracks which headers each object includes; CMake only needs to
  # know when to ask it, so any header in an include folder counts.
  set(inputs "")
  foreach(dir IN LISTS include_dirs)
    file(GLOB_RECURSE headers CONFIGURE_DEPENDS "${dir}/*.h")
    list(APPEND inputs ${headers})
  endforeach()
  list(TRANSFORM arg_SOURCES PREPEND "${source_dir}/" OUTPUT_VARIABLE source_paths)
  list(APPEND inputs ${source_paths})

  _kmsdk_kbuild_file("${name}" "${source_dir}" "${arg_SOURCES}" "${include_dirs}" kbuild_text)

  kmsdk_resolve_kernels(releases ${arg_KERNELS})

  set(kbuild_base "${CMAKE_CURRENT_BINARY_DIR}/kbuild")
  add_custom_target(${name} ALL)
  set_target_properties(${name} PROPERTIES
    KMSDK_MODULE TRUE
    KMSDK_SOURCE_DIR "${source_dir}"
    KMSDK_KBUILD_DIR "${kbuild_base}"
    KMSDK_KERNEL_RELEASES "${releases}")

  foreach(release IN LISTS releases)
    set(build_dir "${kbuild_base}/${release}/${name}")
    kmsdk_kernel_kdir("${release}" kdir)
    set(output "${KMSDK_MODULES_OUTPUT_DIR}/${release}/${name}.ko")
    file(CONFIGURE OUTPUT "${build_dir}/Kbuild" CONTENT "${kbuild_text}" @ONLY)

    set(symvers "")
    set(dep_outputs "")
    foreach(dep IN LISTS arg_DEPENDS)
      get_target_property(dep_kbuild_base ${dep} KMSDK_KBUILD_DIR)
      get_target_property(dep_releases ${dep} KMSDK_KERNEL_RELEASES)
      if(NOT release IN_LIST dep_releases)
        message(FATAL_ERROR "kmsdk_add_module(${name}): ${dep} is not built for ${release}")
      endif()
      list(APPEND symvers "${dep_kbuild_base}/${release}/${dep}/Module.symvers")
      list(APPEND dep_outputs "${KMSDK_MODULES_OUTPUT_DIR}/${release}/${dep}.ko")
    endforeach()
    list(JOIN symvers " " symvers)

    _kmsdk_signing_step("${output}" signing_step)
    add_custom_command(
      OUTPUT "${output}"
      BYPRODUCTS "${build_dir}/${name}.ko" "${build_dir}/Module.symvers"
                 "${build_dir}/compile_commands.json"
      COMMAND "${CMAKE_COMMAND}" -E env "KMSDK_WERROR=$<BOOL:${KMSDK_MODULE_WERROR}>"
              "KMSDK_ALLOW_UNRESOLVED=$<BOOL:${arg_ALLOW_UNRESOLVED}>"
              "${KMSDK_BASH}" "${kbuild_script}"
              "${kdir}" "${build_dir}" "${source_dir}"
              "${KMSDK_MODULES_OUTPUT_DIR}/${release}" "${name}"
              "${symvers}" ${arg_SOURCES}
      ${signing_step}
      DEPENDS ${inputs} ${dep_outputs} "${build_dir}/Kbuild"
              "${kbuild_script}"
      COMMENT "Building kernel module ${name} for ${release}"
      VERBATIM)
    add_custom_target(${name}-${release} DEPENDS "${output}")
    foreach(dep IN LISTS arg_DEPENDS)
      add_dependencies(${name}-${release} ${dep}-${release})
    endforeach()
    add_dependencies(${name} ${name}-${release})
    set_property(GLOBAL APPEND PROPERTY KMSDK_COMPILE_COMMANDS_${release}
                 "${build_dir}/compile_commands.json")
    get_property(built GLOBAL PROPERTY KMSDK_BUILT_RELEASES)
    if(NOT release IN_LIST built)
      set_property(GLOBAL APPEND PROPERTY KMSDK_BUILT_RELEASES "${release}")
    endif()
  endforeach()

  set_property(GLOBAL APPEND PROPERTY KMSDK_MODULE_TARGETS ${name})
  get_property(finalizer_queued GLOBAL PROPERTY _KMSDK_FINALIZER_QUEUED)
  if(NOT finalizer_queued)
    set_property(GLOBAL PROPERTY _KMSDK_FINALIZER_QUEUED TRUE)
    cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _kmsdk_finalize)
  endif()
endfunction()

# The Kbuild file of one module's build folder.
function(_kmsdk_kbuild_file name source_dir sources include_dirs out)
  set(objects "")
  foreach(src IN LISTS sources)
    string(REGEX REPLACE "\\.c$" ".o" obj "${src}")
    list(APPEND objects "${obj}")
  endforeach()
  set(text "# Generated by kmsdk_add_module(${name}); edit the CMakeLists.txt instead.\n")
  string(APPEND text "obj-m := ${name}.o\n")
  if(NOT objects STREQUAL "${name}.o")
    list(JOIN objects " " objects)
    string(APPEND text "${name}-y := ${objects}\n")
  endif()
  foreach(dir IN LISTS include_dirs)
    string(APPEND text "ccflags-y += -I${dir}\n")
  endforeach()
  string(APPEND text
    "\n# Sources are linked in on demand, so Kbuild sees them in \$(obj).\n"
    "\$(obj)/%.c: ${source_dir}/%.c\n"
    "\t\$(Q)mkdir -p \$(dir \$@) && ln -sf \$< \$@\n")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# Runs once, after the top-level CMakeLists.txt: gathers the compile commands
# of every module for one kernel into compile_commands.json, and gives module
# code a .clangd when the project has none.
function(_kmsdk_finalize)
  get_property(targets GLOBAL PROPERTY KMSDK_MODULE_TARGETS)
  get_property(built GLOBAL PROPERTY KMSDK_BUILT_RELEASES)
  message(STATUS "kmsdk: modules are built for ${built}")
  set(release "${KMSDK_CLANGD_KERNEL}")
  if(NOT release)
    list(GET built 0 release)
  endif()
  set(cmake_dir "${CMAKE_CURRENT_FUNCTION_LIST_DIR}")
  get_property(fragments GLOBAL PROPERTY KMSDK_COMPILE_COMMANDS_${release})
  add_custom_target(kmsdk_compile_commands ALL
    COMMAND "${CMAKE_COMMAND}" "-DOUTPUT=${CMAKE_BINARY_DIR}/compile_commands.json"
            "-DFRAGMENTS=${fragments}"
            -P "${cmake_dir}/KmsdkMergeCompileCommands.cmake"
    COMMENT "Gathering module compile commands (${release}) into compile_commands.json"
    VERBATIM)
  add_dependencies(kmsdk_compile_commands ${targets})

  if(KMSDK_WRITE_CLANGD AND NOT EXISTS "${CMAKE_SOURCE_DIR}/.clangd")
    configure_file("${cmake_dir}/clangd.in" "${CMAKE_SOURCE_DIR}/.clangd" COPYONLY)
    message(STATUS "kmsdk: wrote ${CMAKE_SOURCE_DIR}/.clangd so clangd accepts Kbuild's gcc flags")
  endif()
endfunction()
