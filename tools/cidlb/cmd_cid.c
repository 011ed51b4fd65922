// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_cid.c - `cidlb cid encode|decode`: QUIC-LB CIDs by hand, offline,
 * with libcidlb (draft-ietf-quic-load-balancers-21). The config comes from
 * flags; an operator checks what a backend issues or what the load
 * balancer will read.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include <cidlb/cidlb.h>
#include <bpf/bpf.h>
#include "ctl/cidkey.h"
#include "ctl/config.h"
#include "ctl/lb.h"
#include "ctl/log.h"
#include "ctl/paths.h"
#include "cidlb.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cidlb [-j] cid encode CONFIG --server-id HEX [--nonce HEX]\n"
		"       cidlb [-j] cid decode CONFIG CID\n"
		"       cidlb [-j] cid retire [--ttl SECONDS] [--pool POOL] CID... | --file FILE | -\n"
		"       cidlb [-j] cid unretire [--pool POOL] CID... | --file FILE | -\n"
		"       cidlb [-j] cid list\n"
		"       cidlb cid help\n"
		"\n"
		"CONFIG (the QUIC-LB configuration), from cidlbd's file:\n"
		"  --config FILE        read [quic-lb N] from a cidlbd configuration file\n"
		"  --config-id N        which one (decode: the CID's own; encode: 0)\n"
		"  --pool POOL          of that pool, where the file names pools (default:\n"
		"                       the first)\n"
		"or from flags:\n"
		"  --server-id-len N    server ID length, 1..15 (required)\n"
		"  --nonce-len N        nonce length, 4..18 (required);\n"
		"                       server ID length + nonce length <= 19\n"
		"  --config-id N        config ID, 0..6 (default 0)\n"
		"  --key HEX            AES-128 key, 32 hex digits (default: plaintext)\n"
		"  --len-self-encode    low 5 bits of octet 0 hold the CID length - 1\n"
		"  --extra N            octets appended after the encoded block (default 0);\n"
		"                       the CID is at most 20 octets\n"
		"\n"
		"encode: --server-id HEX (server ID length octets), --nonce HEX (nonce\n"
		"length octets; default: chosen as a server would, random without a key).\n"
		"decode: CID in hex. Exit 1 with \"unroutable: REASON\" when the load\n"
		"balancer could not route it by this config.\n"
		"\n"
		"retire: through cidlbd, packets whose destination CID is one of these are\n"
		"dropped for SECONDS (default [daemon] retire_ttl, 600), e.g. CIDs an\n"
		"endpoint retired (RETIRE_CONNECTION_ID) or that must be cut off. CIDs in\n"
		"hex; --file FILE or '-' (stdin): one CID per line, '#' comments, any number.\n"
		"--pool POOL: the pool whose VIPs the CIDs come to (required where the\n"
		"configuration names pools; a CID is retired in its pool only).\n"
		"unretire: remove them again. list: the retired-CID map, read from the\n"
		"pinned map (works without cidlbd), with the seconds left.\n"
		"\n"
		"HEX, CID: octets in hex, plain (0701a4) or colon-separated (07:01:a4),\n"
		"either case; no 0x, '-' or spaces.\n");
}

enum {
	OPT_CONFIG_ID = 256,
	OPT_SID_LEN,
	OPT_NONCE_LEN,
	OPT_KEY,
	OPT_LSE,
	OPT_EXTRA,
	OPT_SID,
	OPT_NONCE,
	OPT_HELP,
	OPT_CONFIG,
	OPT_POOL,
};

static const struct option cid_opts[] = { { "config-id", required_argument, NULL, OPT_CONFIG_ID },
					  { "server-id-len", required_argument, NULL, OPT_SID_LEN },
					  { "nonce-len", required_argument, NULL, OPT_NONCE_LEN },
					  { "key", required_argument, NULL, OPT_KEY },
					  { "len-self-encode", no_argument, NULL, OPT_LSE },
					  { "extra", required_argument, NULL, OPT_EXTRA },
					  { "server-id", required_argument, NULL, OPT_SID },
					  { "nonce", required_argument, NULL, OPT_NONCE },
					  { "help", no_argument, NULL, OPT_HELP },
					  { "config", required_argument, NULL, OPT_CONFIG },
					  { "pool", required_argument, NULL, OPT_POOL },
					  { 0 } };

