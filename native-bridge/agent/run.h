/* How the pieces of a run meet: the controller (controller.c) starts lanes
 * (lane.c), which execute steps and encode their records (record.c), with
 * the interruption signal set up by signals.c. */
#ifndef STRESSLAB_RUN_H
#define STRESSLAB_RUN_H

#include "agent.h"

/* lane.c */
struct lane *lane_new(struct run *r, const struct lane_def *d, int index);
/* Makes a lane visible to the watchdog and the heartbeat, once it is complete. */
void lane_publish(struct run *r, struct lane *l);
/* Runs a pseudo-lane (setup/teardown) on the calling thread, watched like any lane. */
void lane_run_inline(struct lane *l);
/* pthread entry of a lane */
void *lane_thread(void *arg);
void lane_free(struct lane *l);

/* record.c: the ACT record of one executed step, into `rec`, then onto the lane's ring */
void record_act(struct lane *l, struct wbuf *rec, int step, int64_t iter, int64_t t0, int64_t t1, int64_t ret, const struct resolved *r,
                const struct wbuf *data);

/* signals.c: SIGUSR1 (installed once, no SA_RESTART) interrupts lanes blocked in the kernel */
void signals_install(void);
void interrupts_unblock(void);
void interrupts_block(void);

#endif
