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
#include <syslog.h>
#include <sys/stat.h>
#include <ini.h>

#include <cidlb/cidlb.h>
#include "ctl/config.h"

enum sec_type { SEC_NONE, SEC_BAD, SEC_DAEMON, SEC_LB, SEC_VIP, SEC_QLB, SEC_BACKEND };

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
	enum sec_type sec;	/* of the section being read */
	char sec_name[96];	/* as written, for messages */
	int sec_line;
	int idx;		/* vip/backend array index, quic-lb ID */
	struct seen_key *seen;
	size_t n_seen, cap_seen;
	struct seen_key *secs;	/* section headers: key unused */
	size_t n_secs, cap_secs;
	bool oom;
};

static const char *const daemon_keys =
	"pin_dir, control_socket, state_file, metrics, bpf_object, log_level, quarantine, retire_ttl";
static const char *const lb_keys =
	"interfaces, egress_interfaces, attach_mode, source4, source6, seed, ttl, lru_size, retired_size, dcache_size";
static const char *const vip_keys = "address, port, id";
static const char *const qlb_keys =
	"server_id_len, nonce_len, key_file, len_self_encode, decode_cache";
static const char *const backend_keys =
	"address, server_id.N (N = config ID 0..6), weight, state, mac, mode";

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
static void perr(struct pstate *ps, int line, const char *sec, const char *key,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void perr(struct pstate *ps, int line, const char *sec, const char *key,
		 const char *fmt, ...)
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

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5], &end) != 6 || strlen(s) != 17)
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

static int nib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int cidlb_parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (*s) {
		int hi, lo;

		if ((*s == ':' || *s == '-') && n > 0) {
			s++;
			continue;
		}
		hi = nib(s[0]);
		lo = hi < 0 ? -1 : nib(s[1]);
		if (hi < 0 || lo < 0 || n >= max)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return n ? (int)n : -EINVAL;
}

int cidlb_check_root_only(const char *path, const struct stat *st, mode_t forbidden,
			  const char *rule, const char *mode, char *why, size_t why_len)
{
	if (st->st_uid == 0 && !(st->st_mode & forbidden))
		return 0;
	snprintf(why, why_len, "'%s' is owned by uid %u with mode %04o: %s (chown root '%s'; chmod %s '%s')",
		 path, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777), rule, path, mode, path);
	return -EPERM;
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

/* ---- backends (also used by the control socket) --------------------------- */

void cidlb_conf_backend_init(struct cidlb_conf_backend *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->state = CIDLB_BE_ACTIVE;
	b->weight = CIDLB_DEFAULT_WEIGHT;
}

