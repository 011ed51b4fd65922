// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * config.c - read and check the cidlbd configuration file (config.h).
 *
 * libinih splits the file into (section, key, value); it cannot report
 * line numbers to the handler in the Debian build, so the reader below
 * feeds it one physical line at a time and counts them. The reader also
 * checks what inih would only count as "an error somewhere": section
 * headers and lines that are not "key = value". Leading white space is
 * removed so that inih never merges lines (its multi-line values).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <ini.h>

#include <cidlb/cidlb.h>
#include "ctl/config.h"
#include "ctl/log.h"

enum sec_type {
	SEC_NONE = -2,
	SEC_BAD = -1,
	SEC_DAEMON = CIDLB_SEC_DAEMON,
	SEC_LB = CIDLB_SEC_LB,
	SEC_VIP = CIDLB_SEC_VIP,
	SEC_QLB = CIDLB_SEC_QLB,
	SEC_BACKEND = CIDLB_SEC_BACKEND,
	SEC_POOL = CIDLB_SEC_COUNT, /* [pool NAME]: no keys */
};

struct seen_key {
	char sec[96];
	char key[64];
	int line;
};

struct pstate {
	struct cidlb_conf *c;
	FILE *f;
	unsigned int flags;
	int lineno;
	enum sec_type sec; /* of the section being read */
	char sec_name[96]; /* as written, for messages */
	int sec_line;
	int idx;  /* vip/backend array index, quic-lb ID */
	int pool; /* of a [quic-lb] section */
	struct seen_key *seen;
	size_t n_seen, cap_seen;
	struct seen_key *secs; /* section headers: key unused */
	size_t n_secs, cap_secs;
	bool oom;
};

/* ---- messages --------------------------------------------------------------- */

static void add_error(struct cidlb_conf *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_error(struct cidlb_conf *c, const char *fmt, ...)
{
	size_t old = c->errors ? strlen(c->errors) : 0;
	char line[1024];
	va_list ap;
	char *n;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = sizeof(line) - 1;
	n = realloc(c->errors, old + len + 2);
	if (!n)
		return;
	memcpy(n + old, line, len);
	n[old + len] = '\n';
	n[old + len + 1] = '\0';
	c->errors = n;
	c->n_errors++;
}

/* "FILE:LINE: [section] key: message" */
static void perr(struct pstate *ps, int line, const char *sec, const char *key, const char *fmt,
		 ...) __attribute__((format(printf, 5, 6)));

static void perr(struct pstate *ps, int line, const char *sec, const char *key, const char *fmt,
		 ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sec && *sec && key && *key)
		add_error(ps->c, "%s:%d: [%s] %s: %s", ps->c->path, line, sec, key, msg);
	else if (sec && *sec)
		add_error(ps->c, "%s:%d: [%s]: %s", ps->c->path, line, sec, msg);
	else
		add_error(ps->c, "%s:%d: %s", ps->c->path, line, msg);
}

/* ---- value parsers --------------------------------------------------------- */

int cidlb_parse_addr(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = CIDLB_FAMILY_V4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = CIDLB_FAMILY_V6;
		return 0;
	}
	return -EINVAL;
}

int cidlb_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int m[6];
	char end;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
		   &end) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	return 0;
}

int cidlb_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || end == s || v < lo || v > hi)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int cidlb_parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1") ||
	    !strcasecmp(s, "on")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0") ||
	    !strcasecmp(s, "off")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int cidlb_check_root_only(const char *path, const struct stat *st, mode_t forbidden,
			  const char *rule, const char *mode, char *why, size_t why_len)
{
	if (st->st_uid == 0 && !(st->st_mode & forbidden))
		return 0;
	return cidlb_why(
		why, why_len, -EPERM,
		"'%s' is owned by uid %u with mode %04o: %s (chown root '%s'; chmod %s '%s')", path,
		(unsigned)st->st_uid, (unsigned)(st->st_mode & 07777), rule, path, mode, path);
}

