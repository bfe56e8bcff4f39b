/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels kms_locking is built for (6.1 to 7.3),
 * in one place, so that kms_locking.c reads as code for one kernel. Each
 * entry names the release that changed the API; when the oldest supported
 * kernel passes it, the entry goes.
 */
#ifndef _KMS_LOCKING_COMPAT_H
#define _KMS_LOCKING_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/version.h>

/*
 * 6.13 added hrtimer_setup(), which sets the callback together with the
 * clock and mode, and 6.15 removed hrtimer_init(), after which the caller
 * assigned ->function itself. 6.1 and 6.12 have only hrtimer_init(), 7.3
 * only hrtimer_setup().
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
static inline void
hrtimer_setup(struct hrtimer *timer,
	      enum hrtimer_restart (*function)(struct hrtimer *),
	      clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}
#endif

#endif /* _KMS_LOCKING_COMPAT_H */
