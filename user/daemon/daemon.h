/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * daemon.h - cidlbd's state and the parts that change it.
 *
 *   main.c      arguments, start (load or adopt), the event loop, signals,
 *               stop, --cleanup
 *   program.c   the BPF object: find, check, load and pin or adopt, map sizes
 *   iface.c     interfaces: attach, adopt, detach, undo a failed attach,
 *               redirect ports, the MTU floor
 *   forward.c   per-interface sysctls: forwarding and accept_ra, and back
 *   reload.c    SIGHUP and the "reload" request; the [lb] seed, QUIC-LB
 *               decode samples (the key-change check), parser errors logged
 *   apply.c     make the maps match a configuration: backends, server IDs,
 *               Maglev, quarantine, VIPs, QUIC-LB configs, global
 *   retire.c    retired CIDs: add with an expiry, sweep expired ones (an
 *               index by expiry, so that a sweep touches those only)
 *   ctl.c       the control socket (JSON requests)
 *   metrics.c   Prometheus text over HTTP (its own thread)
 *   notify.c    sd_notify without libsystemd
 *   neigh.c     next hops of FIB-routed backends kept resolved
 *   health.c    health checks of the backends' QUIC servers (own thread)
 *   announce.c  the VIP routes a routing daemon announces (BGP), drain
 *
 * One lock (d->lock) guards everything below but the retired-CID part:
 * the main thread (signals, timer), one thread per control client (ctl.c)
 * and the metrics thread take it. d->retire_lock guards the retired-CID
 * index and the writes to cidlb_retired; it is taken under d->lock
 * (retire_cids) or alone (the sweep), so the sweep never holds d->lock.
 */
#ifndef CIDLBD_DAEMON_H
#define CIDLBD_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "ctl/config.h"
#include "ctl/lb.h"
#include "ctl/statefile.h"

struct MHD_Daemon;

struct iface_rt {
	char name[IF_NAMESIZE];
	int ifindex;
	enum cidlb_attach_mode mode; /* as attached */
	bool dispatcher;
	uint8_t fwd_set; /* CIDLB_FWD_SET_*: forwarding we turned on */
	bool fresh;	 /* attached by the start or reload under way:
					 * detached again if it fails */
	int mtu;	 /* as mtu_sync() last read it; 0: unreadable */
};

/* retire.c: one CID put into cidlb_retired, and the expiry it was given */
struct retire_ent {
	uint64_t expires_ns;
	struct cidlb_cid_key key;
};

/* announce.c: one VIP address and whether its route is in the table */
struct ann_vip {
	uint8_t family, addr[16];
	bool announced;
};

/* announce.c: the routing protocol number of our routes ("proto 171" in
 * ip route; krt_source = 171 in BIRD) */
#define CIDLB_RTPROT	   171
#define CIDLB_ANNOUNCE_MAX CIDLB_MAX_VIPS

/* health.c: a backend's health */
enum health_state {
	HEALTH_UNKNOWN = 0, /* just added: no answer yet, not health_fall failures */
	HEALTH_UP,
	HEALTH_DOWN, /* out of the Maglev table (unless all are) */
	HEALTH_OFF,  /* health = off: not probed */
};

struct health_be {
	char name[CIDLB_NAME_MAX + 1];
	uint8_t family, addr[16];      /* the backend the state is about */
	uint8_t state;		       /* enum health_state */
	bool outstanding;	       /* a probe waits for its answer */
	struct cidlb_vip_key vkey;     /* where the probe went */
	uint8_t dcid[8], scid[8];      /* the probe's connection IDs */
	uint32_t ok_run, fail_run;     /* answered / unanswered in a row */
	uint64_t next_ns, deadline_ns; /* CLOCK_MONOTONIC */
	uint64_t transitions;
	int last_err; /* of sending, logged once */
};

