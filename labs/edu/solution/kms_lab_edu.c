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

	/* One factorial at a time. */
	struct mutex factorial_lock;

	/* One raised interrupt at a time, which the handler completes. */
	struct mutex raise_lock;
	struct completion raised;
	/* The interrupts handled. */
	atomic_t irq_count;
};

/* Liveness: the device answers the bitwise inverse of what it was given. */
static ssize_t liveness_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct kms_lab_edu *edu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "0x%08x\n",
			  readl(edu->regs + KMS_LAB_EDU_REG_LIVENESS));
}

static ssize_t liveness_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t count)
{
	struct kms_lab_edu *edu = dev_get_drvdata(dev);
	u32 value;
	int ret;

	ret = kstrtou32(buf, 0, &value);
	if (ret)
		return ret;
	writel(value, edu->regs + KMS_LAB_EDU_REG_LIVENESS);
	return count;
}
static DEVICE_ATTR_RW(liveness);

/*
 * Waits, sleeping, until the device computes no factorial.
 * Return: 0, or -ETIMEDOUT after KMS_LAB_EDU_TIMEOUT_MS.
 */
static int kms_lab_edu_factorial_wait(struct kms_lab_edu *edu)
{
	u32 status;

	return readl_poll_timeout(edu->regs + KMS_LAB_EDU_REG_STATUS, status,
				  !(status & KMS_LAB_EDU_STATUS_COMPUTING), 10,
				  KMS_LAB_EDU_TIMEOUT_MS * USEC_PER_MSEC);
}

static ssize_t factorial_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct kms_lab_edu *edu = dev_get_drvdata(dev);
	u32 result;
	int ret;

	mutex_lock(&edu->factorial_lock);
	ret = kms_lab_edu_factorial_wait(edu);
	result = readl(edu->regs + KMS_LAB_EDU_REG_FACTORIAL);
	mutex_unlock(&edu->factorial_lock);
	if (ret)
		return ret;
	return sysfs_emit(buf, "%u\n", result);
}

static ssize_t factorial_store(struct device *dev, struct device_attribute *attr,
			       const char *buf, size_t count)
{
	struct kms_lab_edu *edu = dev_get_drvdata(dev);
	u32 n;
	int ret;

	ret = kstrtou32(buf, 10, &n);
	if (ret)
		return ret;
	/* The device loops n times, and past 12 the result wraps anyway. */
	if (n > KMS_LAB_EDU_FACTORIAL_MAX)
		return -EINVAL;

	mutex_lock(&edu->factorial_lock);
	/* Still busy after a request that timed out, it would ignore n. */
	ret = kms_lab_edu_factorial_wait(edu);
	if (!ret) {
		writel(n, edu->regs + KMS_LAB_EDU_REG_FACTORIAL);
		ret = kms_lab_edu_factorial_wait(edu);
	}
	mutex_unlock(&edu->factorial_lock);
	if (ret) {
		dev_err(dev, "factorial: still computing after %d ms\n",
			KMS_LAB_EDU_TIMEOUT_MS);
		return ret;
	}
	return count;
}
static DEVICE_ATTR_RW(factorial);

/*
 * The interrupt may share its line with other devices (INTx), so the
 * handler first asks the device whether it is the one asking.
 */
static irqreturn_t kms_lab_edu_irq(int irq, void *data)
{
	struct kms_lab_edu *edu = data;
	u32 pending = readl(edu->regs + KMS_LAB_EDU_REG_IRQ_STATUS);

	/* All ones: the device is gone from the bus. */
	if (!pending || pending == U32_MAX)
		return IRQ_NONE;

	/* Unacknowledged, INTx would stay asserted and MSI never clear. */
	writel(pending, edu->regs + KMS_LAB_EDU_REG_IRQ_ACK);
	atomic_inc(&edu->irq_count);
	complete(&edu->raised);
	return IRQ_HANDLED;
}

