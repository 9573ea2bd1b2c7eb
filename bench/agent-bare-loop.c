/* The baseline for the agent's ioctl rate: the same ioctl on the same device,
 * in a bare loop with nothing around it. Usage: agent-bare-loop CARD SECONDS
 * Prints "ops <n> ns <elapsed>" on stdout. Built by bench/agent-bench.mjs with
 * the agent's own flags (static, -O2). */
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
		fprintf(stderr, "usage: %s CARD SECONDS\n", argv[0]);
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
	if (ioctl(fd, SNDRV_PCM_IOCTL_HW_PARAMS, &p) < 0 || ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) < 0) {
		perror("hw_params/prepare");
		return 1;
	}
	long long t0 = now(), until = t0 + (long long)(atof(argv[2]) * 1e9), n = 0, t;
	struct snd_pcm_status st; /* the kernel fills all of it, as in the agent */
	/* check the clock only every 256 calls: the loop is about the ioctl */
	do {
		for (int i = 0; i < 256; i++) {
			if (ioctl(fd, SNDRV_PCM_IOCTL_STATUS, &st) < 0) {
				perror("status");
				return 1;
			}
		}
		n += 256;
		t = now();
	} while (t < until);
	printf("ops %lld ns %lld\n", n, t - t0);
	return 0;
}