struct daemon {
	pthread_mutex_t lock;
	char config_path[4096];
	struct cidlb_conf *conf; /* running configuration; its backends
					 * are the running set (the file's, as
					 * changed on the control socket) */
	struct cidlb_lb *lb;
	char object[4096]; /* BPF object in use */
	char pin_dir[256];
	bool pin_dir_forced; /* --pin-dir given */
	bool adopted;	     /* maps and program were pinned already */
	/* upgrade.c: pins of an older layout being migrated into d->lb (the
	 * new maps, not pinned yet) and their layout; replace_fd: the
	 * object's program to take the place of an adopted program whose
	 * code differs (same layout), -1 when none */
	struct cidlb_lb *old_lb;
	int old_layout;
	int replace_fd;
	bool keep_on_exit;
	bool stop, stop_keep;
	uint32_t owner_map_id; /* ID of cidlb_counters: marks "ours" */
	struct cidlb_state st; /* name -> index, quarantine */
	struct iface_rt ifs[CIDLB_MAX_IFACES];
	int n_ifs;
	uint32_t **maglev; /* per pool: last published table, NULL before */
	uint32_t n_maglev; /* entries of maglev: the pools the maps hold */
	bool rolling_back; /* apply_config() putting d->conf back */
	/* QUIC-LB configs: decodes at the last sample, and when (boottime
	 * ns) that count last moved; 0 = no decode seen */
	/* [pool * CIDLB_CONFIG_IDS + config ID] */
	uint64_t qlb_decodes[CIDLB_MAX_POOLS * CIDLB_CONFIG_IDS];
	uint64_t qlb_moved_ns[CIDLB_MAX_POOLS * CIDLB_CONFIG_IDS];
	/* for status and metrics */
	time_t started;
	time_t last_reload;
	bool last_reload_ok;
	char last_reload_msg[1024];
	uint64_t reloads_ok, reloads_failed;
	/* written under retire_lock, read with __atomic_load_n */
	uint64_t retired_count;	  /* entries in cidlb_retired */
	uint64_t retired_expired; /* removed by the sweep, total */
	uint64_t retired_added;	  /* added, total */
	/* retire.c: a min-heap by expiry of what was put into cidlb_retired
	 * (read from the map at start, then every retire); an entry retired
	 * again or unretired since leaves a stale one, checked in the map
	 * when it comes due. rindex_stale: build it from the map again. */
	pthread_mutex_t retire_lock;
	struct retire_ent *rheap;
	size_t rheap_n, rheap_cap, rheap_max;
	bool rindex_stale;
	int lock_fd;
	int listen_fd;
	int wake_fd;	/* eventfd: a control thread woke the main loop */
	int ctl_active; /* control client threads running (atomic) */
	struct MHD_Daemon *httpd;
	int metrics_retry_s; /* >0: the bind failed, next try in this */
	time_t metrics_next; /* ... at this time */
	uint64_t conf_gen;   /* bumped each time d->conf is replaced */
	/* health.c, under d->lock: one entry per backend of d->conf as of
	 * health_gen, in its order */
	struct health_be *health;
	int n_health;
	uint64_t health_gen;
	bool health_fail_open; /* every backend of a pool down: all kept */
	bool health_stop, health_running;
	pthread_t health_thread;
	int health_udp;	      /* answers come here ... */
	uint16_t health_port; /* ... to this port (network order) */
	int health_raw[2][2]; /* [outer v6][inner v6] raw sockets */
	int health_gue[2];    /* [outer v6] UDP sockets: encap = gue */
	int health_pkt;	      /* AF_PACKET: mode = direct */
	int health_wake;      /* eventfd: stop */
	/* announce.c, under d->lock */
	/* drained: d->st.drained_since != 0 (kept in the state file) */
	uint32_t ann_table;  /* the table our routes are in, 0 = none */
	struct ann_vip *ann; /* one per VIP address of d->conf */
	int n_ann;
	bool ann_evaluated;
	bool ann_swept;	       /* other tables cleared of our VIPs' routes */
	bool ann_sweep_logged; /* the sweep's failure said, until it works */
	bool ann_fail_open;    /* announced while every backend is down */
	char ann_why[64];      /* why withdrawn, "" = announced */
	int ann_err_logged;
};

/* ---- program.c ---- */
/* d->object: --object (@cli), else [daemon] bpf_object, else the default
 * path, else next to cidlbd; 0 or a negative errno (not readable). */
int find_object(struct daemon *d, const char *cli);
/* 0 when only root may change d->object, else -EPERM (logged). */
int check_object(const struct daemon *d);
/* Load the object and pin it, or adopt what is pinned (checked against
 * the object first, unless @check_pins is false: --cleanup removes pins of
 * any version). */
