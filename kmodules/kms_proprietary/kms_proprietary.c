// SPDX-License-Identifier: GPL-2.0
/*
 * kms_proprietary - what EXPORT_SYMBOL_GPL() means: a module whose license
 * is not GPL-compatible cannot use a GPL-only symbol.
 *
 * It declares MODULE_LICENSE("Proprietary") and calls kms_core_gpl_mul().
 * modpost already refuses it when given kms_core's Module.symvers, so it is
 * built without it (see README.md) to show the kernel's own check: loading
 * it taints the kernel (P), then the GPL-only symbol is not resolved and the
 * load fails with "Unknown symbol". Its init never runs.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "kms_core.h"

static int __init kms_proprietary_init(void)
{
	pr_info("kms_core_gpl_mul(6, 7) = %d\n", kms_core_gpl_mul(6, 7));
	return 0;
}

static void __exit kms_proprietary_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_proprietary_init);
module_exit(kms_proprietary_exit);

MODULE_LICENSE("Proprietary");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Symbol stacking: a non-GPL module using a GPL-only symbol");
