// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_statefile.c - libFuzzer target for the daemon's state file reader
 * (user/ctl/statefile.c, cidlb_state_read()) under ASan/UBSan: any octets
 * as /run/cidlb/state.json. The file outlives the daemon that wrote it (a
 * crash, another version, a full disk), and cidlbd reads it when it adopts
 * a running program and before it touches anything.
 * Invariants, for every input:
 *   - the result is 0 (read) or -EINVAL with a message that names the file;
 *     never a crash, a leak or UB; a file refused leaves nothing behind (no
 *     seed, drain time or routing table that cidlbd would act on);
 *   - what was read is within the limits the daemon's arrays rely on:
 *     backend and quarantine indexes below CIDLB_MAX_BACKENDS, server IDs
 *     of at most CIDLB_SID_MAX octets, config IDs below CIDLB_CONFIG_IDS,
 *     at most CIDLB_MAX_IFACES interfaces, NUL-terminated names, no name
 *     or index given to two backends, a routing table of cidlbd's own
 *     (1..CIDLB_ANNOUNCE_TABLE_MAX, not the kernel's main or local);
 *   - what was read, written back by cidlb_state_write(), reads back the
 *     same.
 * The input is served from a memfd (/proc/self/fd/N): no file system.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "ctl/statefile.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

static void check_limits(const struct cidlb_state *st)
{
	int i, j;

	check(st->n_be >= 0 && st->n_be <= CIDLB_MAX_BACKENDS, "backend count");
	for (i = 0; i < st->n_be; i++) {
		check(st->be[i].index < CIDLB_MAX_BACKENDS, "backend index");
		check(memchr(st->be[i].name, 0, sizeof(st->be[i].name)) && st->be[i].name[0],
		      "backend name");
		for (j = 0; j < i; j++)
			check(strcmp(st->be[i].name, st->be[j].name) &&
				      st->be[i].index != st->be[j].index,
			      "backend unique");
	}
	for (i = 0; i < st->n_q; i++) {
		check(st->q[i].index < CIDLB_MAX_BACKENDS, "quarantine index");
		check(st->q[i].len <= CIDLB_SID_MAX, "quarantine server ID length");
		check(st->q[i].config_id < CIDLB_CONFIG_IDS, "quarantine config ID");
		check(memchr(st->q[i].owner, 0, sizeof(st->q[i].owner)) != NULL, "owner");
	}
	check(st->announce_table <= CIDLB_ANNOUNCE_TABLE_MAX, "announce_table");
	check(st->n_ifs >= 0 && st->n_ifs <= CIDLB_MAX_IFACES, "interface count");
	for (i = 0; i < st->n_ifs; i++) {
		check(memchr(st->ifs[i].name, 0, sizeof(st->ifs[i].name)) && st->ifs[i].name[0],
		      "interface name");
		check(!(st->ifs[i].fwd_set &
			~(CIDLB_FWD_SET_V4 | CIDLB_FWD_SET_V6 | CIDLB_FWD_SET_RA6)),
		      "fwd_set");
	}
}

static int mem_path(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("state.json", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidlb_state st, again;
	char path[64], copy[64], why[512] = "";
	int fd, err, i;

	fd = mem_path(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	err = cidlb_state_read(path, &st, why, sizeof(why));
	close(fd);
	check(err == 0 || err == -EINVAL, "result is 0 or -EINVAL");
	if (err) {
		static const struct cidlb_state zero;

		check(!strncmp(why, path, strlen(path)), "the message names the file");
		check(!memcmp(&st, &zero, sizeof(st)), "a file refused leaves nothing");
		return 0;
	}
	check_limits(&st);

	/* written back, read back the same */
	snprintf(copy, sizeof(copy), "/dev/shm/fuzz_statefile.%d.json", getpid());
	check(cidlb_state_write(copy, &st) == 0, "write back");
	err = cidlb_state_read(copy, &again, why, sizeof(why));
	unlink(copy);
	if (err)
		fprintf(stderr, "read back: %s\n", why);
	check(err == 0, "what was read reads back");
	check(again.n_be == st.n_be && again.n_q == st.n_q && again.n_ifs == st.n_ifs &&
		      again.seed == st.seed && again.drained_since == st.drained_since &&
		      again.announce_table == st.announce_table,
	      "same counts");
	for (i = 0; i < st.n_be; i++)
		check(!strcmp(again.be[i].name, st.be[i].name) &&
			      again.be[i].index == st.be[i].index,
		      "same backends");
	for (i = 0; i < st.n_q; i++)
		check(again.q[i].len == st.q[i].len &&
			      !memcmp(again.q[i].sid, st.q[i].sid, st.q[i].len) &&
			      again.q[i].index == st.q[i].index &&
			      again.q[i].until_ns == st.q[i].until_ns &&
			      again.q[i].config_id == st.q[i].config_id &&
			      !strcmp(again.q[i].owner, st.q[i].owner),
		      "same quarantine");
	for (i = 0; i < st.n_ifs; i++)
		check(!strcmp(again.ifs[i].name, st.ifs[i].name) &&
			      again.ifs[i].mode == st.ifs[i].mode &&
			      again.ifs[i].fwd_set == st.ifs[i].fwd_set,
		      "same interfaces");
	cidlb_state_free(&again);
	cidlb_state_free(&st);
	return 0;
}
