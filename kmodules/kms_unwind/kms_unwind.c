// SPDX-License-Identifier: GPL-2.0
/*
 * kms_unwind - a module_init that takes several resources by hand and, when
 * one step fails, gives back what the earlier steps took, in reverse order,
 * through goto labels named for what they undo.
 *
 * A module is no device: there is no probe for devm_ to undo after, so
 * (as in the kernel's samples/kobject/kset-example.c) init unwinds itself.
 * It takes four things a user can see:
 *   1 a buffer (kmalloc)                    read through step 3's file
 *   2 /sys/kernel/kms_unwind (a kset)       ls /sys/kernel
 *   3 /proc/kms_unwind                      cat /proc/kms_unwind
 *   4 a kernel thread named kms_unwind      ps, /proc/<pid>/comm
 * and module_exit gives them back in the same reverse order.
 *
 * fail_at=N makes step N fail, to walk each unwind path: step 1 asks
 * kmalloc() for more than it can ever give; steps 2 to 4 skip their call
 * and fail as that call fails. Every step and every undo is logged:
 *   insmod kms_unwind.ko fail_at=3; dmesg | tail -4
 *
 * Steps 2 and 3 report failure as NULL, so init picks -ENOMEM, as the
 * kernel's own callers do. Step 4, kthread_run(), returns an error pointer:
 * a pointer whose value is -errno, -1 to -4095 (MAX_ERRNO). Cast to an
 * address, those values are the last page of the address space, where no
 * object is ever placed, so one return value carries either a pointer or
 * an error. IS_ERR() tests (unsigned long)ptr >= (unsigned long)-MAX_ERRNO,
 * and PTR_ERR() turns the pointer back into the errno that insmod prints.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/init.h>
#include <linux/kobject.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#define KMS_UNWIND_STEPS 4
#define KMS_UNWIND_BUFFER_SIZE 64

static unsigned int fail_at;
module_param(fail_at, uint, 0444);
MODULE_PARM_DESC(fail_at,
		 "Make init's step 1-4 fail, to unwind the steps before it (default: 0, none)");

/* What each step takes, as the log names it. */
static const char *const kms_unwind_what[KMS_UNWIND_STEPS + 1] = {
	[1] = "the buffer",
	[2] = "/sys/kernel/kms_unwind",
	[3] = "/proc/kms_unwind",
	[4] = "the thread kms_unwind",
};

static char *kms_unwind_buffer;
static struct kset *kms_unwind_kset;
static struct proc_dir_entry *kms_unwind_entry;
static struct task_struct *kms_unwind_thread;

static bool kms_unwind_inject(unsigned int step)
{
	if (fail_at != step)
		return false;
	pr_info("fail_at=%u: step %u (%s) will fail\n", step, step,
		kms_unwind_what[step]);
	return true;
}

static int kms_unwind_failed(unsigned int step, int err)
{
	pr_err("step %u (%s) failed: %pe\n", step, kms_unwind_what[step],
	       ERR_PTR(err));
	return err;
}

static void kms_unwind_undone(unsigned int step)
{
	pr_info("undo %u: %s is gone\n", step, kms_unwind_what[step]);
}

static int kms_unwind_show(struct seq_file *m, void *v)
{
	seq_puts(m, kms_unwind_buffer);
	return 0;
}

/* Sleeps until kthread_stop(): a thread that ps lists, and nothing more. */
static int kms_unwind_thread_fn(void *data)
{
	/* The state before the test: a kthread_stop() in between wakes us. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static int __init kms_unwind_init(void)
{
	size_t size = KMS_UNWIND_BUFFER_SIZE;
	gfp_t gfp = GFP_KERNEL;
	int ret;

	if (fail_at > KMS_UNWIND_STEPS) {
		pr_err("fail_at=%u: there are only %d steps\n", fail_at,
		       KMS_UNWIND_STEPS);
		return -EINVAL;
	}

	/* A real failure: no slab or page order serves this size. */
	if (kms_unwind_inject(1)) {
		size = KMALLOC_MAX_SIZE + 1;
		gfp |= __GFP_NOWARN;
	}
	kms_unwind_buffer = kmalloc(size, gfp);
	if (!kms_unwind_buffer)
		/* Nothing taken yet: nothing to undo. */
		return kms_unwind_failed(1, -ENOMEM);
	strscpy(kms_unwind_buffer,
		"the buffer of step 1, read through step 3\n", size);

	kms_unwind_kset = NULL;
	if (!kms_unwind_inject(2))
		kms_unwind_kset =
			kset_create_and_add(KBUILD_MODNAME, NULL, kernel_kobj);
	if (!kms_unwind_kset) {
		ret = kms_unwind_failed(2, -ENOMEM);
		goto err_free_buffer;
	}

	kms_unwind_entry = NULL;
	if (!kms_unwind_inject(3))
		kms_unwind_entry = proc_create_single(KBUILD_MODNAME, 0444,
						      NULL, kms_unwind_show);
	if (!kms_unwind_entry) {
		ret = kms_unwind_failed(3, -ENOMEM);
		goto err_remove_kset;
	}

	/*
	 * kthread_run() fails with -ENOMEM, or with -EINTR when insmod is
	 * killed while kthreadd makes the thread: fail_at=4 takes the second.
	 */
	if (kms_unwind_inject(4))
		kms_unwind_thread = ERR_PTR(-EINTR);
	else
		kms_unwind_thread =
			kthread_run(kms_unwind_thread_fn, NULL, KBUILD_MODNAME);
	if (IS_ERR(kms_unwind_thread)) {
		/* The value itself: what IS_ERR() compares with -MAX_ERRNO. */
		pr_info("kthread_run() returned %lx\n",
			(unsigned long)kms_unwind_thread);
		ret = kms_unwind_failed(4, PTR_ERR(kms_unwind_thread));
		goto err_remove_entry;
	}

	pr_info("holding the buffer, /sys/kernel/kms_unwind, /proc/kms_unwind and the thread kms_unwind (pid %d)\n",
		task_pid_nr(kms_unwind_thread));
	return 0;

err_remove_entry:
	proc_remove(kms_unwind_entry);
	kms_unwind_undone(3);
err_remove_kset:
	kset_unregister(kms_unwind_kset);
	kms_unwind_undone(2);
err_free_buffer:
	kfree(kms_unwind_buffer);
	kms_unwind_undone(1);
	return ret;
}

static void __exit kms_unwind_exit(void)
{
	/* The same steps as init's unwinding, from the last one. */
	kthread_stop(kms_unwind_thread);
	kms_unwind_undone(4);
	/* Waits for readers in the show method: the buffer may go next. */
	proc_remove(kms_unwind_entry);
	kms_unwind_undone(3);
	kset_unregister(kms_unwind_kset);
	kms_unwind_undone(2);
	kfree(kms_unwind_buffer);
	kms_unwind_undone(1);
}

module_init(kms_unwind_init);
module_exit(kms_unwind_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("A module_init that unwinds what it took when a step fails");
