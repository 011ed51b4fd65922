/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cidlb_maps.h - every structure that crosses the BPF/userspace boundary.
 *
 * This header is compiled by the XDP programs (bpf/) and by userspace
 * (user/, tools/, tests/). It is nearly an ABI: a daemon may adopt maps
 * pinned by an older program, so structures only grow at their end, fields
 * never change meaning, and every size is checked below. Only fixed-width
 * __u8/__u16/__u32/__u64 types, explicit padding, multi-octet addresses and
 * ports in network byte order.
 */
#ifndef CIDLB_MAPS_H
#define CIDLB_MAPS_H

#include <linux/types.h>

/* ---- limits ---------------------------------------------------------- */
#define CIDLB_CONFIG_IDS    7 /* QUIC-LB config IDs 0..6; 7 = unroutable */
#define CIDLB_CR_UNROUTABLE 7
#define CIDLB_SID_MAX	    15 /* server ID length 1..15 octets */
#define CIDLB_NONCE_MIN	    4
#define CIDLB_NONCE_MAX	    18
#define CIDLB_PT_MAX	    19 /* sid_len + nonce_len <= 19 */
#define CIDLB_CID_MAX	    20 /* QUIC v1/v2 CID length limit */
#define CIDLB_AES_RK_WORDS  44 /* AES-128: 11 round keys of 4 words */

#define CIDLB_MAX_VIPS	      256
#define CIDLB_VIP_SLOTS	      1024 /* one half of cidlb_vip_table (power of 2) */
#define CIDLB_VIP_PROBES      4	   /* a VIP lies this near its home slot */
#define CIDLB_MAX_BACKENDS    16384
#define CIDLB_MAX_SIDS	      65536
#define CIDLB_SID_BUCKETS     32768 /* cidlb_sid_table (power of 2): 2 x CIDLB_MAX_SIDS entries */
#define CIDLB_SID_SHORT	      4	    /* server IDs this long or shorter are in it */
#define CIDLB_MAX_IFACES      64
#define CIDLB_MAX_NEIGH	      CIDLB_MAX_BACKENDS /* cidlb_neigh: next hops */
#define CIDLB_MAGLEV_SIZE     65537		 /* prime; one table = this many slots */
#define CIDLB_LRU_DEFAULT     65536		 /* 4-tuple fallback table entries */
#define CIDLB_RETIRED_DEFAULT 262144		 /* retired-CID map entries */
#define CIDLB_DCACHE_DEFAULT  16384		 /* per-CPU decode cache slots (power of 2) */
/* Pools (docs/operations.md): each has its backends, Maglev table and
 * QUIC-LB configs; a VIP names its pool. Maps sized per pool hold
 * [lb] max_pools of them (set at load, like lru_size). */
#define CIDLB_MAX_POOLS	    256 /* a backend entry has one octet for it */
#define CIDLB_POOLS_DEFAULT 4

/* Stateless resets sent by the LB (RFC 9000 section 10.3; bpf/reset.h):
 * a reset answers a short-header packet of more than CIDLB_RESET_MIN
 * octets of UDP payload with one octet fewer, at most CIDLB_RESET_MAX. */
#define CIDLB_RESET_KEY_LEN	 16
#define CIDLB_RESET_TOKEN_LEN	 16
#define CIDLB_RESET_MIN		 21 /* first octet, 4 unpredictable, token */
#define CIDLB_RESET_MAX		 43
#define CIDLB_RESET_RATE_DEFAULT 1000 /* resets per second per CPU */

#define CIDLB_BACKEND_NONE 0xffffffffU /* empty Maglev slot */

/* Address families as stored in keys and values (not AF_*: BPF has none). */
#define CIDLB_FAMILY_V4 4
#define CIDLB_FAMILY_V6 6

/* ---- map names (pinned under the pin directory by these names) --------
 * The one list of the maps: X(ID, name, key size, value size, flags). The
 * names (CIDLB_MAP_ID), enum cidlb_map_id and its name table (user/ctl/
 * lb.h), the pin checks and the userspace twin of the data path are made
 * from it; bpf/maps.h defines each map by hand (BTF needs the definitions
 * written out), and tests/unit/test_maps.c checks the built objects
 * against this list. Sizes are of the structures below, 0 where no
 * structure of this header is the key or value. A new map: one line here
 * (at the end: the order is the one of lb.c's tables) and its definition.
 * Flags:
 *  CIDLB_MF_RESIZED  max_entries set at load ([lb] lru_size, ...): pins may
 *                    differ from the object in it
 *  CIDLB_MF_CHECKED  the cidlb command reads or writes its entries: the key
 *                    and value sizes of pins are checked even without the
 *                    object file
 */
#define CIDLB_MF_RESIZED 0x01
#define CIDLB_MF_CHECKED 0x02

