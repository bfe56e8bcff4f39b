/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels kms_checksum is built for, in one place.
 * Each entry names the release that changed the API; when the oldest
 * supported kernel passes it, the entry goes.
 */
#ifndef _KMS_CHECKSUM_COMPAT_H
#define _KMS_CHECKSUM_COMPAT_H

#include <linux/kconfig.h>
#include <linux/version.h>

/*
 * 6.14 folded libcrc32c into lib/crc32: crc32c() is declared in
 * <linux/crc32.h> and built into the kernel image with CONFIG_CRC32, so a
 * module that calls it depends on no other module. Before, it came from
 * libcrc32c.ko (CONFIG_LIBCRC32C, a module on Debian) through
 * <linux/crc32c.h>, which 6.14 keeps only as a shim.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
#include <linux/crc32.h>
#else
#include <linux/crc32c.h>
#endif

/* The kernel's configuration, not its version, says which one provides it. */
#if IS_MODULE(CONFIG_LIBCRC32C)
#define KMS_CHECKSUM_CRC32C_FROM "libcrc32c"
#else
#define KMS_CHECKSUM_CRC32C_FROM "the kernel image"
#endif

#endif /* _KMS_CHECKSUM_COMPAT_H */
