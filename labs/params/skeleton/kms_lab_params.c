// SPDX-License-Identifier: GPL-2.0
/*
 * kms_lab_params - lab: module parameters.
 *
 * A parameter is a variable of the module that insmod (or modprobe, or
 * /etc/modprobe.d/) can set at load time, and that sysfs shows in
 * /sys/module/kms_lab_params/parameters/ with the permission it was
 * declared with. The lab declares four:
 *   count    an int, readable and writable in sysfs;
 *   whom     a string, read-only, used in the greeting printed at load;
 *   percent  an int whose own setter refuses values out of 1..100, at load
 *            and through sysfs alike;
 *   values   an array of up to 8 ints, whose sum is printed at load.
 * Try it: insmod kms_lab_params.ko whom=students values=1,2,3
 *
 * The numbered TODOs are the tasks of the lab's README.md.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

#define KMS_LAB_PARAMS_PERCENT_MIN 1
#define KMS_LAB_PARAMS_PERCENT_MAX 100
#define KMS_LAB_PARAMS_VALUES_MAX 8

/*
 * TODO 1: declare an int parameter "count": the variable count, default 1,
 * sysfs mode 0644, with a MODULE_PARM_DESC() that says what it is.
 */

/*
 * TODO 2: declare a charp parameter "whom": the variable whom, default
 * "world", sysfs mode 0444, with a MODULE_PARM_DESC(). The greeting that
 * uses it is printed in kms_lab_params_init().
 */

/*
 * TODO 3: declare an int parameter "percent", default 50, sysfs mode 0644,
 * that only takes values from KMS_LAB_PARAMS_PERCENT_MIN to
 * KMS_LAB_PARAMS_PERCENT_MAX: keep it in kms_lab_params_percent, write a
 * setter kms_lab_params_percent_set() that parses the value (kstrtoint())
 * and returns -EINVAL for anything out of range without storing it, put
 * the setter and param_get_int in a struct kernel_param_ops, and declare
 * the parameter with module_param_cb(). Add a MODULE_PARM_DESC().
 */

/*
 * TODO 4: declare an array parameter "values" of up to
 * KMS_LAB_PARAMS_VALUES_MAX ints, sysfs mode 0444, none by default, with
 * the number given kept in an unsigned int kms_lab_params_nvalues
 * (module_param_array()). Add a MODULE_PARM_DESC(). The sum is printed in
 * kms_lab_params_init().
 */

static int __init kms_lab_params_init(void)
{
	/* TODO 2: print "hello, <whom>" (pr_info() adds the module's name). */

	/*
	 * TODO 4: add up the values given, in a long long, and print
	 * "sum of <n> values is <sum>".
	 */
	return 0;
}

static void __exit kms_lab_params_exit(void)
{
	pr_info("goodbye\n");
}

module_init(kms_lab_params_init);
module_exit(kms_lab_params_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk");
MODULE_DESCRIPTION("Lab: module parameters (int, charp, checked, array)");
