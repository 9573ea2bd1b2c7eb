/* Each lane's generator: xoshiro128** seeded through splitmix32 with
 * (seed, stream), bit-identical to app/sim/kernel/rng.ts, so the host can
 * predict and check every value an agent lane draws (app/program/README.md). */
#ifndef STRESSLAB_RNG_H
#define STRESSLAB_RNG_H

#include <stdint.h>

struct rng {
	uint32_t a, b, c, d;
};

void rng_seed(struct rng *r, uint32_t seed, uint32_t stream);
uint32_t rng_u32(struct rng *r);
/* uniform in [0, 1) */
double rng_float(struct rng *r);
/* uniform integer in [min, max] */
int64_t rng_int(struct rng *r, int64_t min, int64_t max);

#endif
