// SPDX-License-Identifier: GPL-2.0
/*
 * kms_locking - choosing a lock: a mutex, a spinlock shared with an
 * interrupt handler, or an atomic and no lock at all.
 *
 * Every write(2) to /proc/kms_locking counts once in each of:
 *
 * - mutex_writes, with the last message written, under a mutex: only
 *   process context touches them, and copy_from_user() may sleep (it can
 *   fault a page in) while the lock is held, which a spinlock forbids;
 * - spin_writes and spin_pending, under a spinlock shared with an hrtimer
 *   handler that runs in hard interrupt context every tick_ms and moves
 *   spin_pending to spin_drained: a lock the handler takes must be one it
 *   can take without sleeping, and process context must take it with
 *   interrupts off (spin_lock_irqsave()), or the handler could interrupt
 *   the holder on its own CPU and spin on the lock forever;
 * - atomic_writes, an atomic64_t: one number alone needs no lock;
 * - unlocked_writes, deliberately wrong: read before the mutex section and
 *   written after it, a read-modify-write that other writers overtake
 *   while this one waits for the mutex or is preempted, and then undo. It
 *   loses updates, even on one CPU.
 *
 * Reading the file prints the counts. Try it:
 *   for i in 1 2 3 4; do (for j in $(seq 500); do echo w$i; done \
 *       > /proc/kms_locking) & done; wait; cat /proc/kms_locking
 * The locked counts read 2000 and spin_pending + spin_drained equals
 * spin_writes; unlocked_writes may read less, the more so the longer the
 * writers run.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/init.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/printk.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "kms_locking_compat.h"

static unsigned int tick_ms = 10;
module_param(tick_ms, uint, 0444);
MODULE_PARM_DESC(tick_ms,
		 "Period of the interrupt handler in milliseconds, 1 to 1000 (default: 10)");

#define KMS_LOCKING_LAST_MAX 32

/* Process context only, and held across copy_from_user(): a mutex. */
static DEFINE_MUTEX(kms_locking_mutex);
static u64 kms_locking_mutex_writes;
static char kms_locking_last[KMS_LOCKING_LAST_MAX];

/*
 * Shared with the hrtimer handler: a spinlock. The invariant it keeps,
 * spin_writes == spin_pending + spin_drained, spans three numbers, which
 * no set of atomics could keep together.
 */
static DEFINE_SPINLOCK(kms_locking_spin);
static struct {
	u64 writes;
	u64 pending;
	u64 drained;
	u64 ticks;
	const char *context; /* where the handler last ran */
} kms_locking_shared = { .context = "none" };

static atomic64_t kms_locking_atomic_writes = ATOMIC64_INIT(0);

/* No lock, on purpose: the contrast. */
static u64 kms_locking_unlocked_writes;

static struct hrtimer kms_locking_timer;
static struct proc_dir_entry *kms_locking_proc;

static const char *kms_locking_context(void)
{
	if (in_hardirq())
		return "hardirq";
	if (in_serving_softirq())
		return "softirq";
	return "task";
}

/*
 * Hard interrupt context, with interrupts already off on this CPU, so the
 * plain spin_lock() is enough here. On PREEMPT_RT, an hrtimer not marked
 * HRTIMER_MODE_HARD expires in a softirq thread instead, where spinlock_t
 * (a sleeping lock on RT) is allowed; a handler that had to stay in hard
 * interrupt context there would need a raw_spinlock_t.
 */
static enum hrtimer_restart kms_locking_tick(struct hrtimer *timer)
{
	spin_lock(&kms_locking_spin);
	kms_locking_shared.ticks++;
	kms_locking_shared.drained += kms_locking_shared.pending;
	kms_locking_shared.pending = 0;
	kms_locking_shared.context = kms_locking_context();
	spin_unlock(&kms_locking_spin);

	hrtimer_forward_now(timer, ms_to_ktime(tick_ms));
	return HRTIMER_RESTART;
}

