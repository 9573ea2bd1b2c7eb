/* Device listing as JSON in the DeviceList shape of app/devices/types.ts,
 * gathered with the same ioctls `aplay -l` and `aconnect -l` use, so the two
 * can be compared line by line. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sound/asound.h>
#include <sound/asequencer.h>

#include "agent.h"

struct js {
	struct wbuf w;
	int first; /* no comma before the next item */
};

static void raw(struct js *j, const char *s) { wb_bytes(&j->w, s, strlen(s)); }

static void fmt(struct js *j, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void fmt(struct js *j, const char *f, ...)
{
	char b[256];
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(b, sizeof b, f, ap);
	va_end(ap);
	wb_bytes(&j->w, b, n < (int)sizeof b ? (size_t)n : sizeof b - 1);
}

static void str(struct js *j, const char *s, size_t max)
{
	wb_u8(&j->w, '"');
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			wb_u8(&j->w, '\\');
			wb_u8(&j->w, c);
		} else if (c < 0x20) {
			fmt(j, "\\u%04x", c);
		} else {
			wb_u8(&j->w, c);
		}
	}
	wb_u8(&j->w, '"');
}

static void sep(struct js *j)
{
	if (!j->first)
		wb_u8(&j->w, ',');
	j->first = 0;
}

static void key(struct js *j, const char *k)
{
	sep(j);
	str(j, k, 64);
	wb_u8(&j->w, ':');
}

struct cardinfo {
	int present;
	struct snd_ctl_card_info ci;
};

static void list_cards(struct js *j, struct cardinfo *cards, struct js *notes)
{
	key(j, "cards");
	raw(j, "[");
	j->first = 1;
	int any_node = 0;
	for (int c = 0; c < MAX_CARDS; c++) {
		int fd = ctl_open(c, O_RDONLY);
		if (fd < 0) {
			if (errno == EACCES || errno == EPERM) {
				sep(notes);
				fmt(notes, "\"no permission to open /dev/snd/controlC%d (add the user to the audio group)\"", c);
			}
			continue;
		}
		any_node = 1;
		if (ioctl(fd, SNDRV_CTL_IOCTL_CARD_INFO, &cards[c].ci) == 0) {
			cards[c].present = 1;
			struct snd_ctl_card_info *i = &cards[c].ci;
			sep(j);
			raw(j, "{");
			fmt(j, "\"index\":%d,\"id\":", c);
			str(j, (const char *)i->id, sizeof i->id);
			raw(j, ",\"driver\":");
			str(j, (const char *)i->driver, sizeof i->driver);
			raw(j, ",\"name\":");
			str(j, (const char *)i->name, sizeof i->name);
			raw(j, ",\"longname\":");
			str(j, (const char *)i->longname, sizeof i->longname);
			raw(j, "}");
		}
		close(fd);
	}
	raw(j, "]");
	j->first = 0;
	struct stat st;
	if (!any_node && stat("/dev/snd", &st) != 0) {
		sep(notes);
		raw(notes, "\"no /dev/snd: this machine has no ALSA sound devices\"");
	}
}

static void list_pcms(struct js *j, struct cardinfo *cards)
{
	key(j, "pcms");
	raw(j, "[");
	j->first = 1;
	for (int c = 0; c < MAX_CARDS; c++) {
		if (!cards[c].present)
			continue;
		int fd = ctl_open(c, O_RDONLY);
		if (fd < 0)
			continue;
		int dev = -1;
		while (ioctl(fd, SNDRV_CTL_IOCTL_PCM_NEXT_DEVICE, &dev) == 0 && dev >= 0) {
			for (int s = 0; s < 2; s++) {
				struct snd_pcm_info pi;
				memset(&pi, 0, sizeof pi);
				pi.device = (unsigned)dev;
				pi.subdevice = 0;
				pi.stream = s;
				if (ioctl(fd, SNDRV_CTL_IOCTL_PCM_INFO, &pi) < 0)
					continue;
				sep(j);
				raw(j, "{");
				fmt(j, "\"card\":%d,\"cardId\":", c);
				str(j, (const char *)cards[c].ci.id, sizeof cards[c].ci.id);
				raw(j, ",\"cardName\":");
				str(j, (const char *)cards[c].ci.name, sizeof cards[c].ci.name);
				fmt(j, ",\"device\":%d,\"id\":", dev);
				str(j, (const char *)pi.id, sizeof pi.id);
				raw(j, ",\"name\":");
				str(j, (const char *)pi.name, sizeof pi.name);
				fmt(j, ",\"stream\":\"%s\",\"subdevices\":%u,\"subdevicesAvail\":%u,\"subdeviceNames\":[", s ? "capture" : "playback",
				    pi.subdevices_count, pi.subdevices_avail);
				unsigned count = pi.subdevices_count;
				for (unsigned k = 0; k < count; k++) {
					struct snd_pcm_info q = pi;
					q.subdevice = k;
					if (k)
						raw(j, ",");
					if (ioctl(fd, SNDRV_CTL_IOCTL_PCM_INFO, &q) == 0)
						str(j, (const char *)q.subname, sizeof q.subname);
					else
						raw(j, "null");
				}
				raw(j, "]}");
			}
		}
		close(fd);
	}
	raw(j, "]");
	j->first = 0;
}

