// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * maglev.c - Maglev table builder (Eisenbud et al., NSDI 2016, 3.4).
 *
 * Each backend has a permutation of the M = CIDLB_MAGLEV_SIZE slots,
 * offset + j * skip (mod M), with offset and skip hashed from its name and
 * the seed; M is prime, so any skip in 1..M-1 visits every slot. Backends
 * take turns; on its turn a backend claims the next slot of its
 * permutation that nobody holds yet. A backend's preferences depend on its
 * name only, so adding or removing one backend moves few other slots.
 *
 * Weights: a backend of weight w gets a turn whenever its credit, w per
 * round, reaches the largest weight W: its k-th turn comes in round
 * ceil(k * W / w), turns within a round go by name. It stops taking turns
 * once it holds its quota, M * w / sum(w) rounded by largest remainder, so
 * shares are exact to the slot. With equal weights this is the paper's
 * round-robin fill. A heap orders the turns, so the build costs
 * O(M log n + n log n) whatever the weights.
 *
 * Only the name and the seed enter the hash, never the array position or
 * the index, and names are sorted byte-wise (strcmp), so every host builds
 * the same table from the same set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/maglev.h"

#define M CIDLB_MAGLEV_SIZE

/* ---- SipHash-2-4 (Aumasson, Bernstein), bytes read little-endian -------- */
#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; \
		v1 = ROTL64(v1, 13); \
		v1 ^= v0; \
		v0 = ROTL64(v0, 32); \
		v2 += v3; \
		v3 = ROTL64(v3, 16); \
		v3 ^= v2; \
		v0 += v3; \
		v3 = ROTL64(v3, 21); \
		v3 ^= v0; \
		v2 += v1; \
		v1 = ROTL64(v1, 17); \
		v1 ^= v2; \
		v2 = ROTL64(v2, 32); \
	} while (0)

