// SPDX-License-Identifier: GPL-2.0
/*
 * kms_edu's user-space interface: /dev/kms_edu, a misc device per bound
 * edu device. read() and write() move data through the device's DMA
 * engine at the file position; ioctl() asks for a liveness check or a
 * factorial (uapi/kms_edu.h). Every size, offset and argument from user
 * space is checked here, before it reaches the hardware layer.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kms_edu.h"
#include "uapi/kms_edu.h"

static int kms_edu_open(struct inode *inode, struct file *file)
{
	/* misc_open() points private_data at the miscdevice that was opened. */
	struct kms_edu *edu =
		container_of(file->private_data, struct kms_edu, misc);

	/*
	 * misc_open() holds the misc lock that misc_deregister() takes, so
	 * the binding's reference still exists here.
	 */
	kref_get(&edu->ref);
	file->private_data = edu;
	return 0;
}

static int kms_edu_release(struct inode *inode, struct file *file)
{
	kms_edu_put(file->private_data);
	return 0;
}

/*
 * A request runs between these two, so that remove waits for it, and a
 * request made after remove fails instead of touching unmapped registers.
 */
static int kms_edu_request_begin(struct kms_edu *edu)
{
	down_read(&edu->removal_lock);
	if (edu->gone) {
		up_read(&edu->removal_lock);
		return -ENODEV;
	}
	return 0;
}

static void kms_edu_request_end(struct kms_edu *edu)
{
	up_read(&edu->removal_lock);
}

static ssize_t kms_edu_read(struct file *file, char __user *buf, size_t len,
			    loff_t *ppos)
{
	struct kms_edu *edu = file->private_data;
	void *data;
	ssize_t ret;

	if (!kms_edu_dma_range_ok(*ppos, len))
		return -EINVAL;
	data = kmalloc(len, GFP_KERNEL);
	if (!data)
		return -ENOMEM;

	ret = kms_edu_request_begin(edu);
	if (ret)
		goto out_free;
	ret = kms_edu_dma_from_device(edu, *ppos, data, len);
	kms_edu_request_end(edu);
	if (ret)
		goto out_free;

	if (copy_to_user(buf, data, len)) {
		ret = -EFAULT;
		goto out_free;
	}
	*ppos += len;
	ret = len;
out_free:
	kfree(data);
	return ret;
}

static ssize_t kms_edu_write(struct file *file, const char __user *buf,
			     size_t len, loff_t *ppos)
{
	struct kms_edu *edu = file->private_data;
	void *data;
	ssize_t ret;

	if (!kms_edu_dma_range_ok(*ppos, len))
		return -EINVAL;
	data = memdup_user(buf, len);
	if (IS_ERR(data))
		return PTR_ERR(data);

	ret = kms_edu_request_begin(edu);
	if (ret)
		goto out_free;
	ret = kms_edu_dma_to_device(edu, *ppos, data, len);
	kms_edu_request_end(edu);
	if (!ret) {
		*ppos += len;
		ret = len;
	}
out_free:
	kfree(data);
	return ret;
}

static long kms_edu_ioctl_liveness(struct kms_edu *edu,
				   struct kms_edu_liveness __user *uarg)
{
	struct kms_edu_liveness req;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	ret = kms_edu_liveness(edu, req.value, &req.inverse);
	if (ret)
		return ret;
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}

static long kms_edu_ioctl_factorial(struct kms_edu *edu,
				    struct kms_edu_factorial __user *uarg)
{
	struct kms_edu_factorial req;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	ret = kms_edu_factorial(edu, req.n, &req.result);
	if (ret)
		return ret;
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}

static long kms_edu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kms_edu *edu = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	ret = kms_edu_request_begin(edu);
	if (ret)
		return ret;
	switch (cmd) {
	case KMS_EDU_IOC_LIVENESS:
		ret = kms_edu_ioctl_liveness(edu, uarg);
		break;
	case KMS_EDU_IOC_FACTORIAL:
		ret = kms_edu_ioctl_factorial(edu, uarg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	kms_edu_request_end(edu);
	return ret;
}

/* Positions address the part of the device's buffer a transfer may use. */
static loff_t kms_edu_llseek(struct file *file, loff_t offset, int whence)
{
	return fixed_size_llseek(file, offset, whence, KMS_EDU_DMA_MAX);
}

static const struct file_operations kms_edu_fops = {
	/* An open file holds the module: rmmod waits for the last close. */
	.owner = THIS_MODULE,
	.open = kms_edu_open,
	.release = kms_edu_release,
	.read = kms_edu_read,
	.write = kms_edu_write,
	.llseek = kms_edu_llseek,
	.unlocked_ioctl = kms_edu_ioctl,
	/* The structures have the same layout for 32-bit callers. */
	.compat_ioctl = compat_ptr_ioctl,
};

int kms_edu_chardev_register(struct kms_edu *edu)
{
	edu->misc.minor = MISC_DYNAMIC_MINOR;
	edu->misc.name = edu->name;
	edu->misc.fops = &kms_edu_fops;
	/* sysfs then shows the node under the PCI device that backs it. */
	edu->misc.parent = &edu->pdev->dev;
	return misc_register(&edu->misc);
}

void kms_edu_chardev_unregister(struct kms_edu *edu)
{
	misc_deregister(&edu->misc);
}
