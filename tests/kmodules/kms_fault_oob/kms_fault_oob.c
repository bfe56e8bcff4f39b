// SPDX-License-Identifier: GPL-2.0
/*
 * kms_fault_oob - a module that writes one word past the end of a kmalloc'd
 * buffer, for testing that the guest's memory debugging
 * (kmsdk run --debug-memory) catches an out-of-bounds write that a plain
 * kernel lets pass.
 *
 * Each of `repeat` rounds allocates 32 bytes, a whole object of the 32-byte
 * cache, stores a word just past them, and frees the buffer. With
 * slub_debug=Z a red zone follows each object, and the free reports
 * "Redzone overwritten"; with KFENCE, a sampled buffer placed at the end of
 * its page is followed by a guard page, and the store reports
 * "out-of-bounds write" in this function (placed at the start, the canary
 * after it is found broken when it is freed). Without debugging the store
 * lands in the next object, which may be in use: load it only with memory
 * debugging on. (Past a smaller request but inside its object, 6.1 sees
 * nothing even with debugging: its red zones start where the object ends.)
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
		 "How many times to allocate, overrun and free (default 1)");

static noinline void kms_fault_oob_write(void)
{
	size_t size = 32;
	char *buffer = kmalloc(size, GFP_KERNEL);

	if (!buffer)
		return;
	/*
	 * The bug, on purpose: 8 bytes past the 32 asked for, and not 0xcc
	 * bytes, which are what SLUB fills its red zones with.
	 */
	WRITE_ONCE(*(unsigned long *)(buffer + size), 0x4b4d5344424f4f42UL);
	kfree(buffer);
}

static int __init kms_fault_oob_init(void)
{
	unsigned int i;

	for (i = 0; i < repeat; i++)
		kms_fault_oob_write();
	pr_info("wrote past a buffer's end %u times\n", repeat);
	return 0;
}

static void __exit kms_fault_oob_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_fault_oob_init);
module_exit(kms_fault_oob_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Test module: writes past the end of a kmalloc'd buffer");
