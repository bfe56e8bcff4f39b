// SPDX-License-Identifier: GPL-2.0
/*
 * kms_edu - a PCI driver for QEMU's edu device: the template for a driver
 * of a real chip.
 *
 * This file binds the driver to devices. The PCI core calls probe for
 * every device whose IDs match kms_edu_ids (MODULE_DEVICE_TABLE puts them
 * in modules.alias, so the module loads by itself when such a device
 * appears), and remove when the device goes or the driver is unbound.
 * Probe claims everything through managed (pcim_, devm_) calls, which the
 * driver core undoes in reverse order after remove: so probe needs no
 * unwinding, and remove only stops what user space can still reach.
 *
 * device.c drives the registers (MMIO), the interrupt and DMA; chardev.c
 * offers them to user space as /dev/kms_edu.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "kms_edu.h"
#include "kms_edu_compat.h"
#include "kms_edu_regs.h"

static bool use_msi = true;
module_param(use_msi, bool, 0444);
MODULE_PARM_DESC(use_msi,
		 "Use MSI when the device offers it, else legacy INTx (default: yes)");

/* Instance numbers name the nodes: kms_edu, kms_edu1, kms_edu2, ... */
static DEFINE_IDA(kms_edu_instances);

static void kms_edu_free(struct kref *ref)
{
	kfree(container_of(ref, struct kms_edu, ref));
}

void kms_edu_put(struct kms_edu *edu)
{
	kref_put(&edu->ref, kms_edu_free);
}

static void kms_edu_put_action(void *edu)
{
	kms_edu_put(edu);
}

static void kms_edu_free_instance(void *edu)
{
	ida_free(&kms_edu_instances, ((struct kms_edu *)edu)->instance);
}

/* The state outlives the binding while files are open: it is not devm. */
static struct kms_edu *kms_edu_alloc(struct pci_dev *pdev)
{
	struct kms_edu *edu;

	edu = kzalloc(sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return NULL;
	edu->pdev = pdev;
	mutex_init(&edu->liveness_lock);
	mutex_init(&edu->factorial_lock);
	init_completion(&edu->factorial_done);
	mutex_init(&edu->dma_lock);
	init_completion(&edu->dma_done);
	kref_init(&edu->ref);
	init_rwsem(&edu->removal_lock);
	return edu;
}

static int kms_edu_name(struct kms_edu *edu)
{
	struct device *dev = &edu->pdev->dev;
	int ret;

	ret = ida_alloc(&kms_edu_instances, GFP_KERNEL);
	if (ret < 0)
		return ret;
	edu->instance = ret;
	if (edu->instance)
		snprintf(edu->name, sizeof(edu->name), KBUILD_MODNAME "%d",
			 edu->instance);
	else
		strscpy(edu->name, KBUILD_MODNAME, sizeof(edu->name));
	return devm_add_action_or_reset(dev, kms_edu_free_instance, edu);
}

static int kms_edu_setup_irq(struct kms_edu *edu)
{
	struct pci_dev *pdev = edu->pdev;
	unsigned int types = PCI_IRQ_INTX;
	int ret;

	if (use_msi)
		types |= PCI_IRQ_MSI;
	/* One vector: MSI if the device and platform offer it, else INTx. */
	ret = pci_alloc_irq_vectors(pdev, 1, 1, types);
	if (ret < 0)
		return dev_err_probe(&pdev->dev, ret, "no usable interrupt\n");
	edu->irq = pci_irq_vector(pdev, 0);

	/* The handler is written for a shared line; INTx lines often are. */
	ret = devm_request_irq(&pdev->dev, edu->irq, kms_edu_irq, IRQF_SHARED,
			       edu->name, edu);
	if (ret)
		return dev_err_probe(&pdev->dev, ret, "cannot request irq %d\n",
				     edu->irq);
	return 0;
}

static int kms_edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct kms_edu *edu;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable the device\n");

	edu = kms_edu_alloc(pdev);
	if (!edu)
		return -ENOMEM;
	/* Registered first, so it runs last: after the irq is freed. */
	ret = devm_add_action_or_reset(dev, kms_edu_put_action, edu);
	if (ret)
		return ret;

