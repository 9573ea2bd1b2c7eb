// guestd: PID 1 of a virtual-lab guest. It owns the one control channel to the
// host (a virtio-serial port named "vlab.ctl") and multiplexes over it:
//   - processes the host asks to run, with their stdin/stdout/stderr as
//     binary-safe, flow-controlled byte streams;
//   - the kernel log, record by record from /dev/kmsg, from the first boot line;
//   - heartbeat replies, so the host can tell a frozen guest from a busy one.
// It never touches sound devices itself: a kernel bug that hangs a thread in
// the sound stack must not take the channel down with it.
//
// Frame (both directions, little-endian): u32 len | u8 type | u32 chan | payload
// where len counts type + chan + payload. See app/vlab/protocol.ts (the host
// side), which must stay in step with the constants below.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
  /* host -> guest */
  F_EXEC = 1, F_STDIN = 2, F_STDIN_EOF = 3, F_SIGNAL = 4, F_ACK_OUT = 5,
  F_PING = 6, F_CHECKPOINT = 7, F_POWEROFF = 8, F_ACK_ERR = 9,
  /* guest -> host */
  F_HELLO = 64, F_STARTED = 65, F_EXEC_ERR = 66, F_STDOUT = 67, F_STDERR = 68,
  F_EXIT = 69, F_ACK_IN = 70, F_PONG = 71, F_KMSG = 72, F_CHECKPOINT_DONE = 73,
  F_LOG = 74,
};

#define HDR 9
#define MAX_FRAME (1u << 20)
#define CHUNK 65536
/* Bytes of a child's stdout (and, separately, stderr) the host may have
 * un-acknowledged before guestd stops reading that stream: a slow consumer on
 * the host slows the child, it never makes guestd buffer without bound. The
 * two streams have their own credit, as two pipes would: a host that never
 * reads stderr does not stop stdout. */
#define OUT_WINDOW (1u << 20)
#define MAX_PROCS 256

struct buf {
  uint8_t *p;
  size_t len, cap, off;
};

static void buf_reserve(struct buf *b, size_t extra) {
  if (b->off && b->off == b->len) b->off = b->len = 0;
  if (b->len + extra <= b->cap) return;
  if (b->off) { /* compact before growing */
    memmove(b->p, b->p + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
    if (b->len + extra <= b->cap) return;
  }
  size_t cap = b->cap ? b->cap : 65536;
  while (cap < b->len + extra) cap *= 2;
  uint8_t *np = realloc(b->p, cap);
  if (!np) { /* PID 1 cannot recover from this; the host sees a panic */
    static const char m[] = "guestd: out of memory\n";
    if (write(2, m, sizeof m - 1) < 0) {}
    _exit(1);
  }
  b->p = np;
  b->cap = cap;
}

static void buf_append(struct buf *b, const void *d, size_t n) {
  buf_reserve(b, n);
  memcpy(b->p + b->len, d, n);
  b->len += n;
}

static size_t buf_pending(const struct buf *b) { return b->len - b->off; }

struct proc {
  int used;
  uint32_t chan;
  pid_t pid;
  int in_fd, out_fd, err_fd; /* -1 when closed */
  struct buf in;             /* stdin bytes waiting for the child to read */
  int in_eof;                /* host closed stdin: close the pipe once drained */
  uint32_t unacked[2];       /* stdout/stderr bytes sent and not yet acknowledged */
  int exited, status;
};

static struct proc procs[MAX_PROCS];
static int ctl_fd = -1, kmsg_fd = -1, sig_fd = -1;
static struct buf ctl_out, ctl_in;
static uint64_t last_kmsg_seq;

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void send_frame(uint8_t type, uint32_t chan, const void *data, size_t n) {
  uint8_t h[HDR];
  put_u32(h, (uint32_t)(n + 5));
  h[4] = type;
  put_u32(h + 5, chan);
  buf_append(&ctl_out, h, HDR);
  if (n) buf_append(&ctl_out, data, n);
}

static void send_u32(uint8_t type, uint32_t chan, uint32_t v) {
  uint8_t b[4];
  put_u32(b, v);
  send_frame(type, chan, b, 4);
}

static void logf_host(const char *fmt, ...) {
  char m[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  send_frame(F_LOG, 0, m, (size_t)n < sizeof m ? (size_t)n : sizeof m - 1);
}

static void set_nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* udev does not run in the guest, so there are no /dev/virtio-ports links:
 * find the port by the name QEMU gave it. */
static int open_port(const char *want) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d) return -1;
  struct dirent *e;
  int fd = -1;
  while ((e = readdir(d)) && fd < 0) {
    if (e->d_name[0] == '.') continue;
    char path[300], name[128] = {0};
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fgets(name, sizeof name, f)) name[strcspn(name, "\n")] = 0;
    fclose(f);
    if (strcmp(name, want)) continue;
    snprintf(path, sizeof path, "/dev/%s", e->d_name);
    fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  }
  closedir(d);
  return fd;
}

