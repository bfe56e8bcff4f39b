// SPDX-License-Identifier: GPL-2.0
/*
 * kms_lab_core - the bottom of a two-module stack (lab "stacking").
 *
 * It teaches exporting to other modules: a function for GPL-compatible
 * modules (EXPORT_SYMBOL_GPL), one in a symbol namespace
 * (EXPORT_SYMBOL_NS_GPL), and a registration API in the way subsystems
 * offer one: a client hands the core a structure, which the core keeps in
 * a list until the client takes it back. The read-only parameter "users"
 * counts the clients.
 *
 * kms_lab_core.h declares and documents everything this module exports:
 * it is the contract that the code below has to fulfil.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/export.h>
#include <linux/init.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/sysfs.h>

#include "kms_lab_core.h"

/*
 * The number of registered clients; the mutex guards it.
 *
 * TODO 3: keep the registered clients in a list here too (LIST_HEAD()),
 * guarded by the same mutex.
 */
static unsigned int kms_lab_core_nr_clients;
static DEFINE_MUTEX(kms_lab_core_lock);

static int kms_lab_core_users_get(char *buf, const struct kernel_param *kp)
{
	unsigned int users;

	mutex_lock(&kms_lab_core_lock);
	users = kms_lab_core_nr_clients;
	mutex_unlock(&kms_lab_core_lock);
	return sysfs_emit(buf, "%u\n", users);
}

/* The count is the module's own: "insmod kms_lab_core.ko users=3" fails. */
static int kms_lab_core_users_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops kms_lab_core_users_ops = {
	.set = kms_lab_core_users_set,
	.get = kms_lab_core_users_get,
};

module_param_cb(users, &kms_lab_core_users_ops, NULL, 0444);
__MODULE_PARM_TYPE(users, "uint");
MODULE_PARM_DESC(users, "The number of clients registered now (read-only)");

/*
 * TODO 1: define kms_lab_core_add() as kms_lab_core.h declares it, and
 * export it with EXPORT_SYMBOL_GPL().
 */

/*
 * TODO 2: define kms_lab_core_sub() as kms_lab_core.h declares it, and
 * export it with EXPORT_SYMBOL_NS_GPL() into the namespace KMS_LAB_CORE_NS
 * (the macro from kms_lab_core.h, not a string of your own: it is right
 * for every kernel).
 */

/*
 * TODO 3: define and export (EXPORT_SYMBOL_GPL) kms_lab_core_register()
 * and kms_lab_core_unregister() as kms_lab_core.h documents them. Under
 * kms_lab_core_lock: register refuses a client without a name (-EINVAL)
 * or one already in the list (-EBUSY), else adds it to the list, counts
 * it in kms_lab_core_nr_clients and logs "<name> registered, users=<n>";
 * unregister takes it out of the list, uncounts it and logs
 * "<name> unregistered, users=<n>".
 */

static int __init kms_lab_core_init(void)
{
	pr_info("loaded\n");
	return 0;
}

static void __exit kms_lab_core_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_lab_core_init);
module_exit(kms_lab_core_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk");
MODULE_DESCRIPTION("Lab stacking: exports a function, a namespaced one and a registration API");
