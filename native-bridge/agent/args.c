/* Argument resolution: the one place a lane draws from its generator for a
 * step's arguments (jitter's sleep is a RANGE like any other). */
#include "args.h"

int64_t arg_int(const struct resolved *r, int key, int64_t dflt) { return has(r, key) ? r->i[key] : dflt; }
double arg_num(const struct resolved *r, int key, double dflt) { return has(r, key) ? r->f[key] : dflt; }

static void set_scalar(struct resolved *r, int k, const struct value *v)
{
	ks_add(&r->present, k);
	r->type[k] = v->type;
	r->i[k] = v->i;
	r->f[k] = v->f;
	r->s[k] = v->s;
	r->slen[k] = v->n;
}

void args_resolve(struct resolved *r, const struct arg *args, int nargs, int64_t iter, struct rng *draws)
{
	ks_clear(&r->present);
	ks_clear(&r->varied);
	ks_clear(&r->listed);
	for (int i = 0; i < nargs; i++) {
		const struct arg *a = &args[i];
		int k = a->key;
		if (a->v.type == V_LIST) {
			int idx = iter < 0 ? 0 : (int)(iter % a->v.n);
			set_scalar(r, k, &a->v.items[idx]);
			r->idx[k] = idx;
			ks_add(&r->varied, k);
			ks_add(&r->listed, k);
		} else if (a->v.type == V_RANGE) {
			const struct value *lo = &a->v.items[0], *hi = &a->v.items[1];
			struct value v = { 0 };
			if (lo->type == V_INT) {
				v.type = V_INT;
				v.i = rng_int(draws, lo->i, hi->i);
				v.f = (double)v.i;
			} else {
				v.type = V_FLOAT;
				v.f = lo->f + rng_float(draws) * (hi->f - lo->f);
				v.i = (int64_t)v.f;
			}
			set_scalar(r, k, &v);
			ks_add(&r->varied, k);
		} else {
			set_scalar(r, k, &a->v);
		}
	}
}
