/* The baseline for the agent's ioctl rate: the same ioctl on the same device,
 * in a bare loop with nothing around it.
 *   agent-bare-loop CARD SECONDS [status|prepare]
 * Prints "ops <n> ns <elapsed>" on stdout. Built by bench/agent-bench.js with
 * the agent's own flags (static, -O2), configured as the agent's benchmark
 * scenario configures the stream (its hw_params defaults). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <sound/asound.h>

static long long now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s CARD SECONDS [status|prepare]\n", argv[0]);
		return 2;
	}
	char path[64];
	snprintf(path, sizeof path, "/dev/snd/pcmC%sD0p", argv[1]);
	int fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	/* the agent's benchmark scenario prepares the stream the same way */
	struct snd_pcm_hw_params p;
	memset(&p, 0, sizeof p);
	for (int m = 0; m < 3; m++)
		memset(&p.masks[m], 0xff, sizeof p.masks[m]);
	for (int i = 0; i < 12; i++) {
		p.intervals[i].min = 0;
		p.intervals[i].max = UINT_MAX;
	}
	p.rmask = ~0u;
	p.info = ~0u;
	memset(&p.masks[0], 0, sizeof p.masks[0]);
	p.masks[0].bits[0] = 1u << SNDRV_PCM_ACCESS_RW_INTERLEAVED;
	memset(&p.masks[1], 0, sizeof p.masks[1]);
	p.masks[1].bits[0] = 1u << SNDRV_PCM_FORMAT_S16_LE;
	static const struct { int param; unsigned v; } fix[] = {
		{ SNDRV_PCM_HW_PARAM_CHANNELS, 2 }, { SNDRV_PCM_HW_PARAM_RATE, 48000 },
		{ SNDRV_PCM_HW_PARAM_PERIOD_SIZE, 1024 }, { SNDRV_PCM_HW_PARAM_PERIODS, 4 },
	};
	for (size_t i = 0; i < sizeof fix / sizeof fix[0]; i++) {
		struct snd_interval *iv = &p.intervals[fix[i].param - SNDRV_PCM_HW_PARAM_FIRST_INTERVAL];
		iv->min = iv->max = fix[i].v;
		iv->integer = 1;
	}
	if (ioctl(fd, SNDRV_PCM_IOCTL_HW_PARAMS, &p) < 0 || ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) < 0) {
		perror("hw_params/prepare");
		return 1;
	}
	int prepare = argc > 3 && !strcmp(argv[3], "prepare");
	long long t0 = now(), until = t0 + (long long)(atof(argv[2]) * 1e9), n = 0, t;
	struct snd_pcm_status st; /* the kernel fills all of it, as in the agent */
	/* check the clock only every 256 calls: the loop is about the ioctl */
	do {
		for (int i = 0; i < 256; i++) {
			int rc = prepare ? ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) : ioctl(fd, SNDRV_PCM_IOCTL_STATUS, &st);
			if (rc < 0) {
				perror(prepare ? "prepare" : "status");
				return 1;
			}
		}
		n += 256;
		t = now();
	} while (t < until);
	printf("ops %lld ns %lld\n", n, t - t0);
	return 0;
}