	edu->regs = kms_edu_iomap_bar(pdev, 0, KBUILD_MODNAME);
	if (IS_ERR(edu->regs))
		return dev_err_probe(dev, PTR_ERR(edu->regs),
				     "cannot map BAR0\n");
	ret = kms_edu_hw_identify(edu);
	if (ret)
		return ret;

	/* The device reads and writes memory itself: bus mastering, a mask. */
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(dev,
					DMA_BIT_MASK(KMS_EDU_DMA_ADDRESS_BITS));
	if (ret)
		return dev_err_probe(dev, ret,
				     "no memory below the device's %d-bit DMA limit\n",
				     KMS_EDU_DMA_ADDRESS_BITS);
	/*
	 * One coherent buffer, allocated where the device can reach it. User
	 * pages mapped for streaming DMA could lie above the 28-bit limit,
	 * and x86 sets up no bounce buffers on machines below 4 GiB.
	 */
	edu->dma_buffer = dmam_alloc_coherent(dev, KMS_EDU_BUFFER_SIZE,
					      &edu->dma_handle, GFP_KERNEL);
	if (!edu->dma_buffer)
		return -ENOMEM;

	ret = kms_edu_name(edu);
	if (ret)
		return ret;
	kms_edu_hw_start(edu);
	ret = kms_edu_setup_irq(edu);
	if (ret)
		return ret;

	pci_set_drvdata(pdev, edu);
	/* Last: from here on user space can reach the device. */
	ret = kms_edu_chardev_register(edu);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register /dev/%s\n",
				     edu->name);

	dev_info(dev, "edu %lu.%lu, irq %d (%s), /dev/%s\n",
		 FIELD_GET(KMS_EDU_ID_MAJOR, edu->id),
		 FIELD_GET(KMS_EDU_ID_MINOR, edu->id), edu->irq,
		 pdev->msi_enabled ? "msi" : "intx", edu->name);
	return 0;
}

static void kms_edu_remove(struct pci_dev *pdev)
{
	struct kms_edu *edu = pci_get_drvdata(pdev);

	/* No new opens. Files already open keep their reference. */
	kms_edu_chardev_unregister(edu);
	/* Wait for requests in flight; later ones fail with ENODEV. */
	down_write(&edu->removal_lock);
	edu->gone = true;
	up_write(&edu->removal_lock);
	kms_edu_hw_stop(edu);
	dev_info(&pdev->dev, "removed; %d interrupts, %d DMA transfers\n",
		 atomic_read(&edu->irq_count), atomic_read(&edu->dma_count));
	/* The managed resources go after this returns, newest first. */
}

/*
 * Read-only attributes in the PCI device's sysfs folder. The driver core
 * removes them before it calls remove.
 */
static ssize_t id_show(struct device *dev, struct device_attribute *attr,
		       char *buf)
{
	struct kms_edu *edu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%#010x\n", edu->id);
}
static DEVICE_ATTR_RO(id);

static ssize_t irq_mode_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  to_pci_dev(dev)->msi_enabled ? "msi" : "intx");
}
static DEVICE_ATTR_RO(irq_mode);

static ssize_t irq_count_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct kms_edu *edu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&edu->irq_count));
}
static DEVICE_ATTR_RO(irq_count);

static ssize_t dma_count_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct kms_edu *edu = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&edu->dma_count));
}
static DEVICE_ATTR_RO(dma_count);

static struct attribute *kms_edu_attrs[] = {
	&dev_attr_id.attr,
	&dev_attr_irq_mode.attr,
	&dev_attr_irq_count.attr,
	&dev_attr_dma_count.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kms_edu);

static const struct pci_device_id kms_edu_ids[] = {
	{ PCI_DEVICE(KMS_EDU_VENDOR_ID, KMS_EDU_DEVICE_ID) },
	{},
};
MODULE_DEVICE_TABLE(pci, kms_edu_ids);

static struct pci_driver kms_edu_driver = {
	.name = KBUILD_MODNAME,
	.id_table = kms_edu_ids,
	.probe = kms_edu_probe,
	.remove = kms_edu_remove,
	.dev_groups = kms_edu_groups,
};
module_pci_driver(kms_edu_driver);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Driver for QEMU's edu PCI device: MMIO, interrupts, DMA");