struct cid_args {
	struct cidlb_cid_params p;
	bool have_sid_len, have_nonce_len;
	const char *sid_hex, *nonce_hex;
	const char *cid_hex; /* decode's positional argument */
	const char *config_file;
	const char *pool; /* --pool: a named pool of the file */
	bool have_config_id, have_flags;
	bool auto_id; /* decode: config ID taken from the CID */
};

/* The QUIC-LB config @a->p.config_id of a cidlbd configuration file. */
static int config_from_file(const char *verb, struct cid_args *a)
{
	struct cidlb_conf *c = NULL;
	const struct cidlb_conf_qlb *q, *qlb;
	int err = cidlb_conf_load(a->config_file, 0, &c), pool;

	if (err && (!c || !c->errors)) {
		cidlb_conf_free(c);
		return cidlb_usage_error("cid %s: --config %s: %s", verb, a->config_file,
					 strerror(-err));
	}
	if (err) {
		int first = (int)strcspn(c->errors, "\n");

		err = cidlb_usage_error("cid %s: --config: %.*s%s", verb, first, c->errors,
					c->n_errors > 1 ? " (and more: cidlb config check)" : "");
		cidlb_conf_free(c);
		return err;
	}
	/* --pool's, else the first pool's: the implicit pool of a file that
	 * names none */
	pool = a->pool ? cidlb_conf_pool_find(c, a->pool) : 0;
	if (pool < 0) {
		cidlb_conf_free(c);
		return cidlb_usage_error("cid %s: --pool %s: %s has no [pool %s]", verb, a->pool,
					 a->config_file, a->pool);
	}
	qlb = cidlb_conf_qlbs(c, pool);
	q = &qlb[a->p.config_id];
	if (!q->present && a->auto_id) {
		/* the CID names a config the file lacks: decode it under any
		 * config the file holds, which reports "config not held" */
		int j;

		for (j = 0; j < CIDLB_CONFIG_IDS && !q->present; j++)
			q = &qlb[j];
		if (q->present)
			a->p.config_id = (uint8_t)(q - qlb);
	}
	if (!q->present) {
		cidlb_conf_free(c);
		return cidlb_usage_error("cid %s: --config %s has no [quic-lb %u] section", verb,
					 a->config_file, a->p.config_id);
	}
	a->p.server_id_len = q->sid_len;
	a->p.nonce_len = q->nonce_len;
	a->p.len_self_encode = q->len_self_encode;
	a->p.has_key = q->has_key;
	memcpy(a->p.key, q->key, sizeof(a->p.key));
	a->have_sid_len = a->have_nonce_len = true;
	cidlb_conf_free(c);
	return 0;
}

/* A decimal in [lo, hi] for flag @name, or a usage error. */
static int parse_num(const char *verb, const char *name, const char *s, unsigned int lo,
		     unsigned int hi, uint8_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi || s[0] == '-')
		return cidlb_usage_error("cid %s: --%s '%s': must be a number %u..%u", verb, name,
					 s, lo, hi);
	*out = (uint8_t)v;
	return 0;
}