const char *cidlb_addr_str(uint8_t family, const uint8_t addr[16], char *buf, size_t len)
{
	if (!inet_ntop(family == CIDLB_FAMILY_V6 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *cidlb_attach_mode_str(enum cidlb_attach_mode m)
{
	switch (m) {
	case CIDLB_ATTACH_NATIVE:
		return "native";
	case CIDLB_ATTACH_GENERIC:
		return "generic";
	default:
		return "auto";
	}
}

const char *cidlb_be_state_str(uint8_t state)
{
	switch (state) {
	case CIDLB_BE_ACTIVE:
		return "active";
	case CIDLB_BE_DRAINING:
		return "draining";
	default:
		return "absent";
	}
}

/* ---- the keys ---------------------------------------------------------------- */

#define XSTR(x) STR(x)
#define STR(x)	#x

#define C_(field) offsetof(struct cidlb_conf, field), sizeof(((struct cidlb_conf *)0)->field)
#define V_(field) \
	offsetof(struct cidlb_conf_vip, field), sizeof(((struct cidlb_conf_vip *)0)->field)
#define Q_(field) \
	offsetof(struct cidlb_conf_qlb, field), sizeof(((struct cidlb_conf_qlb *)0)->field)
#define B_(field) \
	offsetof(struct cidlb_conf_backend, field), sizeof(((struct cidlb_conf_backend *)0)->field)
/* the offset alone, for aux */
#define CX(field) offsetof(struct cidlb_conf, field)
#define VX(field) offsetof(struct cidlb_conf_vip, field)
#define QX(field) offsetof(struct cidlb_conf_qlb, field)
#define BX(field) offsetof(struct cidlb_conf_backend, field)

#define DAY30 (30 * 86400)

const struct cidlb_conf_key cidlb_conf_keys[] = {
	/* [daemon] */
	{ CIDLB_SEC_DAEMON, "pin_dir", CIDLB_CT_PATH, C_(pin_dir), 0, 0, 0, CIDLB_DEFAULT_PIN_DIR,
	  NULL, "where the XDP program and every map are pinned (bpffs)" },
	{ CIDLB_SEC_DAEMON, "control_socket", CIDLB_CT_PATH, C_(socket), 0, 0, 0,
	  CIDLB_DEFAULT_SOCKET, NULL, "the control socket (root only) that cidlb talks to" },
	{ CIDLB_SEC_DAEMON, "state_file", CIDLB_CT_PATH, C_(state_file), 0, 0, 0,
	  CIDLB_DEFAULT_STATE, NULL,
	  "backend indexes and quarantined server IDs kept across a restart" },
	{ CIDLB_SEC_DAEMON, "metrics", CIDLB_CT_LISTEN, C_(metrics), 0, 0, 0, CIDLB_DEFAULT_METRICS,
	  "'%s': must be 'ADDRESS:PORT' (e.g. 127.0.0.1:9470, [::1]:9470) or 'off'",
	  "Prometheus metrics on http://ADDRESS:PORT/metrics, or off" },
	{ CIDLB_SEC_DAEMON, "bpf_object", CIDLB_CT_PATH, C_(object), 0, 0, 0, NULL, NULL,
	  "the XDP object; unset: " CIDLB_DEFAULT_OBJECT ", else the one next to cidlbd" },
	{ CIDLB_SEC_DAEMON, "log_level", CIDLB_CT_LEVEL, C_(log_level), 0, 0, 0, "info",
	  "'%s': must be " CIDLB_LOG_LEVEL_LIST, CIDLB_LOG_LEVEL_LIST },
	{ CIDLB_SEC_DAEMON, "quarantine", CIDLB_CT_NUM, C_(quarantine_s), 0, 0, DAY30,
	  XSTR(CIDLB_DEFAULT_QUARANTINE),
	  "'%s': seconds, %u..%u (default " XSTR(
		  CIDLB_DEFAULT_QUARANTINE) ", longer than any QUIC idle timeout)",
	  "seconds a removed backend's server IDs stay quarantined" },
	{ CIDLB_SEC_DAEMON, "retire_ttl", CIDLB_CT_NUM, C_(retire_ttl_s), 0, 1, DAY30,
	  XSTR(CIDLB_DEFAULT_RETIRE_TTL),
	  "'%s': seconds, %u..%u (default " XSTR(CIDLB_DEFAULT_RETIRE_TTL) ")",
	  "seconds a retired CID stays retired unless the request says otherwise" },
	{ CIDLB_SEC_DAEMON, "announce_table", CIDLB_CT_NUM, C_(announce_table), 0, 0,
	  CIDLB_ANNOUNCE_TABLE_MAX, "0",
	  "'%s': must be a routing table number %u..%u of its own, 0 = off (253-255 are the kernel's)",
	  "routing table that holds a route per VIP while this host should get their traffic (BGP through BIRD/FRR); 0 = off" },
	{ CIDLB_SEC_DAEMON, "announce_fail_open", CIDLB_CT_FAIL_OPEN, C_(announce_withdraw_open), 0,
	  0, 0, "keep",
	  "'%s': must be 'keep' (the VIP routes stay while the pools fail open) or 'withdraw' (they go)",
	  "every backend down by its health checks (its pool fails open): keep the VIP routes or withdraw them" },
	/* [lb] */
	{ CIDLB_SEC_LB, "interfaces", CIDLB_CT_IFACES, C_(ifaces), CX(n_ifaces), 0, 0, NULL, NULL,
	  "the interfaces that receive the VIPs' traffic (required)" },
	{ CIDLB_SEC_LB, "egress_interfaces", CIDLB_CT_IFACES, C_(egress), CX(n_egress), 0, 0, NULL,
	  NULL, "other interfaces encapsulated packets may leave by" },
	{ CIDLB_SEC_LB, "attach_mode", CIDLB_CT_ATTACH, C_(attach_mode), 0, 0, 0, "auto",
	  "'%s': must be native (driver XDP), generic (any device, slower) or auto (native, else generic)",
	  "native, generic or auto (native, else generic)" },
	{ CIDLB_SEC_LB, "source4", CIDLB_CT_ADDR4, C_(src4), CX(has_src4), 0, 0, NULL,
	  "'%s': must be an IPv4 address (outer source of IPIP packets)",
	  "outer source of IPIP packets (needed for IPv4 backends)" },
	{ CIDLB_SEC_LB, "source6", CIDLB_CT_ADDR6, C_(src6), CX(has_src6), 0, 0, NULL,
	  "'%s': must be an IPv6 address (outer source of IP6IP6 packets)",
	  "outer source of IP6IP6 packets (needed for IPv6 backends)" },
	{ CIDLB_SEC_LB, "seed", CIDLB_CT_NUM, C_(seed), CX(has_seed), 0, UINT32_MAX, NULL,
	  "'%s': must be a number %u..%u (decimal or 0x hex), the same on every LB",
	  "hash and Maglev seed, the same on every LB; unset: random, kept in the state file" },
	{ CIDLB_SEC_LB, "ttl", CIDLB_CT_NUM, C_(ttl), 0, 1, 255, "64",
	  "'%s': must be %u..%u (outer TTL / hop limit)", "outer TTL / hop limit" },
	{ CIDLB_SEC_LB, "lru_size", CIDLB_CT_NUM, C_(lru_size), 0, 1024, 1u << 26,
	  XSTR(CIDLB_LRU_DEFAULT), "'%s': must be a number of entries, %u..%u",
	  "entries of the 4-tuple fallback table" },
	{ CIDLB_SEC_LB, "retired_size", CIDLB_CT_NUM, C_(retired_size), 0, 1024, 1u << 26,
	  XSTR(CIDLB_RETIRED_DEFAULT), "'%s': must be a number of entries, %u..%u",
	  "entries of the retired-CID map" },
	{ CIDLB_SEC_LB, "dcache_size", CIDLB_CT_NUM, C_(dcache_size), 0, 1024, 1u << 26,
	  XSTR(CIDLB_DCACHE_DEFAULT), "'%s': must be a number of entries, %u..%u",
	  "per-CPU decode cache slots (rounded down to a power of 2)" },
	{ CIDLB_SEC_LB, "new_flow_rate", CIDLB_CT_NUM, C_(new_flow_rate), 0, 0, 100000000,
	  XSTR(CIDLB_DEFAULT_NEW_FLOW_RATE),
	  "'%s': must be %u..%u 4-tuple entries a second per CPU (0: no limit)",
	  "new 4-tuple entries a second per CPU; over it, new flows go by Maglev alone (0: no limit)" },
	{ CIDLB_SEC_LB, "flow_idle_timeout", CIDLB_CT_NUM, C_(flow_idle_s), 0, 0, 86400,
	  XSTR(CIDLB_DEFAULT_FLOW_IDLE), "'%s': seconds, %u..%u (0: never)",
	  "seconds a 4-tuple entry lives without packets (0: until evicted)" },
	{ CIDLB_SEC_LB, "icmp_rate", CIDLB_CT_NUM, C_(icmp_rate), 0, 0, 1000000,
	  XSTR(CIDLB_DEFAULT_ICMP_RATE), "'%s': must be %u..%u replies a second (0: none)",
	  "ICMP fragmentation needed / Packet Too Big replies per second and CPU at most "
	  "(0: none)" },
	{ CIDLB_SEC_LB, "health", CIDLB_CT_BOOL, C_(health), 0, 0, 0, "off",
	  "'%s': must be on or off",
	  "probe every backend's QUIC server (a backend may say otherwise)" },
	{ CIDLB_SEC_LB, "health_interval", CIDLB_CT_NUM, C_(health_interval), 0, 100, 3600000,
	  XSTR(CIDLB_DEFAULT_HEALTH_INTERVAL), "'%s': milliseconds, %u..%u",
	  "milliseconds from one health probe to the next" },
	{ CIDLB_SEC_LB, "health_timeout", CIDLB_CT_NUM, C_(health_timeout), 0, 10, 3600000,
	  XSTR(CIDLB_DEFAULT_HEALTH_TIMEOUT), "'%s': milliseconds, %u..%u",
	  "milliseconds a probe's answer may take (at most health_interval)" },
	{ CIDLB_SEC_LB, "health_fall", CIDLB_CT_NUM, C_(health_fall), 0, 1, 100,
	  XSTR(CIDLB_DEFAULT_HEALTH_FALL), "'%s': must be %u..%u probes",
	  "unanswered probes in a row that make a backend down" },
	{ CIDLB_SEC_LB, "health_rise", CIDLB_CT_NUM, C_(health_rise), 0, 1, 100,
	  XSTR(CIDLB_DEFAULT_HEALTH_RISE), "'%s': must be %u..%u probes",
	  "answered probes in a row that make a down backend up" },
	{ CIDLB_SEC_LB, "reset_rate", CIDLB_CT_NUM, C_(reset_rate), 0, 0, 10000000,
	  XSTR(CIDLB_RESET_RATE_DEFAULT), "'%s': must be %u..%u resets a second",
	  "stateless resets a second per CPU at most (configs with reset_key_file); 0: none" },
	{ CIDLB_SEC_LB, "max_pools", CIDLB_CT_NUM, C_(max_pools), 0, 1, CIDLB_MAX_POOLS,
	  XSTR(CIDLB_POOLS_DEFAULT), "'%s': must be %u..%u pools",
	  "pools the maps hold (a Maglev table of 512 KiB each); a change needs a restart" },
	/* [vip NAME] */
	{ CIDLB_SEC_VIP, "address", CIDLB_CT_ADDR, V_(key.addr), VX(key.family), 0, 0, NULL,
	  "'%s' is not an IPv4 or IPv6 address", "the VIP (required)" },
	{ CIDLB_SEC_VIP, "port", CIDLB_CT_PORT, V_(key.port), 0, 1, 65535, "443",
	  "'%s': must be a UDP port %u..%u", "its UDP port" },
	{ CIDLB_SEC_VIP, "id", CIDLB_CT_NUM, V_(id), 0, 1, UINT32_MAX, NULL,
	  "'%s': must be a number %u..%u", "the VIP's number in logs; unset: its position" },
	{ CIDLB_SEC_VIP, "pool", CIDLB_CT_NAME, V_(pool_name), 0, 0, 0, NULL, NULL,
	  "the [pool NAME] whose backends and configs serve it (required when pools are named)" },
	/* [quic-lb N] */
	{ CIDLB_SEC_QLB, "server_id_len", CIDLB_CT_NUM, Q_(sid_len), 0, 1, CIDLB_SID_MAX, NULL,
	  "'%s': must be %u..%u octets", "server ID octets (required)" },
	{ CIDLB_SEC_QLB, "nonce_len", CIDLB_CT_NUM, Q_(nonce_len), 0, CIDLB_NONCE_MIN,
	  CIDLB_NONCE_MAX, NULL, "'%s': must be %u..%u octets",
	  "nonce octets (required); with server_id_len at most 19" },
	{ CIDLB_SEC_QLB, "key_file", CIDLB_CT_KEY_FILE, Q_(key), QX(has_key), 0, 0, NULL, NULL,
	  "root-only file with the AES-128 key in hex; unset: plaintext" },
	{ CIDLB_SEC_QLB, "reset_key_file", CIDLB_CT_KEY_FILE, Q_(reset_key), QX(has_reset_key), 0,
	  0, NULL, NULL,
	  "root-only file with the servers' stateless reset key in hex; unset: no resets from the LB" },
	{ CIDLB_SEC_QLB, "len_self_encode", CIDLB_CT_BOOL, Q_(len_self_encode), 0, 0, 0, "no",
	  "'%s': must be yes or no",
	  "the servers write the CID length into its first octet: the LB checks it" },
	{ CIDLB_SEC_QLB, "decode_cache", CIDLB_CT_BOOL, Q_(decode_cache), 0, 0, 0, "yes",
	  "'%s': must be yes or no", "cache decoded server IDs per CPU (encrypted configs)" },
	{ CIDLB_SEC_QLB, "token_prefix", CIDLB_CT_BOOL, Q_(token_prefix), 0, 0, 0, "no",
	  "'%s': must be yes or no",
	  "the servers prefix their tokens (cidlb_token_prefix()): route Initials by them" },
	/* [backend NAME] */
	{ CIDLB_SEC_BACKEND, "address", CIDLB_CT_ADDR, B_(addr), BX(family), 0, 0, NULL,
	  "'%s' is not an IPv4 or IPv6 address", "where packets are sent (required)" },
	{ CIDLB_SEC_BACKEND, "server_id.N", CIDLB_CT_SERVER_ID, B_(sid), 0, 0, 0, NULL, NULL,
	  "its server ID under config N, in hex, server_id_len octets" },
	{ CIDLB_SEC_BACKEND, "weight", CIDLB_CT_NUM, B_(weight), 0, 0, CIDLB_WEIGHT_MAX,
	  XSTR(CIDLB_DEFAULT_WEIGHT), "'%s': must be a number %u..%u (0: no new fallback flows)",
	  "share of new fallback flows" },
	{ CIDLB_SEC_BACKEND, "state", CIDLB_CT_STATE, B_(state), 0, 0, 0, "active",
	  "'%s': must be 'active' or 'draining'",
	  "active, or draining: keeps its connections, gets no new fallback flows" },
	{ CIDLB_SEC_BACKEND, "mac", CIDLB_CT_MAC, B_(mac), BX(has_mac), 0, 0, NULL,
	  "'%s' is not a MAC address: six hex octets with colons, e.g. 02:00:00:00:00:01",
	  "next-hop MAC: send there directly (no FIB lookup)" },
	{ CIDLB_SEC_BACKEND, "pool", CIDLB_CT_NAME, B_(pool_name), 0, 0, 0, NULL, NULL,
	  "the [pool NAME] it serves (required when pools are named)" },
	{ CIDLB_SEC_BACKEND, "mode", CIDLB_CT_MODE, B_(direct), 0, 0, 0, "encap",
	  "'%s': must be 'encap' (IPIP/IP6IP6 tunnel) or 'direct' (MAC rewrite, backend on this segment)",
	  "encap (IPIP/IP6IP6 or GUE) or direct (MAC rewrite only; needs mac)" },
	{ CIDLB_SEC_BACKEND, "encap", CIDLB_CT_ENCAP, B_(encap), 0, 0, 0, "ipip",
	  "'%s': must be 'ipip' (IPIP/IP6IP6) or 'gue' (GUE in UDP to gue_port)",
	  "mode = encap: ipip (IPIP/IP6IP6) or gue (UDP to gue_port, GUE header)" },
	{ CIDLB_SEC_BACKEND, "gue_port", CIDLB_CT_PORT, B_(gue_port), 0, 1, 65535,
	  XSTR(CIDLB_GUE_PORT_DEFAULT), "'%s': must be a UDP port %u..%u",
	  "encap = gue: the backend's GUE (FOU) receive port" },
	{ CIDLB_SEC_BACKEND, "health", CIDLB_CT_BOOL, B_(health), BX(has_health), 0, 0, NULL,
	  "'%s': must be on or off", "health checks of this backend; unset: [lb] health" },
	{ CIDLB_SEC_BACKEND, "health_interval", CIDLB_CT_NUM, B_(health_interval),
	  BX(has_health_interval), 100, 3600000, NULL, "'%s': milliseconds, %u..%u",
	  "unset: [lb] health_interval" },
	{ CIDLB_SEC_BACKEND, "health_timeout", CIDLB_CT_NUM, B_(health_timeout),
	  BX(has_health_timeout), 10, 3600000, NULL, "'%s': milliseconds, %u..%u",
	  "unset: [lb] health_timeout" },
	{ CIDLB_SEC_BACKEND, "health_fall", CIDLB_CT_NUM, B_(health_fall), BX(has_health_fall), 1,
	  100, NULL, "'%s': must be %u..%u probes", "unset: [lb] health_fall" },
	{ CIDLB_SEC_BACKEND, "health_rise", CIDLB_CT_NUM, B_(health_rise), BX(has_health_rise), 1,
	  100, NULL, "'%s': must be %u..%u probes", "unset: [lb] health_rise" },
};

const size_t cidlb_conf_n_keys = sizeof(cidlb_conf_keys) / sizeof(cidlb_conf_keys[0]);

static const struct {
	const char *name; /* for `cidlb config keys` */
	const char *who;  /* in "unknown key; WHO allows: ..." */
	const char *tail; /* after the list */
} sections[CIDLB_SEC_COUNT] = {
	[CIDLB_SEC_DAEMON] = { "daemon", "[daemon]", "" },
	[CIDLB_SEC_LB] = { "lb", "[lb]", "" },
	[CIDLB_SEC_VIP] = { "vip NAME", "[vip NAME]", "" },
	[CIDLB_SEC_QLB] = { "quic-lb N", "[quic-lb N]", " (no key_file: plaintext)" },
	[CIDLB_SEC_BACKEND] = { "backend NAME", "a backend", "" },
};

const char *cidlb_conf_sec_str(enum cidlb_conf_sec s)
{
	return (unsigned int)s < CIDLB_SEC_COUNT ? sections[s].name : "?";
}

const char *cidlb_conf_type_str(enum cidlb_conf_type t)
{
	static const char *const names[] = {
		[CIDLB_CT_PATH] = "path",
		[CIDLB_CT_LISTEN] = "address:port",
		[CIDLB_CT_LEVEL] = "level",
		[CIDLB_CT_NUM] = "number",
		[CIDLB_CT_PORT] = "port",
		[CIDLB_CT_BOOL] = "bool",
		[CIDLB_CT_IFACES] = "interfaces",
		[CIDLB_CT_ATTACH] = "attach-mode",
		[CIDLB_CT_ADDR] = "address",
		[CIDLB_CT_ADDR4] = "ipv4",
		[CIDLB_CT_ADDR6] = "ipv6",
		[CIDLB_CT_KEY_FILE] = "path",
		[CIDLB_CT_SERVER_ID] = "hex",
		[CIDLB_CT_STATE] = "backend-state",
		[CIDLB_CT_MAC] = "mac",
		[CIDLB_CT_MODE] = "backend-mode",
		[CIDLB_CT_ENCAP] = "encap",
		[CIDLB_CT_NAME] = "name",
		[CIDLB_CT_FAIL_OPEN] = "fail-open",
	};

	return (unsigned int)t < sizeof(names) / sizeof(names[0]) && names[t] ? names[t] : "?";
}

/* The row of @key in section @s, or NULL. */
static const struct cidlb_conf_key *key_find(enum cidlb_conf_sec s, const char *key)
{
	size_t i, n;

	for (i = 0; i < cidlb_conf_n_keys; i++) {
		const struct cidlb_conf_key *k = &cidlb_conf_keys[i];

		if (k->section != s)
			continue;
		n = strlen(k->name);
		if (n > 2 && !strcmp(k->name + n - 2, ".N") ? !strncmp(key, k->name, n - 1) :
							      !strcmp(key, k->name))
			return k;
	}
	return NULL;
}

/* "unknown key; [lb] allows: interfaces, egress_interfaces, ..." */
static int key_unknown(enum cidlb_conf_sec s, char *why, size_t why_len)
{
	char list[512];
	size_t i, len = 0;

	list[0] = '\0';
	for (i = 0; i < cidlb_conf_n_keys && len < sizeof(list); i++) {
		const struct cidlb_conf_key *k = &cidlb_conf_keys[i];
		size_t n = strlen(k->name);

		if (k->section != s)
			continue;
		len += snprintf(list + len, sizeof(list) - len, "%s%s%s", len ? ", " : "", k->name,
				n > 2 && !strcmp(k->name + n - 2, ".N") ? " (N = config ID 0..6)" :
									  "");
	}
	return cidlb_why(why, why_len, -ENOENT, "unknown key; %s allows: %s%s", sections[s].who,
			 list, sections[s].tail);
}

static int key_bad(const struct cidlb_conf_key *k, const char *val, char *why, size_t why_len)
{
	/* k->bad: a format of the table above, taking (value, min, max) */
	return cidlb_why(why, why_len, -EINVAL, k->bad, val, k->min, k->max);
}

#define AT(base, off, type) ((type *)((char *)(base) + (off)))

typedef char ifname_t[IF_NAMESIZE];

static void key_given(const struct cidlb_conf_key *k, void *base)
{
	if (k->aux)
		*AT(base, k->aux, bool) = true;
}

static int metrics_addr_ok(const char *v)
{
	char host[64];
	const char *colon;
	uint32_t port;
	uint8_t fam, addr[16];

	if (!strcmp(v, "off"))
		return 0;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		if (!close || close[1] != ':' || (size_t)(close - v - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, v + 1, close - v - 1);
		host[close - v - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon || (size_t)(colon - v) >= sizeof(host))
			return -EINVAL;
		memcpy(host, v, colon - v);
		host[colon - v] = '\0';
	}
	if (cidlb_parse_addr(host, &fam, addr) || cidlb_parse_u32(colon + 1, 1, 65535, &port))
		return -EINVAL;
	return 0;
}

static int split_ifaces(const char *val, char (*out)[IF_NAMESIZE], int *n, char *why,
			size_t why_len)
{
	char buf[512], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", val);
	*n = 0;
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		int i;

		if (strlen(tok) >= IF_NAMESIZE)
			return cidlb_why(why, why_len, -EINVAL,
					 "'%s': interface names are at most %d characters", tok,
					 IF_NAMESIZE - 1);
		for (i = 0; i < *n; i++)
			if (!strcmp(out[i], tok))
				return cidlb_why(why, why_len, -EINVAL, "'%s' listed twice", tok);
		if (*n >= CIDLB_MAX_IFACES)
			return cidlb_why(why, why_len, -EINVAL, "more than %d interfaces",
					 CIDLB_MAX_IFACES);
		snprintf(out[(*n)++], IF_NAMESIZE, "%s", tok);
	}
	if (!*n)
		return cidlb_why(why, why_len, -EINVAL,
				 "empty; list interface names separated by spaces");
	return 0;
}

static int read_key_file(const char *path, uint8_t out[16], char *why, size_t why_len)
{
	char buf[128], bad[96], *e;
	struct stat st;
	size_t n, len;
	FILE *f;
	int err;

	if (path[0] != '/')
		return cidlb_why(why, why_len, -EINVAL, "'%s': must be an absolute path", path);
	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		return cidlb_why(why, why_len, err, "cannot read '%s': %s", path, strerror(-err));
	}
	if (fstat(fileno(f), &st)) {
		err = -errno;
		fclose(f);
		return cidlb_why(why, why_len, err, "cannot stat '%s': %s", path, strerror(-err));
	}
	err = cidlb_check_root_only(path, &st, S_IRWXG | S_IRWXO,
				    "the key must be readable only by root", "600", why, why_len);
	if (err) {
		fclose(f);
		return err;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	e = buf + n;
	while (e > buf && isspace((unsigned char)e[-1]))
		*--e = '\0';
	/* the problem only, never the file's text: it is a secret */
	if (cidlb_parse_hex_why(buf, out, 16, &len, bad, sizeof(bad)))
		return cidlb_why(why, why_len, -EINVAL,
				 "'%s' must hold the AES-128 key as 32 hex digits (one line): %s",
				 path, bad);
	if (len != 16)
		return cidlb_why(
			why, why_len, -EINVAL,
			"'%s' must hold the AES-128 key as 32 hex digits (one line): %zu octets, must be 16",
			path, len);
	return 0;
}

static int set_server_id(struct cidlb_conf_backend *b, const char *key, const char *val, char *why,
			 size_t why_len)
{
	uint32_t cr;
	size_t n;

	if (cidlb_parse_u32(key + 10, 0, CIDLB_CONFIG_IDS - 1, &cr) || strlen(key) != 11)
		return cidlb_why(why, why_len, -EINVAL,
				 "the config ID after 'server_id.' must be 0..6");
	if (cidlb_parse_hex_msg("server ID", val, b->sid[cr], 1, CIDLB_SID_MAX, &n, why, why_len))
		return -EINVAL;
	b->sid_len[cr] = (uint8_t)n;
	b->sid_mask |= 1u << cr;
	return 0;
}

static bool name_ok(const char *s);

/*
 * Parses @val for row @k into the section's structure @base (@key as
 * written, for server_id.N). 0, or a negative errno with a sentence in @why.
 */
static int key_set(const struct cidlb_conf_key *k, void *base, const char *key, const char *val,
		   char *why, size_t why_len)
{
	uint8_t fam, addr[16];
	uint32_t v;
	int n;

	switch (k->type) {
	case CIDLB_CT_PATH:
		if (val[0] != '/' || strlen(val) >= k->size)
			return cidlb_why(
				why, why_len, -EINVAL,
				"'%s': must be an absolute path shorter than %zu characters", val,
				k->size);
		snprintf(AT(base, k->off, char), k->size, "%s", val);
		return 0;
	case CIDLB_CT_LISTEN:
		if (metrics_addr_ok(val) || strlen(val) >= k->size)
			return key_bad(k, val, why, why_len);
		snprintf(AT(base, k->off, char), k->size, "%s", strcmp(val, "off") ? val : "");
		return 0;
	case CIDLB_CT_LEVEL:
		n = cidlb_log_level_parse(val);
		if (n < 0)
			return key_bad(k, val, why, why_len);
		*AT(base, k->off, int) = n;
		return 0;
	case CIDLB_CT_NUM:
		if (cidlb_parse_u32(val, k->min, k->max, &v))
			return key_bad(k, val, why, why_len);
		if (k->size == 1)
			*AT(base, k->off, uint8_t) = (uint8_t)v;
		else if (k->size == 2)
			*AT(base, k->off, uint16_t) = (uint16_t)v;
		else
			*AT(base, k->off, uint32_t) = v;
		key_given(k, base);
		return 0;
	case CIDLB_CT_PORT:
		if (cidlb_parse_u32(val, k->min, k->max, &v))
			return key_bad(k, val, why, why_len);
		*AT(base, k->off, uint16_t) = htons((uint16_t)v);
		return 0;
	case CIDLB_CT_BOOL:
		if (cidlb_parse_bool(val, AT(base, k->off, bool)))
			return key_bad(k, val, why, why_len);
		key_given(k, base);
		return 0;
	case CIDLB_CT_IFACES:
		return split_ifaces(val, AT(base, k->off, ifname_t), AT(base, k->aux, int), why,
				    why_len);
	case CIDLB_CT_ATTACH:
		if (!strcmp(val, "native"))
			*AT(base, k->off, enum cidlb_attach_mode) = CIDLB_ATTACH_NATIVE;
		else if (!strcmp(val, "generic"))
			*AT(base, k->off, enum cidlb_attach_mode) = CIDLB_ATTACH_GENERIC;
		else if (!strcmp(val, "auto"))
			*AT(base, k->off, enum cidlb_attach_mode) = CIDLB_ATTACH_AUTO;
		else
			return key_bad(k, val, why, why_len);
		return 0;
	case CIDLB_CT_ADDR:
		if (cidlb_parse_addr(val, AT(base, k->aux, uint8_t), AT(base, k->off, uint8_t)))
			return key_bad(k, val, why, why_len);
		return 0;
	case CIDLB_CT_ADDR4:
	case CIDLB_CT_ADDR6:
		if (cidlb_parse_addr(val, &fam, addr) ||
		    fam != (k->type == CIDLB_CT_ADDR4 ? CIDLB_FAMILY_V4 : CIDLB_FAMILY_V6))
			return key_bad(k, val, why, why_len);
		memcpy(AT(base, k->off, uint8_t), addr, k->size);
		key_given(k, base);
		return 0;
	case CIDLB_CT_KEY_FILE:
		/* keyed even when unreadable: the error is reported there */
		key_given(k, base);
		return read_key_file(val, AT(base, k->off, uint8_t), why, why_len);
	case CIDLB_CT_SERVER_ID:
		return set_server_id(base, key, val, why, why_len);
	case CIDLB_CT_STATE:
		if (!strcmp(val, "active"))
			*AT(base, k->off, uint8_t) = CIDLB_BE_ACTIVE;
		else if (!strcmp(val, "draining"))
			*AT(base, k->off, uint8_t) = CIDLB_BE_DRAINING;
		else
			return key_bad(k, val, why, why_len);
		return 0;
	case CIDLB_CT_MAC:
		if (cidlb_parse_mac(val, AT(base, k->off, uint8_t)))
			return key_bad(k, val, why, why_len);
		key_given(k, base);
		return 0;
	case CIDLB_CT_NAME:
		if (!name_ok(val))
			return cidlb_why(
				why, why_len, -EINVAL,
				"'%s': a pool name is 1..%d letters, digits, '-', '_' or '.'", val,
				CIDLB_NAME_MAX);
		snprintf(AT(base, k->off, char), k->size, "%s", val);
		return 0;
	case CIDLB_CT_MODE:
		if (!strcmp(val, "encap"))
			*AT(base, k->off, bool) = false;
		else if (!strcmp(val, "direct"))
			*AT(base, k->off, bool) = true;
		else
			return key_bad(k, val, why, why_len);
		return 0;
	case CIDLB_CT_ENCAP:
		if (!strcmp(val, "ipip"))
			*AT(base, k->off, uint8_t) = CIDLB_ENCAP_IPIP;
		else if (!strcmp(val, "gue"))
			*AT(base, k->off, uint8_t) = CIDLB_ENCAP_GUE;
		else
			return key_bad(k, val, why, why_len);
		return 0;
	case CIDLB_CT_FAIL_OPEN:
		if (!strcmp(val, "keep"))
			*AT(base, k->off, bool) = false;
		else if (!strcmp(val, "withdraw"))
			*AT(base, k->off, bool) = true;
		else
			return key_bad(k, val, why, why_len);
		return 0;
	}
	return cidlb_why(why, why_len, -EINVAL, "no parser for this key");
}

/* Every default of section @s into its structure @base. */
static void sec_defaults(enum cidlb_conf_sec s, void *base)
{
	size_t i;

	for (i = 0; i < cidlb_conf_n_keys; i++)
		if (cidlb_conf_keys[i].section == s && cidlb_conf_keys[i].def)
			key_set(&cidlb_conf_keys[i], base, cidlb_conf_keys[i].name,
				cidlb_conf_keys[i].def, NULL, 0);
}

/* ---- backends (also used by the control socket) --------------------------- */

void cidlb_conf_backend_init(struct cidlb_conf_backend *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	sec_defaults(CIDLB_SEC_BACKEND, b);
}

int cidlb_conf_backend_set(struct cidlb_conf_backend *b, const char *key, const char *val,
			   char *why, size_t why_len)
{
	const struct cidlb_conf_key *k = key_find(CIDLB_SEC_BACKEND, key);

	if (!k)
		return key_unknown(CIDLB_SEC_BACKEND, why, why_len);
	return key_set(k, b, key, val, why, why_len);
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > CIDLB_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* As cidlb_conf_backend_check(), and @bad_key names the key at fault ("" for
 * the backend as a whole). */
static int backend_check(const struct cidlb_conf *c, const struct cidlb_conf_backend *b,
			 char *bad_key, size_t key_len, char *why, size_t why_len)
{
	int cr;

	const struct cidlb_conf_qlb *qlb;
	int pool;

	snprintf(bad_key, key_len, "%s", "");
	if (!name_ok(b->name))
		return cidlb_why(why, why_len, -EINVAL,
				 "backend name '%s': 1..%d letters, digits, '-', '_' or '.'",
				 b->name, CIDLB_NAME_MAX);
	pool = cidlb_conf_pool_find(c, b->pool_name);
	if (pool < 0) {
		snprintf(bad_key, key_len, "pool");
		if (!*b->pool_name)
			return cidlb_why(why, why_len, -EINVAL,
					 "missing: the pools are named, so name this backend's");
		return cidlb_why(why, why_len, -EINVAL,
				 *c->pools[0].name ?
					 "no [pool %s]; pools: %s%s" :
					 "no [pool %s]: this configuration names no pool%s%s",
				 b->pool_name, c->pools[0].name, c->n_pools > 1 ? ", ..." : "");
	}
	qlb = cidlb_conf_qlbs(c, pool);
	if (!b->family) {
		snprintf(bad_key, key_len, "address");
		return cidlb_why(why, why_len, -EINVAL,
				 "missing: the backend's IPv4 or IPv6 address is required");
	}
	for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
		if (!cidlb_conf_backend_has_sid(b, cr))
			continue;
		snprintf(bad_key, key_len, "server_id.%d", cr);
		if (!qlb[cr].present)
			return cidlb_why(
				why, why_len, -EINVAL,
				"there is no [quic-lb %s%s%d] section; define config %d or use a configured ID",
				b->pool_name, *b->pool_name ? " " : "", cr, cr);
		if (b->sid_len[cr] != qlb[cr].sid_len)
			return cidlb_why(why, why_len, -EINVAL,
					 "%u octets, but config %d has server_id_len = %u",
					 b->sid_len[cr], cr, qlb[cr].sid_len);
	}
	if (b->direct && !b->has_mac) {
		snprintf(bad_key, key_len, "mode");
		return cidlb_why(why, why_len, -EINVAL,
				 "'direct' needs the backend's MAC address: add mac = ...");
	}
	if (b->direct && b->encap == CIDLB_ENCAP_GUE) {
		snprintf(bad_key, key_len, "encap");
		return cidlb_why(
			why, why_len, -EINVAL,
			"'gue' needs mode = encap: a direct backend gets the client's packet as it came");
	}
	if (!b->direct && b->family == CIDLB_FAMILY_V4 && !c->has_src4) {
		snprintf(bad_key, key_len, "address");
		return cidlb_why(
			why, why_len, -EINVAL,
			"an IPv4 backend needs [lb] source4 (the LB's outer source address)");
	}
	if (!b->direct && b->family == CIDLB_FAMILY_V6 && !c->has_src6) {
		snprintf(bad_key, key_len, "address");
		return cidlb_why(
			why, why_len, -EINVAL,
			"an IPv6 backend needs [lb] source6 (the LB's outer source address)");
	}
	snprintf(bad_key, key_len, "%s", "");
	return 0;
}

int cidlb_conf_backend_check(const struct cidlb_conf *c, const struct cidlb_conf_backend *b,
			     char *why, size_t why_len)
{
	char key[16], inner[512];
	int err = backend_check(c, b, key, sizeof(key), inner, sizeof(inner));

	if (err)
		snprintf(why, why_len, "%s%s%s", key, *key ? ": " : "", inner);
	return err;
}

int cidlb_conf_pool_find(const struct cidlb_conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->n_pools; i++)
		if (!c->pools[i].unused && !strcmp(c->pools[i].name, name))
			return i;
	return -ENOENT;
}

struct cidlb_conf_backend *cidlb_conf_backend_find(const struct cidlb_conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->n_backends; i++)
		if (!strcmp(c->backends[i].name, name))
			return &c->backends[i];
	return NULL;
}

