// SPDX-License-Identifier: GPL-2.0
/*
 * kms_chardev - a character device whose file_operations behave as the
 * tools expect of any file.
 *
 * /dev/kms_chardev holds up to 4096 bytes (uapi/kms_chardev.h). What the
 * module teaches is the contract each method keeps with user space:
 *   read     0 at the end of the data, so cat and dd stop;
 *   write    a short count when the end of the buffer cuts a write, then
 *            ENOSPC, never 0, which would make a writer retry forever;
 *   llseek   SEEK_SET, SEEK_CUR, SEEK_END (from the end of the data), and
 *            EINVAL for a position before 0 or past the buffer;
 *   ioctl    ENOTTY for a command the driver does not know;
 *   poll     readable while there is data, writable while there is room,
 *            and a wake-up for a sleeping poller when that changes;
 *   owner    THIS_MODULE: an open file holds the module, rmmod waits.
 * O_TRUNC (a shell's >) empties the device and O_APPEND (>>) writes at its
 * end, as for a regular file.
 *
 * The region, the cdev and the device node are registered by hand:
 * alloc_chrdev_region() picks a free major, cdev_add() connects it to the
 * file_operations, and device_create() makes udev or devtmpfs create
 * /dev/kms_chardev. Try it:
 *   insmod kms_chardev.ko; echo hello > /dev/kms_chardev; cat /dev/kms_chardev
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/printk.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "uapi/kms_chardev.h"

static struct kms_chardev {
	dev_t devt;
	struct cdev cdev;
	/* Serialises read, write, seek and clear against each other. */
	struct mutex lock;
	/* Pollers sleep here; writes and clears wake them. */
	wait_queue_head_t wait;
	/*
	 * Bytes of data: the end of the furthest write. Changed under the
	 * lock, read without it by poll and GET_SIZE, which need a value,
	 * not a consistent view of the buffer.
	 */
	size_t size;
	char data[KMS_CHARDEV_CAPACITY];
} kms_chardev = {
	.lock = __MUTEX_INITIALIZER(kms_chardev.lock),
	.wait = __WAIT_QUEUE_HEAD_INITIALIZER(kms_chardev.wait),
};

/*
 * No .owner here, unlike the file_operations: a class holds no module.
 * Static rather than class_create(), which changed its arguments in 6.4.
 */
static struct class kms_chardev_class = {
	.name = KBUILD_MODNAME,
};

/* Empties the device, and wakes whoever polls for room. */
static int kms_chardev_clear(struct kms_chardev *dev)
{
	int ret = mutex_lock_interruptible(&dev->lock);

	if (ret)
		return ret;
	/* Zeroes, so that a hole left by a seek past the data reads 0. */
	memset(dev->data, 0, sizeof(dev->data));
	WRITE_ONCE(dev->size, 0);
	mutex_unlock(&dev->lock);
	wake_up_interruptible_poll(&dev->wait, EPOLLOUT | EPOLLWRNORM);
	return 0;
}

static int kms_chardev_open(struct inode *inode, struct file *file)
{
	struct kms_chardev *dev =
		container_of(inode->i_cdev, struct kms_chardev, cdev);

	file->private_data = dev;
	/*
	 * The VFS truncates only regular files, and drops O_TRUNC from
	 * f_flags only after ->open(): here it still says what a shell's >
	 * asked for.
	 */
	if ((file->f_mode & FMODE_WRITE) && (file->f_flags & O_TRUNC))
		return kms_chardev_clear(dev);
	return 0;
}

static ssize_t kms_chardev_read(struct file *file, char __user *buf,
				size_t count, loff_t *ppos)
{
	struct kms_chardev *dev = file->private_data;
	ssize_t ret;

	/* Interruptible: a reader faulting on its buffer holds the lock. */
	ret = mutex_lock_interruptible(&dev->lock);
	if (ret)
		return ret;
	/*
	 * 0 at or past the end of the data, a short count where the data
	 * ends, and -EFAULT only if nothing could be copied.
	 */
	ret = simple_read_from_buffer(buf, count, ppos, dev->data, dev->size);
	mutex_unlock(&dev->lock);
	return ret;
}

static ssize_t kms_chardev_write(struct file *file, const char __user *buf,
				 size_t count, loff_t *ppos)
{
	struct kms_chardev *dev = file->private_data;
	loff_t pos;
	ssize_t ret;

	ret = mutex_lock_interruptible(&dev->lock);
	if (ret)
		return ret;
	pos = (file->f_flags & O_APPEND) ? dev->size : *ppos;
	/*
	 * Not simple_write_to_buffer(): it returns 0 at the end, and a
	 * writer that is told "0 bytes written" tries again, forever.
	 * ENOSPC is what a full disk says.
	 */
	if (pos >= KMS_CHARDEV_CAPACITY) {
		ret = count ? -ENOSPC : 0;
		goto out_unlock;
	}
	count = min_t(size_t, count, KMS_CHARDEV_CAPACITY - pos);
	if (copy_from_user(dev->data + pos, buf, count)) {
		ret = -EFAULT;
		goto out_unlock;
	}
	*ppos = pos + count;
	if (*ppos > dev->size)
		WRITE_ONCE(dev->size, *ppos);
	ret = count;
out_unlock:
	mutex_unlock(&dev->lock);
	if (ret > 0)
		wake_up_interruptible_poll(&dev->wait, EPOLLIN | EPOLLRDNORM);
	return ret;
}

