// SPDX-License-Identifier: GPL-2.0
/*
 * kms_printk - printk levels, and which messages reach the console.
 *
 * Every message has a level, from 0 (KERN_EMERG) to 7 (KERN_DEBUG); the
 * pr_emerg() ... pr_debug() helpers each add theirs. Every message goes to
 * the kernel's log buffer (dmesg, /dev/kmsg); only those whose level is
 * below the console log level, the first number in /proc/sys/kernel/printk,
 * are also printed on the console. A printk() without a level gets the
 * default message level, the second number there.
 *
 * pr_debug() is different again: with CONFIG_DYNAMIC_DEBUG it is compiled
 * in but off, until dynamic debug turns it on for this module.
 *
 * At load the module prints one line at each level, tagged "load". Writing
 * a tag to the write-only "emit" parameter prints the set again with that
 * tag, so the effect of a new console level is visible without reloading:
 *   echo 8 4 1 7 > /proc/sys/kernel/printk
 *   echo verbose > /sys/module/kms_printk/parameters/emit
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/string.h>

#define KMS_PRINTK_TAG_MAX 32

static void kms_printk_emit(const char *tag)
{
	pr_emerg("%s: level 0 (KERN_EMERG)\n", tag);
	pr_alert("%s: level 1 (KERN_ALERT)\n", tag);
	pr_crit("%s: level 2 (KERN_CRIT)\n", tag);
	pr_err("%s: level 3 (KERN_ERR)\n", tag);
	pr_warn("%s: level 4 (KERN_WARNING)\n", tag);
	pr_notice("%s: level 5 (KERN_NOTICE)\n", tag);
	pr_info("%s: level 6 (KERN_INFO)\n", tag);
	pr_debug("%s: level 7 (KERN_DEBUG), shown when dynamic debug enables it\n",
		 tag);
	/* No level: the default message level applies. */
	printk(KERN_DEFAULT pr_fmt("%s: no level (KERN_DEFAULT)\n"), tag);
}

/* Called with the module's parameter lock held, so one emits at a time. */
static int kms_printk_emit_set(const char *val, const struct kernel_param *kp)
{
	char buf[KMS_PRINTK_TAG_MAX];
	char *tag;

	/* Longer tags are cut; the newline that echo adds is dropped. */
	strscpy(buf, val, sizeof(buf));
	tag = strim(buf);
	kms_printk_emit(*tag ? tag : "emit");
	return 0;
}

static const struct kernel_param_ops kms_printk_emit_ops = {
	.set = kms_printk_emit_set,
};

/* Write-only (0200): writing is the point, and there is nothing to read. */
module_param_cb(emit, &kms_printk_emit_ops, NULL, 0200);
__MODULE_PARM_TYPE(emit, "charp");
MODULE_PARM_DESC(emit, "Write a tag to print one line at each level again");

static int __init kms_printk_init(void)
{
	kms_printk_emit("load");
	return 0;
}

static void __exit kms_printk_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_printk_init);
module_exit(kms_printk_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("printk levels, the console log level and dynamic debug");
