// SPDX-License-Identifier: GPL-2.0
/*
 * kms_fault_hang - a module whose init never returns, for testing that the
 * guest runtime's command deadline fires and the guest is rebooted.
 *
 * Its init waits for a completion that nothing ever completes. That wait is
 * uninterruptible: insmod sleeps in state D and not even SIGKILL ends it, so
 * only a reboot does. Meanwhile the module stays in /proc/modules as
 * "Loading". After kernel.hung_task_timeout_secs (120 s unless lowered) the
 * kernel reports "INFO: task insmod:<pid> blocked for more than N seconds."
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static DECLARE_COMPLETION(kms_fault_hang_never);

static int __init kms_fault_hang_init(void)
{
	pr_info("init never returns: insmod now sleeps uninterruptibly\n");
	wait_for_completion(&kms_fault_hang_never);

	/* Not reached. */
	return 0;
}

/*
 * No module_exit(): the module never finishes loading, so there is never
 * anything to unload.
 */
module_init(kms_fault_hang_init);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Test module: init blocks forever, uninterruptibly");
