// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_config.c - libFuzzer target for the configuration parser
 * (user/ctl/config.c) under ASan/UBSan: any octets as a cidlb.conf.
 * Invariants:
 *   - the result is valid (0, no error text) or invalid (-EINVAL and as
 *     many error lines as n_errors, each "fuzz.conf:LINE: ..." with LINE a
 *     line of the input, or the one whole-file message "fuzz.conf: [lb]
 *     interfaces: missing ..."); never a crash, a leak or UB;
 *   - parsing the same octets again gives the same configuration and the
 *     same errors;
 *   - a valid configuration printed back as INI (print_conf below, every
 *     key) parses to the same configuration: nothing the parser accepts is
 *     lost, changed or made ambiguous on the way (e.g. two sections that
 *     are one).
 * key_file never reads the file system: config.c is built with
 * -Dfopen=fuzz_fopen (Makefile), which serves only these paths, from memory:
 *   /fuzz/key       a valid key, mode 0600
 *   /fuzz/key644    a valid key, mode 0644 (refused)
 *   /fuzz/hex/TEXT  a root-only file holding TEXT (the input chooses it)
 * and answers ENOENT for every other path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "ctl/config.h"
#include "ctl/log.h"

#define NAME "fuzz.conf"

FILE *fuzz_fopen(const char *path, const char *mode);

static FILE *mem_file(const char *text, mode_t perm)
{
	int fd = memfd_create("fuzzkey", MFD_CLOEXEC);
	size_t n = strlen(text);
	FILE *f;

	if (fd < 0)
		return NULL;
	if (write(fd, text, n) != (ssize_t)n || fchmod(fd, perm) || lseek(fd, 0, SEEK_SET)) {
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

FILE *fuzz_fopen(const char *path, const char *mode)
{
	(void)mode;
	if (!strcmp(path, "/fuzz/key"))
		return mem_file("00112233445566778899aabbccddeeff\n", 0600);
	if (!strcmp(path, "/fuzz/key644"))
		return mem_file("00112233445566778899aabbccddeeff\n", 0644);
	if (!strncmp(path, "/fuzz/hex/", 10))
		return mem_file(path + 10, 0600);
	errno = ENOENT;
	return NULL;
}

/* ---- the configuration printed back as INI --------------------------------- */
/* "key =value": a value may start with ';', which after a space would
 * start an inline comment (inih). */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!b->p) {
		b->cap = 4096;
		b->p = malloc(b->cap);
		if (!b->p)
			abort();
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap * 2 + (size_t)n + 256;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	b->len += (size_t)n;
}

static const char *hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
	return out;
}

static void print_conf(const struct cidlb_conf *c, struct buf *b)
{
	char a[64], h[40];
	int i, cr;

	put(b, "[daemon]\npin_dir =%s\ncontrol_socket =%s\nstate_file =%s\nmetrics =%s\n",
	    c->pin_dir, c->socket, c->state_file, *c->metrics ? c->metrics : "off");
	if (*c->object)
		put(b, "bpf_object =%s\n", c->object);
	put(b, "log_level =%s\nquarantine =%u\nretire_ttl =%u\n",
	    cidlb_log_level_name(c->log_level), c->quarantine_s, c->retire_ttl_s);
	put(b, "[lb]\ninterfaces =");
	for (i = 0; i < c->n_ifaces; i++)
		put(b, "%s%s", i ? "," : "", c->ifaces[i]);
	if (c->n_egress) {
		put(b, "\negress_interfaces =");
		for (i = 0; i < c->n_egress; i++)
			put(b, "%s%s", i ? "," : "", c->egress[i]);
	}
	put(b, "\nattach_mode =%s\n", cidlb_attach_mode_str(c->attach_mode));
	if (c->has_src4)
		put(b, "source4 =%s\n", inet_ntop(AF_INET, c->src4, a, sizeof(a)));
	if (c->has_src6)
		put(b, "source6 =%s\n", inet_ntop(AF_INET6, c->src6, a, sizeof(a)));
	if (c->has_seed) /* absent: cidlbd draws one */
		put(b, "seed =%u\n", c->seed);
	put(b, "ttl =%u\nlru_size =%u\nretired_size =%u\ndcache_size =%u\nmax_pools =%u\n", c->ttl,
	    c->lru_size, c->retired_size, c->dcache_size, c->max_pools);
	for (i = 0; c->pools_named && i < c->n_pools; i++)
		put(b, "[pool %s]\n", c->pools[i].name);
	for (i = 0; i < c->n_vips; i++) {
		const struct cidlb_conf_vip *v = &c->vips[i];

		put(b, "[vip %s]\naddress =%s\nport =%u\nid =%u\n", v->name,
		    cidlb_addr_str(v->key.family, v->key.addr, a, sizeof(a)), ntohs(v->key.port),
		    v->id);
		if (*v->pool_name)
			put(b, "pool =%s\n", v->pool_name);
	}
	for (i = 0; i < c->n_pools * CIDLB_CONFIG_IDS; i++) {
		const struct cidlb_conf_pool *p = &c->pools[i / CIDLB_CONFIG_IDS];
		const struct cidlb_conf_qlb *q = &p->qlb[i % CIDLB_CONFIG_IDS];

		cr = i % CIDLB_CONFIG_IDS;
		if (!q->present)
			continue;
		put(b,
		    "[quic-lb %s%s%d]\nserver_id_len =%u\nnonce_len =%u\nlen_self_encode =%s\ndecode_cache =%s\n"
		    "token_prefix =%s\n",
		    p->name, *p->name ? " " : "", cr, q->sid_len, q->nonce_len,
		    q->len_self_encode ? "yes" : "no", q->decode_cache ? "yes" : "no",
		    q->token_prefix ? "yes" : "no");
		if (q->has_key)
			put(b, "key_file =/fuzz/hex/%s\n", hex(q->key, 16, h));
	}
	for (i = 0; i < c->n_backends; i++) {
		const struct cidlb_conf_backend *be = &c->backends[i];

		put(b, "[backend %s]\naddress =%s\nweight =%u\nstate =%s\nmode =%s\n", be->name,
		    cidlb_addr_str(be->family, be->addr, a, sizeof(a)), be->weight,
		    cidlb_be_state_str(be->state), be->direct ? "direct" : "encap");
		if (*be->pool_name)
			put(b, "pool =%s\n", be->pool_name);
		if (be->has_mac)
			put(b, "mac =%02x:%02x:%02x:%02x:%02x:%02x\n", be->mac[0], be->mac[1],
			    be->mac[2], be->mac[3], be->mac[4], be->mac[5]);
		for (cr = 0; cr < CIDLB_CONFIG_IDS; cr++)
			if (be->sid_mask & (1u << cr))
				put(b, "server_id.%d =%s\n", cr,
				    hex(be->sid[cr], be->sid_len[cr], h));
	}
}

/* ---- comparing two results --------------------------------------------------- */

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_config: " __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* Same configuration; with @lines, the line numbers must match too. */
static bool same_conf(const struct cidlb_conf *x, const struct cidlb_conf *y, bool lines)
{
	struct cidlb_conf a, b;
	int i;

	memcpy(&a, x, sizeof(a)); /* padding included: calloc'd, both */
	memcpy(&b, y, sizeof(b));

	if (a.n_vips != b.n_vips || a.n_backends != b.n_backends || a.n_pools != b.n_pools)
		return false;
	a.vips = b.vips = NULL;
	a.backends = b.backends = NULL;
	a.errors = b.errors = NULL;
	a.pools = b.pools = NULL;
	if (memcmp(&a, &b, sizeof(a)))
		return false;
	for (i = 0; i < a.n_pools * CIDLB_CONFIG_IDS; i++) {
		struct cidlb_conf_qlb v, w;

		memcpy(&v, &x->pools[i / CIDLB_CONFIG_IDS].qlb[i % CIDLB_CONFIG_IDS], sizeof(v));
		memcpy(&w, &y->pools[i / CIDLB_CONFIG_IDS].qlb[i % CIDLB_CONFIG_IDS], sizeof(w));
		if (!lines)
			v.line = w.line = 0;
		if (memcmp(&v, &w, sizeof(v)))
			return false;
	}
	for (i = 0; i < a.n_pools; i++)
		if (strcmp(x->pools[i].name, y->pools[i].name) ||
		    (lines && x->pools[i].line != y->pools[i].line))
			return false;
	for (i = 0; i < a.n_vips; i++) {
		struct cidlb_conf_vip v, w;

		memcpy(&v, &x->vips[i], sizeof(v));
		memcpy(&w, &y->vips[i], sizeof(w));

		if (!lines)
			v.line = w.line = 0;
		if (memcmp(&v, &w, sizeof(v)))
			return false;
	}
	for (i = 0; i < a.n_backends; i++) {
		struct cidlb_conf_backend v, w;

		memcpy(&v, &x->backends[i], sizeof(v));
		memcpy(&w, &y->backends[i], sizeof(w));

		if (!lines)
			v.line = w.line = 0;
		if (memcmp(&v, &w, sizeof(v)))
			return false;
	}
	return true;
}

static void check_errors(const struct cidlb_conf *c, const uint8_t *d, size_t n)
{
	const char *p = c->errors;
	size_t lines = 0, i, count = 0;

	for (i = 0; i < n; i++)
		lines += d[i] == '\n';
	if (n && d[n - 1] != '\n')
		lines++;
	CHECK(p && *p && c->n_errors, "invalid but no error listed");
	while (*p) {
		const char *nl = strchr(p, '\n');
		char *end;
		long ln;

		CHECK(nl, "error text does not end with a newline: %s", p);
		CHECK(!strncmp(p, NAME ":", sizeof(NAME)), "error without the file name: %.*s",
		      (int)(nl - p), p);
		static const char missing[] = NAME ": [lb] interfaces: missing";

		if (!strncmp(p, missing, sizeof(missing) - 1)) {
			p = nl + 1;
			count++;
			continue;
		}
		ln = strtol(p + sizeof(NAME), &end, 10);
		CHECK(end > p + sizeof(NAME) && *end == ':' && end[1] == ' ' && ln >= 1 &&
			      (size_t)ln <= lines,
		      "error without a line of the file (%zu lines): %.*s", lines, (int)(nl - p),
		      p);
		CHECK(nl - end > 3, "error without a message: %.*s", (int)(nl - p), p);
		p = nl + 1;
		count++;
	}
	CHECK(count == c->n_errors, "%zu error lines, n_errors %zu", count, c->n_errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct cidlb_conf *c = NULL, *c2 = NULL, *c3 = NULL;
	struct buf b = { 0 };
	int rc, rc2, rc3;

	rc = cidlb_conf_parse_string((const char *)d, n, NAME, 0, &c);
	if (rc == -ENOMEM) {
		cidlb_conf_free(c);
		return 0;
	}
	CHECK(c, "no configuration returned (rc %d)", rc);
	CHECK(rc == 0 || rc == -EINVAL, "rc %d", rc);
	rc2 = cidlb_conf_parse_string((const char *)d, n, NAME, 0, &c2);
	CHECK(rc2 == rc, "second parse: rc %d, first %d", rc2, rc);
	CHECK(!c->errors == !c2->errors && (!c->errors || !strcmp(c->errors, c2->errors)),
	      "second parse: other errors:\n%s---\n%s", c->errors ? c->errors : "",
	      c2->errors ? c2->errors : "");
	if (rc) {
		check_errors(c, d, n);
		goto out;
	}
	CHECK(!c->n_errors && (!c->errors || !*c->errors), "valid with errors: %s", c->errors);
	CHECK(c->n_ifaces > 0, "valid without interfaces");
	CHECK(same_conf(c, c2, true), "second parse: another configuration");

	print_conf(c, &b);
	rc3 = cidlb_conf_parse_string(b.p, b.len, NAME, 0, &c3);
	CHECK(rc3 == 0, "the printed configuration is invalid:\n%s---\n%s", b.p,
	      c3 && c3->errors ? c3->errors : "");
	CHECK(same_conf(c, c3, false), "the printed configuration parses to another one:\n%s", b.p);
out:
	free(b.p);
	cidlb_conf_free(c);
	cidlb_conf_free(c2);
	cidlb_conf_free(c3);
	return 0;
}
