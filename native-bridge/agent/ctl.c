/* Control elements by name (routing switches, mixers) and card lookup. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <sound/asound.h>

#include "agent.h"

static int neg_errno(void) { return errno ? -errno : -EIO; }

/* A card given as an id string ("Dummy") is found through the /proc/asound/<id> symlink. */
int card_resolve(const struct resolved *x, int key, int dflt)
{
	if (!has(x, key))
		return dflt;
	if (x->type[key] != V_STR)
		return (int)x->i[key];
	char id[40], path[80], link[64];
	size_t n = x->slen[key] < sizeof id - 1 ? x->slen[key] : sizeof id - 1;
	memcpy(id, x->s[key], n);
	id[n] = 0;
	snprintf(path, sizeof path, "/proc/asound/%s", id);
	ssize_t l = readlink(path, link, sizeof link - 1);
	if (l <= 0)
		return -ENODEV;
	link[l] = 0;
	int card;
	if (sscanf(link, "card%d", &card) != 1)
		return -ENODEV;
	return card;
}


_Static_assert(CTL_FILES_MAX == MAX_CARDS, "rules.h keeps a control file for every card the agent can name");

static int enum_index(int fd, struct snd_ctl_elem_info *info, const char *name, size_t len)
{
	for (unsigned i = 0; i < info->value.enumerated.items; i++) {
		struct snd_ctl_elem_info q = *info;
		q.value.enumerated.item = i;
		if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, &q) < 0)
			return neg_errno();
		if (strlen(q.value.enumerated.name) == len && !memcmp(q.value.enumerated.name, name, len))
			return (int)i;
	}
	return -EINVAL;
}

static void put_values(struct wbuf *o, int fd, struct snd_ctl_elem_info *info, struct snd_ctl_elem_value *v)
{
	unsigned n = info->count > 128 ? 128 : info->count;
	wb_u8(o, D_VALUES);
	wb_u8(o, V_LIST);
	wb_u16(o, (uint16_t)n);
	for (unsigned i = 0; i < n; i++) {
		switch (info->type) {
		case SNDRV_CTL_ELEM_TYPE_BOOLEAN:
			wb_u8(o, V_BOOL);
			wb_u8(o, v->value.integer.value[i] ? 1 : 0);
			break;
		case SNDRV_CTL_ELEM_TYPE_ENUMERATED: {
			struct snd_ctl_elem_info q = *info;
			q.value.enumerated.item = v->value.enumerated.item[i];
			if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, &q) == 0) {
				size_t l = strnlen(q.value.enumerated.name, sizeof q.value.enumerated.name);
				wb_u8(o, V_STR);
				wb_u16(o, (uint16_t)l);
				wb_bytes(o, q.value.enumerated.name, l);
			} else {
				wb_u8(o, V_INT);
				wb_i64(o, v->value.enumerated.item[i]);
			}
			break;
		}
		case SNDRV_CTL_ELEM_TYPE_INTEGER64:
			wb_u8(o, V_INT);
			wb_i64(o, v->value.integer64.value[i]);
			break;
		default:
			wb_u8(o, V_INT);
			wb_i64(o, v->value.integer.value[i]);
		}
	}
}

int64_t op_ctl(struct exec *x)
{
	struct run *r = x->lane->run;
	int card = card_resolve(&x->r, A_CARD, 0);
	if (card < 0) {
		ctl_files_forget_gone(&r->ctl);
		return card;
	}
	if (!has(&x->r, A_NAME) || x->r.type[A_NAME] != V_STR)
		return -EINVAL;
	int fd = ctl_files_get(&r->ctl, card);
	if (fd < 0)
		return fd;
	struct snd_ctl_elem_info info;
	int e = ctl_find_elem(fd, x->r.s[A_NAME], x->r.slen[A_NAME], (unsigned)arg_int(&x->r, A_INDEX, 0), &info);
	if (e == -ENODEV)
		ctl_files_forget(&r->ctl, card, fd);
	if (e < 0)
		return e;
	struct snd_ctl_elem_value old, nv;
	memset(&old, 0, sizeof old);
	old.id = info.id;
	if (x->step->op == OP_CTL_READ) {
		x->t_begin = now_ns();
		int rc = ioctl(fd, SNDRV_CTL_IOCTL_ELEM_READ, &old);
		e = rc < 0 ? neg_errno() : 0;
		x->t_end = now_ns();
		if (rc < 0)
			return e;
		put_values(x->out, fd, &info, &old);
		return 0;
	}
	/* write: one value for every channel of the element */
	if (!has(&x->r, A_VALUE))
		return -EINVAL;
	long val;
	if (x->r.type[A_VALUE] == V_STR) {
		if (info.type != SNDRV_CTL_ELEM_TYPE_ENUMERATED)
			return -EINVAL;
		int idx = enum_index(fd, &info, x->r.s[A_VALUE], x->r.slen[A_VALUE]);
		if (idx < 0)
			return idx;
		val = idx;
	} else {
		val = (long)x->r.i[A_VALUE];
	}
	if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_READ, &old) < 0) {
		e = neg_errno();
		if (e == -ENODEV)
			ctl_files_forget(&r->ctl, card, fd);
		return e;
	}
	nv = old;
	unsigned n = info.count > 128 ? 128 : info.count;
	for (unsigned i = 0; i < n; i++) {
		if (info.type == SNDRV_CTL_ELEM_TYPE_ENUMERATED)
			nv.value.enumerated.item[i] = (unsigned)val;
		else if (info.type == SNDRV_CTL_ELEM_TYPE_INTEGER64)
			nv.value.integer64.value[i] = val;
		else
			nv.value.integer.value[i] = val;
	}
	x->t_begin = now_ns();
	int rc = ioctl(fd, SNDRV_CTL_IOCTL_ELEM_WRITE, &nv);
	e = rc < 0 ? neg_errno() : 0;
	x->t_end = now_ns();
	if (rc < 0) {
		if (e == -ENODEV)
			ctl_files_forget(&r->ctl, card, fd);
		return e;
	}
	/* The ioctl does not say whether the value changed (the driver may also clamp
	 * it): compare what the element holds now with what it held before. */
	struct snd_ctl_elem_value after;
	memset(&after, 0, sizeof after);
	after.id = info.id;
	if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_READ, &after) < 0)
		after = nv;
	wf_bool(x->out, D_CHANGED, memcmp(&old.value, &after.value, sizeof old.value) != 0);
	return 0;
}
