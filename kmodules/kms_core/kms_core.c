// SPDX-License-Identifier: GPL-2.0
/*
 * kms_core - the bottom of a module stack: it exports three functions that
 * other modules call.
 *
 * EXPORT_SYMBOL() offers kms_core_add() to every module. EXPORT_SYMBOL_GPL()
 * offers kms_core_gpl_mul() only to modules with a GPL-compatible license:
 * the kernel refuses to resolve it for any other (see kms_proprietary).
 * EXPORT_SYMBOL_NS_GPL() puts kms_core_sub() in the namespace KMS_CORE:
 * modpost and the kernel refuse it to a module that does not import the
 * namespace with MODULE_IMPORT_NS().
 * While a module that uses them is loaded, lsmod lists it in kms_core's
 * "Used by" column and rmmod kms_core fails.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/export.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "kms_core.h"

int kms_core_add(int a, int b)
{
	return a + b;
}
EXPORT_SYMBOL(kms_core_add);

int kms_core_gpl_mul(int a, int b)
{
	return a * b;
}
EXPORT_SYMBOL_GPL(kms_core_gpl_mul);

int kms_core_sub(int a, int b)
{
	return a - b;
}
EXPORT_SYMBOL_NS_GPL(kms_core_sub, KMS_CORE_NS);

static int __init kms_core_init(void)
{
	pr_info("loaded, exporting kms_core_add, kms_core_gpl_mul and kms_core_sub\n");
	return 0;
}

static void __exit kms_core_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_core_init);
module_exit(kms_core_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Symbol stacking: exports a plain, a GPL-only and a namespaced function");
