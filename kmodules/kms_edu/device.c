// SPDX-License-Identifier: GPL-2.0
/*
 * kms_edu's hardware layer: everything that touches the edu device's
 * registers. Each operation serialises its users with its own lock, starts
 * the device, and sleeps until the interrupt handler completes it or a
 * deadline passes. Nothing here knows about user space.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/bitops.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/jiffies.h>
#include <linux/string.h>

#include "kms_edu.h"
#include "kms_edu_regs.h"
#include "uapi/kms_edu.h"

/*
 * A factorial takes microseconds and a transfer about 100 ms of device
 * time; the margin is for a host that emulates the machine in software
 * while busy with other work.
 */
#define KMS_EDU_DEADLINE_MS 2000

static u32 kms_edu_read32(struct kms_edu *edu, unsigned int reg)
{
	return readl(edu->regs + reg);
}

static void kms_edu_write32(struct kms_edu *edu, unsigned int reg, u32 value)
{
	writel(value, edu->regs + reg);
}

int kms_edu_hw_identify(struct kms_edu *edu)
{
	struct device *dev = &edu->pdev->dev;
	u32 id = kms_edu_read32(edu, KMS_EDU_REG_ID);

	if (FIELD_GET(KMS_EDU_ID_MAGIC, id) != KMS_EDU_ID_MAGIC_VALUE)
		return dev_err_probe(dev, -ENODEV,
				     "identification register reads %#010x: not an edu device\n",
				     id);
	/* A new major version may move registers: refuse what we do not know. */
	if (FIELD_GET(KMS_EDU_ID_MAJOR, id) != 1)
		return dev_err_probe(dev, -ENODEV,
				     "edu version %lu.%lu is not supported (this driver knows 1.x)\n",
				     FIELD_GET(KMS_EDU_ID_MAJOR, id),
				     FIELD_GET(KMS_EDU_ID_MINOR, id));
	edu->id = id;
	return 0;
}

void kms_edu_hw_start(struct kms_edu *edu)
{
	/* Causes left pending by a previous binding are not ours to count. */
	kms_edu_write32(edu, KMS_EDU_REG_IRQ_ACK,
			kms_edu_read32(edu, KMS_EDU_REG_IRQ_STATUS));
	kms_edu_write32(edu, KMS_EDU_REG_STATUS, KMS_EDU_STATUS_IRQ_FACTORIAL);
}

/*
 * Called once no request can reach the device any more. A request that
 * timed out may have left the device working; a transfer still running
 * would write into a buffer that is about to be freed.
 */
void kms_edu_hw_stop(struct kms_edu *edu)
{
	struct device *dev = &edu->pdev->dev;
	u64 cmd;
	u32 status;

	kms_edu_write32(edu, KMS_EDU_REG_STATUS, 0);
	if (readq_poll_timeout(edu->regs + KMS_EDU_REG_DMA_CMD, cmd,
			       !(cmd & KMS_EDU_DMA_START), 1000,
			       KMS_EDU_DEADLINE_MS * USEC_PER_MSEC))
		dev_warn(dev, "a DMA transfer is still running at removal\n");
	if (readl_poll_timeout(edu->regs + KMS_EDU_REG_STATUS, status,
			       !(status & KMS_EDU_STATUS_COMPUTING), 100,
			       KMS_EDU_DEADLINE_MS * USEC_PER_MSEC))
		dev_warn(dev, "a factorial is still running at removal\n");
}

/*
 * The line may be shared with other devices (legacy INTx), so the handler
 * first asks the device whether the interrupt is its own.
 */
irqreturn_t kms_edu_irq(int irq, void *data)
{
	struct kms_edu *edu = data;
	u32 pending = kms_edu_read32(edu, KMS_EDU_REG_IRQ_STATUS);

	/* All ones: the device is gone from the bus, nothing to handle. */
	if (!pending || pending == U32_MAX)
		return IRQ_NONE;

	/* Acknowledge first, so a cause raised meanwhile interrupts again. */
	kms_edu_write32(edu, KMS_EDU_REG_IRQ_ACK, pending);
	/* One interrupt may carry a factorial's and a transfer's cause. */
	atomic_add(hweight32(pending), &edu->irq_count);
	if (pending & KMS_EDU_IRQ_FACTORIAL)
		complete(&edu->factorial_done);
	if (pending & KMS_EDU_IRQ_DMA)
		complete(&edu->dma_done);
	return IRQ_HANDLED;
}

int kms_edu_liveness(struct kms_edu *edu, u32 value, u32 *answer)
{
	int ret;

	ret = mutex_lock_interruptible(&edu->liveness_lock);
	if (ret)
		return ret;
	kms_edu_write32(edu, KMS_EDU_REG_LIVENESS, value);
	*answer = kms_edu_read32(edu, KMS_EDU_REG_LIVENESS);
	mutex_unlock(&edu->liveness_lock);
	return 0;
}

