/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kms_edu user-space interface: what a program needs to drive /dev/kms_edu.
 *
 * The device node moves data through the device's DMA engine:
 *   pwrite(fd, buf, len, off)   copies buf into the device's buffer at off
 *   pread(fd, buf, len, off)    copies len bytes from the buffer at off
 * read() and write() do the same at the file position. A transfer must
 * have 1 <= len and off + len <= KMS_EDU_DMA_MAX; anything else fails with
 * EINVAL before it reaches the device.
 *
 * The ioctls below ask the device for a liveness check or a factorial.
 * This header is included by the driver and by user space alike, so it
 * uses only the kernel's exported types.
 */
#ifndef _UAPI_KMS_EDU_H
#define _UAPI_KMS_EDU_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bytes of the device's buffer a transfer may use (see the README). */
#define KMS_EDU_DMA_MAX 4095

/* The largest n the driver asks the device to compute n! for. */
#define KMS_EDU_FACTORIAL_MAX 65535

struct kms_edu_liveness {
	__u32 value;   /* in: any pattern */
	__u32 inverse; /* out: what the device answered, ~value if alive */
};

struct kms_edu_factorial {
	__u32 n;      /* in: 0 ... KMS_EDU_FACTORIAL_MAX */
	__u32 result; /* out: n! modulo 2^32, as the device computed it */
};

/* An ioctl number of this driver's own; see ioctl-number.rst. */
#define KMS_EDU_IOC_MAGIC 0xED

#define KMS_EDU_IOC_LIVENESS \
	_IOWR(KMS_EDU_IOC_MAGIC, 1, struct kms_edu_liveness)
#define KMS_EDU_IOC_FACTORIAL \
	_IOWR(KMS_EDU_IOC_MAGIC, 2, struct kms_edu_factorial)

#endif /* _UAPI_KMS_EDU_H */
