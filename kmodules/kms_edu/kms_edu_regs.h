/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The register map of QEMU's edu device (BAR0, 1 MiB of MMIO), as its
 * specification gives it. For a real chip this file is the datasheet's
 * register chapter: offsets, bit fields, and the rules the hardware sets.
 */
#ifndef KMS_EDU_REGS_H
#define KMS_EDU_REGS_H

#include <linux/bits.h>

/* Fields are indented under their register, as a datasheet prints them. */
/* clang-format off */
#define KMS_EDU_VENDOR_ID		0x1234
#define KMS_EDU_DEVICE_ID		0x11e8

/* Below 0x80 the device answers 32-bit accesses only. */
#define KMS_EDU_REG_ID			0x00
#define   KMS_EDU_ID_MAJOR		GENMASK(31, 24)
#define   KMS_EDU_ID_MINOR		GENMASK(23, 16)
#define   KMS_EDU_ID_MAGIC		GENMASK(15, 0)
#define   KMS_EDU_ID_MAGIC_VALUE	0x00ed
#define KMS_EDU_REG_LIVENESS		0x04	/* reads back ~(last write) */
#define KMS_EDU_REG_FACTORIAL		0x08	/* write n; read n! when done */
#define KMS_EDU_REG_STATUS		0x20
#define   KMS_EDU_STATUS_COMPUTING	BIT(0)	/* read-only */
#define   KMS_EDU_STATUS_IRQ_FACTORIAL	BIT(7)	/* interrupt when n! is done */
#define KMS_EDU_REG_IRQ_STATUS		0x24	/* pending causes */
#define KMS_EDU_REG_IRQ_RAISE		0x60
#define KMS_EDU_REG_IRQ_ACK		0x64	/* write the causes handled */
#define   KMS_EDU_IRQ_FACTORIAL		BIT(0)
#define   KMS_EDU_IRQ_DMA		BIT(8)

/* From 0x80 up, 64-bit accesses work too: the DMA engine's registers. */
#define KMS_EDU_REG_DMA_SRC		0x80
#define KMS_EDU_REG_DMA_DST		0x88
#define KMS_EDU_REG_DMA_COUNT		0x90
#define KMS_EDU_REG_DMA_CMD		0x98
#define   KMS_EDU_DMA_START		BIT(0)	/* reads 1 while busy */
#define   KMS_EDU_DMA_TO_RAM		BIT(1)	/* clear: RAM to device */
#define   KMS_EDU_DMA_IRQ		BIT(2)	/* raise KMS_EDU_IRQ_DMA when done */

/*
 * The device's own buffer, as its DMA engine addresses it. QEMU before 9.1
 * counts a transfer that reaches the buffer's last byte as out of range, and
 * answers any out-of-range transfer by aborting the whole virtual machine:
 * so a transfer ends before the last byte (KMS_EDU_DMA_MAX in the UAPI).
 */
#define KMS_EDU_BUFFER_ADDR		0x40000
#define KMS_EDU_BUFFER_SIZE		4096

/* The engine drives only 28 address bits on the bus. */
#define KMS_EDU_DMA_ADDRESS_BITS	28
/* clang-format on */

#endif /* KMS_EDU_REGS_H */