static ssize_t raise_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct kms_lab_edu *edu = dev_get_drvdata(dev);
	unsigned long left;
	u32 value;
	int ret;

	ret = kstrtou32(buf, 0, &value);
	if (ret)
		return ret;
	/* Raising no cause raises no interrupt: nothing to wait for. */
	if (!value)
		return -EINVAL;

	mutex_lock(&edu->raise_lock);
	reinit_completion(&edu->raised);
	writel(value, edu->regs + KMS_LAB_EDU_REG_IRQ_RAISE);
	left = wait_for_completion_timeout(&edu->raised,
					   msecs_to_jiffies(KMS_LAB_EDU_TIMEOUT_MS));
	mutex_unlock(&edu->raise_lock);
	if (!left) {
		dev_err(dev, "no interrupt within %d ms\n",
			KMS_LAB_EDU_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	return count;
}
static DEVICE_ATTR_WO(raise);

static ssize_t irq_count_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct kms_lab_edu *edu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&edu->irq_count));
}
static DEVICE_ATTR_RO(irq_count);

static ssize_t irq_status_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct kms_lab_edu *edu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "0x%08x\n",
			  readl(edu->regs + KMS_LAB_EDU_REG_IRQ_STATUS));
}
static DEVICE_ATTR_RO(irq_status);

/* The driver core adds them after probe and removes them before remove. */
/* clang-format off */
static struct attribute *kms_lab_edu_attrs[] = {
	&dev_attr_liveness.attr,
	&dev_attr_factorial.attr,
	&dev_attr_raise.attr,
	&dev_attr_irq_count.attr,
	&dev_attr_irq_status.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kms_lab_edu);
/* clang-format on */

/* Refuses a device that does not identify itself as an edu device. */
static int kms_lab_edu_identify(struct kms_lab_edu *edu)
{
	struct device *dev = &edu->pdev->dev;
	u32 id = readl(edu->regs + KMS_LAB_EDU_REG_ID);

	if (FIELD_GET(KMS_LAB_EDU_ID_MAGIC, id) != KMS_LAB_EDU_ID_MAGIC_VALUE)
		return dev_err_probe(dev, -ENODEV,
				     "identification register reads %#010x: not an edu device\n",
				     id);
	dev_info(dev, "edu version %lu.%lu\n",
		 FIELD_GET(KMS_LAB_EDU_ID_MAJOR, id),
		 FIELD_GET(KMS_LAB_EDU_ID_MINOR, id));
	return 0;
}

static int kms_lab_edu_setup_irq(struct kms_lab_edu *edu)
{
	struct pci_dev *pdev = edu->pdev;
	int ret;

	/* Causes left pending by an earlier binding are not ours to count. */
	writel(readl(edu->regs + KMS_LAB_EDU_REG_IRQ_STATUS),
	       edu->regs + KMS_LAB_EDU_REG_IRQ_ACK);

	/*
	 * An MSI is a memory write by the device, which it makes only as a
	 * bus master. pcim's disabling of the device clears this again.
	 */
	pci_set_master(pdev);

	/* One vector: MSI where the platform offers it, else INTx. */
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_ALL_TYPES);
	if (ret < 0)
		return dev_err_probe(&pdev->dev, ret, "no usable interrupt\n");
	ret = devm_request_irq(&pdev->dev, pci_irq_vector(pdev, 0),
			       kms_lab_edu_irq, IRQF_SHARED, KBUILD_MODNAME,
			       edu);
	if (ret)
		return dev_err_probe(&pdev->dev, ret,
				     "cannot request the interrupt\n");
	return 0;
}

/*
 * Every claim is managed: when probe fails, or after remove, the driver
 * core releases them newest first (the interrupt, the vectors, the
 * mapping, the state, the enabling).
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
	mutex_init(&edu->factorial_lock);
	mutex_init(&edu->raise_lock);
	init_completion(&edu->raised);
	atomic_set(&edu->irq_count, 0);

	edu->regs = kms_lab_edu_iomap_bar(pdev, 0, KBUILD_MODNAME);
	if (IS_ERR(edu->regs))
		return dev_err_probe(dev, PTR_ERR(edu->regs),
				     "cannot map BAR0\n");

	ret = kms_lab_edu_identify(edu);
	if (ret)
		return ret;

	return kms_lab_edu_setup_irq(edu);
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
MODULE_DEVICE_TABLE(pci, kms_lab_edu_ids);

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
