// SPDX-License-Identifier: GPL-2.0
/*
 * kms_fault_oops - a module that Oopses on request, for testing what a
 * kernel Oops looks like and that the guest's health check reports it.
 *
 * It loads cleanly and creates /dev/kms_fault_oops. Writing anything to it
 * stores through a NULL pointer: the page fault in kernel mode becomes an
 * Oops ("BUG: kernel NULL pointer dereference"), the writing process is
 * killed, and the kernel carries on, tainted D.
 *
 * The trigger is a device node rather than a module parameter on purpose:
 * a task that dies in a sysfs store still holds the module's parameter lock
 * and the attribute's active reference, so reading any parameter, or
 * rmmod, would then hang. A task that dies in a character device's write
 * holds nothing but its open file, which its exit closes: afterwards the
 * module still unloads.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compiler.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/printk.h>

/*
 * Never set, so NULL. It is read with READ_ONCE(): the compiler must load
 * it and cannot prove it NULL, so it can neither drop the store below nor
 * replace it with a trap of its own.
 */
static int *kms_fault_oops_target;

/* Not inlined, so the call trace shows the write handler below it. */
static noinline void kms_fault_oops_poke(int *where)
{
	WRITE_ONCE(*where, 1);
}

static ssize_t kms_fault_oops_write(struct file *file, const char __user *buf,
				    size_t count, loff_t *ppos)
{
	pr_info("writing through a NULL pointer now\n");
	kms_fault_oops_poke(READ_ONCE(kms_fault_oops_target));

	/* Not reached: the Oops kills the writer. */
	return count;
}

static const struct file_operations kms_fault_oops_fops = {
	.owner = THIS_MODULE,
	.write = kms_fault_oops_write,
};

static struct miscdevice kms_fault_oops_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KBUILD_MODNAME,
	.fops = &kms_fault_oops_fops,
	.mode = 0200,
};

static int __init kms_fault_oops_init(void)
{
	int ret;

	ret = misc_register(&kms_fault_oops_device);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", KBUILD_MODNAME, ret);
		return ret;
	}

	pr_info("loaded; write to /dev/%s to Oops\n", KBUILD_MODNAME);
	return 0;
}

static void __exit kms_fault_oops_exit(void)
{
	misc_deregister(&kms_fault_oops_device);
	pr_info("unloaded\n");
}

module_init(kms_fault_oops_init);
module_exit(kms_fault_oops_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Test module: a write to its device dereferences NULL");