int open_lb(struct daemon *d, bool check_pins);
/* Warn where an adopted map's size is not the configuration's. */
void check_sizes(struct daemon *d);

/* ---- upgrade.c ---- */
/* The layout (CIDLB_LAYOUT) of the pins lb was opened from: 1 when their
 * cidlb_global is too short to carry it, 0 when it carries none. */
int pins_layout(struct cidlb_lb *lb);
/* open_lb() found pins of another layout: an older one is opened in
 * d->old_lb and the object loaded, unpinned, in d->lb; a newer one is
 * refused. 0 or a negative errno (logged). */
int upgrade_open(struct daemon *d, struct cidlb_lb *old, int layout);
/* Same layout: 1 when the object's program differs from the pinned one
 * (d->replace_fd holds it loaded with the pinned maps), 0 when not. */
int upgrade_check_prog(struct daemon *d);
/* After d->lb's maps were filled from the configuration: copy the state
 * of the old maps, put d->lb's program in the place of the old one on
 * every interface (atomically each), replace the pins. Before the swap a
 * failure leaves everything as it was. */
int upgrade_finish(struct daemon *d, const struct cidlb_state *prev, char *why, size_t why_len);
/* Same layout, another program: replace it on d->ifs and in the pins. */
int upgrade_replace_prog(struct daemon *d, char *why, size_t why_len);
/* Drop what a failed upgrade had built (the old pins stay). */
void upgrade_abort(struct daemon *d);

/* ---- iface.c ---- */
/* Detach from name and turn off the forwarding cidlbd turned on there. */
int detach_one(struct daemon *d, const char *name, uint8_t fwd_set);
/* A previous daemon's interfaces (@prev, its state file) that still carry
 * our program join d->ifs first. */
void adopt_previous(struct daemon *d, const struct cidlb_state *prev);
/* Detach what attach_new() attached from d->ifs[base..]; keep the rest. */
void undo_attach(struct daemon *d, int base);
/* Attach to every interface of @c not attached yet (from *base on in
 * d->ifs); on a failure none of them stays attached and @why says why. */
int attach_new(struct daemon *d, const struct cidlb_conf *c, int *base, char *why, size_t why_len);
/* Detach from the interfaces that left @c, order d->ifs as @c, and make
 * sure of the redirect ports and forwarding sysctls. */
void sync_interfaces(struct daemon *d, const struct cidlb_conf *c);
/* Read the MTU of every attached interface and write the smallest into
 * cidlb_global.mtu_floor (0 when one cannot be read, or none is
 * attached): sync_interfaces() and the event loop's timer (every second)
 * call it, so the floor follows a lowered MTU within a second. */
void mtu_sync(struct daemon *d);

/* ---- forward.c ---- */
/* Turn forwarding on for dev (v6: IPv6): the CIDLB_FWD_SET_* bits of what
 * was changed, 0 when it was on already or cannot be set. */
uint8_t set_forwarding(const char *dev, int v6);
/* Turn back off what @fwd_set (CIDLB_FWD_SET_*) says cidlbd turned on. */
void restore_forwarding(const char *dev, uint8_t fwd_set);

/* ---- reload.c ---- */
/* SIGHUP and the "reload" request. */
int do_reload(struct daemon *d, json_t *changes, char *why, size_t why_len);
/* Log each line of @c's parser errors. */
void print_errors(const struct cidlb_conf *c);
/* Give @c the [lb] seed: the file's, else d->st.seed (drawn once). */
int choose_seed(struct daemon *d, struct cidlb_conf *c, char *why, size_t why_len);
/* Note which QUIC-LB configs decoded packets since the last call (the
 * timer; a reload before it checks a key change). */
void qlb_sample(struct daemon *d);

/* ---- apply.c ---- */
/* now, CLOCK_BOOTTIME ns (the clock of cidlb_retired.expires_ns) */
uint64_t boottime_ns(void);
/* Make the maps match @next (validated by the parser). On success @next
 * becomes d->conf (the old one is freed) and 0 is returned; on refusal
 * nothing is changed and @why says why. @changes (may be NULL) receives a
 * JSON summary of what changed. */
int apply_config(struct daemon *d, struct cidlb_conf *next, json_t *changes, char *why,
		 size_t why_len);
