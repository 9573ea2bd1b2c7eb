/* The ACT record of an executed step (PROTOCOL.md "Event records"): the fixed
 * 48-byte header in one store, the resolved varying arguments (list index or
 * drawn value), then the op's data fields. */
#include "run.h"

void record_act(struct lane *l, struct wbuf *w, int step, int64_t iter, int64_t t0, int64_t t1, int64_t ret, const struct resolved *r,
                const struct wbuf *data)
{
	/* records are little-endian (static assert in proto.h) */
	struct act_fixed h = {
		0, R_ACT, (uint8_t)l->index, (uint16_t)step, iter, t0 - l->run->t0, t1 - t0, ret,
		(uint32_t)atomic_load_explicit(&l->tid, memory_order_relaxed), 0,
	};
	w->len = 0;
	wb_bytes(w, &h, sizeof h);
	/* ascending key order, as before the set grew past one word */
	for (int word = 0; word < NKEYS / 64; word++)
		for (uint64_t v = r->varied.w[word]; v; v &= v - 1) {
			int k = word * 64 + __builtin_ctzll(v);
			if (ks_has(&r->listed, k))
				wf_int(w, (uint8_t)k, r->idx[k]);
			else if (r->type[k] == V_FLOAT)
				wf_float(w, (uint8_t)k, r->f[k]);
			else
				wf_int(w, (uint8_t)k, r->i[k]);
		}
	wb_bytes(w, data->p, data->len);
	wb_put_u32(w, 0, (uint32_t)w->len);
	emit_record(l->ev, w->p, w->len);
}
