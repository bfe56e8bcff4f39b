// SPDX-License-Identifier: GPL-2.0
/*
 * kms_params - module parameters: values given at load time, and some of
 * them changed later through /sys/module/kms_params/parameters/.
 *
 * It declares one parameter of each common type, an array with its element
 * count, a parameter whose name differs from its variable, and one with its
 * own setter that refuses bad values. The permission given to each decides
 * whether sysfs shows it read-write (0644, 0600), read-only (0444) or not at
 * all (0). Parameters backed by module_param() must be named as their
 * variable; the others use the module's prefix like all other names here.
 *
 * Every value is logged at load. Writable values are logged again at unload,
 * and the "level" setter logs each value it accepts, so a write through
 * sysfs is visible to the code that reads it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

#define KMS_PARAMS_VALUES_MAX 4
#define KMS_PARAMS_LEVEL_MIN 0
#define KMS_PARAMS_LEVEL_MAX 7

/* One parameter per basic type, each with the name of its variable. */
static int number = 42;
module_param(number, int, 0444);
MODULE_PARM_DESC(number, "An int (default 42)");

static bool verbose;
module_param(verbose, bool, 0644);
MODULE_PARM_DESC(verbose, "A bool (default N)");

static char *word = "kmsdk";
module_param(word, charp, 0444);
MODULE_PARM_DESC(word, "A string (default \"kmsdk\")");

static short small = -7;
module_param(small, short, 0444);
MODULE_PARM_DESC(small, "A short (default -7)");

static unsigned long mask = 0xff;
module_param(mask, ulong, 0444);
MODULE_PARM_DESC(mask, "An unsigned long (default 255)");

/* Permission 0: settable at load time, but no file in sysfs. */
static long big = -100000;
module_param(big, long, 0);
MODULE_PARM_DESC(big, "A long, given at load only (default -100000)");

/*
 * The kernel stores how many elements were given in the count; without the
 * parameter the defaults stay, so the count starts at their number.
 */
static int values[KMS_PARAMS_VALUES_MAX] = { 1, 2 };
static unsigned int kms_params_nvalues = 2;
module_param_array(values, int, &kms_params_nvalues, 0444);
MODULE_PARM_DESC(values, "Up to 4 comma-separated ints (default 1,2)");

/* Users write "debug=1"; the code keeps the module's prefix. */
static int kms_params_debug;
module_param_named(debug, kms_params_debug, int, 0600);
MODULE_PARM_DESC(debug, "An int named apart from its variable (default 0)");

static int kms_params_level = 4;

static int kms_params_level_set(const char *val, const struct kernel_param *kp)
{
	int level;
	int ret;

	ret = kstrtoint(val, 0, &level);
	if (ret)
		return ret;
	if (level < KMS_PARAMS_LEVEL_MIN || level > KMS_PARAMS_LEVEL_MAX)
		return -EINVAL;

	ret = param_set_int(val, kp);
	if (ret)
		return ret;

	pr_info("level set to %d\n", level);
	return 0;
}

static const struct kernel_param_ops kms_params_level_ops = {
	.set = kms_params_level_set,
	.get = param_get_int,
};

module_param_cb(level, &kms_params_level_ops, &kms_params_level, 0644);
/* module_param_cb() records no type; name it for modinfo. */
__MODULE_PARM_TYPE(level, "int");
MODULE_PARM_DESC(level, "An int from 0 to 7; others are refused (default 4)");

static void kms_params_print_values(void)
{
	/* Room for every element as a signed int and a comma. */
	char buf[KMS_PARAMS_VALUES_MAX * 12 + 1];
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < kms_params_nvalues; i++)
		len += scnprintf(buf + len, sizeof(buf) - len, "%s%d",
				 i ? "," : "", values[i]);

	pr_info("values=%s (%u of %d)\n", buf, kms_params_nvalues,
		KMS_PARAMS_VALUES_MAX);
}

static int __init kms_params_init(void)
{
	pr_info("number=%d\n", number);
	pr_info("verbose=%c\n", verbose ? 'Y' : 'N');
	pr_info("word=%s\n", word);
	pr_info("small=%d\n", small);
	pr_info("mask=%lu\n", mask);
	pr_info("big=%ld\n", big);
	kms_params_print_values();
	pr_info("debug=%d\n", kms_params_debug);
	pr_info("level=%d\n", kms_params_level);
	return 0;
}

static void __exit kms_params_exit(void)
{
	/* The writable ones may have changed since load. */
	pr_info("unloading with verbose=%c debug=%d level=%d\n",
		verbose ? 'Y' : 'N', kms_params_debug, kms_params_level);
}

module_init(kms_params_init);
module_exit(kms_params_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Module parameters: types, arrays, names, permissions");