static int parse_args(const char *verb, bool encode, int argc, char **argv, struct cid_args *a)
{
	int c, err;

	optind = 0; /* full getopt reset: main() used it already */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", cid_opts, NULL)) != -1) {
		err = 0;
		switch (c) {
		case OPT_POOL:
			a->pool = optarg;
			break;
		case OPT_CONFIG:
			a->config_file = optarg;
			break;
		case OPT_CONFIG_ID:
			a->have_config_id = true;
			err = parse_num(verb, "config-id", optarg, 0, CIDLB_CID_CONFIG_ID_MAX,
					&a->p.config_id);
			break;
		case OPT_SID_LEN:
			a->have_flags = true;
			err = parse_num(verb, "server-id-len", optarg, CIDLB_CID_SERVER_ID_LEN_MIN,
					CIDLB_CID_SERVER_ID_LEN_MAX, &a->p.server_id_len);
			a->have_sid_len = true;
			break;
		case OPT_NONCE_LEN:
			a->have_flags = true;
			err = parse_num(verb, "nonce-len", optarg, CIDLB_CID_NONCE_LEN_MIN,
					CIDLB_CID_NONCE_LEN_MAX, &a->p.nonce_len);
			a->have_nonce_len = true;
			break;
		case OPT_KEY: {
			char why[96];
			size_t n;

			a->have_flags = true;
			/* the problem only, never the key itself */
			if (cidlb_parse_hex_why(optarg, a->p.key, sizeof(a->p.key), &n, why,
						sizeof(why)))
				return cidlb_usage_error(
					"cid %s: --key: must be 32 hex digits (a 16-octet AES-128 key): %s",
					verb, why);
			if (n != CIDLB_CID_KEY_LEN)
				return cidlb_usage_error(
					"cid %s: --key: must be 32 hex digits (a 16-octet AES-128 key): %zu octets",
					verb, n);
			a->p.has_key = true;
			break;
		}
		case OPT_LSE:
			a->have_flags = true;
			a->p.len_self_encode = true;
			break;
		case OPT_EXTRA:
			err = parse_num(verb, "extra", optarg, 0, CIDLB_CID_LEN_MAX - 1 - 5,
					&a->p.extra_len);
			break;
		case OPT_SID:
		case OPT_NONCE:
			if (!encode)
				return cidlb_usage_error("cid %s: --%s is only for 'cid encode'",
							 verb,
							 c == OPT_SID ? "server-id" : "nonce");
			if (c == OPT_SID)
				a->sid_hex = optarg;
			else
				a->nonce_hex = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return -1;
		case ':':
			return cidlb_usage_error("cid %s: %s needs a value", verb,
						 argv[optind - 1]);
		default:
			return cidlb_usage_error(
				"cid %s: unknown option '%s' (try 'cidlb cid help')", verb,
				argv[optind - 1]);
		}
		if (err)
			return err;
	}

	if (a->pool && !a->config_file)
		return cidlb_usage_error("cid %s: --pool names a pool of --config FILE", verb);
	if (a->config_file && a->have_flags)
		return cidlb_usage_error(
			"cid %s: give the config with --config FILE or with flags, not both", verb);
	if (a->config_file && !encode && !a->have_config_id && optind < argc) {
		uint8_t cid[CIDLB_CID_LEN_MAX];
		size_t n;

		/* decode by the CID's own config ID (7 decodes as unroutable
		 * under any config); a bad CID is reported by decode */
		if (!cidlb_parse_hex(argv[optind], cid, sizeof(cid), &n) &&
		    (cid[0] >> 5) != CIDLB_CID_CONFIG_ID_UNROUTABLE)
			a->p.config_id = cid[0] >> 5;
		a->auto_id = true;
	}
	if (a->config_file) {
		err = config_from_file(verb, a);
		if (err)
			return err;
	}
	if (!a->have_sid_len)
		return cidlb_usage_error("cid %s: --server-id-len is required (1..15)", verb);
	if (!a->have_nonce_len)
		return cidlb_usage_error("cid %s: --nonce-len is required (4..18)", verb);
	if (a->p.server_id_len + a->p.nonce_len > CIDLB_CID_PLAINTEXT_LEN_MAX)
		return cidlb_usage_error(
			"cid %s: --server-id-len %u + --nonce-len %u: the sum must be at most 19",
			verb, a->p.server_id_len, a->p.nonce_len);
	if (1 + a->p.server_id_len + a->p.nonce_len + a->p.extra_len > CIDLB_CID_LEN_MAX)
		return cidlb_usage_error(
			"cid %s: --extra %u: 1 + %u + %u + %u octets exceeds the 20-octet CID limit (at most %u extra)",
			verb, a->p.extra_len, a->p.server_id_len, a->p.nonce_len, a->p.extra_len,
			CIDLB_CID_LEN_MAX - 1 - a->p.server_id_len - a->p.nonce_len);

	if (encode) {
		if (optind < argc)
			return cidlb_usage_error("cid encode: unexpected argument '%s'",
						 argv[optind]);
		if (!a->sid_hex)
			return cidlb_usage_error(
				"cid encode: --server-id is required (%u octets in hex)",
				a->p.server_id_len);
	} else {
		if (optind >= argc)
			return cidlb_usage_error("cid decode: missing CID (hex, 1..20 octets)");
		if (optind + 1 < argc)
			return cidlb_usage_error(
				"cid decode: unexpected argument '%s' (one CID only)",
				argv[optind + 1]);
		a->cid_hex = argv[optind];
	}
	return 0;
}

