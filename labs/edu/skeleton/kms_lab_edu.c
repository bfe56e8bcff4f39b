// SPDX-License-Identifier: GPL-2.0
/*
 * kms_lab_edu - a PCI driver for QEMU's edu device (lab "edu").
 *
 * It teaches the shape of a PCI driver: an ID table that binds the driver
 * to its device (and, through MODULE_DEVICE_TABLE, loads the module when
 * the device appears); a probe that claims everything through managed
 * calls (pcim_*, devm_*), so that neither a failed probe nor the unbinding
 * has anything to undo by hand; registers read and written through MMIO;
 * sysfs attributes in the device's folder; a bounded poll of a status bit;
 * and an interrupt handler that checks and acknowledges what it handles.
 *
 * The attributes appear in /sys/bus/pci/devices/<address>/ (also reached
 * as /sys/bus/pci/drivers/kms_lab_edu/<address>/) while the driver is
 * bound, and the driver core removes them before the device is released.
 *
 * The device's DMA engine is left alone: on QEMU 7.2 a transfer that the
 * device counts as out of range aborts the whole virtual machine.
 */

#include <linux/atomic.h>
#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/jiffies.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "kms_lab_edu_compat.h"

/*
 * The edu device's registers in BAR0. Below 0x80 it answers 32-bit
 * accesses only (readl/writel); any other size reads as all ones. The DMA
 * registers from 0x80 up are left out on purpose (see above).
 */
/* clang-format off */
#define KMS_LAB_EDU_VENDOR_ID		0x1234
#define KMS_LAB_EDU_DEVICE_ID		0x11e8

#define KMS_LAB_EDU_REG_ID		0x00	/* 0xMMmm00ed: version MM.mm */
#define   KMS_LAB_EDU_ID_MAJOR		GENMASK(31, 24)
#define   KMS_LAB_EDU_ID_MINOR		GENMASK(23, 16)
#define   KMS_LAB_EDU_ID_MAGIC		GENMASK(15, 0)
#define   KMS_LAB_EDU_ID_MAGIC_VALUE	0x00ed
#define KMS_LAB_EDU_REG_LIVENESS	0x04	/* reads ~(last value written) */
#define KMS_LAB_EDU_REG_FACTORIAL	0x08	/* write n; read n! when done */
#define KMS_LAB_EDU_REG_STATUS		0x20
#define   KMS_LAB_EDU_STATUS_COMPUTING	BIT(0)	/* a factorial is running */
#define KMS_LAB_EDU_REG_IRQ_STATUS	0x24	/* the causes pending */
#define KMS_LAB_EDU_REG_IRQ_RAISE	0x60	/* ORed into IRQ_STATUS */
#define KMS_LAB_EDU_REG_IRQ_ACK		0x64	/* clears those causes */
/* clang-format on */

/* The largest n whose n! fits in the 32-bit factorial register. */
#define KMS_LAB_EDU_FACTORIAL_MAX 12
/* How long a factorial or a raised interrupt may take, with a margin. */
#define KMS_LAB_EDU_TIMEOUT_MS 1000

/* One bound device. Managed: freed after the driver unbinds. */
struct kms_lab_edu {
	struct pci_dev *pdev;
	void __iomem *regs;

	/* TODO 3: a mutex that lets one factorial run at a time. */

	/*
	 * TODO 4: a mutex that lets one raised interrupt run at a time, a
	 * completion that the handler completes, and an atomic_t that counts
	 * the interrupts handled.
	 */
};

/*
 * TODO 2: the attribute "liveness" (DEVICE_ATTR_RW): liveness_store()
 * parses an unsigned 32-bit number (kstrtou32() with base 0: decimal or
 * 0x...) and writes it to the liveness register; liveness_show() prints
 * what the register reads now as "0x%08x\n" with sysfs_emit().
 */

/*
 * TODO 3: the attribute "factorial" (DEVICE_ATTR_RW). Write a helper that
 * waits until the status register's "computing" bit is clear, sleeping
 * between reads and giving up after KMS_LAB_EDU_TIMEOUT_MS
 * (readl_poll_timeout() does all that and returns -ETIMEDOUT).
 * factorial_store() parses n in decimal (kstrtou32() with base 10),
 * refuses n > KMS_LAB_EDU_FACTORIAL_MAX with -EINVAL, and under the mutex
 * waits for the device to be idle, writes n to the factorial register and
 * waits again; on a timeout it returns the error. factorial_show() reads
 * the factorial register (under the mutex, once the device is idle) and
 * prints it as "%u\n".
 */