#define CIDLB_MAPS(X) \
	X(VIPS, cidlb_vips, sizeof(struct cidlb_vip_key), sizeof(struct cidlb_vip), \
	  CIDLB_MF_CHECKED) \
	X(CONFIGS, cidlb_configs, 4, sizeof(struct cidlb_config), \
	  CIDLB_MF_CHECKED | CIDLB_MF_RESIZED) \
	X(SIDS, cidlb_sids, sizeof(struct cidlb_sid_key), 4, CIDLB_MF_CHECKED) \
	X(BACKENDS, cidlb_backends, 4, sizeof(struct cidlb_backend), CIDLB_MF_CHECKED) \
	X(MAGLEV, cidlb_maglev, 4, 4, CIDLB_MF_CHECKED | CIDLB_MF_RESIZED) \
	X(LRU, cidlb_lru, sizeof(struct cidlb_flow_key), sizeof(struct cidlb_flow), \
	  CIDLB_MF_CHECKED | CIDLB_MF_RESIZED) \
	X(RETIRED, cidlb_retired, sizeof(struct cidlb_cid_key), sizeof(struct cidlb_retired), \
	  CIDLB_MF_CHECKED | CIDLB_MF_RESIZED) \
	X(COUNTERS, cidlb_counters, 4, sizeof(struct cidlb_counters), CIDLB_MF_CHECKED) \
	X(BE_STATS, cidlb_be_stats, 4, sizeof(struct cidlb_backend_stats), CIDLB_MF_CHECKED) \
	X(GLOBAL, cidlb_global, 4, sizeof(struct cidlb_global), CIDLB_MF_CHECKED) \
	X(TX_PORTS, cidlb_tx_ports, 4, 4, CIDLB_MF_CHECKED) \
	X(DCACHE, cidlb_dcache, 4, sizeof(struct cidlb_dcache_slot), CIDLB_MF_RESIZED) \
	/* per-CPU AES work space (its structure is bpf/cid_crypto.h's) */ \
	X(SCRATCH, cidlb_scratch, 4, 0, 0) \
	X(CFG_STATS, cidlb_cfg_stats, 4, sizeof(struct cidlb_config_stats), \
	  CIDLB_MF_CHECKED | CIDLB_MF_RESIZED) \
	X(RETIRED_HINT, cidlb_retired_hint, 4, sizeof(struct cidlb_rhint_block), \
	  CIDLB_MF_CHECKED | CIDLB_MF_RESIZED) \
	X(VIP_TABLE, cidlb_vip_table, 4, sizeof(struct cidlb_vip_slot), CIDLB_MF_CHECKED) \
	X(SID_TABLE, cidlb_sid_table, 4, sizeof(struct cidlb_sid_bucket), \
	  CIDLB_MF_CHECKED | CIDLB_MF_RESIZED) \
	X(NEIGH, cidlb_neigh, sizeof(struct cidlb_neigh_key), sizeof(struct cidlb_neigh), 0) \
	X(RATE, cidlb_rate, 4, sizeof(struct cidlb_rate), 0) \
	X(POOLS, cidlb_pools, 4, sizeof(struct cidlb_pool), CIDLB_MF_CHECKED | CIDLB_MF_RESIZED) \
	X(FCACHE, cidlb_fcache, 4, sizeof(struct cidlb_fcache_slot), 0) \
	X(NHCACHE, cidlb_nhcache, 4, sizeof(struct cidlb_nhcache_slot), 0) \
	/* a new map: one line above this one */

/* The maps of cidlb_decap.bpf.o (the backend side), pinned per device by
 * `cidlb decap attach`; same form as CIDLB_MAPS. */
#define CIDLB_DECAP_MAPS(X) \
	X(DECAP_SRCS, decap_srcs, sizeof(struct cidlb_decap_src), sizeof(struct cidlb_decap_srcv), \
	  0) \
	X(DECAP_CNT, decap_counters, 4, sizeof(struct cidlb_decap_counters), 0) \
	X(DECAP_LOCALS, decap_locals, sizeof(struct cidlb_decap_src), 4, 0) \
	X(DECAP_VIPS, decap_vips, sizeof(struct cidlb_vip_key), 4, 0) \
	/* a new map: one line above this one */

#ifndef __bpf__
/* CIDLB_MAP_VIPS = "cidlb_vips", ... (packets use the maps themselves). */
#define X(id, name, ksz, vsz, flags) static const char CIDLB_MAP_##id[] = #name;
CIDLB_MAPS(X)
CIDLB_DECAP_MAPS(X)
#undef X
#endif

#define CIDLB_PROG_MAIN	 "cidlb_xdp"
#define CIDLB_PROG_DECAP "cidlb_decap"

/* ---- cidlb_vips: hash, (address, UDP port) -> VIP --------------------- */
struct cidlb_vip_key {
	__u8 addr[16]; /* IPv4 in addr[0..3], rest zero */
	__u16 port;    /* network byte order */
	__u8 family;   /* CIDLB_FAMILY_V4 / _V6 */
	__u8 pad;
};

struct cidlb_vip {
	__u32 id;    /* operator's VIP number, for counters/logs */
	__u16 pool;  /* its pool (cidlb_pools index); 0: the implicit pool */
	__u16 flags; /* reserved, 0 */
};

/* What a packet needs of its VIP's pool, one word of its VIP slot: the
 * pool and the halves of its double-buffered tables that packets read,
 * copied from cidlb_pools by lb.c whenever it publishes a VIP half. */
struct cidlb_pool_ref {
	__u16 pool;
	__u8 config_active; /* bit n: copy of config ID n in use */
	__u8 maglev_active; /* 0 or 1: the Maglev half of the pool */
};

/* ---- cidlb_pools: array [pool], what lb.c keeps of each pool ----------
 * The truth of the halves in use of the pool's configs and Maglev table;
 * packets read the copy in their VIP's slot (struct cidlb_pool_ref), so a
 * flip of either is published with the VIP table, all VIPs of the pool
 * at once.
 */
struct cidlb_pool {
	__u8 config_active; /* as struct cidlb_pool_ref */
	__u8 maglev_active;
	__u8 pad[6];
};

/* ---- cidlb_vip_table: array of 2 * CIDLB_VIP_SLOTS, what packets read --
 * cidlb_vips as an open-addressed table: packets hash the key with
 * cidlb_vip_hash() and the seed of the half named by
 * cidlb_global.vip_active, and look at CIDLB_VIP_PROBES slots from there
 * on, up to an empty one (family 0). An array lookup costs a few
 * instructions; a hash-map lookup cost 14 ns per packet. On every change
 * of cidlb_vips, lb.c fills the other half with a seed that leaves every
 * VIP within CIDLB_VIP_PROBES slots of its home, writes that seed, then
 * flips vip_active: packets see the old set or the new one, never a mix.
 * The slot carries the VIP's pool (ref): the one word that tells packets
 * where that pool's configs and Maglev table are.
 */
struct cidlb_vip_slot {
	struct cidlb_vip_key key; /* family 0: empty slot */
	struct cidlb_pool_ref ref;
	struct cidlb_vip vip;
} __attribute__((aligned(8)));

/* ---- cidlb_configs: array [pool * 16 + 2 * config ID + copy], QUIC-LB
 * configuration. Two copies per pool and config ID: packets read the copy
 * named by bit <config ID> of their VIP's cidlb_pool_ref.config_active;
 * userspace writes the other copy, then flips the bit (cidlb_pools, then
 * the VIP table), so no packet decodes with a half-written key.
 */
#define CIDLB_POOL_CONFIGS (2 * 8) /* entries of cidlb_configs per pool */
enum cidlb_cid_mode {
	CIDLB_MODE_NONE = 0, /* config ID not in use: fallback */
	CIDLB_MODE_PLAINTEXT = 1,
	CIDLB_MODE_SINGLE_PASS = 2, /* AES-128-ECB, plaintext_len == 16 */
	CIDLB_MODE_FOUR_PASS = 3,   /* Feistel over forward AES */
};