static ssize_t kms_locking_write(struct file *file, const char __user *buf,
				 size_t count, loff_t *ppos)
{
	size_t len = min(count, sizeof(kms_locking_last) - 1);
	unsigned long flags;
	u64 unlocked;

	/* The mistake: the read here, the write at the end. */
	unlocked = READ_ONCE(kms_locking_unlocked_writes);

	mutex_lock(&kms_locking_mutex);
	if (copy_from_user(kms_locking_last, buf, len)) {
		kms_locking_last[0] = '\0';
		mutex_unlock(&kms_locking_mutex);
		return -EFAULT;
	}
	if (len && kms_locking_last[len - 1] == '\n')
		len--;
	kms_locking_last[len] = '\0';
	kms_locking_mutex_writes++;
	mutex_unlock(&kms_locking_mutex);

	/*
	 * spin_lock_bh() would not do: it holds off softirqs, and the handler
	 * is a hard interrupt. irqsave rather than spin_lock_irq(), which
	 * turns interrupts back on at unlock, so that it is right from any
	 * caller.
	 */
	spin_lock_irqsave(&kms_locking_spin, flags);
	kms_locking_shared.writes++;
	kms_locking_shared.pending++;
	spin_unlock_irqrestore(&kms_locking_spin, flags);

	atomic64_inc(&kms_locking_atomic_writes);

	WRITE_ONCE(kms_locking_unlocked_writes, unlocked + 1);
	return count;
}

static int kms_locking_show(struct seq_file *m, void *v)
{
	unsigned long flags;
	u64 writes, pending, drained, ticks;
	const char *context;

	mutex_lock(&kms_locking_mutex);
	seq_printf(m, "mutex_writes %llu\n", kms_locking_mutex_writes);
	seq_printf(m, "last %s\n", kms_locking_last);
	mutex_unlock(&kms_locking_mutex);

	/* Copied out under the lock, printed after: one consistent snapshot. */
	spin_lock_irqsave(&kms_locking_spin, flags);
	writes = kms_locking_shared.writes;
	pending = kms_locking_shared.pending;
	drained = kms_locking_shared.drained;
	ticks = kms_locking_shared.ticks;
	context = kms_locking_shared.context;
	spin_unlock_irqrestore(&kms_locking_spin, flags);
	seq_printf(m, "spin_writes %llu\n", writes);
	seq_printf(m, "spin_pending %llu\n", pending);
	seq_printf(m, "spin_drained %llu\n", drained);
	seq_printf(m, "ticks %llu\n", ticks);
	seq_printf(m, "tick_context %s\n", context);

	seq_printf(m, "atomic_writes %lld\n",
		   (long long)atomic64_read(&kms_locking_atomic_writes));
	seq_printf(m, "unlocked_writes %llu\n",
		   READ_ONCE(kms_locking_unlocked_writes));
	return 0;
}

static int kms_locking_open(struct inode *inode, struct file *file)
{
	return single_open(file, kms_locking_show, NULL);
}

static const struct proc_ops kms_locking_proc_ops = {
	.proc_open = kms_locking_open,
	.proc_read = seq_read,
	.proc_write = kms_locking_write,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static int __init kms_locking_init(void)
{
	if (tick_ms < 1 || tick_ms > 1000) {
		pr_err("tick_ms=%u is out of range (1 to 1000)\n", tick_ms);
		return -EINVAL;
	}

	hrtimer_setup(&kms_locking_timer, kms_locking_tick, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL);
	hrtimer_start(&kms_locking_timer, ms_to_ktime(tick_ms),
		      HRTIMER_MODE_REL);

	kms_locking_proc =
		proc_create(KBUILD_MODNAME, 0644, NULL, &kms_locking_proc_ops);
	if (!kms_locking_proc) {
		pr_err("cannot create /proc/%s\n", KBUILD_MODNAME);
		goto cancel_timer;
	}

	pr_info("/proc/%s ready, interrupt handler every %u ms\n",
		KBUILD_MODNAME, tick_ms);
	return 0;

cancel_timer:
	hrtimer_cancel(&kms_locking_timer);
	return -ENOMEM;
}

static void __exit kms_locking_exit(void)
{
	/* Waits for reads and writes in flight; none can start after it. */
	proc_remove(kms_locking_proc);
	/* Waits for a running handler, and wins against its restart. */
	hrtimer_cancel(&kms_locking_timer);
	pr_info("removed; writes: mutex %llu, spinlock %llu, atomic %lld, unlocked %llu; %llu ticks\n",
		kms_locking_mutex_writes, kms_locking_shared.writes,
		(long long)atomic64_read(&kms_locking_atomic_writes),
		kms_locking_unlocked_writes, kms_locking_shared.ticks);
}

module_init(kms_locking_init);
module_exit(kms_locking_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("A mutex, a spinlock shared with an interrupt handler, and an atomic");