static void list_controls(struct js *j, struct cardinfo *cards)
{
	key(j, "controls");
	raw(j, "[");
	j->first = 1;
	for (int c = 0; c < MAX_CARDS; c++) {
		if (!cards[c].present)
			continue;
		int fd = ctl_open(c, O_RDONLY);
		if (fd < 0)
			continue;
		struct snd_ctl_elem_list l;
		memset(&l, 0, sizeof l);
		if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_LIST, &l) < 0 || !l.count) {
			close(fd);
			continue;
		}
		struct snd_ctl_elem_id *ids = calloc(l.count, sizeof *ids);
		if (!ids) {
			close(fd);
			continue;
		}
		l.space = l.count;
		l.pids = ids;
		if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_LIST, &l) == 0) {
			for (unsigned e = 0; e < l.used; e++) {
				struct snd_ctl_elem_info in;
				memset(&in, 0, sizeof in);
				in.id = ids[e];
				if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, &in) < 0)
					continue;
				const char *type = in.type == SNDRV_CTL_ELEM_TYPE_BOOLEAN      ? "BOOLEAN"
				                   : in.type == SNDRV_CTL_ELEM_TYPE_INTEGER    ? "INTEGER"
				                   : in.type == SNDRV_CTL_ELEM_TYPE_ENUMERATED ? "ENUMERATED"
				                                                               : NULL;
				if (!type)
					continue;
				struct snd_ctl_elem_value v;
				memset(&v, 0, sizeof v);
				v.id = in.id;
				int readable = (in.access & SNDRV_CTL_ELEM_ACCESS_READ) && ioctl(fd, SNDRV_CTL_IOCTL_ELEM_READ, &v) == 0;
				sep(j);
				fmt(j, "{\"card\":%d,\"numid\":%u,\"name\":", c, in.id.numid);
				str(j, (const char *)in.id.name, sizeof in.id.name);
				fmt(j, ",\"index\":%u,\"type\":\"%s\",\"count\":%u", in.id.index, type, in.count);
				if (in.type == SNDRV_CTL_ELEM_TYPE_INTEGER)
					fmt(j, ",\"min\":%ld,\"max\":%ld", in.value.integer.min, in.value.integer.max);
				if (in.type == SNDRV_CTL_ELEM_TYPE_ENUMERATED) {
					raw(j, ",\"items\":[");
					for (unsigned it = 0; it < in.value.enumerated.items; it++) {
						struct snd_ctl_elem_info q = in;
						q.value.enumerated.item = it;
						if (it)
							raw(j, ",");
						if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, &q) == 0)
							str(j, q.value.enumerated.name, sizeof q.value.enumerated.name);
						else
							raw(j, "\"\"");
					}
					raw(j, "]");
				}
				raw(j, ",\"value\":[");
				unsigned n = in.count > 128 ? 128 : in.count;
				for (unsigned k = 0; readable && k < n; k++) {
					if (k)
						raw(j, ",");
					if (in.type == SNDRV_CTL_ELEM_TYPE_BOOLEAN)
						raw(j, v.value.integer.value[k] ? "true" : "false");
					else if (in.type == SNDRV_CTL_ELEM_TYPE_INTEGER)
						fmt(j, "%ld", v.value.integer.value[k]);
					else {
						struct snd_ctl_elem_info q = in;
						q.value.enumerated.item = v.value.enumerated.item[k];
						if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, &q) == 0)
							str(j, q.value.enumerated.name, sizeof q.value.enumerated.name);
						else
							fmt(j, "%u", v.value.enumerated.item[k]);
					}
				}
				raw(j, "]}");
			}
		}
		free(ids);
		close(fd);
	}
	raw(j, "]");
	j->first = 0;
}