/* flags of struct cidlb_config */
#define CIDLB_CFG_F_LEN_CHECK 0x01 /* enforce self-encoded length (draft-21 §4.1) */
#define CIDLB_CFG_F_NO_DCACHE 0x02 /* skip the decode cache */
#define CIDLB_CFG_F_RESET \
	0x04 /* reset_rk holds a reset key: the LB
					* answers CIDs of down backends with
					* stateless resets */
#define CIDLB_CFG_F_TOKEN \
	0x08 /* the servers prefix their tokens with a
					* CID of this config: an Initial without
					* a routable DCID goes by its token */

struct cidlb_config {
	__u8 mode;	/* enum cidlb_cid_mode */
	__u8 sid_len;	/* 1..15 */
	__u8 nonce_len; /* 4..18 */
	__u8 pt_len;	/* sid_len + nonce_len, 5..19 */
	__u8 half_len;	/* ceil(pt_len / 2) */
	__u8 flags;	/* CIDLB_CFG_F_* */
	__u8 pad[2];
	__u32 generation; /* changes on every write: stale cache guard */
	__u32 pad2;
	/*
	 * AES-128 key schedules in the classic rijndael T-table layout
	 * (FIPS-197 words, word = big-endian value of 4 key-schedule octets),
	 * as cidlb_aes128_key_schedules() of libcidlb writes them: enc_rk for
	 * four-pass, dec_rk (inverse MixColumns applied) for single-pass.
	 * Zero in plaintext mode.
	 */
	__u32 enc_rk[CIDLB_AES_RK_WORDS];
	__u32 dec_rk[CIDLB_AES_RK_WORDS];
	/* From the lengths, by cidlb_config_masks() (lb.c on every write):
	 * packets AND them instead of computing them. */
	__u64 key_mask[3]; /* keeps octets 1 .. 1 + pt_len of a CID key
				 * (struct cidlb_cid_key: its DCID's first
				 * 1 + pt_len octets), clears octet 0 (len) */
	__u32 sid_mask[5]; /* keeps octets 0 .. 1 + sid_len of a
				 * struct cidlb_sid_key */
	__u32 pad3;
	/* With CIDLB_CFG_F_RESET: the encrypt schedule (layout of enc_rk) of
	 * the key the servers derive their stateless reset tokens from,
	 * cidlb_reset_token() of libcidlb. */
	__u32 reset_rk[CIDLB_AES_RK_WORDS];
};

#ifndef __bpf__
/* Fill c's masks from its sid_len and pt_len. */
static inline void cidlb_config_masks(struct cidlb_config *c)
{
	__u8 k[sizeof(c->key_mask)] = { 0 }, s[sizeof(c->sid_mask)] = { 0 };
	__u32 i;

	for (i = 1; i < sizeof(k) && i < 2u + c->pt_len; i++)
		k[i] = 0xff;
	for (i = 0; i < sizeof(s) && i < 2u + c->sid_len; i++)
		s[i] = 0xff;
	__builtin_memcpy(c->key_mask, k, sizeof(k));
	__builtin_memcpy(c->sid_mask, s, sizeof(s));
	c->pad3 = 0;
}
#endif

/* ---- cidlb_sids: hash, (pool, config ID, server ID) -> backend index ---- */
struct cidlb_sid_key {
	__u8 config_id;
	__u8 len;		 /* sid_len of that config */
	__u8 sid[CIDLB_SID_MAX]; /* zero beyond len */
	__u8 pad;		 /* a multiple of 4: the kernel hashes words */
	__u16 pool;
};

/* ---- cidlb_sid_table: array of buckets, mmapable ------------------------
 * The server IDs of up to CIDLB_SID_SHORT octets from cidlb_sids, as
 * packets read them: each is one 64-bit entry in one of its two buckets
 * (cidlb_sid_buckets()), so a lookup is a hash, one or two array elements
 * and four compares each, where a hash-map lookup cost 9 ns. lb.c keeps it
 * with one atomic 8-octet store per change (the map is mapped into its
 * memory), so a packet sees an entry before or after, never half. A server
 * ID that finds both buckets full stays in cidlb_sids alone and sets
 * CIDLB_GF_SID_SPILL: packets then look up cidlb_sids after a miss here.
 */
struct cidlb_sid_bucket {
	__u64 e[4]; /* 0: free; else cidlb_sid_entry() | backend index << 40 */
};

#define CIDLB_SID_E_VALID      (1ULL << 38)
#define CIDLB_SID_E_POOL_SHIFT 39
#define CIDLB_SID_E_KEY	       ((1ULL << 49) - 1) /* the bits that name the server ID */
#define CIDLB_SID_E_IDX_SHIFT  49

/* The key part of the entry of server-ID key k (len <= CIDLB_SID_SHORT,
 * sid zero beyond len): server ID octets in bits 0-31 (first octet
 * lowest), config ID in 32-34, length in 35-37, valid bit 38, pool in
 * 39-48 (the backend index is in 49-63). */
static inline __u64 cidlb_sid_entry(const struct cidlb_sid_key *k)
{
	__u32 sid32 = k->sid[0] | (__u32)k->sid[1] << 8 | (__u32)k->sid[2] << 16 |
		      (__u32)k->sid[3] << 24;

	return CIDLB_SID_E_VALID | ((__u64)(k->len & 7) << 35) | ((__u64)(k->config_id & 7) << 32) |
	       ((__u64)(k->pool & (CIDLB_MAX_POOLS - 1)) << CIDLB_SID_E_POOL_SHIFT) | sid32;
}

/* ---- cidlb_backends: array [backend index] ---------------------------- */
enum cidlb_backend_state {
	CIDLB_BE_ABSENT = 0, /* no packets; its server IDs fall back */
	CIDLB_BE_ACTIVE = 1,
	CIDLB_BE_DRAINING = 2, /* CID-routed and known flows only */
};

/* flags of struct cidlb_backend */
#define CIDLB_BE_F_DOWN \
	0x01 /* its server is gone: its CIDs get a
			      * stateless reset where their config has a
			      * reset key. Live (active or draining): health
			      * checks say down, without a reset the packet is
			      * sent as before. Absent: a removed backend whose
			      * server IDs are quarantined (they still name
			      * this index), without a reset the fallback. */

enum cidlb_fwd_mode {
	CIDLB_FWD_ENCAP_FIB = 0, /* IPIP/IP6IP6, next hop from the kernel FIB */
	CIDLB_FWD_ENCAP_MAC = 1, /* IPIP/IP6IP6 to a configured MAC, XDP_TX */
	CIDLB_FWD_DIRECT = 2,	 /* rewrite MACs only, XDP_TX */
};

