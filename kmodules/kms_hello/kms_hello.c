// SPDX-License-Identifier: GPL-2.0
/*
 * kms_hello - the smallest useful module: what runs at load and at unload.
 *
 * kms_hello_init() is marked __init and the value only it reads is marked
 * __initdata: the kernel frees both once they are no longer needed, right
 * after a module's init succeeds, or at the end of boot for built-in code.
 * kms_hello_exit() is marked __exit: built-in code is never unloaded, so there
 * it is left out. One parameter shows how a value reaches the module at load
 * time: insmod kms_hello.ko whom=students
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static char *whom = "world";
module_param(whom, charp, 0444);
MODULE_PARM_DESC(whom, "Who to greet at load and unload (default: world)");

/* Read only by kms_hello_init(), so it can be released with it. */
static int kms_hello_year __initdata = 1991;

static int __init kms_hello_init(void)
{
	pr_info("hello, %s (init data: %d)\n", whom, kms_hello_year);
	return 0;
}

static void __exit kms_hello_exit(void)
{
	pr_info("goodbye, %s\n", whom);
}

module_init(kms_hello_init);
module_exit(kms_hello_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Hello world: __init, __exit, __initdata and a parameter");
