// SPDX-License-Identifier: GPL-2.0
/*
 * kms_chardev - a template in the making.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init kms_chardev_init(void)
{
	pr_info("loaded\n");
	return 0;
}

static void __exit kms_chardev_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_chardev_init);
module_exit(kms_chardev_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A template in the making");
