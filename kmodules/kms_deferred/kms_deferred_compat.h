/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels kms_deferred is built for (6.1 to 7.3),
 * in one place, so that kms_deferred.c reads as code for one kernel. Each
 * entry names the release that changed the API; when the oldest supported
 * kernel passes it, the entry goes.
 */
#ifndef _KMS_DEFERRED_COMPAT_H
#define _KMS_DEFERRED_COMPAT_H

#include <linux/timer.h>
#include <linux/version.h>

/*
 * 6.16 renamed from_timer(), the container_of() that takes a timer
 * callback from its struct timer_list to the structure around it, to
 * timer_container_of(). 6.1 and 6.12 have only the old name, 7.3 only the
 * new one.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
#define timer_container_of from_timer
#endif

/*
 * 6.2 added timer_shutdown_sync(): it waits for a running callback, like
 * del_timer_sync(), and also turns every later mod_timer() of the timer
 * into a no-op, so nothing can arm it again while the module goes away.
 * The 6.1 stable series took it in 6.1.158 (Debian's 6.1.0-57 is 6.1.192).
 * Before, del_timer_sync() is the closest: it too retries until the
 * callback has run and its own re-arm is undone, but a mod_timer() from
 * anywhere else afterwards would bring the timer back. Only the callback
 * arms kms_deferred's timer after init, so either is correct here.
 * (6.2 also renamed del_timer_sync() to timer_delete_sync(), and 6.15
 * removed the old name: 7.3's <linux/timer.h> has no del_timer_sync().)
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 158)
#define timer_shutdown_sync del_timer_sync
#endif

#endif /* _KMS_DEFERRED_COMPAT_H */
