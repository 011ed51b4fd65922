// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * health.c - health checks of the backends' QUIC servers, on a thread of
 * their own.
 *
 * A probe takes the path of a client's packet: a QUIC long-header packet
 * of a reserved version (0x?a?a?a?a, RFC 9000 section 15), padded to 1,200
 * octets, in UDP from the LB's own address (source4/source6) and a port
 * this process owns to the first VIP, inside an IPIP or IP6IP6 packet to
 * the backend (a raw socket; the kernel writes the outer header), for
 * encap = gue after a GUE header in UDP to the backend's gue_port (a UDP
 * socket), or for mode = direct in an Ethernet frame to the backend's MAC. The
 * backend decapsulates it, its QUIC server answers an unknown version with
 * a Version Negotiation packet to the LB's address and port. An answer
 * counts only when it is a VN packet that echoes the probe's random
 * connection IDs (8 octets each, new for each probe) and comes from the
 * VIP, so that nobody keeps a dead backend up by sending packets.
 *
 * health_fall probes in a row unanswered within health_timeout make a
 * backend down; health_rise answered ones make it up again; a backend
 * just added (or whose address changed) is unknown until its first
 * answer or health_fall failures. A down backend leaves the Maglev table
 * (apply.c, publish_maglev) unless every backend would be down.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "daemon.h"
#include "ctl/log.h"

#define PROBE_LEN     1200 /* QUIC payload of a probe (RFC 9000 section 14.1) */
#define PROBE_CID_LEN 8
#define WAIT_MAX_MS   1000 /* look at the configuration at least this often */

struct hparams {
	bool on;
	uint64_t interval_ns, timeout_ns;
	uint32_t fall, rise;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const char *health_state_str(uint8_t state)
{
	switch (state) {
	case HEALTH_UP:
		return "up";
	case HEALTH_DOWN:
		return "down";
	case HEALTH_OFF:
		return "off";
	default:
		return "unknown";
	}
}

/* The backend's own value of each key, else [lb]'s. */
static void params_of(const struct cidlb_conf *c, const struct cidlb_conf_backend *b,
		      struct hparams *p)
{
	uint32_t iv = b->has_health_interval ? b->health_interval : c->health_interval;
	uint32_t to = b->has_health_timeout ? b->health_timeout : c->health_timeout;

	p->on = b->has_health ? b->health : c->health;
	if (to > iv)
		to = iv;
	p->interval_ns = (uint64_t)iv * 1000000ULL;
	p->timeout_ns = (uint64_t)to * 1000000ULL;
	p->fall = b->has_health_fall ? b->health_fall : c->health_fall;
	p->rise = b->has_health_rise ? b->health_rise : c->health_rise;
}

static struct health_be *find(struct daemon *d, const char *name, int hint)
{
	int i;