int cidlb_conf_backend_set(struct cidlb_conf_backend *b, const char *key,
			   const char *val, char *why, size_t why_len)
{
	if (!strcmp(key, "address")) {
		if (cidlb_parse_addr(val, &b->family, b->addr)) {
			snprintf(why, why_len, "'%s' is not an IPv4 or IPv6 address", val);
			return -EINVAL;
		}
		return 0;
	}
	if (!strncmp(key, "server_id.", 10)) {
		uint32_t cr;
		int n;

		if (cidlb_parse_u32(key + 10, 0, CIDLB_CONFIG_IDS - 1, &cr) || strlen(key) != 11) {
			snprintf(why, why_len, "the config ID after 'server_id.' must be 0..6");
			return -EINVAL;
		}
		n = cidlb_parse_hex(val, b->sid[cr], CIDLB_SID_MAX);
		if (n < 0) {
			snprintf(why, why_len, "'%s' is not a server ID: 1..15 octets in hex, e.g. 0a0b0c",
				 val);
			return -EINVAL;
		}
		b->sid_len[cr] = (uint8_t)n;
		b->sid_mask |= 1u << cr;
		return 0;
	}
	if (!strcmp(key, "weight")) {
		if (cidlb_parse_u32(val, 0, CIDLB_WEIGHT_MAX, &b->weight)) {
			snprintf(why, why_len, "'%s': must be a number 0..%u (0: no new fallback flows)",
				 val, (unsigned int)CIDLB_WEIGHT_MAX);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "state")) {
		if (!strcmp(val, "active"))
			b->state = CIDLB_BE_ACTIVE;
		else if (!strcmp(val, "draining"))
			b->state = CIDLB_BE_DRAINING;
		else {
			snprintf(why, why_len, "'%s': must be 'active' or 'draining'", val);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "mac")) {
		if (cidlb_parse_mac(val, b->mac)) {
			snprintf(why, why_len, "'%s' is not a MAC address: six hex octets with colons, e.g. 02:00:00:00:00:01",
				 val);
			return -EINVAL;
		}
		b->has_mac = true;
		return 0;
	}
	if (!strcmp(key, "mode")) {
		if (!strcmp(val, "encap"))
			b->direct = false;
		else if (!strcmp(val, "direct"))
			b->direct = true;
		else {
			snprintf(why, why_len, "'%s': must be 'encap' (IPIP/IP6IP6 tunnel) or 'direct' (MAC rewrite, backend on this segment)",
				 val);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(why, why_len, "unknown key; a backend allows: %s", backend_keys);
	return -ENOENT;
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

/* As cidlb_conf_backend_check(), and *bad_key names the key at fault. */
static int backend_check(const struct cidlb_conf *c, const struct cidlb_conf_backend *b,
			 const char **bad_key, char *why, size_t why_len)
{
	static char sid_key[16];
	int cr;

	*bad_key = NULL;
	if (!name_ok(b->name)) {
		snprintf(why, why_len, "backend name '%s': 1..%d letters, digits, '-', '_' or '.'",
			 b->name, CIDLB_NAME_MAX);
		return -EINVAL;
	}
	if (!b->family) {
		*bad_key = "address";
		snprintf(why, why_len, "missing: the backend's IPv4 or IPv6 address is required");
		return -EINVAL;
	}
	for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
		if (!(b->sid_mask & (1u << cr)))
			continue;
		snprintf(sid_key, sizeof(sid_key), "server_id.%d", cr);
		*bad_key = sid_key;
		if (!c->qlb[cr].present) {
			snprintf(why, why_len, "there is no [quic-lb %d] section; define config %d or use a configured ID",
				 cr, cr);
			return -EINVAL;
		}
		if (b->sid_len[cr] != c->qlb[cr].sid_len) {
			snprintf(why, why_len, "%u octets, but config %d has server_id_len = %u",
				 b->sid_len[cr], cr, c->qlb[cr].sid_len);
			return -EINVAL;
		}
	}
	if (b->direct && !b->has_mac) {
		*bad_key = "mode";
		snprintf(why, why_len, "'direct' needs the backend's MAC address: add mac = ...");
		return -EINVAL;
	}
	if (!b->direct && b->family == CIDLB_FAMILY_V4 && !c->has_src4) {
		*bad_key = "address";
		snprintf(why, why_len, "an IPv4 backend needs [lb] source4 (the LB's outer source address)");
		return -EINVAL;
	}
	if (!b->direct && b->family == CIDLB_FAMILY_V6 && !c->has_src6) {
		*bad_key = "address";
		snprintf(why, why_len, "an IPv6 backend needs [lb] source6 (the LB's outer source address)");
		return -EINVAL;
	}
	return 0;
}

int cidlb_conf_backend_check(const struct cidlb_conf *c, const struct cidlb_conf_backend *b,
			     char *why, size_t why_len)
{
	const char *key;
	char inner[512];
	int err = backend_check(c, b, &key, inner, sizeof(inner));

	if (err)
		snprintf(why, why_len, "%s%s%s", key ? key : "", key ? ": " : "", inner);
	return err;
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
	const uint8_t *sid = b->sid[cr];
	uint8_t len = b->sid_len[cr];
	bool enc = c->qlb[cr].has_key;
	char ref[128], h[2 * CIDLB_SID_MAX + 1];
	int i, ocr, k;

	for (i = -1; i < n; i++) {
		const struct cidlb_conf_backend *o = i < 0 ? b : &others[i];

		if (i >= 0 && o == b)
			continue;
		for (ocr = 0; ocr < CIDLB_CONFIG_IDS; ocr++) {
			uint8_t olen = o->sid_len[ocr];

			if (!(o->sid_mask & (1u << ocr)) || !c->qlb[ocr].present)
				continue;
			if (ocr == cr) {
				if (i < 0 || olen != len || memcmp(o->sid[ocr], sid, len))
					continue;
				snprintf(why, why_len, "already the server ID of %s; server IDs are unique per config",
					 backend_ref(o, ref, sizeof(ref)));
				return -EEXIST;
			}
			/* a backend's own server IDs: reported once, at the later key */
			if ((i < 0 && ocr > cr) || c->qlb[ocr].has_key == enc ||
			    memcmp(o->sid[ocr], sid, olen < len ? olen : len))
				continue;
			for (k = 0; k < len; k++)
				sprintf(h + 2 * k, "%02x", sid[k]);
			snprintf(why, why_len, "%s clashes with server_id.%d of %s under %s config %d, and config %d is %s: QUIC-LB requires separate server-ID allocations for plaintext and encrypted configs (a server ID seen in clear must tell nothing about an encrypted one); choose a server ID that neither equals nor starts, nor is the start of, a server ID of the other kind",
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
		     (q->decode_cache ? 0 : CIDLB_CFG_F_NO_DCACHE);
	cidlb_config_masks(out);
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
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", CIDLB_DEFAULT_PIN_DIR);
	snprintf(c->socket, sizeof(c->socket), "%s", CIDLB_DEFAULT_SOCKET);
	snprintf(c->state_file, sizeof(c->state_file), "%s", CIDLB_DEFAULT_STATE);
	snprintf(c->metrics, sizeof(c->metrics), "%s", CIDLB_DEFAULT_METRICS);
	c->log_level = LOG_INFO;
	c->quarantine_s = CIDLB_DEFAULT_QUARANTINE;
	c->retire_ttl_s = CIDLB_DEFAULT_RETIRE_TTL;
	c->attach_mode = CIDLB_ATTACH_AUTO;
	c->ttl = 64;
	c->lru_size = CIDLB_LRU_DEFAULT;
	c->retired_size = CIDLB_RETIRED_DEFAULT;
	c->dcache_size = CIDLB_DCACHE_DEFAULT;
}

/* ---- the reader: one physical line per call ------------------------------- */

static int remember(struct seen_key **arr, size_t *n, size_t *cap, const char *sec,
		    const char *key, int line)
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

static const struct seen_key *find_seen(const struct seen_key *arr, size_t n,
					const char *sec, const char *key)
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
		ps->sec = type[0] == 'd' ? SEC_DAEMON : SEC_LB;
		return;
	}
	if (!strcmp(type, "vip") || !strcmp(type, "backend")) {
		bool vip = type[0] == 'v';

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
			v->key.port = htons(443);
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
		uint32_t id;

		if (cidlb_parse_u32(name, 0, CIDLB_CONFIG_IDS - 1, &id)) {
			perr(ps, ps->lineno, ps->sec_name, NULL,
			     "needs the config ID: [quic-lb N], N = 0..6 (7 marks unroutable CIDs)");
			return;
		}
		c->qlb[id].present = true;
		c->qlb[id].decode_cache = true;
		c->qlb[id].line = ps->lineno;
		ps->idx = (int)id;
		ps->sec = SEC_QLB;
		return;
	}
	perr(ps, ps->lineno, ps->sec_name, NULL,
	     "unknown section; allowed: [daemon], [lb], [vip NAME], [quic-lb N], [backend NAME]");
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

static int set_path(struct pstate *ps, const char *sec, const char *key, const char *val,
		    char *dst, size_t size)
{
	if (val[0] != '/' || strlen(val) >= size) {
		perr(ps, ps->lineno, sec, key, "'%s': must be an absolute path shorter than %zu characters",
		     val, size);
		return -EINVAL;
	}
	snprintf(dst, size, "%s", val);
	return 0;
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

static int split_ifaces(struct pstate *ps, const char *sec, const char *key, const char *val,
			char (*out)[IF_NAMESIZE], int *n)
{
	char buf[512], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", val);
	*n = 0;
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		int i;

		if (strlen(tok) >= IF_NAMESIZE) {
			perr(ps, ps->lineno, sec, key, "'%s': interface names are at most %d characters",
			     tok, IF_NAMESIZE - 1);
			return -EINVAL;
		}
		for (i = 0; i < *n; i++)
			if (!strcmp(out[i], tok)) {
				perr(ps, ps->lineno, sec, key, "'%s' listed twice", tok);
				return -EINVAL;
			}
		if (*n >= CIDLB_MAX_IFACES) {
			perr(ps, ps->lineno, sec, key, "more than %d interfaces", CIDLB_MAX_IFACES);
			return -EINVAL;
		}
		snprintf(out[(*n)++], IF_NAMESIZE, "%s", tok);
	}
	if (!*n) {
		perr(ps, ps->lineno, sec, key, "empty; list interface names separated by spaces");
		return -EINVAL;
	}
	return 0;
}

#define BAD(...) do { perr(ps, ps->lineno, sec, key, __VA_ARGS__); return 1; } while (0)

static int handle_daemon(struct pstate *ps, const char *sec, const char *key, const char *val)
{
	struct cidlb_conf *c = ps->c;

	if (!strcmp(key, "pin_dir"))
		set_path(ps, sec, key, val, c->pin_dir, sizeof(c->pin_dir));
	else if (!strcmp(key, "control_socket"))
		set_path(ps, sec, key, val, c->socket, sizeof(c->socket));
	else if (!strcmp(key, "state_file"))
		set_path(ps, sec, key, val, c->state_file, sizeof(c->state_file));
	else if (!strcmp(key, "bpf_object"))
		set_path(ps, sec, key, val, c->object, sizeof(c->object));
	else if (!strcmp(key, "metrics")) {
		if (metrics_addr_ok(val) || strlen(val) >= sizeof(c->metrics))
			BAD("'%s': must be 'ADDRESS:PORT' (e.g. 127.0.0.1:9470, [::1]:9470) or 'off'", val);
		snprintf(c->metrics, sizeof(c->metrics), "%s", strcmp(val, "off") ? val : "");
	} else if (!strcmp(key, "log_level")) {
		static const struct { const char *n; int l; } lv[] = {
			{ "error", LOG_ERR }, { "warning", LOG_WARNING },
			{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
		};
		size_t i;

		for (i = 0; i < 4 && strcmp(lv[i].n, val); i++)
			;
		if (i == 4)
			BAD("'%s': must be error, warning, info or debug", val);
		c->log_level = lv[i].l;
	} else if (!strcmp(key, "quarantine")) {
		if (cidlb_parse_u32(val, 0, 30 * 86400, &c->quarantine_s))
			BAD("'%s': seconds, 0..2592000 (default %d, longer than any QUIC idle timeout)",
			    val, CIDLB_DEFAULT_QUARANTINE);
	} else if (!strcmp(key, "retire_ttl")) {
		if (cidlb_parse_u32(val, 1, 30 * 86400, &c->retire_ttl_s))
			BAD("'%s': seconds, 1..2592000 (default %d)", val, CIDLB_DEFAULT_RETIRE_TTL);
	} else {
		BAD("unknown key; [daemon] allows: %s", daemon_keys);
	}
	return 1;
}

static int handle_lb(struct pstate *ps, const char *sec, const char *key, const char *val)
{
	struct cidlb_conf *c = ps->c;
	uint8_t fam, addr[16];
	uint32_t v;

	if (!strcmp(key, "interfaces")) {
		split_ifaces(ps, sec, key, val, c->ifaces, &c->n_ifaces);
	} else if (!strcmp(key, "egress_interfaces")) {
		split_ifaces(ps, sec, key, val, c->egress, &c->n_egress);
	} else if (!strcmp(key, "attach_mode")) {
		if (!strcmp(val, "native"))
			c->attach_mode = CIDLB_ATTACH_NATIVE;
		else if (!strcmp(val, "generic"))
			c->attach_mode = CIDLB_ATTACH_GENERIC;
		else if (!strcmp(val, "auto"))
			c->attach_mode = CIDLB_ATTACH_AUTO;
		else
			BAD("'%s': must be native (driver XDP), generic (any device, slower) or auto (native, else generic)",
			    val);
	} else if (!strcmp(key, "source4")) {
		if (cidlb_parse_addr(val, &fam, addr) || fam != CIDLB_FAMILY_V4)
			BAD("'%s': must be an IPv4 address (outer source of IPIP packets)", val);
		memcpy(c->src4, addr, 4);
		c->has_src4 = true;
	} else if (!strcmp(key, "source6")) {
		if (cidlb_parse_addr(val, &fam, addr) || fam != CIDLB_FAMILY_V6)
			BAD("'%s': must be an IPv6 address (outer source of IP6IP6 packets)", val);
		memcpy(c->src6, addr, 16);
		c->has_src6 = true;
	} else if (!strcmp(key, "seed")) {
		if (cidlb_parse_u32(val, 0, UINT32_MAX, &c->seed))
			BAD("'%s': must be a number 0..4294967295 (decimal or 0x hex), the same on every LB",
			    val);
		c->has_seed = true;
	} else if (!strcmp(key, "ttl")) {
		if (cidlb_parse_u32(val, 1, 255, &v))
			BAD("'%s': must be 1..255 (outer TTL / hop limit)", val);
		c->ttl = (uint8_t)v;
	} else if (!strcmp(key, "lru_size") || !strcmp(key, "retired_size") ||
		   !strcmp(key, "dcache_size")) {
		uint32_t *dst = key[0] == 'l' ? &c->lru_size :
				key[0] == 'r' ? &c->retired_size : &c->dcache_size;

		if (cidlb_parse_u32(val, 1024, 1u << 26, dst))
			BAD("'%s': must be a number of entries, 1024..67108864", val);
	} else {
		BAD("unknown key; [lb] allows: %s", lb_keys);
	}
	return 1;
}

static int handle_vip(struct pstate *ps, const char *sec, const char *key, const char *val)
{
	struct cidlb_conf_vip *v = &ps->c->vips[ps->idx];
	uint32_t n;

	if (!strcmp(key, "address")) {
		if (cidlb_parse_addr(val, &v->key.family, v->key.addr))
			BAD("'%s' is not an IPv4 or IPv6 address", val);
	} else if (!strcmp(key, "port")) {
		if (cidlb_parse_u32(val, 1, 65535, &n))
			BAD("'%s': must be a UDP port 1..65535", val);
		v->key.port = htons((uint16_t)n);
	} else if (!strcmp(key, "id")) {
		if (cidlb_parse_u32(val, 1, UINT32_MAX, &v->id))
			BAD("'%s': must be a number 1..4294967295", val);
	} else {
		BAD("unknown key; [vip NAME] allows: %s", vip_keys);
	}
	return 1;
}

static int read_key_file(struct pstate *ps, const char *sec, const char *key, const char *path,
			 uint8_t out[16])
{
	char buf[128], msg[1024], *e;
	struct stat st;
	size_t n;
	FILE *f;

	if (path[0] != '/')
		BAD("'%s': must be an absolute path", path);
	f = fopen(path, "r");
	if (!f)
		BAD("cannot read '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st)) {
		fclose(f);
		BAD("cannot stat '%s': %s", path, strerror(errno));
	}
	if (cidlb_check_root_only(path, &st, S_IRWXG | S_IRWXO, "the key must be readable only by root",
				  "600", msg, sizeof(msg))) {
		fclose(f);
		BAD("%s", msg);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	e = buf + n;
	while (e > buf && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (strlen(buf) != 32 || cidlb_parse_hex(buf, out, 16) != 16)
		BAD("'%s' must hold the AES-128 key as 32 hex digits (one line)", path);
	return 1;
}

static int handle_qlb(struct pstate *ps, const char *sec, const char *key, const char *val)
{
	struct cidlb_conf_qlb *q = &ps->c->qlb[ps->idx];
	uint32_t n;

	if (!strcmp(key, "server_id_len")) {
		if (cidlb_parse_u32(val, 1, CIDLB_SID_MAX, &n))
			BAD("'%s': must be 1..15 octets", val);
		q->sid_len = (uint8_t)n;
	} else if (!strcmp(key, "nonce_len")) {
		if (cidlb_parse_u32(val, CIDLB_NONCE_MIN, CIDLB_NONCE_MAX, &n))
			BAD("'%s': must be 4..18 octets", val);
		q->nonce_len = (uint8_t)n;
	} else if (!strcmp(key, "key_file")) {
		/* keyed even when unreadable: the error is reported there */
		read_key_file(ps, sec, key, val, q->key);
		q->has_key = true;
	} else if (!strcmp(key, "key")) {
		BAD("a key is never written in this file: put its 32 hex digits in a file readable only by root and name it with key_file = PATH");
	} else if (!strcmp(key, "len_self_encode") || !strcmp(key, "decode_cache")) {
		if (cidlb_parse_bool(val, key[0] == 'l' ? &q->len_self_encode : &q->decode_cache))
			BAD("'%s': must be yes or no", val);
	} else {
		BAD("unknown key; [quic-lb N] allows: %s (no key_file: plaintext)", qlb_keys);
	}
	return 1;
}

static int handler(void *user, const char *section, const char *key, const char *val)
{
	struct pstate *ps = user;
	const char *sec = ps->sec_name;
	const struct seen_key *dup;
	char why[512];

	if (ps->sec == SEC_BAD)
		return 1;	/* reported at the header */
	if (ps->sec == SEC_NONE || !*section) {
		perr(ps, ps->lineno, NULL, key,
		     "key outside any section; put it under [daemon], [lb], [vip NAME], [quic-lb N] or [backend NAME]");
		return 1;
	}
	dup = find_seen(ps->seen, ps->n_seen, sec, key);
	if (dup) {
		perr(ps, ps->lineno, sec, key, "given twice (first on line %d); keep one", dup->line);
		return 1;
	}
	if (remember(&ps->seen, &ps->n_seen, &ps->cap_seen, sec, key, ps->lineno))
		ps->oom = true;
	if (!*val) {
		perr(ps, ps->lineno, sec, key, "empty value");
		return 1;
	}
	switch (ps->sec) {
	case SEC_DAEMON:
		return handle_daemon(ps, sec, key, val);
	case SEC_LB:
		return handle_lb(ps, sec, key, val);
	case SEC_VIP:
		return handle_vip(ps, sec, key, val);
	case SEC_QLB:
		return handle_qlb(ps, sec, key, val);
	case SEC_BACKEND:
		if (cidlb_conf_backend_set(&ps->c->backends[ps->idx], key, val, why, sizeof(why)))
			perr(ps, ps->lineno, sec, key, "%s", why);
		return 1;
	default:
		return 1;
	}
}

/* ---- whole-file checks ---------------------------------------------------- */

static void check_all(struct pstate *ps)
{
	struct cidlb_conf *c = ps->c;
	char sec[96], why[512];
	int i, j, cr;

	if (!c->n_ifaces)
		add_error(c, "%s: [lb] interfaces: missing; name the network interfaces to attach to, e.g. interfaces = eth0",
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
	for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
		struct cidlb_conf_qlb *q = &c->qlb[cr];
		struct cidlb_cid_params p = { 0 };
		const char *rule = NULL;

		if (!q->present)
			continue;
		snprintf(sec, sizeof(sec), "quic-lb %d", cr);
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
	}
	for (i = 0; i < c->n_vips; i++) {
		struct cidlb_conf_vip *v = &c->vips[i];

		snprintf(sec, sizeof(sec), "vip %s", v->name);
		if (!v->key.family) {
			perr(ps, v->line, sec, "address", "missing; the VIP's IPv4 or IPv6 address");
			continue;
		}
		for (j = 0; j < i; j++) {
			if (!memcmp(&c->vips[j].key, &v->key, sizeof(v->key)))
				perr(ps, key_line(ps, sec, "address", v->line), sec, "address",
				     "same address and port as [vip %s] (line %d)",
				     c->vips[j].name, c->vips[j].line);
			else if (c->vips[j].id == v->id)
				perr(ps, key_line(ps, sec, "id", v->line), sec, "id",
				     "%u is also the id of [vip %s] (line %d); ids must differ",
				     v->id, c->vips[j].name, c->vips[j].line);
		}
	}
	for (i = 0; i < c->n_backends; i++) {
		struct cidlb_conf_backend *b = &c->backends[i];
		const char *bad_key;

		snprintf(sec, sizeof(sec), "backend %s", b->name);
		if (backend_check(c, b, &bad_key, why, sizeof(why))) {
			perr(ps, key_line(ps, sec, bad_key, b->line), sec, bad_key, "%s", why);
			continue;
		}
		for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++) {
			char k[16];

			if (!(b->sid_mask & (1u << cr)) ||
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
		add_error(c, "%s:%d: not understood; expected 'key = value', a '[section]' header or a comment",
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

int cidlb_conf_parse_string(const char *text, size_t len, const char *name,
			    unsigned int flags, struct cidlb_conf **out)
{
	FILE *f = fmemopen((void *)text, len, "r");	/* read only */

	return conf_parse(f, f ? 0 : -errno, name, flags, out);
}

void cidlb_conf_free(struct cidlb_conf *c)
{
	if (!c)
		return;
	free(c->vips);
	free(c->backends);
	free(c->errors);
	explicit_bzero(c->qlb, sizeof(c->qlb));
	free(c);
}