/* How an encapsulating backend's packets are wrapped ([backend] encap). */
enum cidlb_encap {
	CIDLB_ENCAP_IPIP = 0, /* IPIP (RFC 2003) or IP-in-IPv6 (RFC 2473) */
	CIDLB_ENCAP_GUE = 1,  /* GUE variant 0 over UDP to gue_port, the UDP
			       * source port from the flow (cidlb_gue_sport) */
};

#define CIDLB_GUE_PORT_DEFAULT 6080 /* the usual FOU/GUE receive port */
#define CIDLB_GUE_HLEN	       12   /* UDP header and the 4-octet GUE header */

struct cidlb_backend {
	__u8 state;    /* enum cidlb_backend_state */
	__u8 family;   /* of addr: CIDLB_FAMILY_V4 / _V6 */
	__u8 fwd_mode; /* enum cidlb_fwd_mode */
	__u8 flags;    /* CIDLB_BE_F_* */
	__u8 addr[16]; /* tunnel endpoint, IPv4 in addr[0..3] */
	__u8 mac[6];   /* next hop for ENCAP_MAC and DIRECT */
	__u8 encap;    /* enum cidlb_encap (ENCAP_FIB and ENCAP_MAC) */
	__u8 pool;     /* its pool: a 4-tuple entry of a VIP of another pool
			* (the VIP moved) is a miss */
	/*
	 * The outer header toward this backend as every packet carries it,
	 * written by lb.c (cidlb_backend_outer()) on every write of the entry
	 * and of cidlb_global's src4, src6 or ttl; packets copy it and fill in
	 * the fields that change per packet, left zero here: IPv4 TOS, total
	 * length, protocol (IPIP only) and checksum; IPv6 traffic class, flow
	 * label, payload length and next header (IPIP only); GUE: the UDP
	 * source port and length and the GUE protocol octet. The GUE UDP
	 * checksum stays 0 (see docs/operations.md).
	 */
	__u32 outer_sum; /* IPv4: ones' complement sum of the template's
				 * 16-bit words as loaded on this host, folded */
	__u8 outer[52];	 /* IPv4 header (20 octets) or IPv6 header (40);
			  * GUE: then the UDP (8) and GUE (4) headers */
	__u16 gue_port;	 /* GUE: UDP destination port, network byte order;
			  * 0 means CIDLB_GUE_PORT_DEFAULT */
	__u8 pad3[2];
};

/* ---- cidlb_maglev: array of pools x 2 x CIDLB_MAGLEV_SIZE backend indexes
 * Two tables per pool: packets read the half named by their VIP's
 * cidlb_pool_ref.maglev_active; userspace writes the other half, then
 * flips maglev_active (cidlb_pools, then the VIP table).
 */

/* ---- cidlb_lru: LRU hash, 4-tuple -> backend (fallback stickiness) ---- */
struct cidlb_flow_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport; /* network byte order */
	__u16 dport;
	__u8 family;
	__u8 pad[3];
};

struct cidlb_flow {
	__u32 backend;
	__u32 seen; /* last packet, in ticks of CIDLB_FLOW_TICK_SHIFT: written
			 * at the insert, then at most once a tick by the
			 * packets of the flow (not on every packet) */
};

/* ---- cidlb_fcache: per-CPU array, direct-mapped, in front of cidlb_lru
 * Slot = cidlb_flow_label() of the 4-tuple, masked (CIDLB_FCACHE_SLOTS, a
 * power of 2). The data path writes a slot whenever it reads a usable
 * entry from cidlb_lru or writes one into it, on this CPU; a packet uses
 * the slot instead of cidlb_lru when it holds the same 4-tuple, the
 * current cidlb_global.flow_gen and the current tick (so it reads
 * cidlb_lru again at least once a tick, which keeps that entry's time
 * and its place in the LRU up to date), and its backend passes the same
 * checks as an entry of cidlb_lru (live, of the VIP's pool, not down for
 * a packet that may open a connection). bpf/pick.h says what it
 * guarantees.
 */
#define CIDLB_FCACHE_SLOTS 512

struct cidlb_fcache_slot {
	struct cidlb_flow_key key;
	__u32 backend;
	__u32 gen;  /* cidlb_global.flow_gen when written */
	__u32 tick; /* the tick (CIDLB_FLOW_TICK_SHIFT) it was written in */
	__u32 pad[3];
} __attribute__((aligned(64)));

/* ---- cidlb_nhcache: per-CPU array, direct-mapped by backend index
 * (CIDLB_NHCACHE_SLOTS, a power of 2), in front of bpf_fib_lookup() for
 * backends in CIDLB_FWD_ENCAP_FIB mode: the next hop the kernel's FIB
 * (or cidlbd's copy, cidlb_neigh) gave this CPU for a backend's address,
 * for packets that came in on in_ifindex. A packet uses the slot instead
 * of asking the FIB when it holds the same backend, address and ingress
 * interface, the current cidlb_global.nh_gen and the current next-hop
 * tick (CIDLB_NH_TICK_SHIFT), and its outer packet is no longer than one
 * the FIB let through (ok_len: a longer one asks again, so the route's
 * MTU is checked as before). So a change of the kernel's routes or
 * neighbours is seen within one tick (2^26 ns, 67 ms); lb.c moves nh_gen
 * when the outer source addresses or cidlb_neigh change.
 */
#define CIDLB_NHCACHE_SLOTS 256
#define CIDLB_NH_TICK_SHIFT 26

struct cidlb_nhcache_slot {
	__u32 addr[4];	   /* the backend's address asked for (cidlb_backend.addr) */
	__u32 backend;	   /* its index + 1; 0: empty */
	__u32 in_ifindex;  /* the interface the packets came in on */
	__u32 gen;	   /* cidlb_global.nh_gen when written */
	__u32 tick;	   /* the next-hop tick it was written in */
	__u32 ok_len;	   /* the longest outer packet the FIB let through */
	__u32 out_ifindex; /* 0: back out of in_ifindex (XDP_TX) */
	__u8 dmac[8];	   /* 6 used */
	__u8 smac[8];	   /* 6 used */
	__u32 cached;	   /* 1: the MACs are cidlbd's copy (cidlb_neigh) */
	__u32 pad;
} __attribute__((aligned(64)));

/* cidlb_flow.seen and cidlb_global.flow_idle count ticks of 2^30 ns
 * (1.07 s) of CLOCK_MONOTONIC_COARSE (bpf_ktime_get_coarse_ns()): a
 * shift, where seconds would cost a division per packet. */
