// SPDX-License-Identifier: GPL-2.0
/*
 * kms_deferred - deferring work: a timer, a workqueue and a kernel thread,
 * each handing on what it may not do itself.
 *
 * A timer callback runs in softirq context, where nothing may sleep: it
 * counts, queues a work item and re-arms itself. The work item runs in a
 * kworker, a process, where sleeping is allowed: it does the slow part (a
 * sleep here, where a driver would wait for its device or allocate with
 * GFP_KERNEL) and kicks a kernel thread of the module's own, which sleeps
 * on a wait queue until kicked or told to stop.
 *
 * Each stage counts in /sys/kernel/debug/kms_deferred/: timer_fires,
 * work_runs and thread_wakeups. A fire or a kick that comes while the one
 * before it is still pending merges with it, so each count is at most the
 * one before it. Try it:
 *   insmod kms_deferred.ko period_ms=100
 *   sleep 1; cd /sys/kernel/debug/kms_deferred && grep . *
 *   ps | grep kms_deferred
 *   rmmod kms_deferred
 *
 * Teardown runs the chain from its head: stop the timer before destroying
 * the workqueue it queues to (a fire after destroy_workqueue() would queue
 * onto freed memory), destroy the workqueue, which waits for the work
 * already queued, before stopping the thread that work kicks, and only
 * then stop the thread. Each stage goes once nothing can feed it any more.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "kms_deferred_compat.h"

static unsigned int period_ms = 100;
module_param(period_ms, uint, 0444);
MODULE_PARM_DESC(period_ms,
		 "Timer period in milliseconds, 1 to 60000 (default: 100)");

struct kms_deferred {
	struct timer_list timer;
	struct workqueue_struct *wq;
	struct work_struct work;
	struct task_struct *thread;
	wait_queue_head_t wait;
	/* Set by the work, taken by the thread: the kick itself. */
	atomic_t kicked;
	/*
	 * Each counter has one writer at a time (a timer callback, a work
	 * item and a thread never run twice at once) and readers in any
	 * context: atomic_t makes both sides whole without a lock.
	 */
	atomic_t timer_fires;
	atomic_t work_runs;
	atomic_t thread_wakeups;
	struct dentry *debugfs;
};

static struct kms_deferred kms_deferred;

/* Softirq context: no sleeping, no mutex, no GFP_KERNEL. */
static void kms_deferred_timer_fn(struct timer_list *timer)
{
	struct kms_deferred *d = timer_container_of(d, timer, timer);

	atomic_inc(&d->timer_fires);
	/* False when the work is still queued: this fire merges with it. */
	queue_work(d->wq, &d->work);
	mod_timer(&d->timer, jiffies + msecs_to_jiffies(period_ms));
}

/* A kworker, in process context: it may sleep. */
static void kms_deferred_work_fn(struct work_struct *work)
{
	struct kms_deferred *d = container_of(work, struct kms_deferred, work);

	atomic_inc(&d->work_runs);
	/* Stands for the slow part, which the timer could not do. */
	usleep_range(500, 1000);
	atomic_set(&d->kicked, 1);
	wake_up_interruptible(&d->wait);
}

static int kms_deferred_thread_fn(void *data)
{
	struct kms_deferred *d = data;

	/*
	 * kthread_stop() sets the stop flag and wakes the thread, so the
	 * wait's condition must include kthread_should_stop(): a thread that
	 * waited for its kick alone would sleep through the stop, and rmmod
	 * would hang in kthread_stop().
	 */
	while (!kthread_should_stop()) {
		/* clang-format would indent the second operand past the first. */
		/* clang-format off */
		wait_event_interruptible(d->wait, atomic_read(&d->kicked) ||
					 kthread_should_stop());
		/* clang-format on */
		if (atomic_xchg(&d->kicked, 0))
			atomic_inc(&d->thread_wakeups);
	}
	pr_info("thread stopping after %d wakeups\n",
		atomic_read(&d->thread_wakeups));
	return 0;
}

static int __init kms_deferred_init(void)
{
	struct kms_deferred *d = &kms_deferred;
	int ret;

	if (period_ms < 1 || period_ms > 60000) {
		pr_err("period_ms=%u is out of range (1 to 60000)\n", period_ms);
		return -EINVAL;
	}

	init_waitqueue_head(&d->wait);
	INIT_WORK(&d->work, kms_deferred_work_fn);

	/* Consumers first, so that nothing is handed to a stage not there. */
	d->thread = kthread_run(kms_deferred_thread_fn, d, KBUILD_MODNAME);
	if (IS_ERR(d->thread)) {
		ret = PTR_ERR(d->thread);
		pr_err("cannot start the thread: %pe\n", d->thread);
		return ret;
	}

	/*
	 * A workqueue of its own: destroy_workqueue() then waits for exactly
	 * this module's work, and its sleeps delay no one else's. Unbound:
	 * the work may run on any CPU. No WQ_MEM_RECLAIM (nothing here frees
	 * memory), so no rescuer thread; WQ_SYSFS shows it in sysfs.
	 */
	d->wq = alloc_workqueue(KBUILD_MODNAME, WQ_UNBOUND | WQ_SYSFS, 0);
	if (!d->wq) {
		ret = -ENOMEM;
		goto stop_thread;
	}

	/* debugfs results are not checked, by design: it may be off. */
	d->debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_atomic_t("timer_fires", 0444, d->debugfs,
				&d->timer_fires);
	debugfs_create_atomic_t("work_runs", 0444, d->debugfs, &d->work_runs);
	debugfs_create_atomic_t("thread_wakeups", 0444, d->debugfs,
				&d->thread_wakeups);

	timer_setup(&d->timer, kms_deferred_timer_fn, 0);
	mod_timer(&d->timer, jiffies + msecs_to_jiffies(period_ms));

	pr_info("timer every %u ms, work on workqueue %s, thread %s (pid %d)\n",
		period_ms, KBUILD_MODNAME, d->thread->comm,
		task_pid_nr(d->thread));
	return 0;

stop_thread:
	kthread_stop(d->thread);
	return ret;
}

static void __exit kms_deferred_exit(void)
{
	struct kms_deferred *d = &kms_deferred;

	/* Waits for a running callback; no fire can queue work after this. */
	timer_shutdown_sync(&d->timer);
	/* Drains: the work already queued runs, and may kick the thread. */
	destroy_workqueue(d->wq);
	/* Wakes the thread and waits until its function has returned. */
	kthread_stop(d->thread);
	/* Waits for reads in flight; the counters are final from here on. */
	debugfs_remove(d->debugfs);
	pr_info("stopped: %d timer fires, %d work runs, %d thread wakeups\n",
		atomic_read(&d->timer_fires), atomic_read(&d->work_runs),
		atomic_read(&d->thread_wakeups));
}

module_init(kms_deferred_init);
module_exit(kms_deferred_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Defers work from a timer to a workqueue and a kernel thread");
