/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kms_core - what the module exports to other modules.
 *
 * Modules that call these include this header and name kms_core's
 * Module.symvers in KBUILD_EXTRA_SYMBOLS, so that modpost can check the
 * calls and record their symbol versions.
 */
#ifndef _KMS_CORE_H
#define _KMS_CORE_H

#include "kms_core_compat.h"

/* Exported with EXPORT_SYMBOL(): any module may call it. */
int kms_core_add(int a, int b);

/* Exported with EXPORT_SYMBOL_GPL(): only GPL-compatible modules may. */
int kms_core_gpl_mul(int a, int b);

/*
 * Exported with EXPORT_SYMBOL_NS_GPL() into the namespace KMS_CORE: only
 * GPL-compatible modules that say MODULE_IMPORT_NS(KMS_CORE_NS) may.
 */
int kms_core_sub(int a, int b);

#endif /* _KMS_CORE_H */
