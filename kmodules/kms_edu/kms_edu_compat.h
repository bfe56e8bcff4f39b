/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels kms_edu is built for (6.1 to 7.3),
 * in one place, so that the driver itself reads as code for one kernel.
 * Each entry names the release that changed the API; when the oldest
 * supported kernel passes it, the entry goes.
 */
#ifndef KMS_EDU_COMPAT_H
#define KMS_EDU_COMPAT_H

#include <linux/err.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/version.h>

/* 6.8 renamed PCI_IRQ_LEGACY to PCI_IRQ_INTX. */
#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

/*
 * 6.11 added pcim_iomap_region(), which requests and maps one BAR, and
 * deprecated the mask-and-table pair pcim_iomap_regions() and
 * pcim_iomap_table(). Both undo themselves when the driver unbinds.
 * Returns the mapping, or an IOMEM_ERR_PTR().
 */
static inline void __iomem *kms_edu_iomap_bar(struct pci_dev *pdev, int bar,
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

#endif /* KMS_EDU_COMPAT_H */
