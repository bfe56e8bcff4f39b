// SPDX-License-Identifier: GPL-2.0
/*
 * kms_fault_double_free - a module that frees one buffer twice, for testing
 * that the guest's memory debugging (kmsdk run --debug-memory) reports a
 * double free.
 *
 * Another allocation comes between the two frees. A plain kernel notices
 * only a free of the object at the head of the free list (and then hits a
 * BUG), so with one in between its free list is silently corrupted. With
 * slub_debug=F, the second free reports "Object already free"; with KFENCE,
 * a sampled object's second free reports "invalid free" in this function.
 * Load it only with memory debugging on.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/slab.h>

static noinline void kms_fault_double_free_twice(void)
{
	void *object = kmalloc(128, GFP_KERNEL);
	void *other = kmalloc(128, GFP_KERNEL);

	kfree(object);
	kfree(other);
	/* The bug, on purpose: object is free already. */
	kfree(object);
}

static int __init kms_fault_double_free_init(void)
{
	kms_fault_double_free_twice();
	pr_info("freed a buffer twice\n");
	return 0;
}

static void __exit kms_fault_double_free_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_fault_double_free_init);
module_exit(kms_fault_double_free_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Test module: frees a kmalloc'd buffer twice");
