// SPDX-License-Identifier: GPL-2.0
/*
 * kms_multifile - the second half: the exit function, in its own object.
 * It asks start.c how long the module was loaded, to show that a call from
 * one object into the other is resolved when the two are linked.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "kms_multifile.h"

static void __exit kms_multifile_exit(void)
{
	pr_info("exit in stop.c, %u ms after init in start.c\n",
		kms_multifile_uptime_ms());
}

module_exit(kms_multifile_exit);
