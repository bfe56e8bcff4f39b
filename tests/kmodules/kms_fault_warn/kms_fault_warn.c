// SPDX-License-Identifier: GPL-2.0
/*
 * kms_fault_warn - a module that triggers one kernel warning at load and
 * loads anyway, for testing that the guest's health check reports a WARN
 * without treating it as fatal.
 *
 * WARN() prints its message, then "WARNING: CPU: <n> PID: <pid> at
 * <file>:<line> <function>" with the registers and the call trace, and
 * taints the kernel W. Unlike an Oops it kills nothing: init goes on and
 * returns 0, and the module unloads normally.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init kms_fault_warn_init(void)
{
	WARN(1, KBUILD_MODNAME ": warning on purpose; the module still loads\n");
	pr_info("loaded after a warning; the kernel is now tainted W\n");
	return 0;
}

static void __exit kms_fault_warn_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_fault_warn_init);
module_exit(kms_fault_warn_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Test module: one WARN() at load, then loads normally");