static struct proc *find_proc(uint32_t chan) {
  for (int i = 0; i < MAX_PROCS; i++)
    if (procs[i].used && procs[i].chan == chan) return &procs[i];
  return NULL;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void free_proc(struct proc *p) {
  close_fd(&p->in_fd);
  close_fd(&p->out_fd);
  close_fd(&p->err_fd);
  free(p->in.p);
  memset(p, 0, sizeof *p);
}

/* EXEC payload: u16 argc | u16 envc | cwd\0 | argv[argc]\0... | env[envc]\0... */
static void do_exec(uint32_t chan, const uint8_t *d, size_t n) {
  char err[256];
  if (find_proc(chan)) {
    snprintf(err, sizeof err, "channel %u already in use", chan);
    send_frame(F_EXEC_ERR, chan, err, strlen(err));
    return;
  }
  struct proc *p = NULL;
  for (int i = 0; i < MAX_PROCS && !p; i++)
    if (!procs[i].used) p = &procs[i];
  if (!p || n < 4) {
    snprintf(err, sizeof err, p ? "malformed exec request" : "too many processes (%d)", MAX_PROCS);
    send_frame(F_EXEC_ERR, chan, err, strlen(err));
    return;
  }
  unsigned argc = d[0] | d[1] << 8, envc = d[2] | d[3] << 8;
  char **strs = calloc(argc + envc + 3, sizeof(char *));
  const char *s = (const char *)d + 4, *end = (const char *)d + n;
  for (unsigned i = 0; i < argc + envc + 1; i++) {
    const char *z = memchr(s, 0, (size_t)(end - s));
    if (!z || argc == 0) {
      free(strs);
      snprintf(err, sizeof err, "malformed exec request");
      send_frame(F_EXEC_ERR, chan, err, strlen(err));
      return;
    }
    strs[i] = (char *)s;
    s = z + 1;
  }
  const char *cwd = strs[0];
  char **argv = strs + 1;            /* NULL-terminated: calloc'd slot after */
  char **envp = strs + 1 + argc + 1; /* shift env one slot to leave argv's NULL */
  memmove(envp, strs + 1 + argc, envc * sizeof(char *));
  envp[envc] = NULL;
  argv[argc] = NULL;

  int in[2], out[2], errp[2], st[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(st, O_CLOEXEC)) {
    snprintf(err, sizeof err, "pipe: %s", strerror(errno));
    send_frame(F_EXEC_ERR, chan, err, strlen(err));
    free(strs);
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    setsid(); /* its own process group, so a signal reaches its children too */
    setpriority(PRIO_PROCESS, 0, 0);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(errp[1], 2);
    const char *what = "chdir";
    if (!*cwd || chdir(cwd) == 0) {
      /* PATH lookup uses the child's PATH, not guestd's. */
      for (char **e = envp; *e; e++)
        if (!strncmp(*e, "PATH=", 5)) setenv("PATH", *e + 5, 1);
      what = "exec";
      execvpe(argv[0], argv, envp);
    }
    int e = errno;
    char m[300];
    int k = snprintf(m, sizeof m, "%s %s: %s", what, !strcmp(what, "chdir") ? cwd : argv[0], strerror(e));
    if (write(st[1], m, (size_t)k) < 0) {}
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(errp[1]);
  close(st[1]);
  if (pid < 0) {
    snprintf(err, sizeof err, "fork: %s", strerror(errno));
    send_frame(F_EXEC_ERR, chan, err, strlen(err));
    close(in[1]); close(out[0]); close(errp[0]); close(st[0]);
    free(strs);
    return;
  }
  /* The status pipe closes on a successful exec (CLOEXEC) or carries why it failed. */
  char m[300];
  ssize_t k;
  do k = read(st[0], m, sizeof m); while (k < 0 && errno == EINTR);
  close(st[0]);
  free(strs);
  if (k > 0) {
    send_frame(F_EXEC_ERR, chan, m, (size_t)k);
    close(in[1]); close(out[0]); close(errp[0]);
    /* the child exits 127 right away; the SIGCHLD reaper ignores unknown pids */
    return;
  }
  memset(p, 0, sizeof *p);
  p->used = 1;
  p->chan = chan;
  p->pid = pid;
  p->in_fd = in[1];
  p->out_fd = out[0];
  p->err_fd = errp[0];
  set_nonblock(p->in_fd);
  set_nonblock(p->out_fd);
  set_nonblock(p->err_fd);
  send_u32(F_STARTED, chan, (uint32_t)pid);
}

static void flush_stdin(struct proc *p) {
  while (p->in_fd >= 0 && buf_pending(&p->in)) {
    ssize_t k = write(p->in_fd, p->in.p + p->in.off, buf_pending(&p->in));
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      /* EPIPE: the child closed its stdin. Acknowledge what is dropped so the
       * host's writer does not wait for credit that never comes. */
      send_u32(F_ACK_IN, p->chan, (uint32_t)buf_pending(&p->in));
      p->in.off = p->in.len = 0;
      close_fd(&p->in_fd);
      return;
    }
    p->in.off += (size_t)k;
    send_u32(F_ACK_IN, p->chan, (uint32_t)k);
  }
  if (p->in_fd >= 0 && p->in_eof && !buf_pending(&p->in)) close_fd(&p->in_fd);
}

/* Reads one chunk of a child's output; returns 0 at EOF/error (fd closed). */
static int pump_output(struct proc *p, int *fd, uint8_t type, int ignore_window) {
  static uint8_t chunk[CHUNK];
  uint32_t *unacked = &p->unacked[type == F_STDERR];
  for (;;) {
    if (!ignore_window && *unacked >= OUT_WINDOW) return 1;
    size_t want = CHUNK;
    if (!ignore_window && OUT_WINDOW - *unacked < want) want = OUT_WINDOW - *unacked;
    ssize_t k = read(*fd, chunk, want);
    if (k > 0) {
      send_frame(type, p->chan, chunk, (size_t)k);
      *unacked += (uint32_t)k;
      if (!ignore_window) return 1; /* one chunk per poll round keeps channels fair */
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) return 1;
    close_fd(fd);
    return 0;
  }
}

static void finish_if_done(struct proc *p) {
  if (!p->exited) return;
  /* The child is gone: what it wrote is in the pipes now. Drain it all (the
   * pipe holds at most its capacity), then report the exit after the data.
   * Output a background grandchild writes later is not waited for. */
  if (p->out_fd >= 0) pump_output(p, &p->out_fd, F_STDOUT, 1);
  if (p->err_fd >= 0) pump_output(p, &p->err_fd, F_STDERR, 1);
  int st = p->status;
  int32_t code = WIFEXITED(st) ? WEXITSTATUS(st) : -(int32_t)WTERMSIG(st);
  send_u32(F_EXIT, p->chan, (uint32_t)code);
  free_proc(p);
}

static void reap(void) {
  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid <= 0) return;
    for (int i = 0; i < MAX_PROCS; i++)
      if (procs[i].used && procs[i].pid == pid) {
        procs[i].exited = 1;
        procs[i].status = st;
        finish_if_done(&procs[i]);
      }
  }
}

