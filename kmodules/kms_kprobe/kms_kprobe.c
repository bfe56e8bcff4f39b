// SPDX-License-Identifier: GPL-2.0
/*
 * kms_kprobe - what a module can do about system calls: watch them.
 *
 * A module cannot add a system call or replace one. The table of them is
 * not exported, it is read-only once the kernel has booted, and x86-64 no
 * longer reads it to dispatch a call (the README tells the story). What a
 * module can do is hook a kprobe on the function that implements one: the
 * kernel then calls the probe's pre_handler every time a CPU reaches that
 * address, and runs the function as before.
 *
 * On x86-64 a system call enters the kernel through a wrapper named
 * __x64_sys_<name>; this module probes sync(2)'s, which only user space
 * calls, and counts. /sys/kernel/debug/kms_kprobe/calls reads the count,
 * and unload logs it. Another function is one parameter away:
 *   insmod kms_kprobe.ko symbol=__x64_sys_newuname
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/init.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/printk.h>

static char *symbol = "__x64_sys_sync";
module_param(symbol, charp, 0444);
MODULE_PARM_DESC(symbol,
		 "Function to count the calls of (default: __x64_sys_sync)");

/*
 * The handler may run on every CPU at once. A counter per CPU needs no
 * lock and no cache line that the CPUs pass around; a reader adds them up.
 */
static DEFINE_PER_CPU(unsigned long, kms_kprobe_calls);

static struct dentry *kms_kprobe_dir;

/*
 * Called before the probed instruction runs, from the breakpoint trap or
 * from ftrace, with preemption disabled either way: it must not sleep.
 */
static int kms_kprobe_pre(struct kprobe *p, struct pt_regs *regs)
{
	this_cpu_inc(kms_kprobe_calls);
	/* 0: go on with the probed function as if nothing happened. */
	return 0;
}

static struct kprobe kms_kprobe_probe = {
	.pre_handler = kms_kprobe_pre,
};

/* Not a snapshot: calls made while it adds up may or may not be counted. */
static unsigned long kms_kprobe_count(void)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu(kms_kprobe_calls, cpu));
	return sum;
}

static int kms_kprobe_calls_get(void *data, u64 *val)
{
	*val = kms_kprobe_count();
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(kms_kprobe_calls_fops, kms_kprobe_calls_get, NULL,
			 "%llu\n");

/* What register_kprobe()'s usual failures mean, for the person at insmod. */
static const char *kms_kprobe_hint(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such symbol in /proc/kallsyms";
	case -EINVAL:
		return "not code that kprobes may probe (see /sys/kernel/debug/kprobes/blacklist)";
	case -EOPNOTSUPP:
		return "this kernel has no kprobes (CONFIG_KPROBES)";
	default:
		return "register_kprobe() failed";
	}
}

static int __init kms_kprobe_init(void)
{
	int ret;

	/*
	 * debugfs results are not checked, by design: without debugfs (not
	 * built, or debugfs=off) these calls do nothing, the probe still
	 * counts, and unload still logs the count.
	 */
	kms_kprobe_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file_unsafe("calls", 0444, kms_kprobe_dir, NULL,
				   &kms_kprobe_calls_fops);
	/* Hits the kprobes core skipped, such as one inside another probe. */
	debugfs_create_ulong("missed", 0444, kms_kprobe_dir,
			     &kms_kprobe_probe.nmissed);

	kms_kprobe_probe.symbol_name = symbol;
	ret = register_kprobe(&kms_kprobe_probe);
	if (ret) {
		pr_err("cannot probe %s: %pe, %s\n", symbol, ERR_PTR(ret),
		       kms_kprobe_hint(ret));
		goto remove_debugfs;
	}

	/* The address kprobes chose: past the ENDBR64 where IBT puts one. */
	pr_info("counting calls of %s, probe at %pS\n", symbol,
		kms_kprobe_probe.addr);
	return 0;

remove_debugfs:
	debugfs_remove(kms_kprobe_dir);
	return ret;
}

static void __exit kms_kprobe_exit(void)
{
	/*
	 * Returns only once no CPU is left in kms_kprobe_pre(): its code goes
	 * with the module. The count is final from here on.
	 */
	unregister_kprobe(&kms_kprobe_probe);
	/*
	 * The calls file's fops name this module their owner: while it is
	 * open it holds the module, and rmmod fails. The missed file's fops
	 * are debugfs's own: removal waits for its reads in flight, and a
	 * read of it left open fails with EIO from then on.
	 */
	debugfs_remove(kms_kprobe_dir);
	pr_info("removed the probe on %s; calls: %lu, missed: %lu\n", symbol,
		kms_kprobe_count(), kms_kprobe_probe.nmissed);
}

module_init(kms_kprobe_init);
module_exit(kms_kprobe_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Counts the calls of one system call with a kprobe");
