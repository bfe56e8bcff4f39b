// SPDX-License-Identifier: GPL-2.0
/*
 * kms_fault_initfail - a module whose init fails, for testing how a failed
 * load looks from user space.
 *
 * Init logs why and returns -ENODEV, as a driver does when its hardware is
 * absent. The kernel then frees the module: insmod fails with that errno
 * ("No such device"), and nothing stays in lsmod or /sys/module.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init kms_fault_initfail_init(void)
{
	pr_err("no device to drive, refusing to load (-ENODEV)\n");
	return -ENODEV;
}

/* No module_exit(): a module whose init fails is never loaded. */
module_init(kms_fault_initfail_init);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Test module: init fails with -ENODEV");
