/* A step's arguments resolved for one execution (app/program/resolve.ts is
 * the same in TypeScript): fixed values as they are, a LIST item by
 * iteration, a RANGE drawn from the lane's generator, in payload order. */
#ifndef STRESSLAB_ARGS_H
#define STRESSLAB_ARGS_H

#include <stdint.h>
#include <string.h>

#include "proto.h"
#include "rules.h"

/* Keys index the arrays below and the key sets; proto.h keeps A_LAST under 100. */
#define NKEYS 128
_Static_assert(A_LAST <= NKEYS, "argument keys index struct resolved");

/* A set of keys, one bit per key: two words, since the argument keys passed 63. */
struct keyset {
	uint64_t w[NKEYS / 64];
};
static inline void ks_clear(struct keyset *s) { memset(s, 0, sizeof *s); }
static inline void ks_add(struct keyset *s, int k) { s->w[k >> 6] |= 1ull << (k & 63); }
static inline int ks_has(const struct keyset *s, int k) { return (int)((s->w[k >> 6] >> (k & 63)) & 1u); }

struct arg {
	uint8_t key;
	uint8_t varying; /* value is a LIST (cycled by iteration) or a RANGE (seeded draw) */
	struct value v;
};

struct resolved {
	struct keyset present;
	struct keyset varied; /* reported back in the event */
	struct keyset listed; /* varied by cycling a list: the event carries the list index */
	int32_t idx[NKEYS];
	int64_t i[NKEYS];
	double f[NKEYS];
	const char *s[NKEYS];
	uint16_t slen[NKEYS];
	uint8_t type[NKEYS];
};

/* iter < 0 (setup, teardown) uses list item 0 */
void args_resolve(struct resolved *r, const struct arg *args, int nargs, int64_t iter, struct rng *draws);

static inline int has(const struct resolved *r, int key) { return ks_has(&r->present, key); }
int64_t arg_int(const struct resolved *r, int key, int64_t dflt);
double arg_num(const struct resolved *r, int key, double dflt);

#endif
