/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kms_multifile - what start.c and stop.c share. Both are compiled apart and
 * linked into one kms_multifile.ko, so a function one file calls in the other
 * must not be static and needs its declaration here.
 */
#ifndef _KMS_MULTIFILE_H
#define _KMS_MULTIFILE_H

/* Defined in start.c, called by the exit function in stop.c. */
unsigned int kms_multifile_uptime_ms(void);

#endif /* _KMS_MULTIFILE_H */