static void addr_list(struct js *j, int fd, struct snd_seq_addr root, int type)
{
	raw(j, "[");
	struct snd_seq_query_subs q;
	memset(&q, 0, sizeof q);
	q.root = root;
	q.type = type;
	for (q.index = 0;; q.index++) {
		if (ioctl(fd, SNDRV_SEQ_IOCTL_QUERY_SUBS, &q) < 0)
			break;
		if (q.index)
			raw(j, ",");
		fmt(j, "\"%d:%d\"", q.addr.client, q.addr.port);
		if (q.index + 1 >= q.num_subs)
			break;
	}
	raw(j, "]");
}

static void list_seq(struct js *j, struct js *notes)
{
	key(j, "seqClients");
	raw(j, "[");
	j->first = 1;
	int fd = open("/dev/snd/seq", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		sep(notes);
		fmt(notes, "\"cannot open /dev/snd/seq: %s\"", strerror(errno));
		raw(j, "]");
		j->first = 0;
		return;
	}
	int self = -1;
	ioctl(fd, SNDRV_SEQ_IOCTL_CLIENT_ID, &self);
	struct snd_seq_client_info ci;
	memset(&ci, 0, sizeof ci);
	ci.client = -1;
	while (ioctl(fd, SNDRV_SEQ_IOCTL_QUERY_NEXT_CLIENT, &ci) == 0) {
		if (ci.client == self)
			continue; /* the listing's own client is not part of the machine */
		sep(j);
		fmt(j, "{\"client\":%d,\"name\":", ci.client);
		str(j, ci.name, sizeof ci.name);
		fmt(j, ",\"type\":\"%s\"", ci.type == KERNEL_CLIENT ? "kernel" : "user");
		if (ci.card >= 0 && ci.type == KERNEL_CLIENT)
			fmt(j, ",\"card\":%d", ci.card);
		raw(j, ",\"ports\":[");
		struct snd_seq_port_info pi;
		memset(&pi, 0, sizeof pi);
		pi.addr.client = (unsigned char)ci.client;
		pi.addr.port = 255; /* the kernel starts after this; 255 + 1 wraps to 0 */
		int firstp = 1;
		while (ioctl(fd, SNDRV_SEQ_IOCTL_QUERY_NEXT_PORT, &pi) == 0) {
			if (!firstp)
				raw(j, ",");
			firstp = 0;
			fmt(j, "{\"port\":%d,\"name\":", pi.addr.port);
			str(j, pi.name, sizeof pi.name);
			raw(j, ",\"caps\":[");
			static const struct { unsigned bit; const char *n; } caps[] = {
				{ SNDRV_SEQ_PORT_CAP_READ, "read" }, { SNDRV_SEQ_PORT_CAP_WRITE, "write" },
				{ SNDRV_SEQ_PORT_CAP_SUBS_READ, "subs_read" }, { SNDRV_SEQ_PORT_CAP_SUBS_WRITE, "subs_write" },
				{ SNDRV_SEQ_PORT_CAP_DUPLEX, "duplex" },
			};
			int fc = 1;
			for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++)
				if (pi.capability & caps[k].bit) {
					fmt(j, "%s\"%s\"", fc ? "" : ",", caps[k].n);
					fc = 0;
				}
			raw(j, "],\"connectedTo\":");
			addr_list(j, fd, pi.addr, SNDRV_SEQ_QUERY_SUBS_READ);
			raw(j, ",\"connectedFrom\":");
			addr_list(j, fd, pi.addr, SNDRV_SEQ_QUERY_SUBS_WRITE);
			raw(j, "}");
		}
		raw(j, "]}");
	}
	close(fd);
	raw(j, "]");
	j->first = 0;
}

char *devices_json(size_t *len)
{
	struct js j, notes;
	wb_init(&j.w, 8192);
	wb_init(&notes.w, 256);
	j.first = 1;
	notes.first = 1;
	struct cardinfo *cards = calloc(MAX_CARDS, sizeof *cards);
	if (!cards)
		abort();
	raw(&j, "{");
	list_cards(&j, cards, &notes);
	list_pcms(&j, cards);
	list_seq(&j, &notes);
	list_controls(&j, cards);
	key(&j, "notes");
	raw(&j, "[");
	wb_bytes(&j.w, notes.w.p, notes.w.len);
	raw(&j, "]}");
	free(cards);
	wb_free(&notes.w);
	*len = j.w.len;
	return (char *)j.w.p;
}
