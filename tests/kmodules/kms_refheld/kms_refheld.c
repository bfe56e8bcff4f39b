// SPDX-License-Identifier: GPL-2.0
/*
 * kms_refheld - a device whose open files hold a reference on the module,
 * for testing rmmod of a module in use, and rmmod -f.
 *
 * /dev/kms_refheld is a misc device. Its file_operations name the module as
 * their .owner, so every open of the device takes a reference on the module
 * and the last close of that file drops it. While a file is open, lsmod
 * shows 1 in "Used by" and rmmod fails (EAGAIN: "Resource temporarily
 * unavailable"; kmod words it "Module kms_refheld is in use"). Once it is
 * closed, rmmod succeeds.
 *
 * rmmod -f (CONFIG_MODULE_FORCE_UNLOAD) unloads it anyway and taints the
 * kernel R. The open file then still points at this module's code, which
 * is gone: closing it touches freed memory and Oopses. That is why -f
 * exists only for emergencies.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/init.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/printk.h>

static const char kms_refheld_message[] =
	"kms_refheld: this open file holds a reference on the module\n";

static int kms_refheld_open(struct inode *inode, struct file *file)
{
	/* The reference for this file was taken before open was called. */
	pr_info("opened, module refcount %d\n", module_refcount(THIS_MODULE));
	return 0;
}

static int kms_refheld_release(struct inode *inode, struct file *file)
{
	/* Its reference is dropped after this returns. */
	pr_info("closed\n");
	return 0;
}

static ssize_t kms_refheld_read(struct file *file, char __user *buf,
				size_t count, loff_t *ppos)
{
	return simple_read_from_buffer(buf, count, ppos, kms_refheld_message,
				       sizeof(kms_refheld_message) - 1);
}

static const struct file_operations kms_refheld_fops = {
	.owner = THIS_MODULE,
	.open = kms_refheld_open,
	.release = kms_refheld_release,
	.read = kms_refheld_read,
};

static struct miscdevice kms_refheld_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KBUILD_MODNAME,
	.fops = &kms_refheld_fops,
	.mode = 0444,
};

static int __init kms_refheld_init(void)
{
	int ret;

	ret = misc_register(&kms_refheld_device);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", KBUILD_MODNAME, ret);
		return ret;
	}

	pr_info("loaded; an open /dev/%s holds the module\n", KBUILD_MODNAME);
	return 0;
}

static void __exit kms_refheld_exit(void)
{
	misc_deregister(&kms_refheld_device);
	pr_info("unloaded\n");
}

module_init(kms_refheld_init);
module_exit(kms_refheld_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Test module: an open file of its device holds the module");