#define CIDLB_FLOW_TICK_SHIFT 30

#ifndef __bpf__
/* cidlb_global.flow_idle for a timeout of s seconds: ticks, rounded up. */
static inline __u32 cidlb_flow_idle_ticks(__u32 s)
{
	return (__u32)(((__u64)s * 1000000000ULL + (1ULL << CIDLB_FLOW_TICK_SHIFT) - 1) >>
		       CIDLB_FLOW_TICK_SHIFT);
}
#endif

/* The shortest UDP payload of a datagram that may carry an Initial
 * (RFC 9000 14.1): only such datagrams create 4-tuple state. */
#define CIDLB_MIN_INITIAL 1200

/* ---- cidlb_retired: hash, retired CID -> expiry -------------------------
 * The key holds the CID's significant octets: 1 + sid_len + nonce_len for
 * a config held by the LB (extra octets are ignored, so long and short
 * headers match alike), else the self-encoded length (cid[0] & 0x1f) + 1
 * capped at the octets present.
 */
struct cidlb_cid_key {
	__u8 len;
	__u8 cid[CIDLB_CID_MAX];
	__u8 pad;
	__u16 pool; /* of the VIP the CID came to: each pool retires its own */
};

struct cidlb_retired {
	__u64 expires_ns; /* CLOCK_BOOTTIME (bpf_ktime_get_boot_ns()): from
				 * then on packets pass; the daemon deletes it */
};

/* ---- cidlb_retired_hint: array of 512-bit blocks, mmapable, Bloom filter --
 * Bit p of block b is set when an entry of cidlb_retired hashes to it.
 * A CID key's three bits lie in one block (one cache line): block
 * (low half of cidlb_cid_hashes(key)) & cidlb_global.rhint_mask, bits
 * cidlb_rhint_bit(high half, 0..2). A packet whose CID finds any of them
 * clear is not retired and skips the hash lookup. lb.c keeps a count per
 * bit in its own memory and sets a bit before it inserts a CID, clears it
 * after it deleted the last CID on it (a count at 255 stays), so a
 * retired CID never reads a clear bit: write retired CIDs through lb.c
 * (the daemon), never into cidlb_retired directly. Sized to 16 bits per
 * entry of the retired map (512 KiB for the default), so with the map
 * full about 0.5 % of other CIDs are looked up (12 % with one bit and 8
 * per entry, 1.4 % with two). Only the first rhint_mask + 1 blocks are in
 * use: lb.c sizes them by the CIDs held (16 to 64 bits per CID, at least
 * one page) and sets every CID's bits again when it resizes them. (Before
 * the bits, one octet counter per bit, 4 MiB for the default: a new CID
 * then read a cold line and page of a map eight times as large.)
 */
struct cidlb_rhint_block {
	__u64 w[8];
};

/* ---- cidlb_dcache: per-CPU array, direct-mapped decode cache ----------
 * Slot = hash of the CID key modulo the map size (a power of 2). A hit
 * needs the same CID and pool (struct cidlb_cid_key), config ID and config
 * generation; after a miss, a
 * decode whose server ID belongs to a live backend overwrites the slot
 * (others leave it: made-up CIDs do not evict real clients' entries). Nothing is shared between CPUs, and an insert costs a copy,
 * not an allocation (measured: an LRU hash insert cost 250-400 ns here).
 */
struct cidlb_dcache_slot {
	struct cidlb_cid_key cid;
	__u32 generation; /* cidlb_config.generation at decode time; 0 = empty */
	__u8 config_id;
	__u8 sid_len;
	__u8 sid[CIDLB_SID_MAX];
	__u8 pad[3];
};

/* ---- cidlb_global: array [0], LB-wide settings ------------------------ */
struct cidlb_global {
	/* mtu_floor: the smallest MTU of the devices the program is attached
	 * to, kept by cidlbd (cidlb_lb_set_mtu_floor(), every second): an
	 * outer packet that fits it goes out to a configured MAC without
	 * bpf_check_mtu(); 0: the kernel is asked about every one. It was
	 * maglev_active (unused since pools; 0 or 1 in older pins: nothing
	 * fits those), so the layout is the same. */
	__u32 mtu_floor;
	__u32 hash_seed;    /* seed of the 4-tuple hash; equal on all LBs */
	__u8 src4[4];	    /* outer IPv4 source of encapsulated packets */
	__u8 src6[16];	    /* outer IPv6 source */
	__u8 ttl;	    /* outer TTL / hop limit; 0 means 64 */
	__u8 flags;	    /* CIDLB_GF_*, kept by the control layer (lb.c) */
	__u8 config_active; /* unused since pools: cidlb_pools has it */
	__u8 pad;
	__u32 dcache_mask; /* cidlb_dcache size - 1, kept by lb.c */
	__u32 rhint_mask;  /* blocks of cidlb_retired_hint in use - 1, kept
				 * by lb.c; 0: no filter, every CID is looked up */
	__u32 vip_seed[2]; /* hash seed of each cidlb_vip_table half (lb.c) */
	__u8 vip_active;   /* 0 or 1: the cidlb_vip_table half packets read */
	__u8 pad2[3];
	__u32 sid_mask;	     /* buckets in cidlb_sid_table - 1, kept by lb.c;
				 * 0: no table, every server ID is in cidlb_sids */
	__u32 reset_rate;    /* [lb] reset_rate: stateless resets a second
				 * per CPU (cidlb_rate); 0: none */
	__u32 new_flow_rate; /* [lb] new_flow_rate: 4-tuple inserts a second
				 * per CPU (cidlb_rate); 0: unlimited */
	__u32 flow_idle;     /* [lb] flow_idle_timeout in ticks
				 * (CIDLB_FLOW_TICK_SHIFT, rounded up): an LRU
				 * entry idle longer is a miss; 0: never */
	__u32 icmp_rate;     /* [lb] icmp_rate: Packet Too Big replies a
				 * second per CPU (cidlb_rate); 0: none */
	__u32 layout;	     /* CIDLB_LAYOUT of the cidlbd that wrote it
				 * (lb.c); packets never read it */
	__u32 flow_gen;	     /* generation of cidlb_lru as userspace sees it:
				 * lb.c adds 1 whenever something other than
				 * the data path may have changed an entry
				 * (cidlb_lb_flows_changed()) and when
				 * flow_idle changes; a cidlb_fcache slot of
				 * another generation is empty */
	__u32 nh_gen;	     /* generation of the next hops: lb.c adds 1
				 * when src4, src6 or cidlb_neigh change
				 * (cidlb_lb_next_hops_changed()); a
				 * cidlb_nhcache slot of another generation
				 * is empty */
};