/* Copy of the running configuration to change (backends included). */
struct cidlb_conf *conf_dup(const struct cidlb_conf *c);
int save_state(struct daemon *d);
uint32_t backend_index(const struct daemon *d, const char *name);
/* Drop quarantine entries that expired; returns how many. */
int quarantine_expire(struct daemon *d);
/* Publish the Maglev table of d->conf again (a backend's health
 * changed); 0, or a negative errno with @why. */
int health_publish(struct daemon *d, char *why, size_t why_len);

/* ---- retire.c ---- */
int retire_cids(struct daemon *d, json_t *cids, uint16_t pool, uint32_t ttl_s, bool add,
		json_t *reply, char *why, size_t why_len);
/* The index from the map as it is (a started or adopted map): 0 or a
 * negative errno (then the next sweep tries again). */
int retire_index_load(struct daemon *d);
/* Delete up to one slice of expired CIDs; takes d->retire_lock, and
 * d->lock only for a moment when the map became empty: call without
 * either. Returns -1 when no more are due, else the milliseconds to wait
 * before the next slice (as long as this one took: at most half a core). */
int retire_sweep(struct daemon *d);
void retire_index_free(struct daemon *d);

/* ---- neigh.c: next hops of FIB-routed backends ---- */
/* Every second: keep live backends' next hops resolved and copied into
 * cidlb_neigh; remove copies nobody uses. */
void neigh_tick(struct daemon *d);
/* Before backends become live: resolve their next hops (bounded wait). */
void neigh_resolve(struct daemon *d, const struct cidlb_conf_backend *const *bs, int n);

/* ---- health.c ---- */
/* Start the health-check thread (after the first apply_config) and its
 * sockets; a socket that cannot be opened is logged, not fatal. */
int health_start(struct daemon *d);
/* Stop it (call without d->lock) and close its sockets. */
void health_stop(struct daemon *d);
/* enum health_state of backend @name (@hint: its likely position in
 * d->conf), HEALTH_UNKNOWN when not seen yet; under d->lock. */
uint8_t health_of(struct daemon *d, const char *name, int hint);
uint64_t health_transitions(struct daemon *d, const char *name, int hint);
const char *health_state_str(uint8_t state);

/* ---- announce.c ---- */
/* Make [daemon] announce_table hold a route per VIP address while this
 * host should receive their traffic (attached, a healthy backend, not
 * drained), none otherwise; under d->lock, once a second and after a
 * change. A table left (by a reload, or across a restart: the state
 * file's) is emptied; at the start and on a change of table, our VIPs'
 * routes in other tables are removed. */
void announce_sync(struct daemon *d);
/* Remove our routes (a plain stop); under d->lock or single-threaded. */
void announce_withdraw_all(struct daemon *d);
void announce_free(struct daemon *d);
/* {"table", "protocol", "withdrawn_because", "fail_open", "vips": [{address, announced}]} */
json_t *announce_json(struct daemon *d);

/* ---- ctl.c ---- */
int ctl_listen(struct daemon *d);
/* Take a client on its own thread (up to CTL_MAX_CLIENTS at a time), so a
 * slow or silent client holds up nobody; each request done writes to
 * d->wake_fd, so that the main loop sees a "stop". Returns 0, or -EMFILE
 * (-ENFILE, -ENOBUFS, -ENOMEM) when no descriptor was left for the
 * client: the connection waits in the backlog and the caller must stop
 * polling the socket for a while, else it wakes up at once, again and again. */
int ctl_accept(struct daemon *d);
/* One request (@len octets, any bytes) to its reply, {"ok": false, ...}
 * when malformed or refused; under d->lock. ctl_accept() without the
 * socket (the fuzzer). */
json_t *ctl_handle(struct daemon *d, const char *buf, size_t len);
/* Stop listening and wait for the client threads (each ends within its
 * timeouts). Call without d->lock. */
void ctl_close(struct daemon *d);

/* ---- metrics.c ---- */
/* Serve [daemon] metrics; a failed bind is logged and not fatal (only a
 * malformed address is): metrics_tick(), once a second from the main
 * loop, tries again with a growing interval (1 s, doubling, up to 60 s). */
int metrics_start(struct daemon *d);
void metrics_tick(struct daemon *d);
void metrics_stop(struct daemon *d);

/* ---- notify.c ---- */
void sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
