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
 *   insmod kms_lab_chardev.ko; cat /dev/kms_lab_chardev
 *   echo hi > /dev/kms_lab_chardev; cat /dev/kms_lab_chardev
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

/* Task 3: 1 while a file of the device is open. */
static atomic_t kms_lab_chardev_busy = ATOMIC_INIT(0);

/* Task 4: opens that succeeded since load. */
static atomic_t kms_lab_chardev_opens = ATOMIC_INIT(0);

/* DEVICE_ATTR_RO(opens) wants its show function named opens_show. */
static ssize_t opens_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&kms_lab_chardev_opens));
}
static DEVICE_ATTR_RO(opens);

/* The misc device's attributes, made in its sysfs folder with it. */
static struct attribute *kms_lab_chardev_attrs[] = {
	&dev_attr_opens.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kms_lab_chardev);

static int kms_lab_chardev_open(struct inode *inode, struct file *file)
{
	/* Task 3: 0 to 1 for the first opener; anyone else finds 1. */
	if (atomic_cmpxchg(&kms_lab_chardev_busy, 0, 1))
		return -EBUSY;

	/* Task 4: a refused open returned above, uncounted. */
	atomic_inc(&kms_lab_chardev_opens);
	return 0;
}

static int kms_lab_chardev_release(struct inode *inode, struct file *file)
{
	/* Task 3: the last close of the open file; the next one may come. */
	atomic_set(&kms_lab_chardev_busy, 0);
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
	 * Task 1: copies from *ppos at most count bytes, advances *ppos by
	 * what it copied, and returns 0 once *ppos is at the end: the end of
	 * file that makes cat stop.
	 */
	ret = simple_read_from_buffer(buf, count, ppos, kms_lab_chardev_msg,
				      kms_lab_chardev_len);
	mutex_unlock(&kms_lab_chardev_lock);
	return ret;
}

static ssize_t kms_lab_chardev_write(struct file *file, const char __user *buf,
				     size_t count, loff_t *ppos)
{
	char msg[KMS_LAB_CHARDEV_SIZE];
	int ret;

	/* Task 2: all or nothing; a short write would make the writer retry. */
	if (count > sizeof(msg))
		return -ENOSPC;
	/*
	 * Copied before taking the lock: a fault on the user's buffer then
	 * holds up nobody, and a failed copy leaves the message as it was.
	 */
	if (copy_from_user(msg, buf, count))
		return -EFAULT;

	ret = mutex_lock_interruptible(&kms_lab_chardev_lock);
	if (ret)
		return ret;
	memcpy(kms_lab_chardev_msg, msg, count);
	kms_lab_chardev_len = count;
	mutex_unlock(&kms_lab_chardev_lock);
	return count;
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
