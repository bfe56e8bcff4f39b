/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels kms_net is built for (6.1 to 7.3), in
 * one place, so that the driver itself reads as code for one kernel. Each
 * entry names the release that changed the API; when the oldest supported
 * kernel passes it, the entry goes.
 *
 * Not an entry: since 6.7 the core allocates and frees dev->tstats for a
 * device whose pcpu_stat_type says NETDEV_PCPU_STAT_TSTATS. Debian's 6.1
 * has that from the 6.1 stable series, so every kernel here does it.
 */
#ifndef KMS_NET_COMPAT_H
#define KMS_NET_COMPAT_H

#include <linux/netdevice.h>
#include <linux/version.h>

/*
 * 6.9: dev_get_stats() sums dev->tstats itself when pcpu_stat_type is
 * NETDEV_PCPU_STAT_TSTATS. Before, the driver had to point ndo_get_stats64
 * at dev_get_tstats64(), or ip and sysfs would show its counters as 0.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
#define KMS_NET_GET_STATS64 NULL
#else
#define KMS_NET_GET_STATS64 dev_get_tstats64
#endif

/*
 * 6.12 moved "lockless TX" from the feature bit NETIF_F_LLTX to the
 * private flag dev->lltx: it never was a feature ethtool could change.
 */
static inline void kms_net_set_lltx(struct net_device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	dev->lltx = true;
#else
	dev->features |= NETIF_F_LLTX;
#endif
}

#endif /* KMS_NET_COMPAT_H */
