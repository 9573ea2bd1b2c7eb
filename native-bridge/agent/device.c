/* device.detach / device.attach: the card goes away under open files.
 * In the virtual lab the host unplugs the USB device through QMP; elsewhere
 * the driver is unbound through sysfs, but only when the run carries the
 * explicit confirmation flag (it removes a real device from a real machine). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static int neg_errno(void) { return errno ? -errno : -EIO; }

/* snprintf that reports truncation instead of silently cutting a path short */
static int pathf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int read_line(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static int card_exists(int card, const char *id)
{
	char path[64], cur[64];
	snprintf(path, sizeof path, "/proc/asound/card%d/id", card);
	if (read_line(path, cur, sizeof cur) < 0)
		return 0;
	return !id || !*id || !strcmp(cur, id);
}

static int card_by_id(const char *id)
{
	for (int c = 0; c < MAX_CARDS; c++)
		if (card_exists(c, id))
			return c;
	return -1;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	ssize_t n = write(fd, text, strlen(text));
	int e = n < 0 ? neg_errno() : 0;
	close(fd);
	return e;
}

static int sysfs_unbind(struct run *r, int card)
{
	char link[PATH_MAX], dev[PATH_MAX], drv[PATH_MAX];
	if (pathf(link, sizeof link, "/sys/class/sound/card%d/device", card) || !realpath(link, dev))
		return -ENODEV;
	/* A USB sound card hangs off one interface (1-1:1.0) while the driver also claims the
	 * streaming interfaces; re-binding one interface brings the card back without its PCMs.
	 * Unbinding the whole USB device (1-1) is what a real unplug looks like. */
	char sub[PATH_MAX], subsys[PATH_MAX];
	if (!pathf(sub, sizeof sub, "%s/subsystem", dev) && realpath(sub, subsys) && !strcmp(basename(subsys), "usb") && strchr(basename(dev), ':')) {
		char *slash = strrchr(dev, '/');
		if (slash)
			*slash = 0;
	}
	if (pathf(link, sizeof link, "%s/driver", dev) || !realpath(link, drv))
		return -ENODEV;
	char devcopy[PATH_MAX];
	memcpy(devcopy, dev, sizeof devcopy);
	const char *name = basename(devcopy);
	if (pathf(r->unbound_driver[card], sizeof r->unbound_driver[card], "%s", drv) ||
	    pathf(r->unbound_dev[card], sizeof r->unbound_dev[card], "%s", name) || pathf(link, sizeof link, "%s/unbind", drv))
		return -ENAMETOOLONG;
	return write_file(link, name);
}

static int sysfs_bind(struct run *r, int card)
{
	if (!r->unbound_driver[card][0])
		return -ENODEV;
	char path[PATH_MAX];
	if (pathf(path, sizeof path, "%s/bind", r->unbound_driver[card]))
		return -ENAMETOOLONG;
	int e = write_file(path, r->unbound_dev[card]);
	if (!e)
		r->unbound_driver[card][0] = 0;
	return e;
}

/* A card is usable once its device nodes exist too: they appear after the card
 * registers (devtmpfs/udev), and an open in between fails with ENOENT. */
static int nodes_ready(int card)
{
	char path[96];
	snprintf(path, sizeof path, "/dev/snd/controlC%d", card);
	if (access(path, F_OK) != 0)
		return 0;
	snprintf(path, sizeof path, "/proc/asound/card%d", card);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int ok = 1;
	struct dirent *e;
	while (ok && (e = readdir(d))) {
		int dev;
		char dir;
		if (sscanf(e->d_name, "pcm%d%c", &dev, &dir) == 2 && (dir == 'p' || dir == 'c')) {
			snprintf(path, sizeof path, "/dev/snd/pcmC%dD%d%c", card, dev, dir);
			ok = access(path, F_OK) == 0;
		}
	}
	closedir(d);
	return ok;
}

/* Waits until the card is gone (detach) or present again with its device nodes (attach). */
static int wait_card(int card, const char *id, int present, int64_t timeout)
{
	int64_t until = now_ns() + timeout;
	for (;;) {
		int c = present ? card_by_id(id) : -1;
		int have = present ? c >= 0 && nodes_ready(c) : card_exists(card, id);
		if (have == present)
			return 0;
		if (now_ns() >= until)
			return -ETIMEDOUT;
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

static char detached_ids[MAX_CARDS][40];
static char detached_drivers[MAX_CARDS][64]; /* a detached card has no driver link left to read */

int64_t op_device(struct exec *x)
{
	struct run *r = x->lane->run;
	int attach = x->step->op == OP_DEV_ATTACH;
	int card = card_resolve(&x->r, A_CARD, 0);
	char id[40] = "";
	if (card < 0 && attach && has(&x->r, A_CARD) && x->r.type[A_CARD] == V_STR) {
		/* a detached card has no /proc entry: find it by the id remembered at detach */
		size_t n = x->r.slen[A_CARD] < sizeof id - 1 ? x->r.slen[A_CARD] : sizeof id - 1;
		memcpy(id, x->r.s[A_CARD], n);
		id[n] = 0;
		for (int c = 0; c < MAX_CARDS; c++)
			if (!strcmp(detached_ids[c], id))
				card = c;
	}
	if (card < 0 || card >= MAX_CARDS)
		return -ENODEV;
	if (!attach) {
		char path[64];
		snprintf(path, sizeof path, "/proc/asound/card%d/id", card);
		if (read_line(path, id, sizeof id) < 0)
			return -ENODEV;
		snprintf(detached_ids[card], sizeof detached_ids[card], "%s", id);
	} else if (!id[0]) {
		snprintf(id, sizeof id, "%s", detached_ids[card]);
	}
	char driver[64] = "";
	{
		char link[96], target[PATH_MAX];
		snprintf(link, sizeof link, "/sys/class/sound/card%d/device/driver", card);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n > 0) {
			target[n] = 0;
			snprintf(driver, sizeof driver, "%s", basename(target));
		}
	}
	if (!attach)
		memcpy(detached_drivers[card], driver, sizeof driver);
	else if (!driver[0])
		memcpy(driver, detached_drivers[card], sizeof driver);
	x->t_begin = now_ns();
	int e = REPLY_DO_IT_YOURSELF;
	if (r->prog->flags & RUNF_HOST_DEVICES)
		e = host_request(attach ? REQ_ATTACH : REQ_DETACH, card, id, driver, 30000000000LL);
	if (e == REPLY_DO_IT_YOURSELF) {
		if (!(r->prog->flags & RUNF_ALLOW_UNBIND)) {
			x->t_end = now_ns();
			emit_note(x->lane->ev, 1, run_t(r, x->t_end),
			          "device.%s on card %d refused: unbinding a driver needs the explicit confirmation (--allow-unbind)",
			          attach ? "attach" : "detach", card);
			return -EPERM;
		}
		e = attach ? sysfs_bind(r, card) : sysfs_unbind(r, card);
	}
	if (e == 0)
		e = wait_card(card, id, attach, 15000000000LL);
	x->t_end = now_ns();
	if (e == 0 && attach) {
		int c = card_by_id(id);
		if (c >= 0)
			card = c;
	}
	wf_int(x->out, D_DCARD, card);
	return e;
}
