/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kms_lab_core - what the module exports to the modules stacked on it.
 *
 * A module that calls these includes this header; modpost checks each call
 * against the exports it finds in the same build (or in the Module.symvers
 * named by KBUILD_EXTRA_SYMBOLS) and writes kms_lab_core into the caller's
 * "depends" field.
 */
#ifndef _KMS_LAB_CORE_H
#define _KMS_LAB_CORE_H

#include <linux/list.h>
#include <linux/version.h>

/*
 * The symbol namespace of kms_lab_core_sub(), for EXPORT_SYMBOL_NS_GPL()
 * and MODULE_IMPORT_NS() alike. 6.13 made a namespace a string literal;
 * before, both macros took a bare name and stringified it. Either way the
 * namespace reads KMS_LAB_CORE in modinfo and in the kernel's messages.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define KMS_LAB_CORE_NS "KMS_LAB_CORE"
#else
#define KMS_LAB_CORE_NS KMS_LAB_CORE
#endif

/**
 * kms_lab_core_add() - add two numbers
 * @a: the first number
 * @b: the second number
 *
 * Exported with EXPORT_SYMBOL_GPL(): only modules with a GPL-compatible
 * MODULE_LICENSE() may call it.
 *
 * Return: @a + @b.
 */
int kms_lab_core_add(int a, int b);

/**
 * kms_lab_core_sub() - subtract one number from another
 * @a: the number to subtract from
 * @b: the number to subtract
 *
 * Exported with EXPORT_SYMBOL_NS_GPL() into the namespace KMS_LAB_CORE:
 * only GPL-compatible modules that say MODULE_IMPORT_NS(KMS_LAB_CORE_NS)
 * may call it.
 *
 * Return: @a - @b.
 */
int kms_lab_core_sub(int a, int b);

/**
 * struct kms_lab_core_client - a module registered with kms_lab_core
 * @name: the client's name in kms_lab_core's messages, e.g. KBUILD_MODNAME
 * @node: kms_lab_core's list of clients; the client leaves it alone
 *
 * The client owns the structure (usually a static one) and keeps it valid
 * from kms_lab_core_register() until kms_lab_core_unregister() returns.
 */
struct kms_lab_core_client {
	const char *name;
	struct list_head node;
};

/**
 * kms_lab_core_register() - add a client to kms_lab_core's list
 * @client: the client, with its name set
 *
 * Logs "<name> registered, users=<n>", and counts the client in
 * /sys/module/kms_lab_core/parameters/users.
 *
 * Context: Process context; takes a mutex.
 * Return: 0, -EINVAL if @client has no name, -EBUSY if it is registered
 * already.
 */
int kms_lab_core_register(struct kms_lab_core_client *client);

/**
 * kms_lab_core_unregister() - remove a client from kms_lab_core's list
 * @client: a client that kms_lab_core_register() accepted
 *
 * Logs "<name> unregistered, users=<n>". Once it returns, kms_lab_core no
 * longer refers to @client.
 *
 * Context: Process context; takes a mutex.
 */
void kms_lab_core_unregister(struct kms_lab_core_client *client);

#endif /* _KMS_LAB_CORE_H */
