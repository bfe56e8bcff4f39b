// SPDX-License-Identifier: GPL-2.0
/*
 * kms_lab_chardev - lab: a character device.
 *
 * A misc device is a character device with the misc major (10) and a minor
 * the kernel picks: misc_register() creates it, and devtmpfs (or udev)
 * makes its node, /dev/kms_lab_chardev. What an open file of it does is
 * up to the file_operations:
 *   read     gives the message from the file position on, and 0 at its end,
 *            so that cat stops and dd skip= finds the right bytes;
 *   write    replaces the message with the bytes written, up to 64;
 *   open     lets one opener in at a time, and counts the opens, shown in
 *            /sys/class/misc/kms_lab_chardev/opens;
 *   release  lets the next opener in.
 * The message starts as "hello from kms_lab_chardev\n". Try it:
 *   insmod kms_lab_chardev.ko; head -c 5 /dev/kms_lab_chardev
 *
 * The registration is done; the numbered TODOs are the tasks of the lab's
 * README.md.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#define KMS_LAB_CHARDEV_SIZE 64
#define KMS_LAB_CHARDEV_HELLO "hello from kms_lab_chardev\n"

/*
 * The message and its length. Readers and writers may run at once (two
 * processes sharing one open file, or two threads), so both take the lock.
 */
static DEFINE_MUTEX(kms_lab_chardev_lock);
static char kms_lab_chardev_msg[KMS_LAB_CHARDEV_SIZE] = KMS_LAB_CHARDEV_HELLO;
static size_t kms_lab_chardev_len = sizeof(KMS_LAB_CHARDEV_HELLO) - 1;

/*
 * TODO 3: declare what says whether a file of the device is open: an
 * atomic_t kms_lab_chardev_busy, 0 at load.
 */

/*
 * TODO 4: declare an atomic_t kms_lab_chardev_opens, 0 at load, for the
 * number of opens that succeeded, and a read-only device attribute "opens"
 * that shows it as a decimal number and a newline: its show function
 * opens_show() (sysfs_emit()) and DEVICE_ATTR_RO(opens). Then list it in
 * kms_lab_chardev_attrs below.
 */

/* The misc device's attributes, made in its sysfs folder with it. */
static struct attribute *kms_lab_chardev_attrs[] = {
	/* TODO 4: add &dev_attr_opens.attr here. */
	NULL,
};
ATTRIBUTE_GROUPS(kms_lab_chardev);

static int kms_lab_chardev_open(struct inode *inode, struct file *file)
{
	/*
	 * TODO 3: let one opener in at a time: if kms_lab_chardev_busy is
	 * already 1, return -EBUSY; otherwise set it to 1, in one atomic
	 * step (atomic_cmpxchg()).
	 */

	/* TODO 4: count this open in kms_lab_chardev_opens. */
	return 0;
}

static int kms_lab_chardev_release(struct inode *inode, struct file *file)
{
	/* TODO 3: the file is closed: set kms_lab_chardev_busy back to 0. */
	return 0;
}

static ssize_t kms_lab_chardev_read(struct file *file, char __user *buf,
				    size_t count, loff_t *ppos)
{
	ssize_t ret;

	ret = mutex_lock_interruptible(&kms_lab_chardev_lock);
	if (ret)
		return ret;
	/*
	 * TODO 1: this read ignores *ppos: each call copies the message from
	 * its start again and never returns 0, so head -c 5 works but cat
	 * never stops. Copy from offset *ppos at most count bytes, advance
	 * *ppos by the number copied, and return 0 once *ppos is at (or
	 * past) kms_lab_chardev_len; -EFAULT if nothing could be copied.
	 */
	ret = min(count, kms_lab_chardev_len);
	if (copy_to_user(buf, kms_lab_chardev_msg, ret))
		ret = -EFAULT;
	mutex_unlock(&kms_lab_chardev_lock);
	return ret;
}

static ssize_t kms_lab_chardev_write(struct file *file, const char __user *buf,
				     size_t count, loff_t *ppos)
{
	/*
	 * TODO 2: replace the message with the count bytes at buf: more than
	 * KMS_LAB_CHARDEV_SIZE is -ENOSPC and changes nothing; otherwise copy
	 * them from user space (-EFAULT if that fails, the message unchanged),
	 * then, holding kms_lab_chardev_lock, store them and their number in
	 * kms_lab_chardev_msg and kms_lab_chardev_len, and return count.
	 */
	return -EINVAL;
}

static const struct file_operations kms_lab_chardev_fops = {
	/* An open file holds the module: rmmod waits for the last close. */
	.owner = THIS_MODULE,
	.open = kms_lab_chardev_open,
	.release = kms_lab_chardev_release,
	.read = kms_lab_chardev_read,
	.write = kms_lab_chardev_write,
	/* Moves the file position, as dd's skip= asks. */
	.llseek = default_llseek,
};

static struct miscdevice kms_lab_chardev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KBUILD_MODNAME,
	.fops = &kms_lab_chardev_fops,
	.groups = kms_lab_chardev_groups,
};

static int __init kms_lab_chardev_init(void)
{
	int ret;

	/* From here on the device can be opened: its state is ready. */
	ret = misc_register(&kms_lab_chardev_misc);
	if (ret)
		return ret;

	pr_info("registered /dev/%s, minor %d\n", KBUILD_MODNAME,
		kms_lab_chardev_misc.minor);
	return 0;
}

static void __exit kms_lab_chardev_exit(void)
{
	/* No file is open: each would hold the module. */
	misc_deregister(&kms_lab_chardev_misc);
	pr_info("removed /dev/%s\n", KBUILD_MODNAME);
}

module_init(kms_lab_chardev_init);
module_exit(kms_lab_chardev_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk");
MODULE_DESCRIPTION("Lab: a misc character device with read, write and open");