/* "[backend NAME] (line N)", or without the line for a backend added on
 * the control socket */
static const char *backend_ref(const struct cidlb_conf_backend *o, char *buf, size_t len)
{
	if (o->line)
		snprintf(buf, len, "[backend %s] (line %d)", o->name, o->line);
	else
		snprintf(buf, len, "[backend %s]", o->name);
	return buf;
}

int cidlb_conf_sid_check(const struct cidlb_conf *c, const struct cidlb_conf_backend *b, int cr,
			 const struct cidlb_conf_backend *others, int n, char *why, size_t why_len)
{
	int pool = cidlb_conf_pool_find(c, b->pool_name);
	const struct cidlb_conf_qlb *qlb = cidlb_conf_qlbs(c, pool);
	const uint8_t *sid = b->sid[cr];
	uint8_t len = b->sid_len[cr];
	bool enc = qlb[cr].has_key;
	char ref[128], h[2 * CIDLB_SID_MAX + 1];
	int i, ocr;

	for (i = -1; i < n; i++) {
		const struct cidlb_conf_backend *o = i < 0 ? b : &others[i];

		/* server IDs are allocated per pool */
		if ((i >= 0 && o == b) || strcmp(o->pool_name, b->pool_name))
			continue;
		for (ocr = 0; ocr < CIDLB_CONFIG_IDS; ocr++) {
			uint8_t olen = o->sid_len[ocr];

			if (!cidlb_conf_backend_has_sid(o, ocr) || !qlb[ocr].present)
				continue;
			if (ocr == cr) {
				if (i < 0 || !cidlb_conf_backend_owns_sid(o, ocr, sid, len))
					continue;
				snprintf(
					why, why_len,
					"already the server ID of %s; server IDs are unique per config",
					backend_ref(o, ref, sizeof(ref)));
				return -EEXIST;
			}
			/* a backend's own server IDs: reported once, at the later key */
			if ((i < 0 && ocr > cr) || qlb[ocr].has_key == enc ||
			    memcmp(o->sid[ocr], sid, olen < len ? olen : len))
				continue;
			cidlb_hex(sid, len, h, sizeof(h));
			snprintf(
				why, why_len,
				"%s clashes with server_id.%d of %s under %s config %d, and config %d is %s: QUIC-LB requires separate server-ID allocations for plaintext and encrypted configs (a server ID seen in clear must tell nothing about an encrypted one); choose a server ID that neither equals nor starts, nor is the start of, a server ID of the other kind",
				h, ocr, i < 0 ? "this backend" : backend_ref(o, ref, sizeof(ref)),
				enc ? "plaintext" : "encrypted", ocr, cr,
				enc ? "encrypted" : "plaintext");
			return -EEXIST;
		}
	}
	return 0;
}

