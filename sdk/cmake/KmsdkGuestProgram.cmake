# SPDX-License-Identifier: GPL-2.0
# kmsdk_guest_program(<target>): make an executable fit to run inside a
# guest, whose initramfs holds no shared libraries beyond its own tools':
# static, small (the kernel unpacks it under emulation), and free of the
# sanitizer runtimes a sanitizing preset puts in CMAKE_CXX_FLAGS, which
# cannot be linked statically.
include_guard(GLOBAL)

function(kmsdk_guest_program target)
  # -Os after the build type's -O2 wins; sections let the linker drop what
  # the static libraries bring and the program never calls.
  target_compile_options(${target} PRIVATE -Os -ffunction-sections -fdata-sections
                         -fno-sanitize=all)
  target_link_options(${target} PRIVATE -static -Wl,--gc-sections -s -fno-sanitize=all)
endfunction()