	if (hint >= 0 && hint < d->n_health && !strcmp(d->health[hint].name, name))
		return &d->health[hint];
	for (i = 0; i < d->n_health; i++)
		if (!strcmp(d->health[i].name, name))
			return &d->health[i];
	return NULL;
}

uint8_t health_of(struct daemon *d, const char *name, int hint)
{
	const struct health_be *h = find(d, name, hint);

	return h ? h->state : HEALTH_UNKNOWN;
}

uint64_t health_transitions(struct daemon *d, const char *name, int hint)
{
	const struct health_be *h = find(d, name, hint);

	return h ? h->transitions : 0;
}

/* One entry per backend of d->conf, in its order: a backend keeps its
 * state while its name and address stay; new ones are unknown. *table:
 * a backend stopped being down (health turned off, a new address), so
 * the Maglev table must take it back. Under d->lock; false when out of
 * memory (the old entries stay). */
static bool sync_backends(struct daemon *d, bool *table)
{
	const struct cidlb_conf *c = d->conf;
	struct health_be *n = calloc((size_t)c->n_backends + 1, sizeof(*n));
	int i;

	if (!n)
		return false;
	for (i = 0; i < c->n_backends; i++) {
		const struct cidlb_conf_backend *b = &c->backends[i];
		const struct health_be *o = find(d, b->name, i);
		struct hparams p;

		params_of(c, b, &p);
		if (o && o->family == b->family && !memcmp(o->addr, b->addr, 16)) {
			n[i] = *o;
		} else {
			snprintf(n[i].name, sizeof(n[i].name), "%s", b->name);
			n[i].family = b->family;
			memcpy(n[i].addr, b->addr, 16);
			n[i].state = HEALTH_UNKNOWN;
		}
		if (!p.on) {
			n[i].state = HEALTH_OFF;
			n[i].outstanding = false;
		} else if (n[i].state == HEALTH_OFF) {
			n[i].state = HEALTH_UNKNOWN;
			n[i].ok_run = n[i].fail_run = 0;
		}
		if (o && o->state == HEALTH_DOWN && n[i].state != HEALTH_DOWN)
			*table = true;
	}
	free(d->health);
	d->health = n;
	d->n_health = c->n_backends;
	d->health_gen = d->conf_gen;
	return true;
}

/* ---- the probe ----------------------------------------------------------------- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The inner packet (IPv4 or IPv6, UDP, QUIC) of a probe from @src:@sport
 * to the VIP @vk, with @h's connection IDs, into @buf: its length.
 */
static size_t build_probe(uint8_t *buf, const struct health_be *h, const struct cidlb_vip_key *vk,
			  const uint8_t *src, uint16_t sport, uint32_t version)
{
	bool v6 = vk->family == CIDLB_FAMILY_V6;
	size_t ihl = v6 ? 40 : 20, udp_len = 8 + PROBE_LEN, alen = v6 ? 16 : 4;
	uint8_t *udp = buf + ihl, *q = udp + 8;
	uint32_t sum;

	memset(buf, 0, ihl + udp_len);
	/* QUIC: long header, reserved version, DCID and SCID, then padding */
	q[0] = 0xc0;
	q[1] = (uint8_t)(version >> 24);
	q[2] = (uint8_t)(version >> 16);
	q[3] = (uint8_t)(version >> 8);
	q[4] = (uint8_t)version;
	q[5] = PROBE_CID_LEN;
	memcpy(q + 6, h->dcid, PROBE_CID_LEN);
	q[6 + PROBE_CID_LEN] = PROBE_CID_LEN;
	memcpy(q + 7 + PROBE_CID_LEN, h->scid, PROBE_CID_LEN);
	/* UDP */
	memcpy(udp, &sport, 2);
	memcpy(udp + 2, &vk->port, 2);
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;
	/* IP */
	if (v6) {
		buf[0] = 0x60;
		buf[4] = (uint8_t)(udp_len >> 8);
		buf[5] = (uint8_t)udp_len;
		buf[6] = IPPROTO_UDP;
		buf[7] = 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, vk->addr, 16);
	} else {
		size_t tot = ihl + udp_len;

		buf[0] = 0x45;
		buf[2] = (uint8_t)(tot >> 8);
		buf[3] = (uint8_t)tot;
		buf[6] = 0x40; /* DF */
		buf[8] = 64;
		buf[9] = IPPROTO_UDP;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, vk->addr, 4);
		sum = csum_fold(csum_add(0, buf, 20));
		buf[10] = (uint8_t)(sum >> 8);
		buf[11] = (uint8_t)sum;
	}
	/* UDP checksum over the pseudo-header */
	sum = csum_add(0, src, alen);
	sum = csum_add(sum, vk->addr, alen);
	sum += IPPROTO_UDP + (uint32_t)udp_len;
	sum = csum_fold(csum_add(sum, udp, udp_len));
	if (!sum)
		sum = 0xffff;
	udp[6] = (uint8_t)(sum >> 8);
	udp[7] = (uint8_t)sum;
	return ihl + udp_len;
}

/* The raw socket for outer family @v6o carrying inner family @v6i. */
static int raw_fd(struct daemon *d, bool v6o, bool v6i)
{
	int *fd = &d->health_raw[v6o][v6i];
	/* classic BPF "return 0": the socket receives nothing */
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop };

	if (*fd >= 0)
		return *fd;
	*fd = socket(v6o ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		     v6i ? IPPROTO_IPV6 : IPPROTO_IPIP);
	if (*fd < 0)
		return -errno;
	setsockopt(*fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	return *fd;
}

/* The UDP socket for GUE over outer family @v6o; it takes no answers. */
static int gue_fd(struct daemon *d, bool v6o)
{
	int *fd = &d->health_gue[v6o];
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop };

	if (*fd >= 0)
		return *fd;
	*fd = socket(v6o ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd < 0)
		return -errno;
	setsockopt(*fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	return *fd;
}

/* mode = direct: the inner packet @buf in an Ethernet frame to the
 * backend's MAC, out of the first interface cidlb is attached to (where
 * the XDP program sends direct backends' packets back out, XDP_TX). */