int cidlb_conf_qlb_to_map(const struct cidlb_conf_qlb *q, struct cidlb_config *out)
{
	memset(out, 0, sizeof(*out));
	if (!q->present)
		return 0;
	out->sid_len = q->sid_len;
	out->nonce_len = q->nonce_len;
	out->pt_len = q->sid_len + q->nonce_len;
	out->half_len = (out->pt_len + 1) / 2;
	out->flags = (q->len_self_encode ? CIDLB_CFG_F_LEN_CHECK : 0) |
		     (q->decode_cache ? 0 : CIDLB_CFG_F_NO_DCACHE) |
		     (q->token_prefix ? CIDLB_CFG_F_TOKEN : 0);
	cidlb_config_masks(out);
	if (q->has_reset_key) {
		uint32_t dec[CIDLB_AES_RK_WORDS];
		int err = cidlb_aes128_key_schedules(q->reset_key, out->reset_rk, dec);

		explicit_bzero(dec, sizeof(dec));
		if (err)
			return err;
		out->flags |= CIDLB_CFG_F_RESET;
	}
	if (!q->has_key) {
		out->mode = CIDLB_MODE_PLAINTEXT;
		return 0;
	}
	out->mode = out->pt_len == 16 ? CIDLB_MODE_SINGLE_PASS : CIDLB_MODE_FOUR_PASS;
	return cidlb_aes128_key_schedules(q->key, out->enc_rk, out->dec_rk);
}

