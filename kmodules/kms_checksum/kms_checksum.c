// SPDX-License-Identifier: GPL-2.0
/*
 * kms_checksum - a module that depends on a module of the kernel itself,
 * until the kernel takes that module in.
 *
 * Up to 6.13, crc32c() is exported by libcrc32c, which Debian builds as a
 * module. modpost finds the export in the kernel's Module.symvers and
 * records "depends=libcrc32c" in this module, and depmod turns that into a
 * line of modules.dep. So modprobe kms_checksum loads libcrc32c first,
 * lsmod lists kms_checksum under libcrc32c's "Used by", and a plain insmod,
 * which loads no dependency, fails with "Unknown symbol crc32c" unless
 * libcrc32c is already loaded.
 *
 * From 6.14 the kernel image exports crc32c() itself (kms_checksum_compat.h):
 * modpost finds it in vmlinux, records no dependency, and insmod alone
 * loads the module. The same source teaches both, and says at load which
 * one the kernel it runs on does.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/string.h>

#include "kms_checksum_compat.h"

static char *input = "123456789";
module_param(input, charp, 0444);
MODULE_PARM_DESC(input, "Text to checksum at load (default \"123456789\")");

static int __init kms_checksum_init(void)
{
	/*
	 * crc32c() starts from the seed it is given and returns the raw
	 * register. Standard CRC-32C seeds with ~0 and inverts the result,
	 * which gives the published check value 0xe3069283 for "123456789".
	 */
	u32 crc = ~crc32c(~0U, input, strlen(input));

	pr_info("crc32c(\"%s\") = 0x%08x, crc32c() from %s\n", input, crc,
		KMS_CHECKSUM_CRC32C_FROM);
	return 0;
}

static void __exit kms_checksum_exit(void)
{
	pr_info("unloaded\n");
}

module_init(kms_checksum_init);
module_exit(kms_checksum_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Depending on a kernel module: CRC32C, from libcrc32c up to 6.13");
