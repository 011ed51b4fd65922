// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_fib.c - next hops from the kernel: in a network namespace made for
 * the test, cidlb.bpf.o runs with a real ingress device, so bpf_fib_lookup
 * and bpf_check_mtu see real routes, neighbours and MTUs: XDP_TX back out
 * of the ingress device, XDP_REDIRECT to another, no route, no neighbour,
 * too big after encapsulation.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tlb.h"

static char ns[64];
static int root_ns = -1;
static struct tlb *t;
static unsigned int if_in, if_out;

static const uint8_t nh_in_mac[6] = { 0x02, 0, 0, 0, 0x10, 0x02 };
static const uint8_t nh_out_mac[6] = { 0x02, 0, 0, 0, 0x11, 0x02 };

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void cleanup(void)
{
	if (root_ns >= 0) {
		setns(root_ns, CLONE_NEWNET);
		close(root_ns);
		root_ns = -1;
	}
	if (*ns)
		sh("ip netns del %s 2>/dev/null", ns);
	*ns = 0;
}

static int setup(void **state)
{
	char path[128];
	int fd;

	(void)state;
	snprintf(ns, sizeof(ns), "cidlbt-fib-%d", getpid());
	atexit(cleanup);
	if (sh("ip netns add %s", ns) ||
	    sh("ip -n %s link add in0 mtu 1500 type veth peer name in1", ns) ||
	    sh("ip -n %s link add out0 type veth peer name out1", ns) ||
	    sh("for l in in0 in1 out0 out1; do ip -n %s link set $l up; done", ns) ||
	    sh("ip netns exec %s sysctl -qw net.ipv4.conf.all.forwarding=1 "
	       "net.ipv6.conf.all.forwarding=1",
	       ns) ||
	    sh("ip -n %s addr add 198.18.10.1/24 dev in0", ns) ||
	    sh("ip -n %s addr add 198.18.11.1/24 dev out0", ns) ||
	    sh("ip -n %s addr add fd00:10::1/64 dev in0 nodad", ns) ||
	    sh("ip -n %s neigh add 198.18.10.2 lladdr 02:00:00:00:10:02 dev in0", ns) ||
	    sh("ip -n %s neigh add fd00:10::2 lladdr 02:00:00:00:10:02 dev in0", ns) ||
	    sh("ip -n %s neigh add 198.18.11.2 lladdr 02:00:00:00:11:02 dev out0", ns) ||
	    /* the router in front of the LB is its default route: a packet
	     * to a VIP address it passes would go back there (a loop) */
	    sh("ip -n %s route add default via 198.18.10.2 dev in0", ns) ||
	    sh("ip -n %s route add unreachable 198.18.99.0/24", ns) ||
	    sh("ip -n %s -6 route add default via fd00:10::2 dev in0", ns) ||
	    sh("ip -n %s -6 addr add fd00:11::1/64 dev out0 nodad", ns))
		return -1;
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	root_ns = open("/proc/self/ns/net", O_RDONLY);
	fd = open(path, O_RDONLY);
	if (root_ns < 0 || fd < 0 || setns(fd, CLONE_NEWNET))
		return -1;
	close(fd);
	if_in = if_nametoindex("in0");
	if_out = if_nametoindex("out0");
	if (!if_in || !if_out)
		return -1;

	t = tlb_new();
	tlb_config(t, 0, 3, 4, NULL);
	tlb_backend(t, 0, "198.18.10.2", CIDLB_FWD_ENCAP_FIB, CIDLB_BE_ACTIVE);
	tlb_backend(t, 1, "198.18.11.2", CIDLB_FWD_ENCAP_FIB, CIDLB_BE_ACTIVE);
	tlb_backend(t, 2, "198.18.10.3", CIDLB_FWD_ENCAP_FIB, CIDLB_BE_ACTIVE); /* no neighbour */
	tlb_backend(t, 3, "198.18.99.1", CIDLB_FWD_ENCAP_FIB, CIDLB_BE_ACTIVE); /* no route */
	tlb_backend(t, 4, "fd00:10::2", CIDLB_FWD_ENCAP_FIB, CIDLB_BE_ACTIVE);
	tlb_backend(t, 5, "198.18.10.2", CIDLB_FWD_ENCAP_MAC, CIDLB_BE_ACTIVE);
	for (uint8_t i = 0; i < 6; i++)
		tlb_sid(t, 0, (uint8_t[]){ 0, 0, i }, 3, i);
	assert_int_equal(cidlb_lb_add_tx_port(t->lb, if_out), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tlb_free(t);
	cleanup();
	return 0;
}

/* A short-header packet of `ip_len` IP octets to server ID 0000<sid>,
 * behind `vlans` VLAN tags. */
static size_t frame_tagged(uint8_t sid, int family, size_t ip_len, int vlans, uint8_t *frame)
{
	static uint8_t payload[TPKT_MAX];
	struct tpkt_spec s = { .family = family,
			       .sport = 40000,
			       .dport = T_VIP_PORT,
			       .payload = payload,
			       .vlans = vlans };
	size_t hdr = (family == 4 ? 20 : 40) + 8;

	s.src = family == 4 ? T_CLIENT4 : T_CLIENT6;
	s.dst = family == 4 ? T_VIP4 : T_VIP6;
	s.payload_len = tquic_short(payload, 0x41, (uint8_t[]){ 0x07, 0, 0, sid, 1, 2, 3, 4 }, 8,
				    ip_len - hdr);
	return tpkt_build(&s, frame);
}

static size_t frame_to(uint8_t sid, int family, size_t ip_len, uint8_t *frame)
{
	return frame_tagged(sid, family, ip_len, 0, frame);
}

static int run(const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	return tlb_run_prog(cidlb_lb_prog_fd(t->lb), in, len, out, outlen, if_in);
}

/* A device's MAC address (/sys shows the root namespace: ask the device
 * itself). */
static void dev_mac(const char *dev, uint8_t *mac)
{
	struct ifreq ifr = {};
	int sk = socket(AF_INET, SOCK_DGRAM, 0);

	strcpy(ifr.ifr_name, dev);
	assert_int_equal(ioctl(sk, SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(sk);
}

/* Run on this CPU only (the rate limits and caches are per CPU), and on
 * every CPU again. */
static void pin_cpu(void)
{
	cpu_set_t cpus;

	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	assert_int_equal(sched_setaffinity(0, sizeof(cpus), &cpus), 0);
}

static void unpin_cpu(void)
{
	cpu_set_t cpus;
	int i;

	CPU_ZERO(&cpus);
	for (i = 0; i < libbpf_num_possible_cpus() && i < CPU_SETSIZE; i++)
		CPU_SET(i, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
}

/* The whole frame sent for `in` toward backend addr, from smac to dmac. */
static void assert_sent(const uint8_t *in, size_t len, const uint8_t *out, size_t outlen,
			const char *addr, const uint8_t *dmac, const uint8_t *smac,
			const char *what)
{
	int fam = strchr(addr, ':') ? 6 : 4;
	struct tpkt_outer o = { .family = fam,
				.src = fam == 4 ? T_LB4 : T_LB6,
				.dst = addr,
				.dmac = dmac,
				.smac = smac,
				.ttl = 64 };
	uint8_t want[TPKT_MAX];
	size_t wlen = tpkt_expect(&o, in, len, 14, want);

	t_assert_frame(out, outlen, want, wlen, what);
}

static void test_fib_paths(void **state)
{
	uint8_t in[TPKT_MAX], out[TPKT_MAX], own[6];
	struct cidlb_counters c;
	size_t len, outlen;

	(void)state;
	dev_mac("in0", own);

	/* same device: XDP_TX, MACs from the neighbour table */
	len = frame_to(0, 4, 100, in);
	if (run(in, len, out, &outlen) != XDP_TX) {
		c = tlb_counters(t);
		for (size_t i = 0; i < cidlb_counter_count; i++)
			print_error("%s=%llu\n", cidlb_counter_descs[i].name,
				    *(unsigned long long *)((char *)&c +
							    cidlb_counter_descs[i].offset));
		fail();
	}
	assert_sent(in, len, out, outlen, "198.18.10.2", nh_in_mac, own,
		    "MACs from the neighbour table and the egress device");
	/* other device: XDP_REDIRECT through the devmap */
	assert_int_equal(run(in, frame_to(1, 4, 100, in), out, &outlen), XDP_REDIRECT);
	/* IPv6 backend */
	assert_int_equal(run(in, len = frame_to(4, 4, 100, in), out, &outlen), XDP_TX);
	assert_sent(in, len, out, outlen, "fd00:10::2", nh_in_mac, own, "IPv6 next hop MAC");
	/* no neighbour, no route */
	assert_int_equal(run(in, frame_to(2, 4, 100, in), out, &outlen), XDP_DROP);
	assert_int_equal(run(in, frame_to(3, 4, 100, in), out, &outlen), XDP_DROP);
	/* MTU 1500: 1480 + 20 fits, 1481 + 20 does not */
	assert_int_equal(run(in, frame_to(0, 4, 1480, in), out, &outlen), XDP_TX);
	assert_int_equal(run(in, frame_to(0, 4, 1481, in), out, &outlen), XDP_DROP);
	/* the same with a configured MAC (bpf_check_mtu on the device) */
	assert_int_equal(run(in, len = frame_to(5, 4, 1480, in), out, &outlen), XDP_TX);
	t_assert_sent(in, len, 14, out, outlen, 5, "198.18.10.2", 0,
		      "configured MAC mode: source = frame's destination");
	assert_int_equal(run(in, frame_to(5, 4, 1481, in), out, &outlen), XDP_DROP);
	/* a redirect target missing from the devmap */
	assert_int_equal(sh("ip link del out0"), 0);
	assert_int_equal(sh("ip link add out0 type veth peer name out1 && ip link set out0 up && "
			    "ip link set out1 up && ip addr add 198.18.11.1/24 dev out0 && "
			    "ip neigh add 198.18.11.2 lladdr 02:00:00:00:11:02 dev out0"),
			 0);
	assert_int_equal(run(in, frame_to(1, 4, 100, in), out, &outlen), XDP_DROP);

	c = tlb_counters(t);
	assert_int_equal(c.tx, 4);
	assert_int_equal(c.redirect, 1);
	assert_int_equal(c.drop_no_route, 1);
	assert_int_equal(c.drop_no_neigh, 1);
	assert_int_equal(c.drop_no_port, 1);
	assert_int_equal(c.drop_mtu, 2);
	assert_int_equal(c.nh_cached, 0);
	assert_int_equal(tlb_verdicts(&c), 10);
	(void)nh_out_mac;
}

/*
 * cidlb_global.mtu_floor (cidlbd writes the smallest MTU of its devices):
 * a frame to a configured MAC that fits the floor is sent without asking
 * the kernel, any other one is asked about (bpf_check_mtu, in0's MTU
 * 1500: 1480 + 20 fits, 1481 + 20 does not). A floor above the device's
 * MTU (cidlbd not yet aware of a lowered MTU) lets the larger frame out:
 * that is the kernel's check skipped.
 */
static void test_mtu_floor(void **state)
{
	static const uint32_t floors[] = { 1500, 1000, 9000, 0 };
	static const int big_sent[] = { 0, 0, 1, 0 };
	uint8_t in[TPKT_MAX], out[TPKT_MAX];
	struct cidlb_counters c0, c1;
	struct cidlb_global g;
	size_t len, outlen;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(floors) / sizeof(floors[0]); i++) {
		assert_int_equal(cidlb_lb_set_mtu_floor(t->lb, floors[i]), 0);
		assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
		assert_int_equal(g.mtu_floor, floors[i]);
		c0 = tlb_counters(t);
		assert_int_equal(run(in, len = frame_to(5, 4, 1480, in), out, &outlen), XDP_TX);
		t_assert_sent(in, len, 14, out, outlen, 5, "198.18.10.2", 0, "fits the MTU");
		assert_int_equal(run(in, len = frame_to(5, 4, 1481, in), out, &outlen),
				 big_sent[i] ? XDP_TX : XDP_DROP);
		c1 = tlb_counters(t);
		assert_int_equal(c1.tx - c0.tx, 1 + big_sent[i]);
		assert_int_equal(c1.drop_mtu - c0.drop_mtu, !big_sent[i]);
	}
}

static void set_icmp_rate(uint32_t rate)
{
	struct cidlb_global g;

	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	g.icmp_rate = rate;
	assert_int_equal(cidlb_lb_set_global(t->lb, &g), 0);
}

/* Every CPU's Packet Too Big schedule back to none sent. */
static void reset_icmp_windows(void)
{
	int ncpu = libbpf_num_possible_cpus();
	struct cidlb_rate *v = calloc(ncpu, sizeof(*v));
	__u32 k = CIDLB_RATE_ICMP;

	assert_non_null(v);
	assert_int_equal(bpf_map_update_elem(cidlb_lb_map_fd(t->lb, CIDLB_M_RATE), &k, v, BPF_ANY),
			 0);
	free(v);
}

/*
 * The reply to the too-big frame `in` as the test computes it: to the
 * client's MAC from the LB's, from the VIP to the client, ICMP type 3
 * code 4 (IPv4: 576 octets) or ICMPv6 type 2 (1280) carrying mtu, then
 * the client's packet from its IP header, cut to fit. Both checksums are
 * computed here from the octets.
 */
static size_t too_big_tagged(const uint8_t *in, size_t l2, int family, uint32_t mtu, uint8_t *want)
{
	const uint8_t *ip = in + l2;
	uint8_t *h = want + l2, *icmp;
	size_t iplen = family == 4 ? 576 : 1280, hl = family == 4 ? 20 : 40, q = iplen - hl - 8;
	uint16_t sum;

	memset(want, 0, TPKT_MAX);
	memcpy(want, in + 6, 6);
	memcpy(want + 6, in, 6);
	memcpy(want + 12, in + 12, l2 - 12); /* tags and EtherType */
	icmp = h + hl;
	memcpy(icmp + 8, ip, q);
	if (family == 4) {
		h[0] = 0x45;
		h[1] = 0xc0;
		h[2] = iplen >> 8;
		h[3] = iplen & 0xff;
		h[8] = 64;
		h[9] = 1;
		memcpy(h + 12, ip + 16, 4); /* the VIP */
		memcpy(h + 16, ip + 12, 4); /* the client */
		sum = tcsum(h, 20);
		memcpy(h + 10, &sum, 2);
		icmp[0] = 3;
		icmp[1] = 4;
		icmp[6] = mtu >> 8;
		icmp[7] = mtu & 0xff;
		sum = tcsum(icmp, 8 + q);
	} else {
		uint8_t pseudo[TPKT_MAX] = { 0 };
		size_t plen = 8 + q;

		h[0] = 0x60;
		h[4] = plen >> 8;
		h[5] = plen & 0xff;
		h[6] = 58;
		h[7] = 64;
		memcpy(h + 8, ip + 24, 16);
		memcpy(h + 24, ip + 8, 16);
		icmp[0] = 2;
		icmp[4] = mtu >> 24;
		icmp[5] = mtu >> 16;
		icmp[6] = mtu >> 8;
		icmp[7] = mtu & 0xff;
		memcpy(pseudo, h + 8, 32);
		pseudo[34] = plen >> 8;
		pseudo[35] = plen & 0xff;
		pseudo[39] = 58;
		memcpy(pseudo + 40, icmp, plen);
		sum = tcsum(pseudo, 40 + plen);
	}
	memcpy(icmp + 2, &sum, 2);
	return l2 + iplen;
}

static size_t too_big_reply(const uint8_t *in, int family, uint32_t mtu, uint8_t *want)
{
	return too_big_tagged(in, 14, family, mtu, want);
}

/*
 * Too big for the tunnel: with icmp_rate set, the client gets ICMP
 * fragmentation needed / ICMPv6 Packet Too Big from the VIP with the MTU
 * it must use (the egress MTU 1500 less the outer header), by either way
 * of finding the next hop; not for an IPv4 datagram without DF; at most
 * icmp_rate a second on a CPU.
 */
static void test_too_big(void **state)
{
	uint8_t in[TPKT_MAX], out[TPKT_MAX], want[TPKT_MAX], own[6];
	struct cidlb_counters c;
	size_t len, wlen, outlen;
	int i;

	(void)state;
	pin_cpu(); /* the limit is per CPU */
	assert_int_equal(cidlb_lb_reset_counters(t->lb), 0);
	reset_icmp_windows();
	set_icmp_rate(100);

	/* IPv4 in IPv4 (FIB): 1481 + 20 > 1500, the client must use 1480 */
	len = frame_to(0, 4, 1481, in);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	wlen = too_big_reply(in, 4, 1480, want);
	t_assert_frame(out, outlen, want, wlen, "fragmentation needed, FIB next hop");
	assert_int_equal(tcsum(out + 14, 20), 0);
	assert_int_equal(tcsum(out + 34, 556), 0);
	/* configured MAC (bpf_check_mtu) */
	len = frame_to(5, 4, 1500, in);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	wlen = too_big_reply(in, 4, 1480, want);
	t_assert_frame(out, outlen, want, wlen, "fragmentation needed, configured MAC");
	/* IPv6 in IPv6: 1461 + 40 > 1500, 1460 */
	len = frame_to(4, 6, 1461, in);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	wlen = too_big_reply(in, 6, 1460, want);
	t_assert_frame(out, outlen, want, wlen, "Packet Too Big");
	/* IPv6 in IPv4: 1481 + 20 */
	len = frame_to(0, 6, 1481, in);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	wlen = too_big_reply(in, 6, 1480, want);
	t_assert_frame(out, outlen, want, wlen, "Packet Too Big, IPv4 tunnel");
	/* behind one and two VLAN tags: the tags stay */
	len = frame_tagged(0, 4, 1481, 1, in);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	wlen = too_big_tagged(in, 18, 4, 1480, want);
	t_assert_frame(out, outlen, want, wlen, "fragmentation needed, one VLAN tag");
	len = frame_tagged(4, 6, 1461, 2, in);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	wlen = too_big_tagged(in, 22, 6, 1460, want);
	t_assert_frame(out, outlen, want, wlen, "Packet Too Big, two VLAN tags");
	/* one that fits is forwarded as before */
	assert_int_equal(run(in, frame_to(0, 6, 1480, in), out, &outlen), XDP_TX);
	assert_int_equal(outlen, 14 + 20 + 1480);
	/* IPv4 without DF: the client lets routers fragment; dropped */
	len = frame_to(0, 4, 1481, in);
	in[14 + 6] &= ~0x40;
	in[14 + 10] = in[14 + 11] = 0;
	memcpy(in + 14 + 10, &(uint16_t){ tcsum(in + 14, 20) }, 2);
	assert_int_equal(run(in, len, out, &outlen), XDP_DROP);
	t_assert_frame(out, outlen, in, len, "no DF: dropped untouched");
	c = tlb_counters(t);
	assert_int_equal(c.tx_too_big, 6);
	assert_int_equal(c.drop_mtu, 1);
	assert_int_equal(c.tx, 1);
	assert_int_equal(c.too_big_limited, 0);
	assert_int_equal(tlb_verdicts(&c), 8);

	/* the limit: 2 a second, the third in the same second dropped */
	reset_icmp_windows();
	set_icmp_rate(2);
	len = frame_to(0, 4, 1481, in);
	for (i = 0; i < 3; i++)
		assert_int_equal(run(in, len, out, &outlen), i < 2 ? XDP_TX : XDP_DROP);
	/* 0: none at all */
	set_icmp_rate(0);
	reset_icmp_windows();
	assert_int_equal(run(in, len, out, &outlen), XDP_DROP);
	/* an ICMP error about a VIP's datagram, routed by its SCID to backend
	 * 0 and too big for the tunnel: dropped, never answered (RFC 1122
	 * 3.2.2: no ICMP error about an ICMP error) */
	set_icmp_rate(100);
	{
		static uint8_t quic[TPKT_MAX], quoted[TPKT_MAX], icmp[TPKT_MAX];
		struct tpkt_spec q = { .family = 4,
				       .src = T_VIP4,
				       .dst = T_CLIENT4,
				       .sport = T_VIP_PORT,
				       .dport = 40000,
				       .payload = quic };
		struct tpkt_spec e = { .family = 4,
				       .src = "198.18.10.2",
				       .dst = T_VIP4,
				       .proto = 1,
				       .payload = icmp };
		size_t n;

		q.payload_len = tquic_long(quic, 0xe0, 1, (const uint8_t *)"\xc1\xc2\xc3\xc4", 4,
					   (const uint8_t *)"\x07\x00\x00\x00\x01\x02\x03\x04", 8,
					   1481 - 20 - 8 - 20 - 8);
		n = tpkt_build(&q, quoted) - 14;
		memset(icmp, 0, 8);
		icmp[0] = 3;
		icmp[1] = 4;
		memcpy(icmp + 8, quoted + 14, n);
		e.payload_len = 8 + n;
		len = tpkt_build(&e, in);
		assert_int_equal(len, 14 + 1481);
		assert_int_equal(run(in, len, out, &outlen), XDP_DROP);
		t_assert_frame(out, outlen, in, len, "too big ICMP error: dropped untouched");
		/* 1480 octets fit */
		q.payload_len -= 1;
		n = tpkt_build(&q, quoted) - 14;
		memcpy(icmp + 8, quoted + 14, n);
		e.payload_len = 8 + n;
		len = tpkt_build(&e, in);
		assert_int_equal(run(in, len, out, &outlen), XDP_TX);
		dev_mac("in0", own);
		assert_sent(in, len, out, outlen, "198.18.10.2", nh_in_mac, own,
			    "ICMP error to the backend of its quoted SCID");
	}
	c = tlb_counters(t);
	assert_int_equal(c.tx_too_big, 8);
	assert_int_equal(c.too_big_limited, 1);
	assert_int_equal(c.drop_mtu, 4);
	assert_int_equal(c.route_icmp_cid, 2);
	unpin_cpu();
}

struct transit_case {
	const char *name;
	int family, proto, frag;
	const char *dst;
	uint16_t dport;
	int verdict; /* with CIDLB_GF_NO_TRANSIT */
	size_t cnt;  /* the verdict counter that moves */
};

#define CNT(f) offsetof(struct cidlb_counters, f)

/* Packets from the router on in0, the LB's interface: what the program
 * does not forward itself, the kernel would route out again; with
 * CIDLB_GF_NO_TRANSIT only what is addressed to this host gets through. */
static const struct transit_case transit_cases[] = {
	{ "UDP to a VIP address, not a VIP port", 4, 0, 0, T_VIP4, 53, XDP_DROP,
	  CNT(drop_not_local) },
	{ "TCP to the VIP", 4, 6, 0, T_VIP4, 443, XDP_DROP, CNT(drop_not_local) },
	{ "ICMP to the VIP", 4, 1, 0, T_VIP4, 0, XDP_DROP, CNT(drop_not_local) },
	{ "UDP to the backend network", 4, 0, 0, "198.18.11.2", 7778, XDP_DROP,
	  CNT(drop_not_local) },
	{ "later fragment to the backend network", 4, 0, 2, "198.18.11.2", 7778, XDP_DROP,
	  CNT(drop_not_local) },
	{ "IPv6 UDP to the backend network", 6, 0, 0, "fd00:11::2", 7778, XDP_DROP,
	  CNT(drop_not_local) },
	{ "IPv6 TCP to the VIP", 6, 6, 0, T_VIP6, 443, XDP_DROP, CNT(drop_not_local) },
	{ "UDP to the LB's own address", 4, 0, 0, "198.18.10.1", 7778, XDP_PASS,
	  CNT(pass_not_vip) },
	{ "UDP to the LB's address on another interface", 4, 0, 0, "198.18.11.1", 7778, XDP_PASS,
	  CNT(pass_not_vip) },
	{ "TCP to the LB's own address", 4, 6, 0, "198.18.10.1", 22, XDP_PASS, CNT(pass_not_udp) },
	{ "ICMP to the LB's own address", 4, 1, 0, "198.18.10.1", 0, XDP_PASS, CNT(pass_not_udp) },
	{ "later fragment to the LB's own address", 4, 0, 2, "198.18.10.1", 7778, XDP_PASS,
	  CNT(pass_frag_tail) },
	{ "subnet broadcast", 4, 0, 0, "198.18.10.255", 67, XDP_PASS, CNT(pass_not_vip) },
	{ "limited broadcast", 4, 0, 0, "255.255.255.255", 67, XDP_PASS, CNT(pass_not_vip) },
	{ "IPv4 multicast (VRRP, mDNS)", 4, 0, 0, "224.0.0.251", 5353, XDP_PASS,
	  CNT(pass_not_vip) },
	{ "IPv6 to the LB's own address", 6, 0, 0, "fd00:10::1", 7778, XDP_PASS,
	  CNT(pass_not_vip) },
	{ "IPv6 ICMP to all nodes (RA, NDP)", 6, 58, 0, "ff02::1", 0, XDP_PASS, CNT(pass_not_udp) },
	{ "IPv6 to a link-local address", 6, 0, 0, "fe80::1", 7778, XDP_PASS, CNT(pass_not_vip) },
};

static uint64_t cnt_at(const struct cidlb_counters *c, size_t off)
{
	return *(const uint64_t *)((const char *)c + off);
}

static void set_no_transit(int on)
{
	struct cidlb_global g;

	assert_int_equal(cidlb_lb_get_global(t->lb, &g), 0);
	g.flags = on ? g.flags | CIDLB_GF_NO_TRANSIT : g.flags & ~CIDLB_GF_NO_TRANSIT;
	assert_int_equal(cidlb_lb_set_global(t->lb, &g), 0);
}

static size_t transit_frame(const struct transit_case *c, uint8_t *frame)
{
	static const uint8_t l4[20] = { 0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02 };
	struct tpkt_spec s = { .family = c->family,
			       .proto = c->proto,
			       .frag = c->frag,
			       .sport = 40000,
			       .dport = c->dport,
			       .payload = l4,
			       .payload_len = c->proto ? 20 : 12 };

	s.src = c->family == 4 ? "198.18.10.2" : "fd00:10::2";
	s.dst = c->dst;
	return tpkt_build(&s, frame);
}

static void test_transit(void **state)
{
	uint8_t in[TPKT_MAX], out[TPKT_MAX];
	struct cidlb_counters before, after;
	size_t i, len, outlen;
	int on;

	(void)state;
	for (on = 0; on < 2; on++) {
		set_no_transit(on);
		for (i = 0; i < sizeof(transit_cases) / sizeof(transit_cases[0]); i++) {
			const struct transit_case *c = &transit_cases[i];
			int want = on ? c->verdict : XDP_PASS, rc;

			len = transit_frame(c, in);
			before = tlb_counters(t);
			rc = run(in, len, out, &outlen);
			after = tlb_counters(t);
			if (rc != want)
				print_error("%s (no_transit %d): verdict %d, want %d\n", c->name,
					    on, rc, want);
			assert_int_equal(rc, want);
			assert_int_equal(tlb_verdicts(&after) - tlb_verdicts(&before), 1);
			if (on || c->verdict == XDP_PASS)
				assert_int_equal(cnt_at(&after, c->cnt) - cnt_at(&before, c->cnt),
						 1);
			else
				assert_int_equal(after.drop_not_local, before.drop_not_local);
			assert_int_equal(outlen, len);
		}
		/* ARP: not IP, never looked up */
		memset(in, 0, 60);
		memset(in, 0xff, 6);
		memcpy(in + 6, nh_in_mac, 6);
		in[12] = 0x08, in[13] = 0x06;
		before = tlb_counters(t);
		assert_int_equal(run(in, 60, out, &outlen), XDP_PASS);
		after = tlb_counters(t);
		assert_int_equal(after.pass_not_ip - before.pass_not_ip, 1);
		/* and a packet to the VIP is forwarded as ever */
		assert_int_equal(run(in, frame_to(0, 4, 100, in), out, &outlen), XDP_TX);
		assert_int_equal(run(in, frame_to(4, 6, 100, in), out, &outlen), XDP_TX);
	}
	/* forwarding off on the ingress device: the kernel routes nothing */
	assert_int_equal(sh("sysctl -qw net.ipv4.conf.in0.forwarding=0"), 0);
	len = transit_frame(&transit_cases[0], in);
	assert_int_equal(run(in, len, out, &outlen), XDP_PASS);
	assert_int_equal(sh("sysctl -qw net.ipv4.conf.in0.forwarding=1"), 0);
	assert_int_equal(run(in, len, out, &outlen), XDP_DROP);
	set_no_transit(0);
}

/* The kernel has no neighbour entry (as while its neighbour hash table
 * grows: the lockless lookup misses even permanent entries), cidlbd's
 * copy in cidlb_neigh has one: forwarded with the copy's MACs, counted
 * in nh_cached; without the copy: drop_no_neigh. */
static void test_neigh_copy(void **state)
{
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0x10, 0x01 };
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0x10, 0x03 };
	struct cidlb_neigh_key k = { .ifindex = if_in,
				     .family = CIDLB_FAMILY_V4,
				     .addr = { 198, 18, 10, 3 } };
	struct cidlb_neigh n = {};
	uint8_t in[TPKT_MAX], out[TPKT_MAX];
	struct cidlb_counters c;
	size_t len, outlen;

	(void)state;
	assert_int_equal(cidlb_lb_reset_counters(t->lb), 0);
	memcpy(n.dmac, dmac, 6);
	memcpy(n.smac, smac, 6);
	assert_int_equal(cidlb_lb_set_neigh(t->lb, &k, &n), 0);
	len = frame_to(2, 4, 100, in);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	assert_sent(in, len, out, outlen, "198.18.10.3", dmac, smac, "MACs from cidlb_neigh");
	/* a copy for another device is not this next hop's */
	k.ifindex = if_out;
	assert_int_equal(cidlb_lb_set_neigh(t->lb, &k, &n), 0);
	k.ifindex = if_in;
	assert_int_equal(cidlb_lb_del_neigh(t->lb, &k), 0);
	assert_int_equal(run(in, frame_to(2, 4, 100, in), out, &outlen), XDP_DROP);
	/* a kernel entry wins over the copy */
	assert_int_equal(cidlb_lb_set_neigh(t->lb, &k, &n), 0);
	assert_int_equal(run(in, len = frame_to(0, 4, 100, in), out, &outlen), XDP_TX);
	t_assert_bytes(out, nh_in_mac, 6, "the kernel's entry, where it has one");
	assert_int_equal(outlen, len + 20);

	c = tlb_counters(t);
	assert_int_equal(c.tx, 2);
	assert_int_equal(c.nh_cached, 1);
	assert_int_equal(c.drop_no_neigh, 1);
	assert_int_equal(tlb_verdicts(&c), 3);
}

/* The next-hop cache (cidlb_nhcache, bpf/encap.h): on one CPU, a
 * backend's second packet takes the FIB's answer from the cache
 * (fib_cached), the same frame; a longer outer packet than the cache has
 * seen asks the FIB again; a change of the kernel's neighbour is seen at
 * once after cidlb_lb_next_hops_changed(), and without it once the tick
 * turns (2^26 ns: waited for here, at most 2 s); a new outer source moves
 * the generation too. */
static void test_nh_cache(void **state)
{
	static const uint8_t new_mac[6] = { 0x02, 0, 0, 0, 0x10, 0x09 };
	uint8_t in[TPKT_MAX], out[TPKT_MAX], own[6];
	struct cidlb_counters c;
	struct cidlb_global g, g0;
	size_t len, outlen;
	uint64_t hits;
	int turned = 0;

	(void)state;
	dev_mac("in0", own);
	pin_cpu();
	assert_int_equal(cidlb_lb_next_hops_changed(t->lb), 0);
	assert_int_equal(cidlb_lb_reset_counters(t->lb), 0);
	len = frame_to(0, 4, 100, in);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	assert_int_equal(tlb_counters(t).fib_cached, 0);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	assert_sent(in, len, out, outlen, "198.18.10.2", nh_in_mac, own, "next hop from the cache");
	assert_int_equal(tlb_counters(t).fib_cached, 1);
	/* 1400 octets: longer than the cache has seen, the FIB checks it */
	assert_int_equal(run(in, frame_to(0, 4, 1400, in), out, &outlen), XDP_TX);
	assert_int_equal(tlb_counters(t).fib_cached, 1);
	assert_int_equal(run(in, frame_to(0, 4, 1400, in), out, &outlen), XDP_TX);
	assert_int_equal(run(in, len = frame_to(0, 4, 100, in), out, &outlen), XDP_TX);
	assert_int_equal(tlb_counters(t).fib_cached, 3);

	/* the kernel's neighbour changes: told, the next packet asks again */
	assert_int_equal(sh("ip neigh replace 198.18.10.2 lladdr 02:00:00:00:10:09 dev in0"), 0);
	assert_int_equal(cidlb_lb_next_hops_changed(t->lb), 0);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	assert_sent(in, len, out, outlen, "198.18.10.2", new_mac, own,
		    "the new neighbour at once after cidlb_lb_next_hops_changed()");
	assert_int_equal(tlb_counters(t).fib_cached, 3);

	/* untold: within a tick or so */
	assert_int_equal(sh("ip neigh replace 198.18.10.2 lladdr 02:00:00:00:10:02 dev in0"), 0);
	for (int i = 0; i < 200 && !turned; i++) {
		assert_int_equal(run(in, len, out, &outlen), XDP_TX);
		turned = outlen > 6 && !memcmp(out, nh_in_mac, 6);
		if (!turned)
			usleep(10000);
	}
	assert_true(turned);
	assert_sent(in, len, out, outlen, "198.18.10.2", nh_in_mac, own,
		    "the kernel's neighbour once the tick turned");

	/* another outer source: another generation */
	hits = tlb_counters(t).fib_cached;
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	assert_int_equal(tlb_counters(t).fib_cached, hits + 1);
	assert_int_equal(cidlb_lb_get_global(t->lb, &g0), 0);
	g = g0;
	g.src4[3]++;
	assert_int_equal(cidlb_lb_set_global(t->lb, &g), 0);
	assert_int_equal(run(in, len, out, &outlen), XDP_TX);
	assert_int_equal(tlb_counters(t).fib_cached, hits + 1);
	assert_int_equal(cidlb_lb_set_global(t->lb, &g0), 0);

	c = tlb_counters(t);
	assert_int_equal(c.drop_no_neigh + c.drop_no_route + c.drop_mtu, 0);
	unpin_cpu();
}

/*
 * GUE backends need 12 octets more than IPIP (UDP and GUE headers): a
 * 1500 MTU takes 1468 inner octets over IPv4 (20 + 12 + 1468), 1448 over
 * IPv6 (40 + 12 + 1448); one more is answered with that MTU, by the FIB
 * and by the configured-MAC way (bpf_check_mtu).
 */
static void test_gue_mtu(void **state)
{
	static const struct {
		uint8_t sid;
		const char *addr;
		int mode;
		size_t fits;
	} cases[] = {
		{ 6, "198.18.10.2", CIDLB_FWD_ENCAP_FIB, 1468 },
		{ 7, "fd00:10::2", CIDLB_FWD_ENCAP_FIB, 1448 },
		{ 8, "198.18.10.2", CIDLB_FWD_ENCAP_MAC, 1468 },
	};
	uint8_t in[TPKT_MAX], out[TPKT_MAX], want[TPKT_MAX], mac[6], bmac[6];
	struct tpkt_outer o = { .ttl = 64, .gue_port = 6080 };
	struct cidlb_counters c;
	size_t len, wlen, outlen, i;

	(void)state;
	pin_cpu();
	assert_int_equal(cidlb_lb_reset_counters(t->lb), 0);
	reset_icmp_windows();
	set_icmp_rate(100);
	dev_mac("in0", mac);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fam = strchr(cases[i].addr, ':') ? 6 : 4;

		tlb_backend_gue(t, cases[i].sid, cases[i].addr, cases[i].mode, CIDLB_BE_ACTIVE,
				6080);
		tlb_sid(t, 0, (uint8_t[]){ 0, 0, cases[i].sid }, 3, cases[i].sid);
		/* fits: the whole GUE frame */
		len = frame_to(cases[i].sid, fam, cases[i].fits, in);
		assert_int_equal(run(in, len, out, &outlen), XDP_TX);
		assert_int_equal(outlen, 14 + cases[i].fits + (fam == 4 ? 32 : 52));
		o.family = fam;
		o.src = fam == 4 ? T_LB4 : T_LB6;
		o.dst = cases[i].addr;
		if (cases[i].mode == CIDLB_FWD_ENCAP_MAC) {
			memcpy(bmac, t_backend_mac, 6);
			bmac[4] = cases[i].sid;
			o.dmac = bmac;
			o.smac = tpkt_lb_mac; /* the frame's destination */
		} else {
			o.dmac = nh_in_mac;
			o.smac = mac;
		}
		wlen = tpkt_expect(&o, in, len, 14, want);
		t_assert_frame(out, outlen, want, wlen, "GUE frame of the largest size");
		/* one octet more: too big, the MTU less 52 or 72 */
		len = frame_to(cases[i].sid, fam, cases[i].fits + 1, in);
		assert_int_equal(run(in, len, out, &outlen), XDP_TX);
		wlen = too_big_reply(in, fam, cases[i].fits, want);
		t_assert_frame(out, outlen, want, wlen, "too big for the GUE tunnel");
	}
	c = tlb_counters(t);
	assert_int_equal(c.tx, 3);
	assert_int_equal(c.tx_too_big, 3);
	assert_int_equal(tlb_verdicts(&c), 6);
	set_icmp_rate(0);
	unpin_cpu();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fib_paths), cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_transit),	  cmocka_unit_test(test_neigh_copy),
		cmocka_unit_test(test_nh_cache),  cmocka_unit_test(test_gue_mtu),
		cmocka_unit_test(test_mtu_floor),
	};

	return cmocka_run_group_tests_name("fib", tests, setup, teardown);
}
