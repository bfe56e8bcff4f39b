// SPDX-License-Identifier: GPL-2.0
/*
 * kms_debugfs - debugfs: a module's variables as files, for developers,
 * with one call each and no interface to keep stable.
 *
 * debugfs is the kernel's scratch filesystem for debugging: no rules about
 * what a file holds, no promise to user space, root only. Its helpers make
 * a file out of a variable in one call, with the kernel's own file
 * operations; a file that needs more gets file operations of its own.
 * /sys/kernel/debug/kms_debugfs/ holds:
 *
 *   number      u32, in decimal      debugfs_create_u32()
 *   number_hex  the same u32, in hex debugfs_create_x32()
 *   counting    Y or N               debugfs_create_bool()
 *   squares     16 bytes, as they are in memory: debugfs_create_blob()
 *   opens       the module's own file_operations: each open gets the
 *               next number (while counting is Y) and reads it back
 *
 * Try it:
 *   insmod kms_debugfs.ko
 *   cd /sys/kernel/debug/kms_debugfs
 *   echo 255 > number; cat number_hex; cat opens; cat opens
 *   od -An -tu1 squares
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/types.h>

static u32 kms_debugfs_number;
static bool kms_debugfs_counting = true;
static u8 kms_debugfs_squares[16];
static struct debugfs_blob_wrapper kms_debugfs_blob = {
	.data = kms_debugfs_squares,
	.size = sizeof(kms_debugfs_squares),
};

static atomic_t kms_debugfs_opens = ATOMIC_INIT(0);

static struct dentry *kms_debugfs_dir;

/* Each open keeps its number in the file: all its reads agree. */
static int kms_debugfs_opens_open(struct inode *inode, struct file *file)
{
	int n;

	if (READ_ONCE(kms_debugfs_counting))
		n = atomic_inc_return(&kms_debugfs_opens);
	else
		n = atomic_read(&kms_debugfs_opens);
	file->private_data = (void *)(long)n;
	return 0;
}

static ssize_t kms_debugfs_opens_read(struct file *file, char __user *buf,
				      size_t count, loff_t *ppos)
{
	char text[16];
	int len;

	len = scnprintf(text, sizeof(text), "%ld\n", (long)file->private_data);
	return simple_read_from_buffer(buf, count, ppos, text, len);
}

/* A number written here is the count: the next open gets one more. */
static ssize_t kms_debugfs_opens_write(struct file *file, const char __user *buf,
				       size_t count, loff_t *ppos)
{
	int n;
	int ret;

	ret = kstrtoint_from_user(buf, count, 0, &n);
	if (ret)
		return ret;
	if (n < 0)
		return -EINVAL;
	atomic_set(&kms_debugfs_opens, n);
	return count;
}

/*
 * debugfs_create_file() calls these through a proxy of its own, which
 * takes a reference on .owner at open: while the file is open, rmmod is
 * refused, as for kms_kprobe's calls file.
 */
static const struct file_operations kms_debugfs_opens_fops = {
	.owner = THIS_MODULE,
	.open = kms_debugfs_opens_open,
	.read = kms_debugfs_opens_read,
	.write = kms_debugfs_opens_write,
	.llseek = default_llseek,
};

static int __init kms_debugfs_init(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(kms_debugfs_squares); i++)
		kms_debugfs_squares[i] = i * i;

	/*
	 * None of these results is checked, and that is the rule: a module
	 * must work the same without debugfs. When debugfs is missing
	 * (debugfs=off, or a kernel without CONFIG_DEBUG_FS), the directory
	 * is an ERR_PTR() and every call given it as parent does nothing.
	 * Nothing here may dereference the pointer, only pass it on.
	 */
	kms_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_u32("number", 0644, kms_debugfs_dir, &kms_debugfs_number);
	debugfs_create_x32("number_hex", 0644, kms_debugfs_dir,
			   &kms_debugfs_number);
	debugfs_create_bool("counting", 0644, kms_debugfs_dir,
			    &kms_debugfs_counting);
	debugfs_create_blob("squares", 0444, kms_debugfs_dir, &kms_debugfs_blob);
	debugfs_create_file("opens", 0644, kms_debugfs_dir, NULL,
			    &kms_debugfs_opens_fops);

	/* Only to say so: nothing above needed to know. */
	if (IS_ERR(kms_debugfs_dir))
		pr_info("no debugfs (%pe): loaded without its files\n",
			kms_debugfs_dir);
	else
		pr_info("created /sys/kernel/debug/%s\n", KBUILD_MODNAME);
	return 0;
}

static void __exit kms_debugfs_exit(void)
{
	/*
	 * Removes the files first, the directory last. The helpers' files
	 * hold no module reference while open: removal waits for their
	 * calls in flight, and later reads fail with EIO, before any can
	 * reach the variables that go with the module.
	 */
	debugfs_remove_recursive(kms_debugfs_dir);
	pr_info("unloaded, opens counted: %d\n",
		atomic_read(&kms_debugfs_opens));
}

module_init(kms_debugfs_init);
module_exit(kms_debugfs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("debugfs files for a module's variables: u32, x32, bool, a blob, own fops");
