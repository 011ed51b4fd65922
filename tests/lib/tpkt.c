// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tpkt.h"

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
		{	/* tpkt_addr writes 16 octets: go through a buffer */
			uint8_t a[16];

			tpkt_addr(4, s->src, a);
			memcpy(ip + 12, a, 4);
			tpkt_addr(4, s->dst, a);
			memcpy(ip + 16, a, 4);
		}
		for (i = 0; i < s->ip_opts; i++)
			ip[20 + i] = 1;	/* NOP options */
		put16(ip + 10, 0);
		memcpy(ip + 10, &(uint16_t){ tcsum(ip, hl) }, 2);
	} else {
		size_t ext = s->frag ? 8 : 0;

		hl = 40 + ext;
		iplen = hl + l4len;
		ip[0] = 0x60 | (s->tos >> 4);
		ip[1] = (s->tos & 0xf) << 4;
		put16(ip + 4, iplen - 40);
		ip[6] = s->frag ? 44 : proto;
		ip[7] = 64;
		tpkt_addr(6, s->src, ip + 8);
		tpkt_addr(6, s->dst, ip + 24);
		if (s->frag) {
			ip[40] = proto;
			put16(ip + 42, s->frag == 1 ? 0x0001 : 0x0010);
			put16(ip + 44, 0x1234);
		}
	}
	udp = ip + hl;
	if (!s->proto) {
		put16(udp, s->sport);
		put16(udp + 2, s->dport);
		put16(udp + 4, 8 + s->payload_len);
		memcpy(udp + 8, s->payload, s->payload_len);
	} else {
		memcpy(udp, s->payload, s->payload_len);
	}
	return off + iplen;
}

size_t tquic_short(uint8_t *out, uint8_t first, const uint8_t *cid, size_t cid_len,
		   size_t total)
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

size_t tquic_long(uint8_t *out, uint8_t first, uint32_t version,
		  const uint8_t *dcid, uint8_t dcid_len,
		  const uint8_t *scid, uint8_t scid_len, size_t total)
{
	size_t n = 0;

	out[n++] = first;
	out[n++] = version >> 24;
	out[n++] = version >> 16;
	out[n++] = version >> 8;
	out[n++] = version;
	out[n++] = dcid_len;
	memcpy(out + n, dcid, dcid_len);
	n += dcid_len;
	out[n++] = scid_len;
	memcpy(out + n, scid, scid_len);
	n += scid_len;
	if (total > n) {
		memset(out + n, 0x55, total - n);
		n = total;
	}
	return n;
}
