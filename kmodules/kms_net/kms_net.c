// SPDX-License-Identifier: GPL-2.0
/*
 * kms_net - a network driver: the interface kms0, and what its transmit
 * function owes the stack for every packet it is given.
 *
 * A network driver gets no device node. It allocates a struct net_device,
 * says what kind of link it is (ether_setup(): Ethernet, MTU 1500, ARP,
 * broadcast and multicast), gives it its operations and registers it. From
 * then on it is an interface that user space configures with ip, and the
 * stack hands it each outgoing packet through ndo_start_xmit().
 *
 * kms0 has no wire: it counts each packet in the interface's statistics,
 * as sent, and frees it. So `ip -s link show kms0` shows exactly what the
 * stack decided to send, and when: for an address on the link, ARP
 * requests first.
 *
 * Nothing pins the module while kms0 is up: the exit function's
 * unregister_netdev() takes the interface down and waits until the stack
 * has let go of it. A mounted filesystem, by contrast, holds its module.
 */

#include <linux/etherdevice.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>

#include "kms_net_compat.h"

static struct net_device *kms_net_dev;

static netdev_tx_t kms_net_start_xmit(struct sk_buff *skb,
				      struct net_device *dev)
{
	/*
	 * Counted as sent, as a real driver counts a packet its hardware has
	 * taken. One it could not send goes in tx_dropped instead.
	 */
	dev_sw_netstats_tx_add(dev, 1, skb->len);
	/* Here a packet leaves: the moment for a software TX timestamp. */
	skb_tx_timestamp(skb);
	/*
	 * Consumed, not dropped: drop monitors and the skb:kfree_skb
	 * tracepoint tell the two apart. The _any variant is safe with
	 * interrupts disabled, as netpoll calls this.
	 */
	dev_consume_skb_any(skb);
	/* The skb is ours once we say OK, whatever we did with it. */
	return NETDEV_TX_OK;
}

static const struct net_device_ops kms_net_ops = {
	.ndo_start_xmit = kms_net_start_xmit,
	.ndo_validate_addr = eth_validate_addr,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_get_stats64 = KMS_NET_GET_STATS64,
};

/* Called by alloc_netdev(), before the interface exists for anyone else. */
static void kms_net_setup(struct net_device *dev)
{
	/* Type ARPHRD_ETHER, MTU 1500 (68 to 1500), broadcast address. */
	ether_setup(dev);
	dev->netdev_ops = &kms_net_ops;

	/*
	 * Nothing here ever makes the stack wait, so no queue in front of
	 * the driver (IFF_NO_QUEUE) and no TX lock around it (lockless TX):
	 * the transmit function runs on several CPUs at once...
	 */
	dev->priv_flags |= IFF_NO_QUEUE;
	kms_net_set_lltx(dev);
	/* ...and counts in per-CPU statistics, which the core allocates. */
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS;

	/* No hardware to read an address from: a random, local one. */
	eth_hw_addr_random(dev);
}

static int __init kms_net_init(void)
{
	struct net_device *dev;
	int ret;

	/* The first free number: kms0, unless that name is taken. */
	dev = alloc_netdev(0, "kms%d", NET_NAME_ENUM, kms_net_setup);
	if (!dev)
		return -ENOMEM;

	/* Last: from here on user space and the stack can use it. */
	ret = register_netdev(dev);
	if (ret) {
		free_netdev(dev);
		return ret;
	}
	kms_net_dev = dev;
	netdev_info(dev, "registered, address %pM\n", dev->dev_addr);
	return 0;
}

static void __exit kms_net_exit(void)
{
	struct rtnl_link_stats64 stats;

	/* Its last counts, while it is still registered. */
	dev_get_stats(kms_net_dev, &stats);
	netdev_info(kms_net_dev,
		    "unregistering (tx_packets %llu, tx_bytes %llu)\n",
		    stats.tx_packets, stats.tx_bytes);
	/*
	 * Takes kms0 down if it is up, drops its addresses, routes and
	 * neighbours, and returns once no reference to it is left: only
	 * then can it be freed, and the module's code go.
	 */
	unregister_netdev(kms_net_dev);
	free_netdev(kms_net_dev);
}

module_init(kms_net_init);
module_exit(kms_net_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("Network driver: kms0 counts each packet it is given");