/* ---- the layout of the pins -------------------------------------------
 * CIDLB_LAYOUT numbers the set of maps of CIDLB_MAPS with their key and
 * value sizes. Pins carry it in cidlb_global.layout; pins whose
 * cidlb_global is too short to hold it are layout 1. A cidlbd finding
 * older pins migrates them (user/daemon/upgrade.c), newer ones it refuses.
 * tests/unit/test_maps.c keeps a signature of the sizes of every layout
 * and fails when the sizes change without a new CIDLB_LAYOUT.
 */
#define CIDLB_LAYOUT 3

/* ---- cidlb_rate: per-CPU array [enum cidlb_rate_id], rate limits ------
 * A virtual schedule each (GCRA, bpf/rate.h): an event moves next_ns on
 * by 1 s / its limit from max(next_ns, now), and one that would move it
 * more than 1 s ahead of now is refused. So a CPU takes up to its limit a
 * second, and that many at once after a quiet second. Nothing is shared
 * between CPUs; the clock is read only by a packet that wants the event.
 */
enum cidlb_rate_id {
	CIDLB_RATE_RESET = 0, /* stateless resets: cidlb_global.reset_rate */
	CIDLB_RATE_FLOW = 1,  /* cidlb_lru inserts: cidlb_global.new_flow_rate */
	CIDLB_RATE_ICMP = 2,  /* Packet Too Big replies: cidlb_global.icmp_rate */
	CIDLB_RATE_N
};

struct cidlb_rate {
	__u64 next_ns; /* CLOCK_MONOTONIC_COARSE */
};

/* flags of struct cidlb_global */
#define CIDLB_GF_RETIRED   0x01 /* cidlb_retired has entries: look CIDs up */
#define CIDLB_GF_SID_SPILL 0x02 /* short server IDs outside cidlb_sid_table */
#define CIDLB_GF_NO_TRANSIT \
	0x04 /* drop what the program would pass and the
					 * kernel would route (bpf/transit.h) */
#define CIDLB_GF_TOKEN \
	0x08 /* a config has CIDLB_CFG_F_TOKEN: Initials
			     * without a routable DCID read their token
			     * (bpf/token.h); kept by lb.c */

#ifndef __bpf__
/* Fill b's outer-header template for the settings g (family, address and
 * the LB's source and TTL); zero for a family that is neither. */
static inline void cidlb_backend_outer(struct cidlb_backend *b, const struct cidlb_global *g)
{
	__u8 ttl = g->ttl ? g->ttl : 64, *o = b->outer, *u;
	int gue = b->encap == CIDLB_ENCAP_GUE;
	__u32 sum = 0, i;
	__u16 w;

	for (i = 0; i < sizeof(b->outer); i++)
		o[i] = 0;
	b->outer_sum = 0;
	/* GUE: UDP source port, length and checksum 0, destination port;
	 * GUE version 0, C 0, hlen 0, protocol 0 (packets write it), flags 0 */
	u = o + (b->family == CIDLB_FAMILY_V4 ? 20 : 40);
	if (gue && (b->family == CIDLB_FAMILY_V4 || b->family == CIDLB_FAMILY_V6)) {
		u[2] = CIDLB_GUE_PORT_DEFAULT >> 8;
		u[3] = CIDLB_GUE_PORT_DEFAULT & 0xff;
		if (b->gue_port)
			__builtin_memcpy(u + 2, &b->gue_port, 2);
	}
	if (b->family == CIDLB_FAMILY_V4) {
		o[0] = 0x45;
		o[6] = 0x40; /* DF */
		o[8] = ttl;
		o[9] = gue ? 17 : 0; /* UDP; IPIP: per packet */
		for (i = 0; i < 4; i++) {
			o[12 + i] = g->src4[i];
			o[16 + i] = b->addr[i];
		}
		/* TOS, length, (IPIP) protocol and checksum are 0 here:
		 * packets add them */
		for (i = 0; i < 10; i++) {
			__builtin_memcpy(&w, o + 2 * i, 2);
			sum += w;
		}
		sum = (sum & 0xffff) + (sum >> 16);
		b->outer_sum = (sum & 0xffff) + (sum >> 16);
	} else if (b->family == CIDLB_FAMILY_V6) {
		o[0] = 0x60;
		o[6] = gue ? 17 : 0; /* UDP; IPIP: per packet */
		o[7] = ttl;
		for (i = 0; i < 16; i++) {
			o[8 + i] = g->src6[i];
			o[24 + i] = b->addr[i];
		}
	}
}
#endif

/* ---- cidlb_tx_ports: devmap hash, ifindex -> ifindex (XDP_REDIRECT) ---- */

/* ---- cidlb_neigh: hash, (egress ifindex, next hop) -> MAC addresses ----
 * cidlbd's copy of the kernel's neighbour entries for the next hops of
 * FIB-routed backends (user/daemon/neigh.c). Packets read it only where
 * bpf_fib_lookup() answered NO_NEIGH: the kernel's lockless neighbour
 * lookup misses entries, even permanent ones, while the neighbour hash
 * table (one for every network namespace) is being resized.
 */
struct cidlb_neigh_key {
	__u32 ifindex; /* egress device, as the FIB answered */
	__u8 family;   /* of addr: CIDLB_FAMILY_V4 / _V6 */
	__u8 pad[3];
	__u8 addr[16]; /* next hop (gateway or backend), IPv4 in addr[0..3] */
};

struct cidlb_neigh {
	__u8 dmac[6]; /* the next hop's */
	__u8 smac[6]; /* the egress device's */
};

/* ---- cidlb_counters: per-CPU array [0] ----------------------------------
 * The one list of the data path's counters: the structure, the names
 * (`cidlb stats`, JSON, Prometheus `cidlb_NAME_total`), the help lines and
 * the verdict sums are all made from it. X(KIND, name, help): every packet
 * the program sees moves exactly one counter of kind PASS, DROP or FWD
 * (its verdict); PATH counters tell the way it took. A new counter is one
 * line here, at the end (the structure only grows: adopted pins).
 * tests/unit/test_maps.c keeps every shipped layout's counter names and
 * fails unless this list starts with them in order: an upgrade carries
 * the old counts by position (user/daemon/upgrade.c).
 */