static void pump_kmsg(void) {
  static char rec[8192];
  while (kmsg_fd >= 0) {
    ssize_t k = read(kmsg_fd, rec, sizeof rec - 1);
    if (k > 0) {
      rec[k] = 0;
      last_kmsg_seq = strtoull(strchr(rec, ',') ? strchr(rec, ',') + 1 : "0", NULL, 10);
      send_frame(F_KMSG, 0, rec, (size_t)k);
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EPIPE) continue; /* records were overwritten; carry on with the next */
    return;                                 /* EAGAIN: nothing new */
  }
}

static long meminfo_kb(const char *key) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  size_t kl = strlen(key);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, kl) && line[kl] == ':') {
      v = strtol(line + kl + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

static void send_pong(uint32_t seq) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  int live = 0;
  for (int i = 0; i < MAX_PROCS; i++) live += procs[i].used;
  char m[256];
  int n = snprintf(m, sizeof m,
                   "{\"seq\":%u,\"uptimeMs\":%llu,\"memTotalKb\":%ld,\"memAvailableKb\":%ld,\"procs\":%d}", seq,
                   (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull,
                   meminfo_kb("MemTotal"), meminfo_kb("MemAvailable"), live);
  send_frame(F_PONG, 0, m, (size_t)n);
}

static void send_hello(void) {
  /* /init (init.sh) leaves what it did (modules, cards that appeared) here. */
  struct buf b = {0};
  int fd = open("/run/vlab/boot-report", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    uint8_t tmp[4096];
    ssize_t k;
    while ((k = read(fd, tmp, sizeof tmp)) > 0) buf_append(&b, tmp, (size_t)k);
    close(fd);
  } else {
    const char *m = "error boot report missing\n";
    buf_append(&b, m, strlen(m));
  }
  send_frame(F_HELLO, 0, b.p, b.len);
  free(b.p);
}

static void handle_frame(uint8_t type, uint32_t chan, const uint8_t *d, size_t n) {
  struct proc *p;
  switch (type) {
  case F_EXEC:
    do_exec(chan, d, n);
    break;
  case F_STDIN:
    if ((p = find_proc(chan)) && p->in_fd >= 0 && !p->in_eof) {
      buf_append(&p->in, d, n);
      flush_stdin(p);
    } else {
      send_u32(F_ACK_IN, chan, (uint32_t)n); /* nobody to read it: drop, but give credit back */
    }
    break;
  case F_STDIN_EOF:
    if ((p = find_proc(chan))) {
      p->in_eof = 1;
      flush_stdin(p);
    }
    break;
  case F_SIGNAL:
    if ((p = find_proc(chan)) && n >= 4 && !p->exited) {
      int sig = (int)get_u32(d);
      if (kill(-p->pid, sig) < 0) kill(p->pid, sig);
    }
    break;
  case F_ACK_OUT:
  case F_ACK_ERR:
    if ((p = find_proc(chan)) && n >= 4) {
      uint32_t k = get_u32(d), *u = &p->unacked[type == F_ACK_ERR];
      *u = k > *u ? 0 : *u - k;
    }
    break;
  case F_PING:
    send_pong(n >= 4 ? get_u32(d) : 0);
    break;
  case F_CHECKPOINT: {
    /* Everything the kernel logged before this request goes out before the
     * reply, on the same ordered channel: the host's checkpoint is exact. */
    pump_kmsg();
    char m[32];
    int k = snprintf(m, sizeof m, "%llu", (unsigned long long)last_kmsg_seq);
    send_frame(F_CHECKPOINT_DONE, chan, m, (size_t)k);
    break;
  }
  case F_POWEROFF:
    sync();
    reboot(RB_POWER_OFF);
    break;
  default:
    logf_host("guestd: unknown frame type %u", type);
  }
}

static void parse_input(void) {
  for (;;) {
    size_t avail = buf_pending(&ctl_in);
    if (avail < HDR) return;
    const uint8_t *h = ctl_in.p + ctl_in.off;
    uint32_t len = get_u32(h);
    if (len < 5 || len > MAX_FRAME) {
      /* A torn stream cannot be resynchronised; say so and drop the input. */
      logf_host("guestd: bad frame length %u, input discarded", len);
      ctl_in.off = ctl_in.len = 0;
      return;
    }
    if (avail < 4 + (size_t)len) return;
    ctl_in.off += 4 + len;
    handle_frame(h[4], get_u32(h + 5), h + HDR, len - 5);
  }
}

static void flush_ctl(void) {
  while (buf_pending(&ctl_out)) {
    ssize_t k = write(ctl_fd, ctl_out.p + ctl_out.off, buf_pending(&ctl_out));
    if (k < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN: the host is not reading right now; poll tells us when */
    }
    ctl_out.off += (size_t)k;
  }
}

int main(void) {
  setpriority(PRIO_PROCESS, 0, -10); /* answer heartbeats even when the guest is saturated */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGPIPE);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

  for (int tries = 0; ctl_fd < 0; tries++) {
    ctl_fd = open_port("vlab.ctl");
    if (ctl_fd >= 0) break;
    if (tries == 100) {
      fprintf(stderr, "guestd: no virtio-serial port named vlab.ctl\n");
      return 1; /* PID 1 exiting panics the kernel; the host reports the console text */
    }
    usleep(50000);
  }
  kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  send_hello();
  pump_kmsg();

  struct pollfd pf[3 + 3 * MAX_PROCS];
  struct proc *owner[3 + 3 * MAX_PROCS];
  for (;;) {
    int n = 0;
    pf[n] = (struct pollfd){ctl_fd, POLLIN | (buf_pending(&ctl_out) ? POLLOUT : 0), 0};
    owner[n++] = NULL;
    pf[n] = (struct pollfd){sig_fd, POLLIN, 0};
    owner[n++] = NULL;
    if (kmsg_fd >= 0) {
      pf[n] = (struct pollfd){kmsg_fd, POLLIN, 0};
      owner[n++] = NULL;
    }
    int fixed = n;
    for (int i = 0; i < MAX_PROCS; i++) {
      struct proc *p = &procs[i];
      if (!p->used) continue;
      if (p->out_fd >= 0 && p->unacked[0] < OUT_WINDOW) pf[n] = (struct pollfd){p->out_fd, POLLIN, 0}, owner[n++] = p;
      if (p->err_fd >= 0 && p->unacked[1] < OUT_WINDOW) pf[n] = (struct pollfd){p->err_fd, POLLIN, 0}, owner[n++] = p;
      if (p->in_fd >= 0 && buf_pending(&p->in)) pf[n] = (struct pollfd){p->in_fd, POLLOUT, 0}, owner[n++] = p;
    }
    if (poll(pf, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      continue;
    }
    if (pf[0].revents & POLLIN) {
      for (;;) {
        buf_reserve(&ctl_in, CHUNK);
        ssize_t k = read(ctl_fd, ctl_in.p + ctl_in.len, CHUNK);
        if (k > 0) { ctl_in.len += (size_t)k; continue; }
        if (k < 0 && errno == EINTR) continue;
        break;
      }
      parse_input();
    } else if (pf[0].revents & (POLLHUP | POLLERR)) {
      /* Host end not connected (it reconnects, or QEMU is going away): do not spin. */
      usleep(100000);
    }
    if (pf[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sig_fd, &si, sizeof si) == sizeof si) {}
      reap();
    }
    if (kmsg_fd >= 0 && fixed == 3 && pf[2].revents) pump_kmsg();
    for (int i = fixed; i < n; i++) {
      struct proc *p = owner[i];
      if (!pf[i].revents || !p->used) continue;
      if (pf[i].fd == p->out_fd) pump_output(p, &p->out_fd, F_STDOUT, 0);
      else if (pf[i].fd == p->err_fd) pump_output(p, &p->err_fd, F_STDERR, 0);
      else if (pf[i].fd == p->in_fd) flush_stdin(p);
    }
    flush_ctl();
  }
}