static int send_direct(struct daemon *d, const struct cidlb_conf_backend *b, const uint8_t *buf,
		       size_t len, bool v6i)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_halen = 6 };

	if (!d->n_ifs)
		return -ENODEV;
	if (d->health_pkt < 0) {
		/* protocol 0: the socket receives nothing */
		d->health_pkt = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (d->health_pkt < 0)
			return -errno;
	}
	ll.sll_ifindex = d->ifs[0].ifindex;
	ll.sll_protocol = htons(v6i ? ETH_P_IPV6 : ETH_P_IP);
	memcpy(ll.sll_addr, b->mac, 6);
	if (sendto(d->health_pkt, buf, len, 0, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		return -errno;
	return 0;
}

/* Send @h a new probe (new connection IDs); 0 or a negative errno. */
static int send_probe(struct daemon *d, struct health_be *h, const struct cidlb_conf_backend *b)
{
	const struct cidlb_conf *c = d->conf;
	const struct cidlb_vip_key *vk;
	bool v6i, v6o = b->family == CIDLB_FAMILY_V6, gue = b->encap == CIDLB_ENCAP_GUE;
	uint8_t buf[40 + 8 + PROBE_LEN], rnd[2 * PROBE_CID_LEN + 4], hdr[4] = { 0 };
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct sockaddr_storage to = { 0 };
	struct iovec iov[2];
	struct msghdr m = { 0 };
	struct cmsghdr *cm;
	uint32_t version;
	size_t len;
	int fd, ttl;

	int i;

	/* the first VIP of its pool: the one its decapsulation accepts */
	for (i = 0; i < c->n_vips && c->vips[i].pool != b->pool; i++)
		;
	if (i == c->n_vips)
		return -EDESTADDRREQ;
	vk = &c->vips[i].key;
	v6i = vk->family == CIDLB_FAMILY_V6;
	if ((v6i && !c->has_src6) || (!v6i && !c->has_src4) ||
	    (!b->direct && ((v6o && !c->has_src6) || (!v6o && !c->has_src4))))
		return -EADDRNOTAVAIL;
	if (d->health_udp < 0)
		return -ENOTCONN;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EAGAIN;
	memcpy(h->dcid, rnd, PROBE_CID_LEN);
	memcpy(h->scid, rnd + PROBE_CID_LEN, PROBE_CID_LEN);
	/* 0x?a?a?a?a: reserved for exercising version negotiation */
	memcpy(&version, rnd + 2 * PROBE_CID_LEN, 4);
	version = (version & 0xf0f0f0f0u) | 0x0a0a0a0au;
	h->vkey = *vk;
	len = build_probe(buf, h, vk, v6i ? c->src6 : c->src4, d->health_port, version);
	if (b->direct)
		return send_direct(d, b, buf, len, v6i);

	fd = gue ? gue_fd(d, v6o) : raw_fd(d, v6o, v6i);
	if (fd < 0)
		return fd;
	ttl = c->ttl; /* the outer TTL / hop limit, as the XDP program's */
	if (setsockopt(fd, v6o ? IPPROTO_IPV6 : IPPROTO_IP, v6o ? IPV6_UNICAST_HOPS : IP_TTL, &ttl,
		       sizeof(ttl)))
		return -errno;
	/* GUE: version 0, no options, the inner protocol, no flags */
	hdr[1] = v6i ? IPPROTO_IPV6 : IPPROTO_IPIP;
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = buf;
	iov[1].iov_len = len;
	m.msg_iov = gue ? iov : iov + 1;
	m.msg_iovlen = gue ? 2 : 1;
	m.msg_name = &to;
	m.msg_control = cbuf;
	cm = (struct cmsghdr *)cbuf;
	if (v6o) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&to;
		struct in6_pktinfo pi = { 0 };

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, b->addr, 16);
		if (gue)
			s6->sin6_port = b->gue_port;
		m.msg_namelen = sizeof(*s6);
		memcpy(&pi.ipi6_addr, c->src6, 16);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		m.msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&to;
		struct in_pktinfo pi = { 0 };

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, b->addr, 4);
		if (gue)
			s4->sin_port = b->gue_port;
		m.msg_namelen = sizeof(*s4);
		memcpy(&pi.ipi_spec_dst, c->src4, 4);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		m.msg_controllen = CMSG_SPACE(sizeof(pi));
	}
	if (sendmsg(fd, &m, 0) < 0)
		return -errno;
	return 0;
}

/* ---- the state machine ----------------------------------------------------- */