/*
 * TODO 4: the interrupt handler, irqreturn_t kms_lab_edu_irq(int irq,
 * void *data), with data the struct kms_lab_edu. It reads the interrupt
 * status register; 0 (or all ones) is not our interrupt: IRQ_NONE.
 * Otherwise it writes that value to the acknowledge register, counts one
 * interrupt, completes the completion, and returns IRQ_HANDLED.
 *
 * Then three attributes: "raise" (DEVICE_ATTR_WO): raise_store() parses a
 * u32 (base 0), refuses 0 with -EINVAL, and under its mutex re-arms the
 * completion (reinit_completion()), writes the value to the raise
 * register and waits for the completion at most KMS_LAB_EDU_TIMEOUT_MS
 * (wait_for_completion_timeout()), returning -ETIMEDOUT if it did not
 * come. "irq_count" (DEVICE_ATTR_RO) prints the count as "%d\n".
 * "irq_status" (DEVICE_ATTR_RO) prints what the interrupt status register
 * reads now, as "0x%08x\n".
 */

/* The driver core adds them after probe and removes them before remove. */
static struct attribute *kms_lab_edu_attrs[] = {
	/* TODO 2: &dev_attr_liveness.attr, */
	/* TODO 3: &dev_attr_factorial.attr, */
	/*
	 * TODO 4: &dev_attr_raise.attr, &dev_attr_irq_count.attr,
	 * &dev_attr_irq_status.attr,
	 */
	NULL,
};
ATTRIBUTE_GROUPS(kms_lab_edu);

/*
 * TODO 1: a function that reads the identification register. Unless its
 * low 16 bits (KMS_LAB_EDU_ID_MAGIC) are KMS_LAB_EDU_ID_MAGIC_VALUE, it
 * refuses the device: return dev_err_probe(dev, -ENODEV, ...). Else it
 * logs the version from the top two bytes with dev_info(), exactly as
 * "edu version <major>.<minor>" (FIELD_GET() with KMS_LAB_EDU_ID_MAJOR
 * and KMS_LAB_EDU_ID_MINOR), and returns 0.
 */

/*
 * Every claim is managed: when probe fails, or after remove, the driver
 * core releases them newest first (the mapping, the state, the enabling).
 */
static int kms_lab_edu_probe(struct pci_dev *pdev,
			     const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct kms_lab_edu *edu;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable the device\n");

	edu = devm_kzalloc(dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pdev;
	/* The attributes find the state here. */
	pci_set_drvdata(pdev, edu);
	/* TODO 3: initialise the factorial mutex. */
	/* TODO 4: initialise the raise mutex, the completion, the count. */

	edu->regs = kms_lab_edu_iomap_bar(pdev, 0, KBUILD_MODNAME);
	if (IS_ERR(edu->regs))
		return dev_err_probe(dev, PTR_ERR(edu->regs),
				     "cannot map BAR0\n");

	/* TODO 1: identify the device; return the error if that fails. */

	/*
	 * TODO 4: acknowledge whatever the interrupt status register holds
	 * (an earlier binding's leftovers). Enable bus mastering with
	 * pci_set_master(): an MSI is a memory write by the device, which it
	 * makes only as a bus master. Then allocate one vector with
	 * pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_ALL_TYPES) (MSI here,
	 * INTx elsewhere; managed on a pcim-enabled device) and request it
	 * with devm_request_irq(dev, pci_irq_vector(pdev, 0),
	 * kms_lab_edu_irq, IRQF_SHARED, KBUILD_MODNAME, edu). Fail the probe
	 * with dev_err_probe() if either fails.
	 */

	return 0;
}

/* Nothing to undo by hand: the managed claims go after this returns. */
static void kms_lab_edu_remove(struct pci_dev *pdev)
{
	dev_info(&pdev->dev, "removed\n");
}

static const struct pci_device_id kms_lab_edu_ids[] = {
	{ PCI_DEVICE(KMS_LAB_EDU_VENDOR_ID, KMS_LAB_EDU_DEVICE_ID) },
	{},
};

/*
 * TODO 1: export the table with MODULE_DEVICE_TABLE(pci, ...), so that
 * the module carries its aliases and loads when such a device appears.
 */

static struct pci_driver kms_lab_edu_driver = {
	.name = KBUILD_MODNAME,
	.id_table = kms_lab_edu_ids,
	.probe = kms_lab_edu_probe,
	.remove = kms_lab_edu_remove,
	.dev_groups = kms_lab_edu_groups,
};
module_pci_driver(kms_lab_edu_driver);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk");
MODULE_DESCRIPTION("Lab edu: a PCI driver for QEMU's edu device (MMIO, sysfs, interrupts)");
