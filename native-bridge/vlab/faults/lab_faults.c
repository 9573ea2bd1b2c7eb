// SPDX-License-Identifier: GPL-2.0
/*
 * lab_faults: commits one memory error on purpose when loaded, so the
 * virtual lab can capture what a stock kernel prints about it (SLUB debug,
 * list debugging, KFENCE, the oops of a NULL dereference in a timer) for the
 * kernel-log classifier's fixtures. Load it in a throwaway guest only:
 *
 *   insmod lab_faults.ko fault=<name>
 *
 * Every fault is the shape of a sound-stack bug the lab hunts: an object used
 * after kfree() (a DPCM back-end link, a runtime), freed twice, unlinked
 * twice, or a period interrupt that finds its runtime gone.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/hrtimer.h>
#include <linux/delay.h>
#include <linux/kfence.h>

static char *fault = "";
module_param(fault, charp, 0444);
MODULE_PARM_DESC(fault, "uaf-write, uaf-read, double-free, list-del-twice, list-del-freed, list-add-freed, kfence-uaf, null-irq");

struct lab_link {
	struct list_head node;
	struct lab_link *peer;
	long data[12];
};

/* Keeps the compiler from proving the accesses below away. */
static void *volatile sink;

static noinline void lab_uaf_write(void)
{
	struct lab_link *l = kzalloc(sizeof(*l), GFP_KERNEL);

	kfree(l);
	/* a late writer: SLUB finds its bytes in the poison on the next check */
	WRITE_ONCE(l->data[3], 0x1234);
}

static noinline void lab_uaf_read(void)
{
	struct lab_link *a = kzalloc(sizeof(*a), GFP_KERNEL);
	struct lab_link *b = kzalloc(sizeof(*b), GFP_KERNEL);

	a->peer = b;
	kfree(a);
	/* a->peer now reads as the poison 0x6b6b6b6b6b6b6b6b: dereferencing it faults */
	sink = READ_ONCE(a->peer)->peer;
	kfree(b);
}

static noinline void lab_double_free(void)
{
	struct lab_link *l = kzalloc(sizeof(*l), GFP_KERNEL);

	kfree(l);
	kfree(l);
}

static LIST_HEAD(lab_list);

static noinline void lab_list_del_twice(void)
{
	struct lab_link *l = kzalloc(sizeof(*l), GFP_KERNEL);

	list_add(&l->node, &lab_list);
	list_del(&l->node);
	list_del(&l->node);
}

static noinline void lab_list_del_freed(void)
{
	struct lab_link *a = kzalloc(sizeof(*a), GFP_KERNEL);
	struct lab_link *b = kzalloc(sizeof(*b), GFP_KERNEL);

	list_add_tail(&a->node, &lab_list);
	list_add_tail(&b->node, &lab_list);
	/* freed while still linked, as a back-end link freed under the wrong lock */
	kfree(b);
	list_del(&a->node);
}

static noinline void lab_list_add_freed(void)
{
	struct lab_link *a = kzalloc(sizeof(*a), GFP_KERNEL);
	struct lab_link *c = kzalloc(sizeof(*c), GFP_KERNEL);

	list_add_tail(&a->node, &lab_list);
	kfree(a);
	list_add_tail(&c->node, &lab_list);
}

static noinline void lab_kfence_uaf(void)
{
#ifdef CONFIG_KFENCE
	int i;

	/* KFENCE samples one allocation per interval: allocate until one is its */
	for (i = 0; i < 20000; i++) {
		char *p = kmalloc(73, GFP_KERNEL);

		if (is_kfence_address(p)) {
			kfree(p);
			sink = (void *)(long)READ_ONCE(p[5]);
			return;
		}
		kfree(p);
		usleep_range(200, 400);
	}
	pr_err("lab_faults: no KFENCE allocation in 20000 tries (is kfence.sample_interval set?)\n");
#else
	pr_err("lab_faults: this kernel has no KFENCE\n");
#endif
}

struct lab_runtime {
	long status;
};

struct lab_substream {
	struct hrtimer timer;
	struct lab_runtime *runtime;
};

static struct lab_substream lab_sub;

static noinline void lab_period_elapsed(struct lab_substream *s)
{
	/* the stream was closed under the interrupt's feet: runtime is gone */
	sink = (void *)READ_ONCE(s->runtime)->status;
}

static enum hrtimer_restart lab_timer_fn(struct hrtimer *t)
{
	lab_period_elapsed(container_of(t, struct lab_substream, timer));
	return HRTIMER_NORESTART;
}

static noinline void lab_null_irq(void)
{
	/* a soft hrtimer, as snd-dummy's period interrupt */
	hrtimer_init(&lab_sub.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	lab_sub.timer.function = lab_timer_fn;
	lab_sub.runtime = NULL;
	hrtimer_start(&lab_sub.timer, ms_to_ktime(5), HRTIMER_MODE_REL_SOFT);
	msleep(200);
}

static int __init lab_faults_init(void)
{
	pr_info("lab_faults: committing %s\n", fault);
	if (!strcmp(fault, "uaf-write"))
		lab_uaf_write();
	else if (!strcmp(fault, "uaf-read"))
		lab_uaf_read();
	else if (!strcmp(fault, "double-free"))
		lab_double_free();
	else if (!strcmp(fault, "list-del-twice"))
		lab_list_del_twice();
	else if (!strcmp(fault, "list-del-freed"))
		lab_list_del_freed();
	else if (!strcmp(fault, "list-add-freed"))
		lab_list_add_freed();
	else if (!strcmp(fault, "kfence-uaf"))
		lab_kfence_uaf();
	else if (!strcmp(fault, "null-irq"))
		lab_null_irq();
	else
		return -EINVAL;
	/* stay loaded: reports printed later (a SLUB check) can still name our functions */
	return 0;
}
module_init(lab_faults_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Audio Stress Lab: deliberate memory errors for kernel-log fixtures");