static void set_state(struct daemon *d, struct health_be *h, uint8_t state, bool *table)
{
	uint8_t old = h->state;

	if (old == state)
		return;
	h->state = state;
	h->transitions++;
	if (old == HEALTH_DOWN || state == HEALTH_DOWN)
		*table = true;
	if (state == HEALTH_DOWN)
		pr_warn("backend %s: health down (%u probes in a row unanswered): no new connections",
			h->name, h->fail_run);
	else
		pr_info("backend %s: health %s (was %s)", h->name, health_state_str(state),
			health_state_str(old));
	(void)d;
}

static void probe_result(struct daemon *d, struct health_be *h, const struct hparams *p, bool ok,
			 bool *table)
{
	h->outstanding = false;
	if (ok) {
		h->fail_run = 0;
		h->ok_run++;
		if (h->state == HEALTH_UNKNOWN || (h->state == HEALTH_DOWN && h->ok_run >= p->rise))
			set_state(d, h, HEALTH_UP, table);
	} else {
		h->ok_run = 0;
		h->fail_run++;
		if (h->state != HEALTH_DOWN && h->fail_run >= p->fall)
			set_state(d, h, HEALTH_DOWN, table);
	}
}

/* Due timeouts and probes; the ns until the next thing is due. Under d->lock. */
static uint64_t health_pass(struct daemon *d, bool *table)
{
	uint64_t now = mono_ns(), wait = (uint64_t)WAIT_MAX_MS * 1000000ULL;
	int i;

	for (i = 0; i < d->n_health && i < d->conf->n_backends; i++) {
		struct health_be *h = &d->health[i];
		const struct cidlb_conf_backend *b = &d->conf->backends[i];
		struct hparams p;
		int err;

		if (h->state == HEALTH_OFF)
			continue;
		params_of(d->conf, b, &p);
		if (h->outstanding && now >= h->deadline_ns)
			probe_result(d, h, &p, false, table);
		if (!h->outstanding && now >= h->next_ns) {
			err = send_probe(d, h, b);
			h->next_ns = now + p.interval_ns;
			if (err && err != h->last_err)
				pr_warn("backend %s: cannot send a health probe: %s", h->name,
					err == -EDESTADDRREQ ?
						"no VIP to probe" :
					err == -EADDRNOTAVAIL ?
						"[lb] source4/source6 missing for the VIP's or the backend's family" :
						strerror(-err));
			h->last_err = err;
			if (!err) {
				h->outstanding = true;
				h->deadline_ns = now + p.timeout_ns;
			} else if (err == -ENETUNREACH || err == -EHOSTUNREACH ||
				   err == -EHOSTDOWN) {
				/* no way to the backend: a failed probe (what
				 * cidlbd lacks itself decides nothing) */
				probe_result(d, h, &p, false, table);
			}
		}
		if (h->outstanding && h->deadline_ns - now < wait)
			wait = h->deadline_ns - now;
		if (!h->outstanding && h->next_ns > now && h->next_ns - now < wait)
			wait = h->next_ns - now;
	}
	return wait;
}

/*
 * A datagram from @from to the probe port counts if it is a Version
 * Negotiation packet (RFC 9000 section 17.2.1) answering an outstanding
 * probe: from the VIP it went to, its connection IDs swapped. Under d->lock.
 */
static void answer(struct daemon *d, const uint8_t *pkt, size_t len,
		   const struct sockaddr_storage *from, bool *table)
{
	const size_t hdr = 7 + 2 * PROBE_CID_LEN;
	uint8_t faddr[16] = { 0 }, ffam;
	uint16_t fport;
	int i;

	if (len < hdr + 4 || (len - hdr) % 4 || !(pkt[0] & 0x80) || pkt[1] || pkt[2] || pkt[3] ||
	    pkt[4] || pkt[5] != PROBE_CID_LEN || pkt[6 + PROBE_CID_LEN] != PROBE_CID_LEN)
		return;
	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)from;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			ffam = CIDLB_FAMILY_V4;
			memcpy(faddr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			ffam = CIDLB_FAMILY_V6;
			memcpy(faddr, s6->sin6_addr.s6_addr, 16);
		}
		fport = s6->sin6_port;
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)from;

		ffam = CIDLB_FAMILY_V4;
		memcpy(faddr, &s4->sin_addr, 4);
		fport = s4->sin_port;
	}
	for (i = 0; i < d->n_health && i < d->conf->n_backends; i++) {
		struct health_be *h = &d->health[i];
		struct hparams p;

		/* the answer's DCID is the probe's SCID and the other way round */
		if (!h->outstanding || memcmp(pkt + 6, h->scid, PROBE_CID_LEN) ||
		    memcmp(pkt + 7 + PROBE_CID_LEN, h->dcid, PROBE_CID_LEN))
			continue;
		if (h->vkey.family != ffam || memcmp(h->vkey.addr, faddr, 16) ||
		    h->vkey.port != fport)
			return;
		params_of(d->conf, &d->conf->backends[i], &p);
		probe_result(d, h, &p, true, table);
		return;
	}
}