/* ---- defaults ---------------------------------------------------------------- */

void cidlb_conf_defaults(struct cidlb_conf *c)
{
	sec_defaults(CIDLB_SEC_DAEMON, c);
	sec_defaults(CIDLB_SEC_LB, c);
}

/* ---- the reader: one physical line per call ------------------------------- */

static int remember(struct seen_key **arr, size_t *n, size_t *cap, const char *sec, const char *key,
		    int line)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		struct seen_key *a = realloc(*arr, nc * sizeof(**arr));

		if (!a)
			return -ENOMEM;
		*arr = a;
		*cap = nc;
	}
	snprintf((*arr)[*n].sec, sizeof((*arr)[*n].sec), "%s", sec);
	snprintf((*arr)[*n].key, sizeof((*arr)[*n].key), "%s", key ? key : "");
	(*arr)[*n].line = line;
	(*n)++;
	return 0;
}

static const struct seen_key *find_seen(const struct seen_key *arr, size_t n, const char *sec,
					const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(arr[i].sec, sec) && (!key || !strcmp(arr[i].key, key)))
			return &arr[i];
	return NULL;
}

/* Line of @key in section @sec, else the section's header line. */
static int key_line(const struct pstate *ps, const char *sec, const char *key, int sec_line)
{
	const struct seen_key *k = key ? find_seen(ps->seen, ps->n_seen, sec, key) : NULL;

	return k ? k->line : sec_line;
}

