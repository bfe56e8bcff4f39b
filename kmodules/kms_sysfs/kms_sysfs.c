// SPDX-License-Identifier: GPL-2.0
/*
 * kms_sysfs - attributes on a kobject: files in sysfs that a module reads
 * and writes with a show() and a store() function.
 *
 * A kobject is a directory in sysfs; each attribute of it is one file of
 * one value. This module makes /sys/kernel/kms_sysfs/ with three:
 *
 *   value   0644  an integer: show prints it, store parses it or says
 *                 EINVAL
 *   range   0644  two integers, "lo hi", that must stay in order: show and
 *                 store take the same lock, so a reader sees both halves of
 *                 one write, never half of two
 *   writes  0444  how many writes the other two accepted: no store, and
 *                 sysfs refuses to open it for writing, even to root
 *
 * Try it:
 *   insmod kms_sysfs.ko
 *   cat /sys/kernel/kms_sysfs/value; echo 42 > /sys/kernel/kms_sysfs/value
 *   echo "-5 5" > /sys/kernel/kms_sysfs/range; cat /sys/kernel/kms_sysfs/writes
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/sysfs.h>

/*
 * A kobject counts references and frees itself from its release function
 * when the last one goes, which may be after kobject_put() returns: the
 * driver core, or CONFIG_DEBUG_KOBJECT_RELEASE on purpose, can hold one a
 * while longer. So it must live in memory that release can free, never in
 * a static variable of a module that may be gone by then.
 * kobject_create_and_add() allocates it with a release function of the
 * kernel's own, which kfree()s it: this pointer is all the module keeps.
 */
static struct kobject *kms_sysfs_kobj;

/* One int: a load or a store of it is whole, it needs no lock. */
static int kms_sysfs_value;

/*
 * Two ints that belong together, lo <= hi: a reader must see them from
 * one write. The mutex also orders the count of accepted writes.
 */
static DEFINE_MUTEX(kms_sysfs_lock);
static int kms_sysfs_lo;
static int kms_sysfs_hi;
static unsigned int kms_sysfs_writes;

static void kms_sysfs_count_write(void)
{
	mutex_lock(&kms_sysfs_lock);
	kms_sysfs_writes++;
	mutex_unlock(&kms_sysfs_lock);
}

/*
 * show() gets a page to fill and returns how much it wrote; sysfs_emit()
 * knows that buf is a page and will not write past its end.
 */
static ssize_t value_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(kms_sysfs_value));
}

/*
 * store() gets what one write() gave, NUL-terminated, newline included if
 * echo sent one (kstrtoint() accepts one trailing newline). It returns the
 * count it consumed, or an error that write() then returns to user space.
 */
static ssize_t value_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *buf, size_t count)
{
	int value;
	int ret;

	ret = kstrtoint(buf, 0, &value);
	if (ret)
		return ret;
	WRITE_ONCE(kms_sysfs_value, value);
	kms_sysfs_count_write();
	return count;
}

static ssize_t range_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	ssize_t len;

	mutex_lock(&kms_sysfs_lock);
	len = sysfs_emit(buf, "%d %d\n", kms_sysfs_lo, kms_sysfs_hi);
	mutex_unlock(&kms_sysfs_lock);
	return len;
}

static ssize_t range_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *buf, size_t count)
{
	int lo, hi;
	char junk;

	/* Exactly two numbers; a third conversion matching means junk after. */
	if (sscanf(buf, "%d %d %c", &lo, &hi, &junk) != 2 || lo > hi)
		return -EINVAL;

	mutex_lock(&kms_sysfs_lock);
	kms_sysfs_lo = lo;
	kms_sysfs_hi = hi;
	kms_sysfs_writes++;
	mutex_unlock(&kms_sysfs_lock);
	return count;
}

static ssize_t writes_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	ssize_t len;

	mutex_lock(&kms_sysfs_lock);
	len = sysfs_emit(buf, "%u\n", kms_sysfs_writes);
	mutex_unlock(&kms_sysfs_lock);
	return len;
}

/* __ATTR_RW(x) names x_show and x_store, mode 0644; __ATTR_RO(x), 0444. */
static struct kobj_attribute value_attr = __ATTR_RW(value);
static struct kobj_attribute range_attr = __ATTR_RW(range);
static struct kobj_attribute writes_attr = __ATTR_RO(writes);

static struct attribute *kms_sysfs_attrs[] = {
	&value_attr.attr,
	&range_attr.attr,
	&writes_attr.attr,
	NULL,
};

/*
 * A group is created and removed as a whole: user space never sees the
 * directory with some of its files missing.
 */
static const struct attribute_group kms_sysfs_group = {
	.attrs = kms_sysfs_attrs,
};

static int __init kms_sysfs_init(void)
{
	int ret;

	/* kernel_kobj is /sys/kernel. */
	kms_sysfs_kobj = kobject_create_and_add(KBUILD_MODNAME, kernel_kobj);
	if (!kms_sysfs_kobj)
		return -ENOMEM;

	ret = sysfs_create_group(kms_sysfs_kobj, &kms_sysfs_group);
	if (ret)
		goto put_kobj;

	pr_info("created /sys/kernel/%s\n", KBUILD_MODNAME);
	return 0;

put_kobj:
	kobject_put(kms_sysfs_kobj);
	return ret;
}

static void __exit kms_sysfs_exit(void)
{
	/*
	 * The last put removes the directory with its files, and kernfs
	 * waits for every show() and store() in flight to return first: none
	 * can run once this returns, and the module's code can go. A file
	 * left open reads ENODEV from then on.
	 */
	kobject_put(kms_sysfs_kobj);
	pr_info("removed /sys/kernel/%s\n", KBUILD_MODNAME);
}

module_init(kms_sysfs_init);
module_exit(kms_sysfs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Attributes on a kobject: read and write values through sysfs");