#define CIDLB_COUNTERS(X) \
	/* 1. parse: Ethernet, VLAN, IP, UDP */ \
	X(PATH, rx_packets, "Packets seen by the XDP program.") \
	X(PASS, pass_not_ip, "Passed: not IPv4 or IPv6.") \
	X(PASS, pass_bad_l3, "Passed: IP header cut short or malformed.") \
	X(PASS, pass_not_udp, "Passed: IP, not UDP.") \
	X(PASS, pass_not_vip, "Passed: UDP, destination not a VIP.") \
	X(PASS, pass_frag_tail, "Passed: non-first IP fragment.") \
	X(DROP, drop_fragment, "Dropped: first IP fragment of a datagram to a VIP.") \
	X(DROP, drop_bad_udp, "Dropped: bad UDP length.") \
	/* 2-3. QUIC header */ \
	X(PATH, quic_short, "QUIC short-header (1-RTT) packets.") \
	X(PATH, quic_initial, "QUIC Initial packets.") \
	X(PATH, quic_0rtt, "QUIC 0-RTT packets.") \
	X(PATH, quic_handshake, "QUIC Handshake packets.") \
	X(PATH, quic_retry, "QUIC Retry packets.") \
	X(PATH, quic_unknown_version, "QUIC long-header packets of an unknown version.") \
	X(DROP, drop_version_neg, "Dropped: version negotiation sent to a VIP.") \
	X(DROP, drop_cid_too_long, "Dropped: CID longer than 20 octets.") \
	X(DROP, drop_truncated, "Dropped: QUIC header cut short.") \
	/* 4. CID decode */ \
	X(PATH, cid_plaintext, "CIDs decoded in plaintext mode.") \
	X(PATH, cid_single_pass, "CIDs decoded in single-pass AES mode.") \
	X(PATH, cid_four_pass, "CIDs decoded in four-pass AES mode.") \
	X(PATH, dcache_hit, "Decode cache hits.") \
	X(PATH, dcache_miss, "Decode cache misses.") \
	/* 5. pick */ \
	X(DROP, drop_retired, "Dropped: destination CID is retired.") \
	X(PATH, route_cid, "Routed by the server ID in the CID.") \
	X(PATH, unroutable_cr7, "Unroutable: config ID 7.") \
	X(PATH, unroutable_config, "Unroutable: config ID not configured.") \
	X(PATH, unroutable_short_cid, "Unroutable: CID shorter than its config needs.") \
	X(PATH, unroutable_sid, \
	  "Unroutable: server ID unknown, quarantined, or its backend absent.") \
	X(PATH, route_lru, "Fallback: routed by the 4-tuple LRU table.") \
	X(PATH, route_maglev, "Fallback: routed by the Maglev table.") \
	X(DROP, drop_no_backend, "Dropped: the fallback found no live backend.") \
	/* 6. forward */ \
	X(FWD, tx, "Sent back out of the ingress interface (XDP_TX).") \
	X(FWD, redirect, "Sent out of another interface (XDP_REDIRECT).") \
	X(DROP, drop_mtu, "Dropped: too big after encapsulation.") \
	X(DROP, drop_no_route, \
	  "Dropped: no route to the backend, or forwarding off on the ingress interface.") \
	X(DROP, drop_encap, "Dropped: no headroom or bad backend entry.") \
	/* added later, so at the end: 5. pick, any step that passes, 6. forward */ \
	X(PATH, retired_past_ttl, "Not dropped: retired CID past its TTL (not swept yet).") \
	X(DROP, drop_not_local, \
	  "Dropped: neither for a VIP nor for this host (the kernel would route it).") \
	X(PATH, nh_cached, \
	  "Of those sent: the kernel had no neighbour entry at that instant, cidlbd's copy " \
	  "(cidlb_neigh) gave the next hop.") \
	X(DROP, drop_no_neigh, \
	  "Dropped: no neighbour entry for the backend's next hop (kernel and cidlb_neigh).") \
	X(DROP, drop_no_port, \
	  "Dropped: the egress interface is not in egress_interfaces (cidlb_tx_ports).") \
	X(PATH, reset_sent, \
	  "Of those sent back: stateless resets for CIDs of down backends (bpf/reset.h).") \
	X(PATH, reset_rate_limited, \
	  "Not reset, sent on as before: over [lb] reset_rate on this CPU.") \
	X(PATH, reset_unsent, \
	  "Not reset, sent on as before: too short for a smaller reset, or IP options or " \
	  "IPv6 extension headers.") \
	X(DROP, drop_reset, \
	  "Dropped: a stateless reset could not be built after the frame was cut.") \
	/* new-flow admission (bpf/pick.h flow_lookup, flow_place) */ \
	X(DROP, drop_small_initial, \
	  "Dropped: Initial without a routable CID in a UDP payload under 1200 octets.") \
	X(PATH, lru_no_admit, \
	  "Fallback: by Maglev, no 4-tuple entry made: not an Initial or 0-RTT of 1200 octets.") \
	X(PATH, lru_rate_limited, \
	  "Fallback: by Maglev, no 4-tuple entry made: over new_flow_rate on this CPU.") \
	X(PATH, lru_idle, "Fallback: 4-tuple entry idle past flow_idle_timeout, taken as a miss.") \
	/* ICMP and ICMPv6 errors to a VIP (bpf/icmp.h) */ \
	X(PATH, route_icmp_cid, \
	  "ICMP errors about a VIP's packet routed by the server's CID (long header SCID).") \
	X(PATH, route_icmp_flow, "ICMP errors about a VIP's packet routed by its flow.") \
	X(PASS, pass_icmp, \
	  "Passed: ICMP error not about a UDP datagram from a VIP, or its quote cut in the UDP " \
	  "header.") \
	/* Packet Too Big replies (bpf/icmp.h) */ \
	X(FWD, tx_too_big, \
	  "Too big after encapsulation: ICMP fragmentation needed / ICMPv6 Packet Too Big sent " \
	  "back to the client (XDP_TX).") \
	X(PATH, too_big_limited, "Of drop_mtu: no Packet Too Big sent, over icmp_rate.") \
	/* Initials routed by their token (bpf/token.h) */ \
	X(PATH, route_token, \
	  "Fallback: Initial routed by the server ID in its token's prefix (token_prefix " \
	  "configs), its 4-tuple entry made.") \
	X(PATH, token_unroutable, \
	  "Fallback: Initial with a token whose prefix does not route (no token_prefix config, " \
	  "too short, server ID not of an active backend, token past the datagram).") \
	/* 5. pick, len_self_encode configs */ \
	X(PATH, unroutable_len, \
	  "Unroutable: the CID's self-encoded length is below its config's or, in a long " \
	  "header, not its length (len_self_encode configs).") \
	/* 5. pick, the 4-tuple cache (bpf/pick.h flow_lookup) */ \
	X(PATH, route_lru_cached, \
	  "Of route_lru: the entry came from this CPU's 4-tuple cache (cidlb_fcache), " \
	  "cidlb_lru not read.") \
	/* 6. forward, the next-hop cache (bpf/encap.h nh_from_fib) */ \
	X(PATH, fib_cached, \
	  "Of those sent: the next hop came from this CPU's next-hop cache (cidlb_nhcache), " \
	  "no FIB lookup.") \
	/* a new counter: one line above this one */