static void *grow(void *arr, int n, size_t size)
{
	if (n % 16)
		return arr;
	return realloc(arr, (size_t)(n + 16) * size);
}

/* A section header "[type name]" (already without the brackets). */
static void open_section(struct pstate *ps, char *inner)
{
	struct cidlb_conf *c = ps->c;
	char *type = inner, *name, *e;
	const struct seen_key *dup;

	while (isspace((unsigned char)*type))
		type++;
	e = type + strlen(type);
	while (e > type && isspace((unsigned char)e[-1]))
		*--e = '\0';
	ps->sec_line = ps->lineno;
	ps->sec = SEC_BAD;
	name = type + strcspn(type, " \t");
	if (*name) {
		*name++ = '\0';
		while (isspace((unsigned char)*name))
			name++;
	}
	/* "[backend  b1]" is "[backend b1]": one spelling for the checks */
	snprintf(ps->sec_name, sizeof(ps->sec_name), "%s%s%s", type, *name ? " " : "", name);
	dup = find_seen(ps->secs, ps->n_secs, ps->sec_name, NULL);
	if (dup) {
		perr(ps, ps->lineno, ps->sec_name, NULL,
		     "section given twice (first on line %d); merge them", dup->line);
		return;
	}
	if (remember(&ps->secs, &ps->n_secs, &ps->cap_secs, ps->sec_name, NULL, ps->lineno))
		ps->oom = true;

	if (!strcmp(type, "daemon") || !strcmp(type, "lb")) {
		if (*name) {
			perr(ps, ps->lineno, ps->sec_name, NULL, "[%s] takes no name", type);
			return;
		}
		ps->sec = !strcmp(type, "daemon") ? SEC_DAEMON : SEC_LB;
		return;
	}
	if (!strcmp(type, "vip") || !strcmp(type, "backend")) {
		bool vip = !strcmp(type, "vip");

		if (!name_ok(name)) {
			perr(ps, ps->lineno, ps->sec_name, NULL,
			     "needs a name: [%s NAME], NAME of 1..%d letters, digits, '-', '_' or '.'",
			     type, CIDLB_NAME_MAX);
			return;
		}
		if (vip) {
			struct cidlb_conf_vip *v;

			if (c->n_vips >= CIDLB_MAX_VIPS) {
				perr(ps, ps->lineno, ps->sec_name, NULL, "more than %d VIPs",
				     CIDLB_MAX_VIPS);
				return;
			}
			v = grow(c->vips, c->n_vips, sizeof(*v));
			if (!v) {
				ps->oom = true;
				return;
			}
			c->vips = v;
			v = &c->vips[c->n_vips];
			memset(v, 0, sizeof(*v));
			snprintf(v->name, sizeof(v->name), "%s", name);
			sec_defaults(CIDLB_SEC_VIP, v);
			v->id = (uint32_t)c->n_vips + 1;
			v->line = ps->lineno;
			ps->idx = c->n_vips++;
			ps->sec = SEC_VIP;
		} else {
			struct cidlb_conf_backend *b;

			if (c->n_backends >= CIDLB_MAX_BACKENDS) {
				perr(ps, ps->lineno, ps->sec_name, NULL, "more than %d backends",
				     CIDLB_MAX_BACKENDS);
				return;
			}
			b = grow(c->backends, c->n_backends, sizeof(*b));
			if (!b) {
				ps->oom = true;
				return;
			}
			c->backends = b;
			b = &c->backends[c->n_backends];
			cidlb_conf_backend_init(b, name);
			b->line = ps->lineno;
			ps->idx = c->n_backends++;
			ps->sec = SEC_BACKEND;
		}
		return;
	}
	if (!strcmp(type, "quic-lb")) {
		char *n = strrchr(name, ' '), *pname = "";
		struct cidlb_conf_qlb *q;
		uint32_t id;
		int pool;

		if (n) { /* [quic-lb POOL N] */
			*n++ = '\0';
			pname = name;
			while (*pname && isspace((unsigned char)pname[strlen(pname) - 1]))
				pname[strlen(pname) - 1] = '\0';
		} else {
			n = name;
		}
		if (cidlb_parse_u32(n, 0, CIDLB_CONFIG_IDS - 1, &id)) {
			perr(ps, ps->lineno, ps->sec_name, NULL,
			     "needs the config ID: [quic-lb N], N = 0..6 (7 marks unroutable CIDs); in a named pool [quic-lb POOL N]");
			return;
		}
		if (!*pname && c->pools_named) {
			perr(ps, ps->lineno, ps->sec_name, NULL,
			     "the pools are named: say whose config this is, [quic-lb POOL %u]",
			     id);
			return;
		}
		pool = cidlb_conf_pool_find(c, pname);
		if (pool < 0) {
			perr(ps, ps->lineno, ps->sec_name, NULL,
			     "no [pool %s] above this line; declare the pool before its configs",
			     pname);
			return;
		}
		q = &c->pools[pool].qlb[id];
		q->present = true;
		sec_defaults(CIDLB_SEC_QLB, q);
		q->line = ps->lineno;
		ps->idx = (int)id;
		ps->pool = pool;
		ps->sec = SEC_QLB;
		return;
	}
	if (!strcmp(type, "pool")) {
		struct cidlb_conf_pool *p;
		int i;

		if (!name_ok(name)) {
			perr(ps, ps->lineno, ps->sec_name, NULL,
			     "needs a name: [pool NAME], NAME of 1..%d letters, digits, '-', '_' or '.'",
			     CIDLB_NAME_MAX);
			return;
		}
		if (!c->pools_named) {
			for (i = 0; i < CIDLB_CONFIG_IDS; i++) {
				if (!c->pools[0].qlb[i].present)
					continue;
				perr(ps, ps->lineno, ps->sec_name, NULL,
				     "[quic-lb %d] (line %d) belongs to no pool: once pools are named, every config names its pool, [quic-lb POOL N]",
				     i, c->pools[0].qlb[i].line);
				return;
			}
			c->pools_named = true;
			c->n_pools = 0;
		}
		if (c->n_pools >= CIDLB_MAX_POOLS) {
			perr(ps, ps->lineno, ps->sec_name, NULL, "more than %d pools",
			     CIDLB_MAX_POOLS);
			return;
		}
		p = c->n_pools ? grow(c->pools, c->n_pools, sizeof(*p)) : c->pools;
		if (!p) {
			ps->oom = true;
			return;
		}
		c->pools = p;
		p = &c->pools[c->n_pools];
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->line = ps->lineno;
		c->n_pools++;
		ps->sec = SEC_POOL;
		return;
	}
	perr(ps, ps->lineno, ps->sec_name, NULL,
	     "unknown section; allowed: [daemon], [lb], [pool NAME], [vip NAME], [quic-lb N], [quic-lb POOL N], [backend NAME]");
}

