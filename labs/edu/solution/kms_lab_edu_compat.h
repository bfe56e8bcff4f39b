/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels kms_lab_edu is built for (6.1 to 7.x),
 * in one place, so that the driver reads as code for one kernel.
 */
#ifndef _KMS_LAB_EDU_COMPAT_H
#define _KMS_LAB_EDU_COMPAT_H

#include <linux/bits.h>
#include <linux/err.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/version.h>

/**
 * kms_lab_edu_iomap_bar() - request and map one BAR of a managed device
 * @pdev: a device enabled with pcim_enable_device()
 * @bar: the BAR's number
 * @name: the owner's name in /proc/iomem
 *
 * 6.11 added pcim_iomap_region(), which requests and maps one BAR, and
 * deprecated the mask-and-table pair pcim_iomap_regions() and
 * pcim_iomap_table() that older kernels offer. Either way the mapping and
 * the request are undone when the driver unbinds.
 *
 * Return: the mapping, or an IOMEM_ERR_PTR() (test it with IS_ERR()).
 */
static inline void __iomem *kms_lab_edu_iomap_bar(struct pci_dev *pdev, int bar,
						  const char *name)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	return pcim_iomap_region(pdev, bar, name);
#else
	int ret = pcim_iomap_regions(pdev, BIT(bar), name);

	if (ret)
		return IOMEM_ERR_PTR(ret);
	return pcim_iomap_table(pdev)[bar];
#endif
}

#endif /* _KMS_LAB_EDU_COMPAT_H */