enum cidlb_counter_kind {
	CIDLB_CK_PATH,
	CIDLB_CK_PASS,
	CIDLB_CK_DROP,
	CIDLB_CK_FWD
};

struct cidlb_counters {
#define X(kind, name, help) __u64 name;
	CIDLB_COUNTERS(X)
#undef X
};

#define X(kind, name, help) +1
enum {
	CIDLB_N_COUNTERS = 0 CIDLB_COUNTERS(X)
};
#undef X

#ifndef __bpf__
/* The sum of the counters of one kind (CIDLB_CK_PASS, _DROP, _FWD), or of
 * every verdict counter with -1: equal to rx_packets when nothing is lost. */
static inline __u64 cidlb_counters_sum(const struct cidlb_counters *c, int kind)
{
	__u64 s = 0;

#define X(k, name, help) \
	if (CIDLB_CK_##k != CIDLB_CK_PATH && (kind < 0 || kind == CIDLB_CK_##k)) \
		s += c->name;
	CIDLB_COUNTERS(X)
#undef X
	return s;
}
#endif

/* ---- cidlb_cfg_stats: per-CPU array [pool * 8 + config ID] ------------- */
struct cidlb_config_stats {
	__u64 decodes;	   /* server IDs read from a DCID of this config */
	__u64 dcache_hits; /* of which from the decode cache */
	__u64 no_backend;  /* decoded, but no live backend owns the server ID */
};

/* ---- cidlb_be_stats: per-CPU array [backend index] -------------------- */
struct cidlb_backend_stats {
	__u64 packets;
	__u64 bytes;
};

/* ---- backend side: decap_srcs, decap_locals (hash of cidlb_decap_src),
 * decap_vips (hash of cidlb_vip_key, port 0: any), decap_counters
 * (per-CPU [0]). A tunnel packet from a source in decap_srcs is stripped
 * only when its outer destination is in decap_locals and its inner
 * destination (address and UDP port, or address and port 0) in decap_vips.
 */
struct cidlb_decap_src {
	__u8 addr[16]; /* a cidlb outer source (or local) address */
	__u8 family;
	__u8 pad[3];
};

/* The value of decap_srcs. A UDP packet from the source to gue_port is a
 * GUE tunnel packet (cidlb_backend.encap GUE); others from it are not. */
struct cidlb_decap_srcv {
	__u16 one;	/* 1 */
	__u16 gue_port; /* network byte order; 0: IPIP/IP6IP6 only */
};

struct cidlb_decap_counters {
	__u64 rx_packets;
	__u64 decap_v4;		/* outer IPv4 (and GUE) removed */
	__u64 decap_v6;		/* outer IPv6 (and GUE) removed */
	__u64 pass_not_tunnel;	/* not IPIP/IP6IP6, nor UDP to the GUE port of
				 * a source in decap_srcs: untouched */
	__u64 pass_unknown_src; /* IPIP/IP6IP6 from a source not in decap_srcs */
	__u64 drop_malformed;	/* tunnel packet cut short, inner header malformed */
	__u64 drop_outer_dst;	/* from a cidlb source, outer destination not in decap_locals */
	__u64 drop_inner_dst;	/* inner packet not UDP to a VIP in decap_vips */
	__u64 drop_ecn;		/* outer CE, inner Not-ECT (RFC 6040 4.2) */
	__u64 ecn_marked;	/* decapsulated with the outer CE/ECT(1) copied inside */
};

#define CIDLB_SIZE_CHECK(t, n) _Static_assert(sizeof(struct t) == (n), "ABI: size of struct " #t)
CIDLB_SIZE_CHECK(cidlb_vip_key, 20);
CIDLB_SIZE_CHECK(cidlb_vip, 8);
CIDLB_SIZE_CHECK(cidlb_vip_slot, 32);
CIDLB_SIZE_CHECK(cidlb_config, 592);
CIDLB_SIZE_CHECK(cidlb_sid_key, 20);
CIDLB_SIZE_CHECK(cidlb_backend, 88);
CIDLB_SIZE_CHECK(cidlb_flow_key, 40);
CIDLB_SIZE_CHECK(cidlb_flow, 8);
CIDLB_SIZE_CHECK(cidlb_cid_key, 24);
CIDLB_SIZE_CHECK(cidlb_retired, 8);
CIDLB_SIZE_CHECK(cidlb_dcache_slot, 48);
CIDLB_SIZE_CHECK(cidlb_fcache_slot, 64);
CIDLB_SIZE_CHECK(cidlb_nhcache_slot, 64);
CIDLB_SIZE_CHECK(cidlb_global, 84);
CIDLB_SIZE_CHECK(cidlb_rate, 8);
CIDLB_SIZE_CHECK(cidlb_pool_ref, 4);
CIDLB_SIZE_CHECK(cidlb_pool, 8);
CIDLB_SIZE_CHECK(cidlb_sid_bucket, 32);
CIDLB_SIZE_CHECK(cidlb_counters, CIDLB_N_COUNTERS * 8);
CIDLB_SIZE_CHECK(cidlb_neigh_key, 24);
CIDLB_SIZE_CHECK(cidlb_neigh, 12);
CIDLB_SIZE_CHECK(cidlb_backend_stats, 16);
CIDLB_SIZE_CHECK(cidlb_config_stats, 24);
CIDLB_SIZE_CHECK(cidlb_decap_src, 20);
CIDLB_SIZE_CHECK(cidlb_decap_srcv, 4);
CIDLB_SIZE_CHECK(cidlb_decap_counters, 10 * 8);

#endif /* CIDLB_MAPS_H */
