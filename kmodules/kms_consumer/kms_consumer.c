// SPDX-License-Identifier: GPL-2.0
/*
 * kms_consumer - a module stacked on another: it calls the three functions
 * that kms_core exports, so it cannot load without kms_core. The third is
 * in kms_core's symbol namespace, which this module imports.
 *
 * insmod does not load dependencies and fails with "Unknown symbol";
 * modprobe reads modules.dep (written by depmod from the symbols each
 * module needs) and loads kms_core first. Stacked modules are removed from
 * the top down: rmmod kms_core fails while this module uses it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "kms_core.h"

static int __init kms_consumer_init(void)
{
	pr_info("kms_core_add(2, 3) = %d\n", kms_core_add(2, 3));
	pr_info("kms_core_gpl_mul(6, 7) = %d\n", kms_core_gpl_mul(6, 7));
	pr_info("kms_core_sub(9, 4) = %d\n", kms_core_sub(9, 4));
	return 0;
}

static void __exit kms_consumer_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_consumer_init);
module_exit(kms_consumer_exit);

MODULE_IMPORT_NS(KMS_CORE_NS);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Symbol stacking: calls the exports of kms_core, one of them namespaced");