static uint64_t siphash24(const uint8_t *in, size_t len, uint64_t k0, uint64_t k1)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t m, last = (uint64_t)len << 56;
	size_t i, full = len & ~(size_t)7;

	for (i = 0; i < full; i += 8) {
		m = 0;
		for (int k = 7; k >= 0; k--)
			m = (m << 8) | in[i + k];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (int k = 0; i + k < len; k++)
		last |= (uint64_t)in[i + k] << (8 * k);
	v3 ^= last;
	SIPROUND;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Two independent hashes of a name: the key's second half names which. */
#define H_OFFSET 0x31766f6d67616dULL /* "magov1" */
#define H_SKIP	 0x32696b736761ULL   /* "agski2" */

static uint64_t name_hash(const char *name, uint32_t seed, uint64_t which)
{
	return siphash24((const uint8_t *)name, strlen(name), (uint64_t)seed | (uint64_t)seed << 32,
			 which);
}

/* ---- build state ------------------------------------------------------ */
struct mg_be {
	uint64_t next_round; /* round of its next turn */
	uint32_t index;	     /* table value */
	uint32_t weight;
	uint32_t pos; /* next permutation entry to try */
	uint32_t skip;
	uint32_t quota; /* slots it must end with */
	uint32_t claimed;
};

static int cmp_name(const void *a, const void *b)
{
	const struct cidlb_maglev_backend *x = *(const struct cidlb_maglev_backend *const *)a;
	const struct cidlb_maglev_backend *y = *(const struct cidlb_maglev_backend *const *)b;

	return strcmp(x->name, y->name);
}

struct mg_rem {
	uint64_t rem;
	uint32_t id;
};

/* Largest remainder first, then name order: who gets the leftover slots. */
static int cmp_rem(const void *a, const void *b)
{
	const struct mg_rem *x = a, *y = b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Min-heap of backend ids keyed by (next_round, id). */
static int turn_before(const struct mg_be *be, uint32_t a, uint32_t b)
{
	if (be[a].next_round != be[b].next_round)
		return be[a].next_round < be[b].next_round;
	return a < b;
}

static void heap_down(const struct mg_be *be, uint32_t *h, size_t len, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		uint32_t t;

		if (l < len && turn_before(be, h[l], h[min]))
			min = l;
		if (r < len && turn_before(be, h[r], h[min]))
			min = r;
		if (min == i)
			return;
		t = h[i];
		h[i] = h[min];
		h[min] = t;
		i = min;
	}
}

/* Round of turn k (1-based) of a backend: first round its credit k * wmax
 * is covered, ceil(k * wmax / w). k <= M and wmax < 2^32: no overflow. */
static uint64_t turn_round(uint64_t k, uint32_t wmax, uint32_t w)
{
	return (k * wmax + w - 1) / w;
}

/* Shares: quota = floor(M * w / sum), leftovers to largest remainders. */
static int set_quotas(struct mg_be *be, uint32_t nb, uint64_t wsum)
{
	struct mg_rem *rem;
	uint64_t given = 0;
	uint32_t i;

	rem = calloc(nb, sizeof(*rem));
	if (!rem)
		return -ENOMEM;
	for (i = 0; i < nb; i++) {
		uint64_t share = (uint64_t)M * be[i].weight;

		be[i].quota = share / wsum;
		given += be[i].quota;
		rem[i].rem = share % wsum;
		rem[i].id = i;
	}
	qsort(rem, nb, sizeof(*rem), cmp_rem);
	/* M - given < nb: the remainders sum to less than nb slots. */
	for (i = 0; given < M; i++, given++)
		be[rem[i].id].quota++;
	free(rem);
	return 0;
}

int cidlb_maglev_build(const struct cidlb_maglev_backend *b, size_t n, uint32_t seed,
		       uint32_t *table)
{
	const struct cidlb_maglev_backend **sorted = NULL;
	struct mg_be *be = NULL;
	uint32_t *heap = NULL, wmax = 0, nb = 0;
	uint64_t wsum = 0;
	size_t i, hlen = 0;
	int err = -EINVAL;

	if (!table || (n && !b) || n > UINT32_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!b[i].name || b[i].index == CIDLB_BACKEND_NONE)
			return -EINVAL;

	err = -ENOMEM;
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	if (!sorted)
		goto out;
	for (i = 0; i < n; i++)
		sorted[i] = &b[i];
	qsort(sorted, n, sizeof(*sorted), cmp_name);
	err = -EINVAL;
	for (i = 1; i < n; i++)
		if (!strcmp(sorted[i - 1]->name, sorted[i]->name))
			goto out;

	for (i = 0; i < n; i++) {
		if (!sorted[i]->weight)
			continue;
		nb++;
		wsum += sorted[i]->weight;
		if (sorted[i]->weight > wmax)
			wmax = sorted[i]->weight;
	}

	err = -ENOMEM;
	be = calloc(nb ? nb : 1, sizeof(*be));
	heap = calloc(nb ? nb : 1, sizeof(*heap));
	if (!be || !heap)
		goto out;

	nb = 0;
	for (i = 0; i < n; i++) {
		const struct cidlb_maglev_backend *s = sorted[i];
		struct mg_be *e = &be[nb];

		if (!s->weight)
			continue;
		e->index = s->index;
		e->weight = s->weight;
		e->pos = name_hash(s->name, seed, H_OFFSET) % M;
		e->skip = name_hash(s->name, seed, H_SKIP) % (M - 1) + 1;
		e->next_round = turn_round(1, wmax, e->weight);
		nb++;
	}
	if (nb) {
		err = set_quotas(be, nb, wsum);
		if (err)
			goto out;
	}
	for (i = 0; i < nb; i++)
		if (be[i].quota)
			heap[hlen++] = i;
	for (i = hlen / 2; i-- > 0;)
		heap_down(be, heap, hlen, i);

	/* Nothing can fail from here: the table is only written on success. */
	for (i = 0; i < M; i++)
		table[i] = CIDLB_BACKEND_NONE;
	/* The quotas sum to M, so the heap empties exactly when the table is
	 * full, and a walk always ends: each permutation visits every slot. */
	while (hlen) {
		struct mg_be *e = &be[heap[0]];

		while (table[e->pos] != CIDLB_BACKEND_NONE) {
			e->pos += e->skip;
			if (e->pos >= M)
				e->pos -= M;
		}
		table[e->pos] = e->index;
		if (++e->claimed == e->quota) {
			heap[0] = heap[--hlen];
		} else {
			e->next_round = turn_round(e->claimed + 1, wmax, e->weight);
		}
		heap_down(be, heap, hlen, 0);
	}
	err = 0;
out:
	free(heap);
	free(be);
	free(sorted);
	return err;
}

size_t cidlb_maglev_moved(const uint32_t *old_table, const uint32_t *new_table)
{
	size_t i, moved = 0;

	for (i = 0; i < M; i++)
		moved += old_table[i] != new_table[i];
	return moved;
}