static int kms_edu_wait(struct kms_edu *edu, struct completion *done,
			const char *what)
{
	if (wait_for_completion_timeout(done,
					msecs_to_jiffies(KMS_EDU_DEADLINE_MS)))
		return 0;
	dev_err(&edu->pdev->dev, "%s: no interrupt within %d ms\n", what,
		KMS_EDU_DEADLINE_MS);
	return -ETIMEDOUT;
}

int kms_edu_factorial(struct kms_edu *edu, u32 n, u32 *result)
{
	int ret;

	/* The device loops n times: bound how long one user may keep it. */
	if (n > KMS_EDU_FACTORIAL_MAX)
		return -EINVAL;

	ret = mutex_lock_interruptible(&edu->factorial_lock);
	if (ret)
		return ret;
	/* It ignores a new n while busy, as after a timed-out request. */
	if (kms_edu_read32(edu, KMS_EDU_REG_STATUS) & KMS_EDU_STATUS_COMPUTING) {
		ret = -EBUSY;
		goto out_unlock;
	}
	reinit_completion(&edu->factorial_done);
	kms_edu_write32(edu, KMS_EDU_REG_FACTORIAL, n);
	ret = kms_edu_wait(edu, &edu->factorial_done, "factorial");
	if (!ret)
		*result = kms_edu_read32(edu, KMS_EDU_REG_FACTORIAL);
out_unlock:
	mutex_unlock(&edu->factorial_lock);
	return ret;
}

/*
 * Whether a transfer of len bytes at offset stays inside the part of the
 * device's buffer that QEMU lets a transfer use (see kms_edu_regs.h). A
 * transfer that does not would abort the whole machine.
 */
bool kms_edu_dma_range_ok(loff_t offset, size_t len)
{
	return len >= 1 && offset >= 0 && offset < KMS_EDU_DMA_MAX &&
	       len <= KMS_EDU_DMA_MAX - offset;
}

/* One transfer between dma_buffer and the device's buffer at offset. */
static int kms_edu_dma(struct kms_edu *edu, loff_t offset, size_t len,
		       bool to_ram)
{
	u64 device_addr = KMS_EDU_BUFFER_ADDR + offset;
	u64 cmd = KMS_EDU_DMA_START | KMS_EDU_DMA_IRQ;
	int ret;

	lockdep_assert_held(&edu->dma_lock);
	/* The engine ignores its registers while a transfer runs. */
	if (readq(edu->regs + KMS_EDU_REG_DMA_CMD) & KMS_EDU_DMA_START)
		return -EBUSY;

	if (to_ram) {
		writeq(device_addr, edu->regs + KMS_EDU_REG_DMA_SRC);
		writeq(edu->dma_handle, edu->regs + KMS_EDU_REG_DMA_DST);
		cmd |= KMS_EDU_DMA_TO_RAM;
	} else {
		writeq(edu->dma_handle, edu->regs + KMS_EDU_REG_DMA_SRC);
		writeq(device_addr, edu->regs + KMS_EDU_REG_DMA_DST);
	}
	writeq(len, edu->regs + KMS_EDU_REG_DMA_COUNT);
	reinit_completion(&edu->dma_done);
	/*
	 * writeq() orders the CPU's earlier stores to dma_buffer before the
	 * command that makes the device read it.
	 */
	writeq(cmd, edu->regs + KMS_EDU_REG_DMA_CMD);
	ret = kms_edu_wait(edu, &edu->dma_done, "DMA");
	if (!ret)
		atomic_inc(&edu->dma_count);
	return ret;
}

/*
 * Takes the engine for a transfer of len bytes at offset, after the one
 * check that stands between user space and an aborted machine.
 */
static int kms_edu_dma_claim(struct kms_edu *edu, loff_t offset, size_t len)
{
	if (!kms_edu_dma_range_ok(offset, len))
		return -EINVAL;
	return mutex_lock_interruptible(&edu->dma_lock);
}

int kms_edu_dma_to_device(struct kms_edu *edu, loff_t offset, const void *data,
			  size_t len)
{
	int ret;

	ret = kms_edu_dma_claim(edu, offset, len);
	if (ret)
		return ret;
	memcpy(edu->dma_buffer, data, len);
	ret = kms_edu_dma(edu, offset, len, false);
	mutex_unlock(&edu->dma_lock);
	return ret;
}

int kms_edu_dma_from_device(struct kms_edu *edu, loff_t offset, void *data,
			    size_t len)
{
	int ret;

	ret = kms_edu_dma_claim(edu, offset, len);
	if (ret)
		return ret;
	ret = kms_edu_dma(edu, offset, len, true);
	if (!ret)
		memcpy(data, edu->dma_buffer, len);
	mutex_unlock(&edu->dma_lock);
	return ret;
}