/* ---- output ----------------------------------------------------------------- */

static void out_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

/* Prints a routable CID and what it carries. */
static void print_cid(const struct cidlb_cid_config *cfg, const uint8_t *cid, size_t cid_len,
		      const struct cidlb_cid_info *info)
{
	char cid_h[2 * 255 + 1], sid_h[2 * 15 + 1], nonce_h[2 * 18 + 1];
	const char *algo = cidlb_cid_algo_str(cidlb_cid_config_algo(cfg));

	cidlb_hex(cid, cid_len, cid_h, sizeof(cid_h));
	cidlb_hex(info->server_id, info->server_id_len, sid_h, sizeof(sid_h));
	cidlb_hex(info->nonce, info->nonce_len, nonce_h, sizeof(nonce_h));
	if (cidlb_json) {
		json_t *o = json_object();

		json_object_set_new(o, "cid", json_string(cid_h));
		json_object_set_new(o, "length", json_integer((json_int_t)cid_len));
		json_object_set_new(o, "routable", json_true());
		json_object_set_new(o, "config_id", json_integer(info->config_id));
		json_object_set_new(o, "algorithm", json_string(algo));
		json_object_set_new(o, "server_id", json_string(sid_h));
		json_object_set_new(o, "nonce", json_string(nonce_h));
		out_json(o);
		return;
	}
	printf("cid:        %s (%zu octets)\n", cid_h, cid_len);
	printf("config id:  %u\n", info->config_id);
	printf("algorithm:  %s\n", algo);
	printf("server id:  %s\n", sid_h);
	printf("nonce:      %s\n", nonce_h);
}

static int print_unroutable(const struct cidlb_cid_config *cfg, const uint8_t *cid, size_t cid_len,
			    const struct cidlb_cid_info *info, int status)
{
	char cid_h[2 * 255 + 1], reason[128];

	cidlb_hex(cid, cid_len, cid_h, sizeof(cid_h));
	switch (status) {
	case CIDLB_CID_UNROUTABLE_CR7:
		snprintf(reason, sizeof(reason), "config ID 7 (reserved for unroutable CIDs)");
		break;
	case CIDLB_CID_NO_CONFIG: {
		struct cidlb_cid_params p;

		cidlb_cid_config_params(cfg, &p);
		snprintf(reason, sizeof(reason), "config ID %u not held (this config is %u)",
			 info->config_id, p.config_id);
		break;
	}
	case CIDLB_CID_TOO_SHORT: {
		struct cidlb_cid_params p;

		cidlb_cid_config_params(cfg, &p);
		snprintf(reason, sizeof(reason),
			 "too short: %zu octets, config %u needs at least %u", cid_len,
			 info->config_id, 1u + p.server_id_len + p.nonce_len);
		break;
	}
	default:
		snprintf(reason, sizeof(reason), "%s", cidlb_cid_status_str(status));
	}
	if (cidlb_json) {
		json_t *o = json_object();

		json_object_set_new(o, "cid", json_string(cid_h));
		json_object_set_new(o, "length", json_integer((json_int_t)cid_len));
		json_object_set_new(o, "routable", json_false());
		json_object_set_new(o, "config_id", json_integer(info->config_id));
		json_object_set_new(o, "reason", json_string(reason));
		out_json(o);
	} else {
		printf("unroutable: %s\n", reason);
	}
	return CIDLB_EXIT_NO;
}

