// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * reload.c - SIGHUP and the "reload" request: read the file again and apply it
 * all or nothing; what the start shares with it (the [lb] seed, the decodes
 * sampled for the key-change check, the parser's errors logged).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "daemon.h"
#include "ctl/log.h"

void print_errors(const struct cidlb_conf *c)
{
	const char *p = c->errors;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		pr_err("%.*s", len, p);
		p = nl ? nl + 1 : p + len;
	}
}

/*
 * [lb] seed (Maglev and the 4-tuple hash): the file's, else a random one
 * drawn at the first start and kept in the state file (d->st.seed), so
 * that fallback placement cannot be worked out from the backend names.
 */
int choose_seed(struct daemon *d, struct cidlb_conf *c, char *why, size_t why_len)
{
	if (c->has_seed)
		return 0;
	while (!d->st.seed) {
		if (getrandom(&d->st.seed, sizeof(d->st.seed), 0) != sizeof(d->st.seed)) {
			d->st.seed = 0;
			snprintf(why, why_len,
				 "cannot draw a random [lb] seed: %s; set seed = N in %s",
				 strerror(errno), c->path);
			return -EIO;
		}
		pr_info("[lb] seed not set: drew a random one, kept in %s (hosts of one fleet must set the same seed = N)",
			c->state_file);
	}
	c->seed = d->st.seed;
	return 0;
}

void qlb_sample(struct daemon *d)
{
	uint64_t now = boottime_ns();
	uint32_t i, n = cidlb_lb_max_pools(d->lb) * CIDLB_CONFIG_IDS;

	for (i = 0; i < n && i < CIDLB_MAX_POOLS * CIDLB_CONFIG_IDS; i++) {
		struct cidlb_config_stats s = { 0 };

		if (cidlb_lb_read_pool_config_stats(d->lb, i / CIDLB_CONFIG_IDS,
						    i % CIDLB_CONFIG_IDS, &s))
			continue;
		/* a fall to 0 is 'cidlb stats reset', not traffic */
		if (s.decodes != d->qlb_decodes[i] && s.decodes)
			d->qlb_moved_ns[i] = now;
		d->qlb_decodes[i] = s.decodes;
	}
}

/*
 * A reload must not change how a live config decodes (its key, its
 * lengths, plaintext or encrypted): every CID the backends issued under it
 * would name another server ID. Live means: its decode count moved within
 * the last quarantine seconds.
 */
static int check_rekey(struct daemon *d, const struct cidlb_conf *next, char *why, size_t why_len)
{
	const struct cidlb_conf *cur = d->conf;
	uint64_t now, window = (uint64_t)cur->quarantine_s * 1000000000ULL;
	int cr, i, pc;

	qlb_sample(d);
	now = boottime_ns();
	for (i = 0; i < next->n_pools * CIDLB_CONFIG_IDS; i++) {
		const struct cidlb_conf_qlb *a, *b;
		const char *what, *pn = next->pools[i / CIDLB_CONFIG_IDS].name;
		uint64_t moved;

		/* the same pool in the running file: by name */
		pc = cidlb_conf_pool_find(cur, pn);
		cr = i % CIDLB_CONFIG_IDS;
		if (pc < 0)
			continue;
		a = &cidlb_conf_qlbs(cur, pc)[cr];
		b = &cidlb_conf_qlbs(next, i / CIDLB_CONFIG_IDS)[cr];
		moved = d->qlb_moved_ns[pc * CIDLB_CONFIG_IDS + cr];
		if (!a->present || !b->present || !moved || now - moved >= window)
			continue;
		if (a->has_key != b->has_key)
			what = b->has_key ? "from plaintext to encrypted" :
					    "from encrypted to plaintext";
		else if (a->sid_len != b->sid_len || a->nonce_len != b->nonce_len)
			what = "its server_id_len or nonce_len";
		else if (a->has_key && memcmp(a->key, b->key, sizeof(a->key)))
			what = "its key (another key_file content)";
		else
			continue;
		snprintf(
			why, why_len,
			"[quic-lb %s%s%d]: this file changes %s in place, but config %d decoded packets %llu s ago: every connection on it would break. Rotate instead: add the new key under a new config ID, let the backends issue CIDs under it (both configs live), and remove config %d once its connections moved (no decodes for quarantine = %u s); see 'key rotation' in docs/operations.md. Nothing was changed",
			pn, *pn ? " " : "", cr, what, cr,
			(unsigned long long)((now - moved) / 1000000000ULL), cr, cur->quarantine_s);
		return -EBUSY;
	}
	return 0;
}

