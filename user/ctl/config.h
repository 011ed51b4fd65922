/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * config.h - the cidlbd configuration file (INI, read with libinih), shared
 * by cidlbd and `cidlb config check|cid encode --config`. The whole file is
 * checked before anything uses it; every problem becomes one line
 *
 *	FILE:LINE: [section] key: what is wrong; what is allowed
 *
 * in cidlb_conf.errors. examples/cidlb.conf documents every key.
 *
 * The value parsers are exported so that the control socket checks a
 * backend added at run time with exactly the same rules as the file.
 */
#ifndef CIDLB_CTL_CONFIG_H
#define CIDLB_CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <net/if.h>
#include "cidlb_maps.h"
#include "ctl/hex.h"

/* where `make install` puts the BPF objects: $(PREFIX)/lib/cidlb (the
 * Makefile defines it from PREFIX) */
#ifndef CIDLB_LIBDIR
#define CIDLB_LIBDIR "/usr/local/lib/cidlb"
#endif

#define CIDLB_DEFAULT_CONFIG	 "/etc/cidlb/cidlb.conf"
#define CIDLB_DEFAULT_PIN_DIR	 "/sys/fs/bpf/cidlb"
#define CIDLB_DEFAULT_SOCKET	 "/run/cidlb/cidlbd.sock"
#define CIDLB_DEFAULT_STATE	 "/run/cidlb/state.json"
#define CIDLB_DEFAULT_METRICS	 "127.0.0.1:9470"
#define CIDLB_DEFAULT_OBJECT	 CIDLB_LIBDIR "/cidlb.bpf.o"
#define CIDLB_DEFAULT_QUARANTINE 3600 /* s: longer than any QUIC idle timeout */
#define CIDLB_DEFAULT_RETIRE_TTL 600  /* s: retired CIDs stay this long */
#define CIDLB_DEFAULT_WEIGHT	 100
#define CIDLB_WEIGHT_MAX	 65535
#define CIDLB_NAME_MAX		 63 /* backend and VIP names */
/* health checks (user/daemon/health.c): detect a dead server within 3 s */
#define CIDLB_DEFAULT_HEALTH_INTERVAL 1000 /* ms between probes */
#define CIDLB_DEFAULT_HEALTH_TIMEOUT  500  /* ms an answer may take */
#define CIDLB_DEFAULT_HEALTH_FALL     2	   /* failed probes in a row: down */
#define CIDLB_DEFAULT_HEALTH_RISE     2	   /* answered probes in a row: up */
/* new-flow admission (docs/operations.md): 4-tuple inserts a second per
 * CPU, and seconds a 4-tuple entry lives without packets */
#define CIDLB_DEFAULT_NEW_FLOW_RATE 1000
#define CIDLB_DEFAULT_FLOW_IDLE	    30
/* Packet Too Big replies per second and CPU (bpf/icmp.h): Linux's own
 * ICMP limit (net.ipv4.icmp_msgs_per_sec) is 1000 per second */
#define CIDLB_DEFAULT_ICMP_RATE 1000

enum cidlb_attach_mode {
	CIDLB_ATTACH_AUTO = 0, /* native, else generic */
	CIDLB_ATTACH_NATIVE,
	CIDLB_ATTACH_GENERIC,
};

/* [daemon] announce_table: a table of its own, below the kernel's 253
 * (default), 254 (main) and 255 (local). */
#define CIDLB_ANNOUNCE_TABLE_MAX 252

struct cidlb_conf_vip {
	char name[CIDLB_NAME_MAX + 1];
	struct cidlb_vip_key key; /* one per port */
	uint32_t id;
	char pool_name[CIDLB_NAME_MAX + 1]; /* pool = NAME; "": the implicit pool */
	uint16_t pool;			    /* its index in cidlb_conf.pools (checked) */
	int line;
};

struct cidlb_conf_qlb {
	bool present;
	uint8_t sid_len, nonce_len;
	bool has_key;
	uint8_t key[16];
	bool len_self_encode;
	bool decode_cache;
	bool token_prefix;  /* the servers prefix their tokens: route Initials by them */
	bool has_reset_key; /* reset_key_file: the LB sends stateless resets */
	uint8_t reset_key[16];
	int line; /* of the [quic-lb N] header */
};

