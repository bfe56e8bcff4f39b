/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels kms_core and its users are built for, in
 * one place. Each entry names the release that changed the API; when the
 * oldest supported kernel passes it, the entry goes.
 */
#ifndef _KMS_CORE_COMPAT_H
#define _KMS_CORE_COMPAT_H

#include <linux/version.h>

/*
 * 6.13 made a symbol namespace a string literal, in EXPORT_SYMBOL_NS*() and
 * MODULE_IMPORT_NS() alike; before, both took a bare name and stringified
 * it. Either way the namespace reads KMS_CORE in Module.symvers, modinfo
 * and the kernel's messages.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define KMS_CORE_NS "KMS_CORE"
#else
#define KMS_CORE_NS KMS_CORE
#endif

#endif /* _KMS_CORE_COMPAT_H */
