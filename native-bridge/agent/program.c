/* RUN payload -> struct program. Every index and type is checked here so the
 * lanes can trust the program without further validation. The host wrote
 * every argument out (app/program decides them all); the agent adds none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

struct op_rule {
	int op;
	int needs_handle; /* 0 no, HK_PCM, HK_SEQ */
};

static const struct op_rule rules[] = {
	{ OP_PCM_OPEN, HK_PCM }, { OP_PCM_HW_REFINE, HK_PCM }, { OP_PCM_HW_PARAMS, HK_PCM },
	{ OP_PCM_SW_PARAMS, HK_PCM }, { OP_PCM_PREPARE, HK_PCM }, { OP_PCM_START, HK_PCM },
	{ OP_PCM_WRITE, HK_PCM }, { OP_PCM_READ, HK_PCM }, { OP_PCM_STATUS, HK_PCM },
	{ OP_PCM_READBACK, HK_PCM }, { OP_PCM_DROP, HK_PCM }, { OP_PCM_DRAIN, HK_PCM },
	{ OP_PCM_PAUSE, HK_PCM }, { OP_PCM_HW_FREE, HK_PCM }, { OP_PCM_CLOSE, HK_PCM }, { OP_PCM_SWEEP, 0 },
	{ OP_SEQ_OPEN, HK_SEQ }, { OP_SEQ_CREATE_PORT, HK_SEQ }, { OP_SEQ_SUBSCRIBE, HK_SEQ },
	{ OP_SEQ_SET_POOL, HK_SEQ }, { OP_SEQ_GET_POOL, HK_SEQ }, { OP_SEQ_SEND, HK_SEQ },
	{ OP_SEQ_READ, HK_SEQ }, { OP_SEQ_CLOSE, HK_SEQ },
	{ OP_CTL_WRITE, 0 }, { OP_CTL_READ, 0 }, { OP_DEV_DETACH, 0 }, { OP_DEV_ATTACH, 0 },
	{ OP_SLEEP, 0 }, { OP_JITTER, 0 }, { OP_BARRIER, 0 }, { OP_AT_PERIOD, HK_PCM },
};

static const struct op_rule *rule_for(int op)
{
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if (rules[i].op == op)
			return &rules[i];
	return NULL;
}

static void copy_name(char *dst, size_t cap, const struct value *v)
{
	size_t n = v->n < cap - 1 ? v->n : cap - 1;
	memcpy(dst, v->s, n);
	dst[n] = 0;
}

#define FAIL(...)                                  \
	do {                                       \
		snprintf(err, errlen, __VA_ARGS__); \
		goto fail;                         \
	} while (0)

struct program *program_parse(uint8_t *payload, size_t len, char *err, size_t errlen)
{
	struct program *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	p->payload = payload;
	p->arena = arena_new();
	p->hang_timeout = 5000000000LL;
	p->duration = 10000000000LL;
	struct lane_def *cur = NULL;
	int saw_config = 0;
	struct rd r = { payload, payload + len, 0 };