static char *reader(char *str, int num, void *stream)
{
	struct pstate *ps = stream;
	char *line = NULL, *p, *e;
	size_t cap = 0;
	ssize_t len;

	len = getline(&line, &cap, ps->f);
	if (len < 0) {
		free(line);
		return NULL;
	}
	ps->lineno++;
	str[0] = '\n';
	str[1] = '\0';
	p = line;
	while (isspace((unsigned char)*p))
		p++;
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (!*p || *p == ';' || *p == '#')
		goto out;
	if ((int)strlen(p) + 2 > num) {
		perr(ps, ps->lineno, NULL, NULL, "line longer than %d characters", num - 2);
		goto out;
	}
	if (*p == '[') {
		char *close = strchr(p, ']');
		char *rest = close ? close + 1 : NULL;

		while (rest && isspace((unsigned char)*rest))
			rest++;
		if (!close || (*rest && *rest != ';' && *rest != '#')) {
			perr(ps, ps->lineno, NULL, NULL,
			     "a section header is '[name]' alone on its line");
			ps->sec = SEC_BAD;
			goto out;
		}
		*close = '\0';
		open_section(ps, p + 1);
		/* inih tracks the section too: hand it a canonical header */
		snprintf(str, (size_t)num, "[%s]\n", ps->sec_name);
		goto out;
	}
	if (!strchr(p, '=') || *p == '=') {
		perr(ps, ps->lineno, ps->sec > SEC_BAD ? ps->sec_name : NULL, NULL,
		     "expected 'key = value', a '[section]' header or a comment (';' or '#')");
		goto out;
	}
	snprintf(str, (size_t)num, "%s\n", p);
out:
	free(line);
	return str;
}

/* ---- the handler: one key ------------------------------------------------ */

/* The structure that holds the keys of the section being read. */
static void *sec_base(struct pstate *ps)
{
	switch (ps->sec) {
	case SEC_VIP:
		return &ps->c->vips[ps->idx];
	case SEC_QLB:
		return &ps->c->pools[ps->pool].qlb[ps->idx];
	case SEC_BACKEND:
		return &ps->c->backends[ps->idx];
	default:
		return ps->c;
	}
}

static int handler(void *user, const char *section, const char *key, const char *val)
{
	struct pstate *ps = user;
	const char *sec = ps->sec_name;
	const struct cidlb_conf_key *k;
	const struct seen_key *dup;
	char why[768];

	if (ps->sec == SEC_BAD)
		return 1; /* reported at the header */
	if (ps->sec == SEC_NONE || !*section) {
		perr(ps, ps->lineno, NULL, key,
		     "key outside any section; put it under [daemon], [lb], [vip NAME], [quic-lb N] or [backend NAME]");
		return 1;
	}
	dup = find_seen(ps->seen, ps->n_seen, sec, key);
	if (dup) {
		perr(ps, ps->lineno, sec, key, "given twice (first on line %d); keep one",
		     dup->line);
		return 1;
	}
	if (remember(&ps->seen, &ps->n_seen, &ps->cap_seen, sec, key, ps->lineno))
		ps->oom = true;
	if (!*val) {
		perr(ps, ps->lineno, sec, key, "empty value");
		return 1;
	}
	if (ps->sec == SEC_POOL) {
		perr(ps, ps->lineno, sec, key,
		     "[pool NAME] takes no keys: name the pool with pool = NAME in its [vip] and [backend] sections, and in [quic-lb NAME N]");
		return 1;
	}
	if (ps->sec == SEC_QLB && !strcmp(key, "key")) {
		perr(ps, ps->lineno, sec, key,
		     "a key is never written in this file: put its 32 hex digits in a file readable only by root and name it with key_file = PATH");
		return 1;
	}
	k = key_find((enum cidlb_conf_sec)ps->sec, key);
	if (!k)
		key_unknown((enum cidlb_conf_sec)ps->sec, why, sizeof(why));
	if (!k || key_set(k, sec_base(ps), key, val, why, sizeof(why)))
		perr(ps, ps->lineno, sec, key, "%s", why);
	return 1;
}

/* ---- whole-file checks ---------------------------------------------------- */

