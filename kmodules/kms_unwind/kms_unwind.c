// SPDX-License-Identifier: GPL-2.0
/*
 * kms_unwind - a template in the making.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init kms_unwind_init(void)
{
	pr_info("loaded\n");
	return 0;
}

static void __exit kms_unwind_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_unwind_init);
module_exit(kms_unwind_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A template in the making");