int do_reload(struct daemon *d, json_t *changes, char *why, size_t why_len)
{
	struct cidlb_conf *next = NULL;
	const struct cidlb_conf *cur = d->conf;
	char inner[768];
	int err, base;

	sd_notifyf("RELOADING=1\nSTATUS=reloading %s", d->config_path);
	pr_info("reloading %s", d->config_path);
	err = cidlb_conf_load(d->config_path, CIDLB_CONF_CHECK_SYSTEM, &next);
	if (err) {
		if (next) {
			print_errors(next);
			snprintf(why, why_len,
				 "%s has %zu error%s, the running configuration stays: %.*s",
				 d->config_path, next->n_errors, next->n_errors == 1 ? "" : "s",
				 (int)strcspn(next->errors ? next->errors : "", "\n"),
				 next->errors ? next->errors : "");
		} else {
			snprintf(why, why_len, "out of memory");
		}
		cidlb_conf_free(next);
		goto done;
	}
	/* what only a restart changes */
#define KEEP(field, what) \
	if (strcmp(next->field, cur->field)) { \
		pr_warn("reload: %s changed; it takes effect at the next start", what); \
		snprintf(next->field, sizeof(next->field), "%s", cur->field); \
	}
	KEEP(pin_dir, "[daemon] pin_dir");
	KEEP(socket, "[daemon] control_socket");
	KEEP(state_file, "[daemon] state_file");
	KEEP(metrics, "[daemon] metrics");
	KEEP(object, "[daemon] bpf_object");
#undef KEEP
	if (next->lru_size != cur->lru_size || next->retired_size != cur->retired_size ||
	    next->dcache_size != cur->dcache_size)
		pr_warn("reload: map sizes (lru_size, retired_size, dcache_size) are fixed while the program runs; they take effect after a plain stop and start");
	if (next->attach_mode != cur->attach_mode)
		pr_warn("reload: attach_mode applies to interfaces attached from now on");
	err = check_rekey(d, next, why, why_len);
	if (!err)
		err = choose_seed(d, next, why, why_len);
	if (err) {
		cidlb_conf_free(next);
		goto done;
	}
	/* all or nothing: new interfaces first (detached again on any
	 * failure), then the maps (put back on a failed write), then the
	 * interfaces that left */
	err = attach_new(d, next, &base, inner, sizeof(inner));
	if (err) {
		snprintf(why, why_len, "%s; nothing was changed, the running configuration stays",
			 inner);
		cidlb_conf_free(next);
		goto done;
	}
	err = apply_config(d, next, changes, why, why_len);
	if (err) {
		undo_attach(d, base);
		cidlb_conf_free(next);
		goto done;
	}
	log_level = d->conf->log_level;
	sync_interfaces(d, d->conf);
	save_state(d);
done:
	d->last_reload = time(NULL);
	d->last_reload_ok = !err;
	if (err) {
		d->reloads_failed++;
		snprintf(d->last_reload_msg, sizeof(d->last_reload_msg), "%s", why);
		pr_err("reload refused: %s", why);
	} else {
		d->reloads_ok++;
		snprintf(d->last_reload_msg, sizeof(d->last_reload_msg), "applied");
		pr_info("reload applied");
	}
	sd_notifyf("READY=1\nSTATUS=%s", err ? "running; last reload refused" : "running");
	return err;
}