static void check_all(struct pstate *ps)
{
	struct cidlb_conf *c = ps->c;
	char sec[96], why[512];
	int i, j, cr;

	if (!c->n_ifaces)
		add_error(
			c,
			"%s: [lb] interfaces: missing; name the network interfaces to attach to, e.g. interfaces = eth0",
			c->path);
	if (ps->flags & CIDLB_CONF_CHECK_SYSTEM) {
		for (i = 0; i < c->n_ifaces + c->n_egress; i++) {
			const char *n = i < c->n_ifaces ? c->ifaces[i] : c->egress[i - c->n_ifaces];
			const char *k = i < c->n_ifaces ? "interfaces" : "egress_interfaces";

			if (!if_nametoindex(n))
				perr(ps, key_line(ps, "lb", k, 0), "lb", k,
				     "no interface '%s' on this host (see 'ip link')", n);
		}
	}
	if (c->n_pools > (int)c->max_pools)
		perr(ps, key_line(ps, "lb", "max_pools", c->pools[c->max_pools].line), "lb",
		     "max_pools",
		     "%d pools, but the maps hold %u; raise max_pools (a change needs a restart)",
		     c->n_pools, c->max_pools);
	for (i = 0; i < c->n_pools * CIDLB_CONFIG_IDS; i++) {
		struct cidlb_conf_pool *pl = &c->pools[i / CIDLB_CONFIG_IDS];
		struct cidlb_conf_qlb *q = &pl->qlb[i % CIDLB_CONFIG_IDS];
		struct cidlb_cid_params p = { 0 };
		const char *rule = NULL;

		cr = i % CIDLB_CONFIG_IDS;
		if (!q->present)
			continue;
		snprintf(sec, sizeof(sec), "quic-lb %s%s%d", pl->name, *pl->name ? " " : "", cr);
		if (!q->sid_len || !q->nonce_len) {
			const char *k = !q->sid_len ? "server_id_len" : "nonce_len";

			/* given but wrong: reported on its own line already */
			if (!find_seen(ps->seen, ps->n_seen, sec, k))
				perr(ps, q->line, sec, k, "missing; %s",
				     !q->sid_len ? "server ID length, 1..15 octets" :
						   "nonce length, 4..18 octets");
			continue;
		}
		p.config_id = (uint8_t)cr;
		p.server_id_len = q->sid_len;
		p.nonce_len = q->nonce_len;
		p.len_self_encode = q->len_self_encode;
		p.has_key = q->has_key;
		memcpy(p.key, q->key, 16);
		if (cidlb_cid_params_check(&p, &rule))
			perr(ps, key_line(ps, sec, "nonce_len", q->line), sec, "nonce_len",
			     "invalid QUIC-LB config: %s", rule ? rule : "rejected");
		explicit_bzero(&p, sizeof(p));
		/* one key, one use: the reset tokens must not be computable
		 * from what the CID key encrypts */
		if (q->has_key && q->has_reset_key && !memcmp(q->key, q->reset_key, 16))
			perr(ps, key_line(ps, sec, "reset_key_file", q->line), sec,
			     "reset_key_file",
			     "holds the same key as key_file; give it a key of its own");
	}
	for (i = 0; i < c->n_vips; i++) {
		struct cidlb_conf_vip *v = &c->vips[i];

		snprintf(sec, sizeof(sec), "vip %s", v->name);
		j = cidlb_conf_pool_find(c, v->pool_name);
		if (j < 0 && !*v->pool_name)
			perr(ps, v->line, sec, "pool",
			     "missing; the pools are named, so name this VIP's");
		else if (j < 0)
			perr(ps, key_line(ps, sec, "pool", v->line), sec, "pool",
			     c->pools_named ? "no [pool %s] in this file" :
					      "no [pool %s]: this configuration names no pool",
			     v->pool_name);
		else
			v->pool = (uint16_t)j;
		if (!v->key.family) {
			perr(ps, v->line, sec, "address",
			     "missing; the VIP's IPv4 or IPv6 address");
			continue;
		}
		for (j = 0; j < i; j++) {
			if (!memcmp(&c->vips[j].key, &v->key, sizeof(v->key)))
				perr(ps, key_line(ps, sec, "address", v->line), sec, "address",
				     "same address and port as [vip %s] (line %d)", c->vips[j].name,
				     c->vips[j].line);
			else if (c->vips[j].id == v->id)
				perr(ps, key_line(ps, sec, "id", v->line), sec, "id",
				     "%u is also the id of [vip %s] (line %d); ids must differ",
				     v->id, c->vips[j].name, c->vips[j].line);
		}
	}
	for (i = 0; c->pools_named && i < c->n_pools; i++) {
		for (j = 0; j < c->n_vips && strcmp(c->vips[j].pool_name, c->pools[i].name); j++)
			;
		snprintf(sec, sizeof(sec), "pool %s", c->pools[i].name);
		if (j == c->n_vips)
			perr(ps, c->pools[i].line, sec, NULL,
			     "no [vip] names this pool (pool = %s): it would serve nothing",
			     c->pools[i].name);
	}
	for (i = 0; i < c->n_backends; i++) {
		struct cidlb_conf_backend *b = &c->backends[i];
		char bad_key[16];

		snprintf(sec, sizeof(sec), "backend %s", b->name);
		if (backend_check(c, b, bad_key, sizeof(bad_key), why, sizeof(why))) {
			perr(ps, key_line(ps, sec, *bad_key ? bad_key : NULL, b->line), sec,
			     bad_key, "%s", why);
			continue;
		}
		b->pool = (uint16_t)cidlb_conf_pool_find(c, b->pool_name);
		for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
			char k[16];

			if (!cidlb_conf_backend_has_sid(b, cr) ||
			    !cidlb_conf_sid_check(c, b, cr, c->backends, i, why, sizeof(why)))
				continue;
			snprintf(k, sizeof(k), "server_id.%d", cr);
			perr(ps, key_line(ps, sec, k, b->line), sec, k, "%s", why);
		}
	}
}

/* ---- entry points --------------------------------------------------------- */

/* Reads @f (closed here; NULL: -errno of the open) as the file @name. */
static int conf_parse(FILE *f, int open_err, const char *name, unsigned int flags,
		      struct cidlb_conf **out)
{
	struct pstate ps = { .flags = flags };
	struct cidlb_conf *c;
	int err = 0, rc;

	c = calloc(1, sizeof(*c));
	*out = c;
	if (!c) {
		if (f)
			fclose(f);
		return -ENOMEM;
	}
	cidlb_conf_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", name);
	c->pools = calloc(16, sizeof(*c->pools)); /* grow()'s steps */
	if (!c->pools) {
		if (f)
			fclose(f);
		return -ENOMEM;
	}
	c->n_pools = 1; /* the implicit pool, until a [pool NAME] */
	ps.c = c;
	ps.f = f;
	if (!ps.f) {
		err = open_err;
		add_error(c, "%s: cannot read the configuration file: %s", name, strerror(-err));
		return err;
	}
	rc = ini_parse_stream(reader, &ps, handler, &ps);
	fclose(ps.f);
	if (rc > 0 && !c->n_errors)
		add_error(
			c,
			"%s:%d: not understood; expected 'key = value', a '[section]' header or a comment",
			name, rc);
	if (rc == -2 || ps.oom)
		err = -ENOMEM;
	if (!err)
		check_all(&ps);
	free(ps.seen);
	free(ps.secs);
	if (err)
		return err;
	return c->n_errors ? -EINVAL : 0;
}

int cidlb_conf_load(const char *path, unsigned int flags, struct cidlb_conf **out)
{
	FILE *f = fopen(path, "r");

	return conf_parse(f, f ? 0 : -errno, path, flags, out);
}

int cidlb_conf_parse_string(const char *text, size_t len, const char *name, unsigned int flags,
			    struct cidlb_conf **out)
{
	FILE *f = fmemopen((void *)text, len, "r"); /* read only */

	return conf_parse(f, f ? 0 : -errno, name, flags, out);
}

void cidlb_conf_free(struct cidlb_conf *c)
{
	if (!c)
		return;
	free(c->vips);
	free(c->backends);
	free(c->errors);
	if (c->pools)
		explicit_bzero(c->pools, (size_t)c->n_pools * sizeof(*c->pools));
	free(c->pools);
	free(c);
}
