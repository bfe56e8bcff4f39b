// SPDX-License-Identifier: GPL-2.0
/*
 * greeter: the smallest module a project of its own builds with
 * kmsdk_add_module() from an installed kmsdk.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

static int __init greeter_init(void)
{
	pr_info("loaded\n");
	return 0;
}

static void __exit greeter_exit(void)
{
	pr_info("unloaded\n");
}

module_init(greeter_init);
module_exit(greeter_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("A module built by a project that uses an installed kmsdk");
