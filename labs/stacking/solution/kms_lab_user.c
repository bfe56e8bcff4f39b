// SPDX-License-Identifier: GPL-2.0
/*
 * kms_lab_user - the top of a two-module stack (lab "stacking").
 *
 * It calls what kms_lab_core exports: a GPL-only function, a function in
 * the symbol namespace KMS_LAB_CORE (which it imports), and the
 * registration API, registering at load and unregistering at unload.
 *
 * Because it uses kms_lab_core's symbols, modpost writes kms_lab_core into
 * its "depends" field: insmod alone fails with "Unknown symbol in module",
 * modprobe (through depmod's modules.dep) loads kms_lab_core first, and
 * kms_lab_core cannot be removed while this module is loaded.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "kms_lab_core.h"

/* kms_lab_core links it into its list while this module is registered. */
static struct kms_lab_core_client kms_lab_user_client = {
	.name = KBUILD_MODNAME,
};

static int __init kms_lab_user_init(void)
{
	int ret;

	pr_info("2 + 3 = %d\n", kms_lab_core_add(2, 3));
	pr_info("9 - 4 = %d\n", kms_lab_core_sub(9, 4));

	ret = kms_lab_core_register(&kms_lab_user_client);
	if (ret) {
		pr_err("cannot register with kms_lab_core: %d\n", ret);
		return ret;
	}

	pr_info("loaded\n");
	return 0;
}

static void __exit kms_lab_user_exit(void)
{
	kms_lab_core_unregister(&kms_lab_user_client);
	pr_info("unloaded\n");
}

module_init(kms_lab_user_init);
module_exit(kms_lab_user_exit);

MODULE_IMPORT_NS(KMS_LAB_CORE_NS);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk");
MODULE_DESCRIPTION("Lab stacking: calls and registers with kms_lab_core");