struct cidlb_conf_backend {
	char name[CIDLB_NAME_MAX + 1];
	uint8_t family; /* CIDLB_FAMILY_V4 / _V6, 0 = unset */
	uint8_t addr[16];
	bool has_mac;
	uint8_t mac[6];
	bool direct;	   /* mode = direct (MAC rewrite only) */
	uint8_t encap;	   /* enum cidlb_encap: encap = ipip or gue */
	uint16_t gue_port; /* gue_port, network byte order */
	uint8_t state;	   /* CIDLB_BE_ACTIVE or _DRAINING */
	uint32_t weight;
	/* health checks: each overrides [lb]'s when its has_ flag is set */
	bool health, has_health;
	uint32_t health_interval, health_timeout; /* ms */
	bool has_health_interval, has_health_timeout;
	uint8_t health_fall, health_rise;
	bool has_health_fall, has_health_rise;
	uint8_t sid_mask; /* bit N: has a server ID under config N */
	uint8_t sid[CIDLB_CONFIG_IDS][CIDLB_SID_MAX];
	uint8_t sid_len[CIDLB_CONFIG_IDS];
	char pool_name[CIDLB_NAME_MAX + 1]; /* pool = NAME; "": the implicit pool */
	uint16_t pool;			    /* its index in cidlb_conf.pools, set by the checks
			* (cidlb_conf_backend_check()) */
	int line;			    /* of the [backend NAME] header, 0 = socket */
};

/* A pool: its QUIC-LB configs; its VIPs and backends name it. A file that
 * names no pool has one, the implicit pool (name ""), index 0. */
struct cidlb_conf_pool {
	char name[CIDLB_NAME_MAX + 1];
	struct cidlb_conf_qlb qlb[CIDLB_CONFIG_IDS]; /* [quic-lb N] / [quic-lb POOL N] */
	int line;				     /* of the [pool NAME] header, 0: implicit */
	bool unused; /* no pool: a number kept by cidlbd so that the others
		      * keep theirs (a pool that left); never in a file */
};

struct cidlb_conf {
	char path[4096];
	/* [daemon] */
	char pin_dir[256];
	char socket[108];
	char state_file[256];
	char metrics[64]; /* "" = off */
	char object[256]; /* "" = default search */
	int log_level;	  /* LOG_ERR..LOG_DEBUG */
	uint32_t quarantine_s;
	uint32_t retire_ttl_s;
	uint32_t announce_table;     /* 0 = off, 1..CIDLB_ANNOUNCE_TABLE_MAX (announce.c) */
	bool announce_withdraw_open; /* announce_fail_open = withdraw (announce.c) */
	/* [lb] */
	char ifaces[CIDLB_MAX_IFACES][IF_NAMESIZE];
	int n_ifaces;
	char egress[CIDLB_MAX_IFACES][IF_NAMESIZE];
	int n_egress;
	enum cidlb_attach_mode attach_mode;
	bool has_src4, has_src6;
	uint8_t src4[4], src6[16];
	uint32_t seed;
	bool has_seed; /* seed = N given; else cidlbd draws one */
	uint8_t ttl;
	uint32_t lru_size, retired_size, dcache_size;
	uint32_t new_flow_rate; /* 4-tuple inserts a second per CPU, 0: no limit */
	uint32_t flow_idle_s;	/* seconds; 0: entries never time out */
	uint32_t icmp_rate;	/* Packet Too Big replies per second and CPU */
	/* health checks of every backend that does not set its own */
	bool health;
	uint32_t health_interval, health_timeout; /* ms */
	uint8_t health_fall, health_rise;
	uint32_t reset_rate; /* stateless resets per second per CPU */
	uint32_t max_pools;  /* pools the maps hold (set at load) */
	/* [pool NAME], or the implicit pool: n_pools >= 1 */
	struct cidlb_conf_pool *pools;
	int n_pools;
	bool pools_named; /* [pool NAME] sections: every VIP, backend and
			   * [quic-lb] names its pool */
	/* [vip NAME] */
	struct cidlb_conf_vip *vips;
	int n_vips;
	/* [backend NAME] */
	struct cidlb_conf_backend *backends;
	int n_backends;

	/* problems found, one per line ("" when the file is valid) */
	char *errors;
	size_t n_errors;
};

/* ---- the keys: one row each ---------------------------------------------- */

/* Sections; a [vip NAME], [quic-lb N] or [backend NAME] key sits in that
 * section's own structure (struct cidlb_conf_vip, _qlb, _backend), a
 * [daemon] or [lb] key in struct cidlb_conf. */
