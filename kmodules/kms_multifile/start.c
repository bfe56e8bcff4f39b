// SPDX-License-Identifier: GPL-2.0
/*
 * kms_multifile - one module built from two source files.
 *
 * The Kbuild line "kms_multifile-objs := start.o stop.o" links both objects
 * into kms_multifile.ko. This file holds the init function and the module's
 * metadata; stop.c holds the exit function, which calls back into this file
 * through kms_multifile.h.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "kms_multifile.h"

static unsigned long kms_multifile_loaded_at;

unsigned int kms_multifile_uptime_ms(void)
{
	return jiffies_to_msecs(jiffies - kms_multifile_loaded_at);
}

static int __init kms_multifile_init(void)
{
	kms_multifile_loaded_at = jiffies;
	pr_info("init in start.c\n");
	return 0;
}

module_init(kms_multifile_init);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("One module built from two source files");
