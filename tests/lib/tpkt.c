// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tpkt.h"
#include "cidlb_hash.h"

const uint8_t tpkt_client_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0c };
const uint8_t tpkt_lb_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x1b };

int tpkt_addr(int family, const char *text, uint8_t addr[16])
{
	memset(addr, 0, 16);
	return inet_pton(family == 4 ? AF_INET : AF_INET6, text, addr) == 1 ? 0 : -1;
}

size_t thex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (hex[0] && hex[1] && n < cap) {
		unsigned int b;

		if (sscanf(hex, "%2x", &b) != 1)
			break;
		out[n++] = b;
		hex += 2;
	}
	return n;
}

uint16_t tcsum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

size_t tpkt_l2_len(const struct tpkt_spec *s)
{
	return 14 + 4 * s->vlans;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

size_t tpkt_build(const struct tpkt_spec *s, uint8_t *buf)
{
	size_t off = 12, l4len, iplen, hl;
	uint16_t tags[3] = { 0x88a8, 0x8100, 0x8100 };
	int i, proto = s->proto ? s->proto : 17;
	uint8_t *ip, *udp;

	memset(buf, 0, TPKT_MAX);
	memcpy(buf, tpkt_lb_mac, 6);
	memcpy(buf + 6, tpkt_client_mac, 6);
	for (i = 0; i < s->vlans; i++) {
		put16(buf + off, s->vlans == 1 ? 0x8100 : tags[i]);
		put16(buf + off + 2, 100 + i);
		off += 4;
	}
	put16(buf + off, s->family == 4 ? 0x0800 : 0x86dd);
	off += 2;
	ip = buf + off;
	l4len = s->proto ? s->payload_len : 8 + s->payload_len;
	if (s->family == 4) {
		hl = 20 + s->ip_opts;
		iplen = hl + l4len;
		ip[0] = 0x40 | (hl / 4);
		ip[1] = s->tos;
		put16(ip + 2, iplen);
		put16(ip + 4, 0x1234);
		put16(ip + 6, s->frag == 1 ? 0x2000 : s->frag == 2 ? 0x0010 : 0x4000);
		ip[8] = 64;
		ip[9] = proto;
		{ /* tpkt_addr writes 16 octets: go through a buffer */
			uint8_t a[16];

			tpkt_addr(4, s->src, a);
			memcpy(ip + 12, a, 4);
			tpkt_addr(4, s->dst, a);
			memcpy(ip + 16, a, 4);
		}
		for (i = 0; i < s->ip_opts; i++)
			ip[20 + i] = 1; /* NOP options */
		put16(ip + 10, 0);
		memcpy(ip + 10, &(uint16_t){ tcsum(ip, hl) }, 2);
	} else {
		size_t ext = 8 * (size_t)(s->ext6_n + !!s->frag);
		uint8_t *next = ip + 6, *e = ip + 40;

		hl = 40 + ext;
		iplen = hl + l4len;
		ip[0] = 0x60 | (s->tos >> 4);
		ip[1] = (s->tos & 0xf) << 4;
		put16(ip + 4, iplen - 40);
		ip[7] = 64;
		tpkt_addr(6, s->src, ip + 8);
		tpkt_addr(6, s->dst, ip + 24);
		for (i = 0; i < s->ext6_n; i++, e += 8) {
			*next = s->ext6[i];
			next = e;
			if (s->ext6[i] == 43) {
				e[2] = 253; /* experimental type, segments left 0 */
			} else if (s->ext6[i] != 44) {
				e[2] = 1; /* PadN over the 6 octets left */
				e[3] = 4;
			}
		}
		if (s->frag) {
			*next = 44;
			next = e;
			put16(e + 2, s->frag == 1 ? 0x0001 : 0x0010);
			put16(e + 4, 0x1234);
		}
		*next = proto;
	}
	udp = ip + hl;
	if (!s->proto) {
		put16(udp, s->sport);
		put16(udp + 2, s->dport);
		put16(udp + 4, 8 + s->payload_len);
		udp += 8;
	}
	if (s->payload_len) /* an empty payload may be NULL */
		memcpy(udp, s->payload, s->payload_len);
	return off + iplen;
}

size_t tquic_short(uint8_t *out, uint8_t first, const uint8_t *cid, size_t cid_len, size_t total)
{
	size_t n = 1 + cid_len;

	out[0] = first;
	memcpy(out + 1, cid, cid_len);
	if (total > n) {
		memset(out + n, 0xaa, total - n);
		n = total;
	}
	return n;
}

size_t tquic_long(uint8_t *out, uint8_t first, uint32_t version, const uint8_t *dcid,
		  uint8_t dcid_len, const uint8_t *scid, uint8_t scid_len, size_t total)
{
	size_t n = 0;

	out[n++] = first;
	out[n++] = version >> 24;
	out[n++] = version >> 16;
	out[n++] = version >> 8;
	out[n++] = version;
	out[n++] = dcid_len;
	if (dcid_len) /* memcpy from NULL is undefined even for 0 octets */
		memcpy(out + n, dcid, dcid_len);
	n += dcid_len;
	out[n++] = scid_len;
	if (scid_len)
		memcpy(out + n, scid, scid_len);
	n += scid_len;
	if (total > n) {
		memset(out + n, 0x55, total - n);
		n = total;
	}
	return n;
}

/* Offset of the UDP header of a built frame's IP packet: after the IPv4
 * header, or after the IPv6 header and its extension headers. */
static size_t l4_offset(const uint8_t *ip, size_t iplen, int *family)
{
	size_t off;
	uint8_t next;
	int i;

	if ((ip[0] >> 4) == 4) {
		*family = 4;
		return (ip[0] & 0xf) * 4;
	}
	*family = 6;
	off = 40;
	next = ip[6];
	for (i = 0; i < 8 && next != 17 && off + 8 <= iplen; i++) {
		if (next == 44) {
			next = ip[off];
			off += 8;
		} else if (next == 0 || next == 43 || next == 60) {
			next = ip[off];
			off += (ip[off + 1] + 1) * 8;
		} else {
			break;
		}
	}
	return off;
}

/* The flow key of a built frame: inner addresses and UDP ports. */
static void flow_key(const uint8_t *in, size_t inlen, size_t l2_len, struct cidlb_flow_key *k)
{
	const uint8_t *ip = in + l2_len;
	size_t l4;
	int fam;

	memset(k, 0, sizeof(*k));
	l4 = l4_offset(ip, inlen - l2_len, &fam);
	if (fam == 4) {
		memcpy(k->src, ip + 12, 4);
		memcpy(k->dst, ip + 16, 4);
	} else {
		memcpy(k->src, ip + 8, 16);
		memcpy(k->dst, ip + 24, 16);
	}
	memcpy(&k->sport, ip + l4, 2);
	memcpy(&k->dport, ip + l4 + 2, 2);
	k->family = fam == 4 ? CIDLB_FAMILY_V4 : CIDLB_FAMILY_V6;
}

uint32_t tpkt_flow_label(const uint8_t *in, size_t inlen, size_t l2_len)
{
	struct cidlb_flow_key k __attribute__((aligned(8)));

	flow_key(in, inlen, l2_len, &k);
	return cidlb_flow_label(&k);
}

uint16_t tpkt_gue_sport(const uint8_t *in, size_t inlen, size_t l2_len)
{
	struct cidlb_flow_key k __attribute__((aligned(8)));

	flow_key(in, inlen, l2_len, &k);
	return cidlb_gue_sport(&k);
}

size_t tpkt_expect(const struct tpkt_outer *o, const uint8_t *in, size_t inlen, size_t l2_len,
		   uint8_t *out)
{
	const uint8_t *ip = in + l2_len;
	size_t iplen, olen = o->family == 4 ? 20 : o->family == 6 ? 40 : 0;
	size_t glen = o->family && o->gue_port ? 12 : 0; /* UDP + GUE */
	int inner = ip[0] >> 4;
	uint8_t tos, *h = out + l2_len, *u = h + olen;
	uint16_t sum;

	memset(out, 0, TPKT_MAX);
	memcpy(out, o->dmac, 6);
	memcpy(out + 6, o->smac, 6);
	memcpy(out + 12, in + 12, l2_len - 12);
	memcpy(out + l2_len + olen + glen, ip, inlen - l2_len);
	if (!o->family)
		return inlen;
	/* the IP packet's own length, not the Ethernet padding after it */
	if (inner == 4) {
		iplen = (size_t)(ip[2] << 8 | ip[3]);
		tos = ip[1];
	} else {
		iplen = (size_t)(ip[4] << 8 | ip[5]) + 40;
		tos = (uint8_t)((ip[0] & 0xf) << 4 | ip[1] >> 4);
	}
	put16(out + l2_len - 2, o->family == 4 ? 0x0800 : 0x86dd);
	if (glen) {
		put16(u, tpkt_gue_sport(in, inlen, l2_len));
		put16(u + 2, o->gue_port);
		put16(u + 4, iplen + glen);
		put16(u + 6, 0); /* no UDP checksum */
		u[8] = 0;	 /* version 0, C 0, hlen 0 */
		u[9] = inner == 4 ? 4 : 41;
		put16(u + 10, 0); /* flags */
	}
	if (o->family == 4) {
		uint8_t a[16];

		h[0] = 0x45;
		h[1] = tos;
		put16(h + 2, iplen + 20 + glen);
		put16(h + 4, 0);      /* ID */
		put16(h + 6, 0x4000); /* DF */
		h[8] = o->ttl;
		h[9] = glen ? 17 : inner == 4 ? 4 : 41;
		tpkt_addr(4, o->src, a);
		memcpy(h + 12, a, 4);
		tpkt_addr(4, o->dst, a);
		memcpy(h + 16, a, 4);
		sum = tcsum(h, 20);
		memcpy(h + 10, &sum, 2);
	} else {
		uint32_t fl = tpkt_flow_label(in, inlen, l2_len);

		h[0] = 0x60 | tos >> 4;
		h[1] = (uint8_t)(tos << 4 | fl >> 16);
		put16(h + 2, fl & 0xffff);
		put16(h + 4, iplen + glen);
		h[6] = glen ? 17 : inner == 4 ? 4 : 41;
		h[7] = o->ttl;
		tpkt_addr(6, o->src, h + 8);
		tpkt_addr(6, o->dst, h + 24);
	}
	return inlen + olen + glen;
}

long tpkt_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return (long)i;
	return alen == blen ? -1 : (long)n;
}
