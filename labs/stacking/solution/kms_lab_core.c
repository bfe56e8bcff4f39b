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
 * kms_lab_user calls all of it (see kms_lab_core.h), so it cannot load
 * without this module, and this module cannot be removed while it is
 * loaded.
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

/* The registered clients and their number; the mutex guards both. */
static LIST_HEAD(kms_lab_core_clients);
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

int kms_lab_core_add(int a, int b)
{
	return a + b;
}
EXPORT_SYMBOL_GPL(kms_lab_core_add);

int kms_lab_core_sub(int a, int b)
{
	return a - b;
}
EXPORT_SYMBOL_NS_GPL(kms_lab_core_sub, KMS_LAB_CORE_NS);

int kms_lab_core_register(struct kms_lab_core_client *client)
{
	struct kms_lab_core_client *other;
	int ret = 0;

	if (!client->name)
		return -EINVAL;

	mutex_lock(&kms_lab_core_lock);
	/* Added twice, the node would corrupt the list. */
	list_for_each_entry(other, &kms_lab_core_clients, node) {
		if (other == client) {
			ret = -EBUSY;
			goto out_unlock;
		}
	}
	list_add_tail(&client->node, &kms_lab_core_clients);
	kms_lab_core_nr_clients++;
	pr_info("%s registered, users=%u\n", client->name,
		kms_lab_core_nr_clients);
out_unlock:
	mutex_unlock(&kms_lab_core_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(kms_lab_core_register);

void kms_lab_core_unregister(struct kms_lab_core_client *client)
{
	mutex_lock(&kms_lab_core_lock);
	list_del(&client->node);
	kms_lab_core_nr_clients--;
	pr_info("%s unregistered, users=%u\n", client->name,
		kms_lab_core_nr_clients);
	mutex_unlock(&kms_lab_core_lock);
}
EXPORT_SYMBOL_GPL(kms_lab_core_unregister);

static int __init kms_lab_core_init(void)
{
	pr_info("loaded\n");
	return 0;
}

/*
 * No client can be left: each one calls the exports, so the module loader
 * counts it as a user of this module and refuses to remove this module
 * before it.
 */
static void __exit kms_lab_core_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_lab_core_init);
module_exit(kms_lab_core_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk");
MODULE_DESCRIPTION("Lab stacking: exports a function, a namespaced one and a registration API");