enum cidlb_conf_sec {
	CIDLB_SEC_DAEMON,
	CIDLB_SEC_LB,
	CIDLB_SEC_VIP,
	CIDLB_SEC_QLB,
	CIDLB_SEC_BACKEND,
	CIDLB_SEC_COUNT,
};

/* What a value is; each type has one parser in config.c. */
enum cidlb_conf_type {
	CIDLB_CT_PATH,	    /* absolute path, char[size] */
	CIDLB_CT_LISTEN,    /* ADDRESS:PORT or off ("" = off), char[size] */
	CIDLB_CT_LEVEL,	    /* a log level name (ctl/log.h), int */
	CIDLB_CT_NUM,	    /* min..max, decimal or 0x hex, 1, 2 or 4 octets */
	CIDLB_CT_PORT,	    /* UDP port min..max, stored in network order */
	CIDLB_CT_BOOL,	    /* yes/no, true/false, on/off, 1/0; given flag at aux */
	CIDLB_CT_IFACES,    /* interface names; count (int) at aux */
	CIDLB_CT_ATTACH,    /* enum cidlb_attach_mode by name */
	CIDLB_CT_ADDR,	    /* IPv4 or IPv6, uint8_t[16]; family at aux */
	CIDLB_CT_ADDR4,	    /* IPv4, uint8_t[4]; given flag at aux */
	CIDLB_CT_ADDR6,	    /* IPv6, uint8_t[16]; given flag at aux */
	CIDLB_CT_KEY_FILE,  /* file holding an AES-128 key, uint8_t[16]; flag at aux */
	CIDLB_CT_SERVER_ID, /* server_id.N: hex octets under config N */
	CIDLB_CT_STATE,	    /* active or draining */
	CIDLB_CT_MAC,	    /* MAC address, uint8_t[6]; given flag at aux */
	CIDLB_CT_MODE,	    /* encap or direct (bool: direct) */
	CIDLB_CT_ENCAP,	    /* ipip or gue, uint8_t enum cidlb_encap */
	CIDLB_CT_NAME,	    /* a pool's name, char[size] */
	CIDLB_CT_FAIL_OPEN, /* keep or withdraw (bool: withdraw) */
};

struct cidlb_conf_key {
	enum cidlb_conf_sec section;
	const char *name; /* a name ending in ".N" takes a config ID there */
	enum cidlb_conf_type type;
	size_t off, size;  /* of the value in the section's structure */
	size_t aux;	   /* of its flag, count or family (see the type); 0 = none */
	uint32_t min, max; /* CIDLB_CT_NUM, CIDLB_CT_PORT */
	const char *def;   /* the default as written in the file; NULL = none */
	/* the error for a value the type rejects: printf format taking the
	 * value (%s), then min and max (%u); NULL = the type's own words */
	const char *bad;
	const char *help; /* one line for `cidlb config keys` */
};

/* Every key, grouped by section in the order examples/cidlb.conf has them. */
extern const struct cidlb_conf_key cidlb_conf_keys[];
extern const size_t cidlb_conf_n_keys;

/* "daemon", "lb", "vip NAME", "quic-lb N", "backend NAME" */
const char *cidlb_conf_sec_str(enum cidlb_conf_sec s);
/* "path", "number", ... */
const char *cidlb_conf_type_str(enum cidlb_conf_type t);

/* Flags of cidlb_conf_load(). */
#define CIDLB_CONF_CHECK_SYSTEM 0x1 /* interfaces must exist here */

/*
 * Reads and checks @path into *@out (allocated; free with
 * cidlb_conf_free()). Returns 0 when valid, -EINVAL when the file has
 * errors (out->errors lists every one; *@out is still allocated), -ENOENT
 * or another errno when the file cannot be read (out->errors says so), or
 * -ENOMEM (*@out NULL).
 */
int cidlb_conf_load(const char *path, unsigned int flags, struct cidlb_conf **out);
/* The same for @len octets of @text, reported as the file @name (the
 * fuzzer, tests). */
int cidlb_conf_parse_string(const char *text, size_t len, const char *name, unsigned int flags,
			    struct cidlb_conf **out);
void cidlb_conf_free(struct cidlb_conf *c);

/* A configuration with every default (the table's) and nothing else. */
void cidlb_conf_defaults(struct cidlb_conf *c);

/* ---- value parsers: 0 or -EINVAL with a sentence in why ------------------- */
int cidlb_parse_addr(const char *s, uint8_t *family, uint8_t addr[16]);
int cidlb_parse_mac(const char *s, uint8_t mac[6]);
int cidlb_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);
int cidlb_parse_bool(const char *s, bool *out);
/* Octet strings in hex (server IDs, keys): ctl/hex.h. */

