/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kms_chardev user-space interface: what a program needs besides read(2),
 * write(2), lseek(2) and poll(2) to use /dev/kms_chardev.
 *
 * The device holds up to KMS_CHARDEV_CAPACITY bytes. Its size is the end
 * of the data written so far: read(2) returns 0 there, lseek(2) with
 * SEEK_END counts from there, and no position may lie past the capacity.
 *
 * Included by the driver and by user space alike, so it uses only the
 * kernel's exported types.
 */
#ifndef _UAPI_KMS_CHARDEV_H
#define _UAPI_KMS_CHARDEV_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KMS_CHARDEV_CAPACITY 4096

/* An ioctl number of this driver's own; see ioctl-number.rst. */
#define KMS_CHARDEV_IOC_MAGIC 0xCD

/* Empties the device. Needs a file open for writing (else EBADF). */
#define KMS_CHARDEV_IOC_CLEAR _IO(KMS_CHARDEV_IOC_MAGIC, 1)
/* Stores the device's size, in bytes, at the __u32 the argument points to. */
#define KMS_CHARDEV_IOC_GET_SIZE _IOR(KMS_CHARDEV_IOC_MAGIC, 2, __u32)

#endif /* _UAPI_KMS_CHARDEV_H */
