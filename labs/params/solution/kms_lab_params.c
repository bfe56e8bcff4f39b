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

/* Task 1: the sysfs file is named as the variable, and has mode 0644. */
static int count = 1;
module_param(count, int, 0644);
MODULE_PARM_DESC(count, "An int, writable in sysfs (default 1)");

/*
 * Task 2: charp makes the kernel point whom at a copy of the string given
 * at load; without one it keeps pointing at the literal.
 */
static char *whom = "world";
module_param(whom, charp, 0444);
MODULE_PARM_DESC(whom, "Who to greet at load (default \"world\")");

/*
 * Task 3: the kernel calls this setter for "percent=..." at load and for
 * every write to the sysfs file; what it returns is what insmod or the
 * writer gets. It stores nothing unless the whole value is good.
 */
static int kms_lab_params_percent = 50;

static int kms_lab_params_percent_set(const char *val,
				      const struct kernel_param *kp)
{
	int percent;
	int ret;

	/* Takes the newline a shell's echo leaves at the end. */
	ret = kstrtoint(val, 0, &percent);
	if (ret)
		return ret;
	if (percent < KMS_LAB_PARAMS_PERCENT_MIN ||
	    percent > KMS_LAB_PARAMS_PERCENT_MAX)
		return -EINVAL;

	*(int *)kp->arg = percent;
	return 0;
}

static const struct kernel_param_ops kms_lab_params_percent_ops = {
	.set = kms_lab_params_percent_set,
	/* Reading needs nothing special: show it as an int. */
	.get = param_get_int,
};

module_param_cb(percent, &kms_lab_params_percent_ops, &kms_lab_params_percent,
		0644);
/* module_param_cb() records no type; name it for modinfo. */
__MODULE_PARM_TYPE(percent, "int");
MODULE_PARM_DESC(percent, "An int from 1 to 100, others refused (default 50)");

/*
 * Task 4: the kernel fills values from "values=1,2,3", refuses more than
 * its size, and stores how many it got in kms_lab_params_nvalues.
 */
static int values[KMS_LAB_PARAMS_VALUES_MAX];
static unsigned int kms_lab_params_nvalues;
module_param_array(values, int, &kms_lab_params_nvalues, 0444);
MODULE_PARM_DESC(values, "Up to 8 comma-separated ints (default none)");

static int __init kms_lab_params_init(void)
{
	/* 64 bits: eight ints cannot overflow it. */
	long long sum = 0;
	unsigned int i;

	pr_info("hello, %s\n", whom);

	for (i = 0; i < kms_lab_params_nvalues; i++)
		sum += values[i];
	pr_info("sum of %u values is %lld\n", kms_lab_params_nvalues, sum);
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
