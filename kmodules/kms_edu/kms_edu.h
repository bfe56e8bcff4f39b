/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kms_edu's state of one device, shared by its three parts:
 *   pci.c      binding: probe, remove, sysfs, the module's metadata
 *   device.c   the hardware: registers, the interrupt handler, operations
 *   chardev.c  user space: /dev/kms_edu
 */
#ifndef KMS_EDU_H
#define KMS_EDU_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/types.h>

struct kms_edu {
	struct pci_dev *pdev;
	void __iomem *regs;
	u32 id;
	int irq;
	int instance;
	/* kms_edu, kms_edu1, ...: names the node and the irq */
	char name[sizeof(KBUILD_MODNAME) + 10];
	struct miscdevice misc;

	/* The device runs one factorial and one transfer at a time. */
	struct mutex liveness_lock; /* a write and its read back */
	struct mutex factorial_lock;
	struct completion factorial_done;
	struct mutex dma_lock; /* the engine and dma_buffer */
	struct completion dma_done;
	void *dma_buffer; /* coherent, below the 28-bit limit */
	dma_addr_t dma_handle;

	atomic_t irq_count; /* interrupt causes handled */
	atomic_t dma_count;

	/*
	 * An open file may outlive the binding (unbind through sysfs while
	 * /dev/kms_edu is open): the binding and each open file hold a
	 * reference, and remove sets `gone`, after which requests fail with
	 * ENODEV instead of touching hardware that is no longer mapped.
	 */
	struct kref ref;
	struct rw_semaphore removal_lock; /* readers: requests */
	bool gone;
};

/* pci.c */
void kms_edu_put(struct kms_edu *edu);

/* device.c: every operation sleeps, and serialises its own users. */
int kms_edu_hw_identify(struct kms_edu *edu);
void kms_edu_hw_start(struct kms_edu *edu);
void kms_edu_hw_stop(struct kms_edu *edu);
irqreturn_t kms_edu_irq(int irq, void *data);
int kms_edu_liveness(struct kms_edu *edu, u32 value, u32 *answer);
int kms_edu_factorial(struct kms_edu *edu, u32 n, u32 *result);
bool kms_edu_dma_range_ok(loff_t offset, size_t len);
int kms_edu_dma_to_device(struct kms_edu *edu, loff_t offset, const void *data,
			  size_t len);
int kms_edu_dma_from_device(struct kms_edu *edu, loff_t offset, void *data,
			    size_t len);

/* chardev.c */
int kms_edu_chardev_register(struct kms_edu *edu);
void kms_edu_chardev_unregister(struct kms_edu *edu);

#endif /* KMS_EDU_H */
