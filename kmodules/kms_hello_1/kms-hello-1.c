// SPDX-License-Identifier: GPL-2.0
/*
 * kms-hello-1 - the oldest way to write a module: entry points found by name.
 *
 * No module_init() or module_exit(): the kernel calls the functions named
 * init_module() and cleanup_module(), because <linux/module.h> declares
 * them as the aliases that module_init() and module_exit() would make. A
 * module needs a unique symbol name for each, so only one module in a
 * build can be written this way; module_init() (see kms_hello) lets the
 * functions be static and named for their module.
 *
 * init_module() returning non-zero fails the load: the kernel frees the
 * module, and insmod prints the errno's text. With refuse=1 it returns
 * -EPERM, which insmod reports as "Operation not permitted".
 *
 * Kernels built with indirect branch tracking (CONFIG_X86_KERNEL_IBT:
 * Debian's 6.12 and later) need one line more. The kernel calls init and
 * exit through a pointer, and on IBT hardware a function reached that way
 * must begin with an ENDBR64 instruction. At build time objtool removes
 * ("seals") the ENDBR64 of every function whose address nothing takes;
 * module_init() takes it, a bare init_module() does not. 6.12's objtool
 * then warns "init_module(): not an indirect call target" (the load would
 * fault on IBT hardware), and 7.3's fails the build: "Magic init_module()
 * function name is deprecated, use module_init(fn) instead". So this
 * module takes both addresses itself, as module_init() would.
 *
 * The file is kms-hello-1.ko, with dashes; Kbuild names the module
 * kms_hello_1 (KBUILD_MODNAME turns '-' into '_'), and that is the name
 * lsmod shows and rmmod takes.
 *
 *   insmod kms-hello-1.ko
 *   lsmod | grep hello
 *   rmmod kms_hello_1
 *   insmod kms-hello-1.ko refuse=1
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

static bool refuse;
module_param(refuse, bool, 0444);
MODULE_PARM_DESC(refuse,
		 "Fail init with -EPERM, to show a refused load (default: no)");

int init_module(void)
{
	if (refuse) {
		pr_info("refusing to load, as asked (-EPERM)\n");
		return -EPERM;
	}
	pr_info("Hello world 1.\n");
	return 0;
}

void cleanup_module(void)
{
	pr_info("Goodbye world 1.\n");
}

/*
 * The references objtool looks for. They live in init data, which the
 * kernel frees after init: only the object file needs them.
 */
static int (*kms_hello_1_init_ref)(void) __initdata __used = init_module;
static void (*kms_hello_1_exit_ref)(void) __initdata __used = cleanup_module;

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Hello world the old way: init_module() and cleanup_module() by name");