/*
 * One key of a backend, as in a [backend NAME] section or a control
 * request: address, server_id.N, weight, state, mac, mode. Returns 0,
 * -ENOENT for an unknown key, -EINVAL for a bad value; @why says what is
 * allowed.
 */
int cidlb_conf_backend_set(struct cidlb_conf_backend *b, const char *key, const char *val,
			   char *why, size_t why_len);
void cidlb_conf_backend_init(struct cidlb_conf_backend *b, const char *name);
/* Checks a whole backend against the rest of @c (configs, sources, MAC). */
int cidlb_conf_backend_check(const struct cidlb_conf *c, const struct cidlb_conf_backend *b,
			     char *why, size_t why_len);
/*
 * May @b use its server ID under config @cr beside the backends
 * @others[0..n) (@b itself is skipped there) of configuration @c? -EEXIST
 * with a sentence in @why when another backend has it under the same
 * config, or when it clashes with a server ID of the other kind: QUIC-LB
 * requires separate server-ID allocations for plaintext and encrypted
 * configs (draft-21 section 9), checked across every backend, @b's own
 * other configs included. Two server IDs of different configs clash when
 * the shorter equals the start of the longer (equal octet strings of
 * equal length being the simplest case): a server ID seen in a plaintext
 * CID then names no encrypted one. One check for the file and for the
 * control socket.
 */
int cidlb_conf_sid_check(const struct cidlb_conf *c, const struct cidlb_conf_backend *b, int cr,
			 const struct cidlb_conf_backend *others, int n, char *why, size_t why_len);
/* Has @b a server ID under config @cr (one out of range: no)? */
static inline bool cidlb_conf_backend_has_sid(const struct cidlb_conf_backend *b, int cr)
{
	return cr >= 0 && cr < CIDLB_CONFIG_IDS && (b->sid_mask & (1u << cr));
}

/* Is @sid (@len octets) @b's server ID under config @cr? */
static inline bool cidlb_conf_backend_owns_sid(const struct cidlb_conf_backend *b, int cr,
					       const uint8_t *sid, size_t len)
{
	return cidlb_conf_backend_has_sid(b, cr) && b->sid_len[cr] == len &&
	       !memcmp(b->sid[cr], sid, len);
}

/* The QUIC-LB configs of pool @pool (0: the implicit or first pool). */
static inline const struct cidlb_conf_qlb *cidlb_conf_qlbs(const struct cidlb_conf *c, int pool)
{
	static const struct cidlb_conf_qlb none[CIDLB_CONFIG_IDS];

	if (!c->n_pools)
		return none; /* cidlb_conf_defaults() alone */
	return c->pools[pool >= 0 && pool < c->n_pools ? pool : 0].qlb;
}

/* Index of the pool named @name ("" names the implicit pool of a file
 * that names none), or -ENOENT. */
int cidlb_conf_pool_find(const struct cidlb_conf *c, const char *name);
/* "" for the implicit pool, else its name. */
static inline const char *cidlb_conf_pool_name(const struct cidlb_conf *c, int pool)
{
	return pool >= 0 && pool < c->n_pools && !c->pools[pool].unused ? c->pools[pool].name : "?";
}

/* Backend named @name, or NULL. */
struct cidlb_conf_backend *cidlb_conf_backend_find(const struct cidlb_conf *c, const char *name);

/* The struct cidlb_config for the data path (AES schedules included). */
int cidlb_conf_qlb_to_map(const struct cidlb_conf_qlb *q, struct cidlb_config *out);

/* A file cidlbd trusts (a key file, the BPF object) must be owned by root
 * and have none of the @forbidden mode bits: 0, or -EPERM with a sentence
 * in @why naming the file, its owner and mode, @rule, and the chown/chmod
 * (to @mode) that fixes it. */
int cidlb_check_root_only(const char *path, const struct stat *st, mode_t forbidden,
			  const char *rule, const char *mode, char *why, size_t why_len);

/* Names for logs and JSON. */
const char *cidlb_attach_mode_str(enum cidlb_attach_mode m);
const char *cidlb_be_state_str(uint8_t state);
/* Address in text, "198.18.0.1" or "fd00::1". */
const char *cidlb_addr_str(uint8_t family, const uint8_t addr[16], char *buf, size_t len);

#endif /* CIDLB_CTL_CONFIG_H */