/* ---- verbs ------------------------------------------------------------------ */

static int new_config(const char *verb, const struct cid_args *a, struct cidlb_cid_config **cfg)
{
	const char *why = NULL;
	int err = cidlb_cid_config_new(&a->p, cfg, &why);

	if (err == -EINVAL)
		return cidlb_usage_error("cid %s: invalid QUIC-LB config: %s", verb, why);
	if (err)
		return cidlb_fail("cid %s: %s (%s)", verb, why ? why : "config failed",
				  strerror(-err));
	return 0;
}

static int do_encode(int argc, char **argv)
{
	struct cid_args a = { 0 };
	struct cidlb_cid_config *cfg = NULL;
	struct cidlb_cid_info info;
	uint8_t sid[CIDLB_CID_SERVER_ID_LEN_MAX], nonce[CIDLB_CID_NONCE_LEN_MAX];
	uint8_t cid[CIDLB_CID_LEN_MAX];
	char why[96];
	size_t len;
	int n, ret;

	ret = parse_args("encode", true, argc, argv, &a);
	if (ret)
		return ret < 0 ? CIDLB_EXIT_OK : ret;
	if (cidlb_parse_hex_why(a.sid_hex, sid, sizeof(sid), &len, why, sizeof(why)) == -EINVAL)
		return cidlb_usage_error("cid encode: --server-id '%s': %s", a.sid_hex, why);
	if (len != a.p.server_id_len)
		return cidlb_usage_error(
			"cid encode: --server-id '%s': must be %u octets in hex (%u digits), per --server-id-len",
			a.sid_hex, a.p.server_id_len, 2 * a.p.server_id_len);
	if (a.nonce_hex && cidlb_parse_hex_why(a.nonce_hex, nonce, sizeof(nonce), &len, why,
					       sizeof(why)) == -EINVAL)
		return cidlb_usage_error("cid encode: --nonce '%s': %s", a.nonce_hex, why);
	if (a.nonce_hex && len != a.p.nonce_len)
		return cidlb_usage_error(
			"cid encode: --nonce '%s': must be %u octets in hex (%u digits), per --nonce-len",
			a.nonce_hex, a.p.nonce_len, 2 * a.p.nonce_len);
	ret = new_config("encode", &a, &cfg);
	if (ret)
		return ret;
	n = cidlb_cid_encode(cfg, sid, a.p.server_id_len, a.nonce_hex ? nonce : NULL, a.p.nonce_len,
			     cid, sizeof(cid));
	if (n < 0) {
		ret = cidlb_fail("cid encode: %s", strerror(-n));
		goto out;
	}
	/* decode it back: shows the nonce the library chose, and proves it */
	if (cidlb_cid_decode(cfg, cid, (size_t)n, &info) != CIDLB_CID_ROUTABLE ||
	    memcmp(info.server_id, sid, a.p.server_id_len)) {
		ret = cidlb_fail("cid encode: the CID does not decode back to the server ID");
		goto out;
	}
	print_cid(cfg, cid, (size_t)n, &info);
	ret = CIDLB_EXIT_OK;
out:
	cidlb_cid_config_free(cfg);
	return ret;
}

static int do_decode(int argc, char **argv)
{
	struct cid_args a = { 0 };
	struct cidlb_cid_config *cfg = NULL;
	struct cidlb_cid_info info;
	uint8_t cid[CIDLB_CID_LEN_MAX];
	char msg[256];
	size_t n;
	int st, ret;

	ret = parse_args("decode", false, argc, argv, &a);
	if (ret)
		return ret < 0 ? CIDLB_EXIT_OK : ret;
	if (cidlb_parse_hex_msg("CID", a.cid_hex, cid, 1, sizeof(cid), &n, msg, sizeof(msg)))
		return cidlb_usage_error("cid decode: %s", msg);
	ret = new_config("decode", &a, &cfg);
	if (ret)
		return ret;
	st = cidlb_cid_decode(cfg, cid, n, &info);
	if (st < 0)
		ret = cidlb_fail("cid decode: %s", strerror(-st));
	else if (st != CIDLB_CID_ROUTABLE)
		ret = print_unroutable(cfg, cid, n, &info, st);
	else {
		print_cid(cfg, cid, n, &info);
		ret = CIDLB_EXIT_OK;
	}
	cidlb_cid_config_free(cfg);
	return ret;
}