static loff_t kms_chardev_llseek(struct file *file, loff_t offset, int whence)
{
	struct kms_chardev *dev = file->private_data;
	loff_t ret;

	/* The lock keeps SEEK_END's idea of the size from moving meanwhile. */
	mutex_lock(&dev->lock);
	/*
	 * SEEK_END and SEEK_DATA/SEEK_HOLE count from the size; any position
	 * past the capacity is EINVAL.
	 */
	ret = generic_file_llseek_size(file, offset, whence,
				       KMS_CHARDEV_CAPACITY, dev->size);
	mutex_unlock(&dev->lock);
	return ret;
}

static long kms_chardev_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct kms_chardev *dev = file->private_data;

	switch (cmd) {
	case KMS_CHARDEV_IOC_CLEAR:
		/* It changes the data: the same right as write(2) needs. */
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return kms_chardev_clear(dev);
	case KMS_CHARDEV_IOC_GET_SIZE:
		return put_user((__u32)READ_ONCE(dev->size),
				(__u32 __user *)arg);
	default:
		/* "Inappropriate ioctl for device", as for any unknown one. */
		return -ENOTTY;
	}
}

static __poll_t kms_chardev_poll(struct file *file, poll_table *wait)
{
	struct kms_chardev *dev = file->private_data;
	__poll_t mask = 0;
	size_t size;

	/* Registers first, then looks: a wake-up in between is not lost. */
	poll_wait(file, &dev->wait, wait);
	size = READ_ONCE(dev->size);
	if (size)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (size < KMS_CHARDEV_CAPACITY)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static const struct file_operations kms_chardev_fops = {
	/* An open file holds the module: rmmod is refused until it closes. */
	.owner = THIS_MODULE,
	.open = kms_chardev_open,
	.read = kms_chardev_read,
	.write = kms_chardev_write,
	.llseek = kms_chardev_llseek,
	.unlocked_ioctl = kms_chardev_ioctl,
	/* The argument is a pointer to a __u32 for 32-bit callers too. */
	.compat_ioctl = compat_ptr_ioctl,
	.poll = kms_chardev_poll,
};

static int __init kms_chardev_init(void)
{
	struct kms_chardev *dev = &kms_chardev;
	struct device *node;
	int ret;

	ret = alloc_chrdev_region(&dev->devt, 0, 1, KBUILD_MODNAME);
	if (ret)
		return ret;

	cdev_init(&dev->cdev, &kms_chardev_fops);
	/*
	 * An open file points at the cdev, in this module's memory, until
	 * its last close: chrdev_open() takes a reference on the owner for
	 * it, and one more for the fops. One open file, refcnt 2.
	 */
	dev->cdev.owner = THIS_MODULE;
	/* From here on the device can be opened: its state is ready. */
	ret = cdev_add(&dev->cdev, dev->devt, 1);
	if (ret)
		goto err_unregister_region;

	ret = class_register(&kms_chardev_class);
	if (ret)
		goto err_del_cdev;

	/* The uevent makes devtmpfs (and udev) create /dev/kms_chardev. */
	node = device_create(&kms_chardev_class, NULL, dev->devt, NULL,
			     KBUILD_MODNAME);
	if (IS_ERR(node)) {
		ret = PTR_ERR(node);
		goto err_unregister_class;
	}

	pr_info("/dev/%s is %u:%u, %d bytes\n", KBUILD_MODNAME,
		MAJOR(dev->devt), MINOR(dev->devt), KMS_CHARDEV_CAPACITY);
	return 0;

err_unregister_class:
	class_unregister(&kms_chardev_class);
err_del_cdev:
	cdev_del(&dev->cdev);
err_unregister_region:
	unregister_chrdev_region(dev->devt, 1);
	return ret;
}

static void __exit kms_chardev_exit(void)
{
	struct kms_chardev *dev = &kms_chardev;

	/*
	 * No file is open (each would hold the module), and cdev_del()
	 * stops new opens before the buffer goes with the module.
	 */
	device_destroy(&kms_chardev_class, dev->devt);
	class_unregister(&kms_chardev_class);
	cdev_del(&dev->cdev);
	unregister_chrdev_region(dev->devt, 1);
	pr_info("removed /dev/%s\n", KBUILD_MODNAME);
}

module_init(kms_chardev_init);
module_exit(kms_chardev_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("A character device with read, write, llseek, ioctl and poll");
