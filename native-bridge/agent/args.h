/* A step's arguments resolved for one execution (app/program/resolve.ts is
 * the same in TypeScript): fixed values as they are, a LIST item by
 * iteration, a RANGE drawn from the lane's generator, in payload order. */
#ifndef STRESSLAB_ARGS_H
#define STRESSLAB_ARGS_H

#include <stdint.h>

#include "proto.h"
#include "rules.h"

#define NKEYS 64

struct arg {
	uint8_t key;
	uint8_t varying; /* value is a LIST (cycled by iteration) or a RANGE (seeded draw) */
	struct value v;
};

struct resolved {
	uint64_t present;
	uint64_t varied; /* reported back in the event */
	uint64_t listed; /* varied by cycling a list: the event carries the list index */
	int32_t idx[NKEYS];
	int64_t i[NKEYS];
	double f[NKEYS];
	const char *s[NKEYS];
	uint16_t slen[NKEYS];
	uint8_t type[NKEYS];
};

/* iter < 0 (setup, teardown) uses list item 0 */
void args_resolve(struct resolved *r, const struct arg *args, int nargs, int64_t iter, struct rng *draws);

static inline int has(const struct resolved *r, int key) { return (r->present >> key) & 1u; }
int64_t arg_int(const struct resolved *r, int key, int64_t dflt);
double arg_num(const struct resolved *r, int key, double dflt);

#endif
