// SPDX-License-Identifier: GPL-2.0
/*
 * kms_fault_uaf - a module that writes into memory it has freed, for
 * testing that the guest's memory debugging (kmsdk run --debug-memory)
 * catches a use-after-free that a plain kernel lets pass.
 *
 * Each of `repeat` rounds allocates 64 bytes, frees them and then stores
 * into them. Without debugging nothing is said: the store lands in a free
 * slab object and the module loads. With slub_debug=P the freed object is
 * poisoned, and the next allocation of it reports "Poison overwritten";
 * with KFENCE, a sampled object's page is protected once freed, and the
 * store itself reports "use-after-free write" in this function.
 *
 * The store is at the object's start: SLUB keeps its free pointer in the
 * middle, so the plain kernel's free list stays whole. One more allocation
 * of the same size follows the rounds, so that SLUB checks the last freed
 * object now, at load, rather than at whatever allocation comes next.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/slab.h>

static unsigned int repeat = 1;
module_param(repeat, uint, 0444);
MODULE_PARM_DESC(repeat,
		 "How many times to allocate, free and write (default 1)");

static noinline void kms_fault_uaf_write(void)
{
	unsigned long *object = kmalloc(64, GFP_KERNEL);

	if (!object)
		return;
	kfree(object);
	/* The bug, on purpose: the object is free. */
	WRITE_ONCE(*object, 0x4b4d534475616621UL);
}

static int __init kms_fault_uaf_init(void)
{
	unsigned int i;
	void *next;

	for (i = 0; i < repeat; i++)
		kms_fault_uaf_write();
	next = kmalloc(64, GFP_KERNEL);
	kfree(next);
	pr_info("wrote into freed memory %u times\n", repeat);
	return 0;
}

static void __exit kms_fault_uaf_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_fault_uaf_init);
module_exit(kms_fault_uaf_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Test module: writes into kmalloc'd memory after freeing it");