/* ---- retired CIDs ------------------------------------------------------------ */

#define RETIRE_CHUNK 50000 /* CIDs per request: well under the 16 MiB limit */

/* Adds the CIDs of @f (one per line, '#' comments) to @arr. */
static int read_cid_lines(const char *verb, FILE *f, const char *name, json_t *arr)
{
	char *line = NULL, *p, *e;
	size_t cap = 0;
	long n = 0;

	while (getline(&line, &cap, f) >= 0) {
		uint8_t cid[CIDLB_CID_MAX];
		char msg[256];
		size_t len;

		n++;
		p = line + strspn(line, " \t");
		e = p + strcspn(p, "#\r\n");
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		if (!*p)
			continue;
		if (cidlb_parse_hex_msg("CID", p, cid, 1, sizeof(cid), &len, msg, sizeof(msg))) {
			int ret = cidlb_usage_error("cid %s: %s line %ld: %s", verb, name, n, msg);

			free(line);
			return ret;
		}
		json_array_append_new(arr, json_string(p));
	}
	free(line);
	return 0;
}

static int do_retire(int argc, char **argv, bool add)
{
	const char *verb = add ? "retire" : "unretire", *pool = NULL;
	json_t *cids = json_array(), *reply;
	long long ttl = -1, total = 0, missing = 0, replied_ttl = 0;
	size_t off, n;
	int i, ret = 0;

	for (i = 1; i < argc && !ret; i++) {
		const char *arg = argv[i];

		if (add && !strcmp(arg, "--ttl")) {
			char *end;

			if (i + 1 >= argc) {
				ret = cidlb_usage_error(
					"cid retire: --ttl needs a number of seconds");
				break;
			}
			ttl = strtoll(argv[++i], &end, 10);
			if (!*argv[i] || *end || ttl < 1 || ttl > 30 * 86400)
				ret = cidlb_usage_error(
					"cid retire: --ttl '%s': seconds, 1..2592000", argv[i]);
		} else if (!strcmp(arg, "--pool")) {
			if (i + 1 >= argc) {
				ret = cidlb_usage_error("cid %s: --pool needs a pool's name", verb);
				break;
			}
			pool = argv[++i];
		} else if (!strcmp(arg, "--file") || !strcmp(arg, "-")) {
			const char *path = !strcmp(arg, "-") ? "-" :
					   i + 1 < argc	     ? argv[++i] :
							       NULL;
			FILE *f;

			if (!path) {
				ret = cidlb_usage_error(
					"cid %s: --file needs a FILE ('-' for stdin)", verb);
				break;
			}
			f = strcmp(path, "-") ? fopen(path, "r") : stdin;
			if (!f) {
				ret = cidlb_usage_error("cid %s: --file %s: %s", verb, path,
							strerror(errno));
				break;
			}
			ret = read_cid_lines(verb, f, strcmp(path, "-") ? path : "stdin", cids);
			if (f != stdin)
				fclose(f);
		} else if (arg[0] == '-') {
			ret = cidlb_usage_error(
				"cid %s: unknown option '%s' (try 'cidlb cid help')", verb, arg);
		} else {
			uint8_t cid[CIDLB_CID_MAX];
			char msg[256];
			size_t len;

			if (cidlb_parse_hex_msg("CID", arg, cid, 1, sizeof(cid), &len, msg,
						sizeof(msg)))
				ret = cidlb_usage_error("cid %s: %s", verb, msg);
			else
				json_array_append_new(cids, json_string(arg));
		}
	}
	if (!ret && !json_array_size(cids))
		ret = cidlb_usage_error("cid %s: no CID given (CID..., --file FILE or - for stdin)",
					verb);
	n = json_array_size(cids);
	for (off = 0; !ret && off < n; off += RETIRE_CHUNK) {
		json_t *chunk = json_array(), *req;
		size_t j;

		for (j = off; j < n && j < off + RETIRE_CHUNK; j++)
			json_array_append(chunk, json_array_get(cids, j));
		req = json_pack("{s:s,s:o}", "cmd", add ? "cid.retire" : "cid.unretire", "cids",
				chunk);
		if (ttl > 0)
			json_object_set_new(req, "ttl", json_integer(ttl));
		if (pool)
			json_object_set_new(req, "pool", json_string(pool));
		ret = cidlb_call(req, &reply);
		if (ret) {
			if (off)
				pr_err("%lld CIDs were %s before the failure", total,
				       add ? "retired" : "unretired");
			break;
		}
		total += json_integer_value(json_object_get(reply, add ? "retired" : "removed"));
		missing += json_integer_value(json_object_get(reply, "not_found"));
		replied_ttl = json_integer_value(json_object_get(reply, "ttl"));
		json_decref(reply);
	}
	json_decref(cids);
	if (ret)
		return ret;
	if (cidlb_json) {
		json_t *o = add ? json_pack("{s:I,s:I}", "retired", total, "ttl", replied_ttl) :
				  json_pack("{s:I,s:I}", "removed", total, "not_found", missing);

		cidlb_print_json(o);
		json_decref(o);
	} else if (add) {
		printf("retired %lld CID%s for %lld s\n", total, total == 1 ? "" : "s",
		       replied_ttl);
	} else {
		printf("unretired %lld CID%s (%lld not retired)\n", total, total == 1 ? "" : "s",
		       missing);
	}
	return add || !missing || total ? CIDLB_EXIT_OK : CIDLB_EXIT_NO;
}