static void read_answers(struct daemon *d, bool *table)
{
	uint8_t pkt[1500];
	int n;

	for (n = 0; n < 256; n++) {
		struct sockaddr_storage from = { 0 };
		socklen_t flen = sizeof(from);
		ssize_t len = recvfrom(d->health_udp, pkt, sizeof(pkt), MSG_DONTWAIT,
				       (struct sockaddr *)&from, &flen);

		if (len < 0)
			return;
		answer(d, pkt, (size_t)len, &from, table);
	}
}

static void *health_main(void *arg)
{
	struct daemon *d = arg;
	struct pollfd pf[2] = { { .fd = d->health_udp, .events = POLLIN },
				{ .fd = d->health_wake, .events = POLLIN } };
	bool table = false;
	uint64_t wait;

	for (;;) {
		pthread_mutex_lock(&d->lock);
		if (d->health_stop) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		if (d->health_gen != d->conf_gen)
			sync_backends(d, &table);
		if (pf[0].revents & POLLIN)
			read_answers(d, &table);
		wait = health_pass(d, &table);
		if (table) {
			char why[256];

			table = false;
			if (health_publish(d, why, sizeof(why)))
				pr_err("health: %s", why);
		}
		pthread_mutex_unlock(&d->lock);
		if (poll(pf, 2, (int)((wait + 999999) / 1000000)) < 0 && errno != EINTR)
			break;
		if (pf[1].revents & POLLIN) {
			uint64_t v;

			if (read(d->health_wake, &v, sizeof(v)) < 0)
				continue;
		}
	}
	return NULL;
}

/* ---- start and stop -------------------------------------------------------- */

/* The port answers come to: a dual-stack socket, else IPv4 only. */
static int open_udp(struct daemon *d)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	struct sockaddr_storage me;
	socklen_t len = sizeof(me);
	int fd, off = 0;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
			bind(fd, (struct sockaddr *)&a6, sizeof(a6)))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a4, sizeof(a4))) {
			int err = -errno;

			if (fd >= 0)
				close(fd);
			return err;
		}
	}
	if (getsockname(fd, (struct sockaddr *)&me, &len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	d->health_port = me.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port :
						    ((struct sockaddr_in *)&me)->sin_port;
	d->health_udp = fd;
	return 0;
}

int health_start(struct daemon *d)
{
	int err;

	d->health_raw[0][0] = d->health_raw[0][1] = -1;
	d->health_raw[1][0] = d->health_raw[1][1] = -1;
	d->health_udp = d->health_pkt = -1;
	d->health_gue[0] = d->health_gue[1] = -1;
	d->health_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->health_wake < 0)
		return -errno;
	err = open_udp(d);
	if (err)
		pr_warn("health checks: cannot open the UDP socket for answers: %s; every backend stays unknown",
			strerror(-err));
	else
		pr_debug("health checks: answers come to UDP port %u", ntohs(d->health_port));
	err = pthread_create(&d->health_thread, NULL, health_main, d);
	if (err) {
		pr_err("health checks: cannot start the thread: %s", strerror(err));
		return -err;
	}
	d->health_running = true;
	return 0;
}

void health_stop(struct daemon *d)
{
	uint64_t one = 1;
	int i;

	if (d->health_running) {
		pthread_mutex_lock(&d->lock);
		d->health_stop = true;
		pthread_mutex_unlock(&d->lock);
		if (write(d->health_wake, &one, sizeof(one)) < 0)
			pr_debug("health: wake: %s", strerror(errno));
		pthread_join(d->health_thread, NULL);
		d->health_running = false;
	}
	for (i = 0; i < 4; i++) {
		int *fd = &d->health_raw[i / 2][i % 2];

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	for (i = 0; i < 2; i++) {
		if (d->health_gue[i] >= 0)
			close(d->health_gue[i]);
		d->health_gue[i] = -1;
	}
	if (d->health_udp >= 0)
		close(d->health_udp);
	if (d->health_pkt >= 0)
		close(d->health_pkt);
	if (d->health_wake >= 0)
		close(d->health_wake);
	d->health_udp = d->health_pkt = d->health_wake = -1;
	free(d->health);
	d->health = NULL;
	d->n_health = 0;
}
