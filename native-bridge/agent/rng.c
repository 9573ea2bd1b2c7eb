/* xoshiro128** seeded through splitmix32: the simulated kernel's generator
 * (app/sim/kernel/rng.ts), bit for bit. */
#include <math.h>

#include "rng.h"

static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

void rng_seed(struct rng *r, uint32_t seed, uint32_t stream)
{
	uint32_t s = seed ^ (uint32_t)((stream + 1u) * 0x9e3779b9u);
	uint32_t out[4];
	for (int i = 0; i < 4; i++) {
		s += 0x9e3779b9u;
		uint32_t z = s;
		z = (z ^ (z >> 16)) * 0x85ebca6bu;
		z = (z ^ (z >> 13)) * 0xc2b2ae35u;
		out[i] = z ^ (z >> 16);
	}
	r->a = out[0];
	r->b = out[1];
	r->c = out[2];
	r->d = out[3];
	if ((r->a | r->b | r->c | r->d) == 0)
		r->a = 1;
}

uint32_t rng_u32(struct rng *r)
{
	uint32_t res = rotl(r->b * 5u, 7) * 9u;
	uint32_t t = r->b << 9;
	r->c ^= r->a;
	r->d ^= r->b;
	r->b ^= r->c;
	r->a ^= r->d;
	r->c ^= t;
	r->d = rotl(r->d, 11);
	return res;
}

double rng_float(struct rng *r) { return rng_u32(r) / 4294967296.0; }

int64_t rng_int(struct rng *r, int64_t min, int64_t max)
{
	return min + (int64_t)floor(rng_float(r) * (double)(max - min + 1));
}