static int do_list(int argc, char **argv)
{
	struct cidlb_cid_key k, nk, *prev = NULL;
	struct cidlb_paths p;
	struct cidlb_lb *lb;
	struct timespec ts;
	json_t *arr = cidlb_json ? json_array() : NULL;
	uint64_t now;
	long n = 0;
	int fd;

	(void)argv;
	if (argc > 1)
		return cidlb_usage_error("cid list: unexpected argument '%s'", argv[1]);
	cidlb_paths_resolve(&p);
	if (cidlb_open_pins("cid list", &p, &lb))
		return CIDLB_EXIT_FAIL;
	fd = cidlb_lb_map_fd(lb, CIDLB_M_RETIRED);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (!cidlb_json)
		printf("%-42s %s\n", "CID", "SECONDS LEFT");
	while (fd >= 0 && !bpf_map_get_next_key(fd, prev, &nk)) {
		struct cidlb_retired v;
		char h[2 * CIDLB_CID_MAX + 1];
		long long left;

		k = nk;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		cidlb_hex(k.cid, k.len <= CIDLB_CID_MAX ? k.len : CIDLB_CID_MAX, h, sizeof(h));
		left = v.expires_ns > now ? (long long)((v.expires_ns - now) / 1000000000ULL) + 1 :
					    0;
		if (arr)
			json_array_append_new(arr, json_pack("{s:s,s:I}", "cid", h, "seconds_left",
							     left));
		else
			printf("%-42s %lld\n", h, left);
		n++;
	}
	if (arr) {
		cidlb_print_json(arr);
		json_decref(arr);
	}
	cidlb_lb_close(lb);
	return CIDLB_EXIT_OK;
}

int cmd_cid(int argc, char **argv)
{
	if (argc < 1)
		return cidlb_usage_error(
			"cid: missing VERB: encode, decode, retire, unretire, list or help");
	if (!strcmp(argv[0], "encode"))
		return do_encode(argc, argv);
	if (!strcmp(argv[0], "decode"))
		return do_decode(argc, argv);
	if (!strcmp(argv[0], "retire") || !strcmp(argv[0], "unretire"))
		return do_retire(argc, argv, argv[0][0] == 'r');
	if (!strcmp(argv[0], "list"))
		return do_list(argc, argv);
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return CIDLB_EXIT_OK;
	}
	return cidlb_usage_error(
		"cid: unknown verb '%s': encode, decode, retire, unretire, list or help", argv[0]);
}