	while (r.p < r.end) {
		uint8_t sec = rd_u8(&r);
		uint32_t slen = rd_u32(&r);
		const uint8_t *body = rd_bytes(&r, slen);
		if (r.err)
			FAIL("section header runs past the end of the payload");
		struct rd s = { body, body + slen, 0 };
		/* fields of this section */
		struct { uint8_t key; struct value v; } f[NKEYS];
		int nf = 0;
		while (s.p < s.end) {
			if (nf == NKEYS)
				FAIL("section %u has more than %d fields", sec, NKEYS);
			f[nf].key = rd_u8(&s);
			if (rd_value(&s, &f[nf].v, p->arena) < 0)
				FAIL("malformed value for key %u in section %u", f[nf].key, sec);
			nf++;
		}
		switch (sec) {
		case SEC_CONFIG:
			saw_config = 1;
			for (int i = 0; i < nf; i++) {
				if (f[i].v.type != V_INT)
					FAIL("config key %u must be an integer", f[i].key);
				int64_t v = f[i].v.i;
				switch (f[i].key) {
				case K_SEED: p->seed = (uint64_t)v; break;
				case K_DURATION: p->duration = v; break;
				case K_HANG_TIMEOUT: p->hang_timeout = v; break;
				case K_FLAGS: p->flags = (uint32_t)v; break;
				default: FAIL("unknown config key %u", f[i].key);
				}
			}
			if (p->duration <= 0 || p->hang_timeout <= 0)
				FAIL("duration and hang timeout must be positive");
			break;
		case SEC_HANDLE: {
			if (p->nhandles == MAX_HANDLES)
				FAIL("more than %d handles", MAX_HANDLES);
			struct handle_def *h = &p->handles[p->nhandles];
			for (int i = 0; i < nf; i++) {
				if (f[i].key == K_NAME && f[i].v.type == V_STR)
					copy_name(h->name, sizeof h->name, &f[i].v);
				else if (f[i].key == K_KIND && f[i].v.type == V_INT)
					h->kind = (int)f[i].v.i;
				else
					FAIL("bad handle field %u", f[i].key);
			}
			if (!h->name[0] || (h->kind != HK_PCM && h->kind != HK_SEQ))
				FAIL("handle %d needs a name and kind 1 (pcm) or 2 (seq)", p->nhandles);
			p->nhandles++;
			break;
		}
		case SEC_BARRIER: {
			if (p->nbarriers == MAX_BARRIERS)
				FAIL("more than %d barriers", MAX_BARRIERS);
			struct barrier_def *b = &p->barriers[p->nbarriers];
			for (int i = 0; i < nf; i++) {
				if (f[i].key == K_NAME && f[i].v.type == V_STR)
					copy_name(b->name, sizeof b->name, &f[i].v);
				else if (f[i].key == K_PARTIES && f[i].v.type == V_INT)
					b->parties = (int)f[i].v.i;
				else
					FAIL("bad barrier field %u", f[i].key);
			}
			if (b->parties < 1 || b->parties > MAX_LANES)
				FAIL("barrier %d needs 1..%d parties", p->nbarriers, MAX_LANES);
			p->nbarriers++;
			break;
		}
		case SEC_LANE: {
			int role = ROLE_LANE;
			for (int i = 0; i < nf; i++)
				if (f[i].key == K_ROLE && f[i].v.type == V_INT)
					role = (int)f[i].v.i;
			if (role == ROLE_SETUP)
				cur = &p->setup;
			else if (role == ROLE_TEARDOWN)
				cur = &p->teardown;
			else if (role == ROLE_LANE) {
				if (p->nlanes == MAX_LANES)
					FAIL("more than %d lanes", MAX_LANES);
				cur = &p->lanes[p->nlanes++];
			} else
				FAIL("unknown lane role %d", role);
			if (cur->steps)
				FAIL("setup or teardown given twice");
			cur->role = role;
			cur->steps = arena_alloc(p->arena, sizeof(struct step) * MAX_STEPS);
			for (int i = 0; i < nf; i++) {
				if (f[i].key == K_NAME && f[i].v.type == V_STR)
					copy_name(cur->name, sizeof cur->name, &f[i].v);
				else if (f[i].key == K_ITERATIONS && f[i].v.type == V_INT && f[i].v.i >= 0)
					cur->iterations = f[i].v.i;
				else if (f[i].key == K_STREAM && f[i].v.type == V_INT && f[i].v.i >= 0 && f[i].v.i <= 0xFFFF)
					cur->rng_stream = (uint32_t)f[i].v.i;
				else if (f[i].key != K_ROLE)
					FAIL("bad lane field %u", f[i].key);
			}
			if (!cur->name[0])
				snprintf(cur->name, sizeof cur->name, "%s", role == ROLE_SETUP ? "setup" : role == ROLE_TEARDOWN ? "teardown" : "lane");
			break;
		}
		case SEC_STEP: {
			if (!cur)
				FAIL("step before any lane");
			if (cur->nsteps == MAX_STEPS)
				FAIL("lane %s has more than %d steps", cur->name, MAX_STEPS);
			struct step *st = &cur->steps[cur->nsteps];
			st->op = 0;
			st->handle = -1;
			st->args = arena_alloc(p->arena, sizeof(struct arg) * (size_t)(nf ? nf : 1));
			for (int i = 0; i < nf; i++) {
				uint8_t k = f[i].key;
				if (k == K_OP && f[i].v.type == V_INT)
					st->op = (int)f[i].v.i;
				else if (k == K_HANDLE && f[i].v.type == V_INT)
					st->handle = (int)f[i].v.i;
				else if (k == K_TIMEOUT && f[i].v.type == V_INT)
					st->timeout = f[i].v.i;
				else if (k >= A_CARD && k < A_LAST) {
					struct arg *a = &st->args[st->nargs++];
					a->key = k;
					a->v = f[i].v;
					a->varying = f[i].v.type == V_LIST || f[i].v.type == V_RANGE;
				} else
					FAIL("step %d of lane %s: unknown key %u", cur->nsteps, cur->name, k);
			}
			const struct op_rule *ru = rule_for(st->op);
			if (!ru)
				FAIL("step %d of lane %s: unknown op %d", cur->nsteps, cur->name, st->op);
			if (ru->needs_handle) {
				if (st->handle < 0 || st->handle >= p->nhandles)
					FAIL("step %d of lane %s: handle %d out of range", cur->nsteps, cur->name, st->handle);
				if (p->handles[st->handle].kind != ru->needs_handle)
					FAIL("step %d of lane %s: handle %s has the wrong kind", cur->nsteps, cur->name, p->handles[st->handle].name);
			}
			if (st->op == OP_BARRIER) {
				int found = 0;
				for (int i = 0; i < st->nargs; i++)
					if (st->args[i].key == A_BARRIER && st->args[i].v.type == V_INT && st->args[i].v.i >= 0 &&
					    st->args[i].v.i < p->nbarriers)
						found = 1;
				if (!found)
					FAIL("step %d of lane %s: barrier index missing or out of range", cur->nsteps, cur->name);
				if (cur->role != ROLE_LANE)
					FAIL("barriers only work inside lanes");
			}
			/* addresses that name handles must name sequencer handles */
			for (int i = 0; i < st->nargs; i++) {
				struct arg *a = &st->args[i];
				if ((a->key == A_SENDER || a->key == A_DEST || a->key == A_TO) && a->v.type == V_INT &&
				    ((a->v.i >> 24) & 0xFF) == ADDR_HANDLE) {
					int h = (int)((a->v.i >> 8) & 0xFFFF);
					if (h >= p->nhandles || p->handles[h].kind != HK_SEQ)
						FAIL("step %d of lane %s: address names handle %d, not a sequencer handle", cur->nsteps, cur->name, h);
				}
			}
			cur->nsteps++;
			break;
		}
		default:
			FAIL("unknown section %u", sec);
		}
	}
	if (!saw_config)
		FAIL("RUN without a CONFIG section");
	/* held buffers: a barrier that exists, in a lane; and a kernel that lets the agent use userfaultfd, said before the run */
	int holds = 0;
	for (int li = -2; li < p->nlanes; li++) {
		const struct lane_def *d = li == -2 ? &p->setup : li == -1 ? &p->teardown : &p->lanes[li];
		for (int si = 0; si < d->nsteps; si++)
			for (int ai = 0; ai < d->steps[si].nargs; ai++) {
				const struct arg *a = &d->steps[si].args[ai];
				if (a->key != A_HOLD || a->v.type != V_INT || a->v.i < 0)
					continue;
				if (a->v.i >= p->nbarriers)
					FAIL("step %d of lane %s: held on barrier %lld, out of range", si, d->name, (long long)a->v.i);
				if (d->role != ROLE_LANE)
					FAIL("step %d of lane %s: a held buffer waits at a barrier, and barriers only work inside lanes", si, d->name);
				holds++;
			}
	}
	if (holds && window_probe(err, errlen) < 0)
		goto fail;
	if (p->nlanes == 0 && p->setup.nsteps == 0)
		FAIL("RUN without lanes");
	for (int i = 0; i < p->nlanes; i++)
		if (p->lanes[i].nsteps == 0)
			FAIL("lane %s has no steps", p->lanes[i].name);
	return p;
fail:
	arena_free(p->arena);
	free(p);
	return NULL;
}

void program_free(struct program *p)
{
	if (!p)
		return;
	arena_free(p->arena);
	free(p->payload);
	free(p);
}
