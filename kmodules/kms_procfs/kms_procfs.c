// SPDX-License-Identifier: GPL-2.0
/*
 * kms_procfs - a file in /proc whose contents a seq_file iterator makes,
 * one record at a time, however large it is and however it is read.
 *
 * A read() of a /proc file gets what the module writes into a buffer of
 * the kernel's. Output of any size does not fit one buffer, and a reader
 * may stop after any byte and come back later. seq_file solves both: the
 * module says how to find record N (start), go from one record to the
 * next (next) and print one (show); seq_file fills a buffer, hands it out
 * in the pieces read() asks for, and comes back to start() at the record
 * where it left off. /proc/kms_procfs prints `records` lines that way.
 *
 * A small file needs none of it: /proc/kms_procfs_summary is one show()
 * into one buffer (proc_create_single()), which says how many records and
 * bytes the big one has.
 *
 * Try it:
 *   insmod kms_procfs.ko records=1000
 *   head -n 3 /proc/kms_procfs; wc -lc /proc/kms_procfs
 *   cat /proc/kms_procfs_summary
 *   dd if=/proc/kms_procfs bs=7 2>/dev/null | cmp - /proc/kms_procfs
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

static unsigned int records = 100;
module_param(records, uint, 0444);
MODULE_PARM_DESC(records, "Lines in /proc/kms_procfs (default: 100)");

/* One line per record; the summary counts the bytes with the same format. */
#define KMS_PROCFS_RECORD "record %u: %u squared is %llu, cubed is %llu\n"

/*
 * The iterator is the file position itself: record N is the Nth line, so
 * seq_file's index, which it keeps for the reader between read() calls,
 * is all the state there is. A list that may change between two read()s
 * would look its element up again here, under its lock.
 */
static void *kms_procfs_start(struct seq_file *m, loff_t *pos)
{
	return *pos < records ? pos : NULL;
}

static void *kms_procfs_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return *pos < records ? pos : NULL;
}

/* A lock that start() took would be dropped here; there is none. */
static void kms_procfs_stop(struct seq_file *m, void *v)
{
}

/*
 * When a record does not fit in what is left of the buffer, seq_file
 * drops what show() wrote and calls it again for the same record at the
 * next read() (or with a buffer twice as large, for a record larger than
 * one): show() must print the same thing each time and change nothing.
 */
static int kms_procfs_show(struct seq_file *m, void *v)
{
	unsigned int n = *(loff_t *)v;
	unsigned long long square = (unsigned long long)n * n;

	seq_printf(m, KMS_PROCFS_RECORD, n, n, square, square * n);
	return 0;
}

static const struct seq_operations kms_procfs_seq_ops = {
	.start = kms_procfs_start,
	.next = kms_procfs_next,
	.stop = kms_procfs_stop,
	.show = kms_procfs_show,
};

static int kms_procfs_open(struct inode *inode, struct file *file)
{
	return seq_open(file, &kms_procfs_seq_ops);
}

/*
 * proc_ops (5.6) names no owner module, unlike file_operations: an open
 * file does not hold the module. Instead, every call procfs makes through
 * these pointers is counted, and proc_remove() waits for the calls in
 * flight, then releases the files still open; their next read() fails
 * with EIO. proc_create_seq() would make the same proc_ops for us.
 */
static const struct proc_ops kms_procfs_ops = {
	.proc_open = kms_procfs_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = seq_release,
};

static int kms_procfs_summary_show(struct seq_file *m, void *v)
{
	unsigned long long bytes = 0;
	unsigned long long square;
	unsigned int n;

	for (n = 0; n < records; n++) {
		square = (unsigned long long)n * n;
		bytes += snprintf(NULL, 0, KMS_PROCFS_RECORD, n, n, square,
				  square * n);
		cond_resched();
	}
	seq_printf(m, "records: %u\nbytes: %llu\n", records, bytes);
	return 0;
}

static struct proc_dir_entry *kms_procfs_entry;
static struct proc_dir_entry *kms_procfs_summary;

static int __init kms_procfs_init(void)
{
	/* A NULL parent is /proc itself. */
	kms_procfs_entry =
		proc_create(KBUILD_MODNAME, 0444, NULL, &kms_procfs_ops);
	if (!kms_procfs_entry)
		return -ENOMEM;

	kms_procfs_summary = proc_create_single(KBUILD_MODNAME "_summary", 0444,
						NULL, kms_procfs_summary_show);
	if (!kms_procfs_summary)
		goto remove_entry;

	pr_info("created /proc/%s with %u records\n", KBUILD_MODNAME, records);
	return 0;

remove_entry:
	proc_remove(kms_procfs_entry);
	return -ENOMEM;
}

static void __exit kms_procfs_exit(void)
{
	proc_remove(kms_procfs_summary);
	proc_remove(kms_procfs_entry);
	pr_info("removed /proc/%s\n", KBUILD_MODNAME);
}

module_init(kms_procfs_init);
module_exit(kms_procfs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("A /proc file of many records, made by a seq_file iterator");
