/*
 * c-subscribers.c - the cheapest subscribers this machine can run against a real Pusher server, so
 * that a fan-out's latency is measured without the Node load generator's receive cost (about
 * 6 us per delivery in scenario g against ~3.5 us here), which shares the same cores as the server.
 * Scenario gc of `npm run bench` (bench/lib/scenarios/c-subscribers.ts) compiles and drives it;
 * see docs/benchmarks.md.
 *
 * Forked client processes each open their share of N WebSocket connections to
 * ws://HOST:PORT/app/KEY?protocol=7 (blocking handshake, pusher:connection_established, a masked
 * pusher:subscribe, pusher_internal:subscription_succeeded), then read with epoll. Every text frame
 * carrying a bench payload (bench/lib/payload.ts: data {"t":<wall-clock ms>,"s":<seq>,"p":<phase>})
 * of the phase being measured adds its latency (receive time minus t, 10 us buckets) to the
 * client's histogram in shared memory; a sequence number not above the previous one on the same
 * connection counts as out of order.
 *
 *   c-subscribers --port P --key K --channel C --subs N [--clients 2] [--host 127.0.0.1]
 *                 [--pause-us U] [--defer-ms D]
 *
 * --defer-ms D (scenario gk): the receive time is the kernel's (SO_TIMESTAMPNS: when the frame's
 * packet reached the socket), and a client woken by a first frame (on the one socket it watches)
 * sleeps D ms before it reads anything, then drains every socket. With D longer than a fan-out lasts, the receivers take no
 * CPU while the server sends, as subscribers on other machines would not: the figure is what the
 * server's design allows on these cores, not what clients sharing them see.
 *
 * stdout: "ready <client pids>" once every connection is subscribed; "phase <p>" once stdin's
 * "phase <p>" is in place (it selects the measured phase: events of other phases, the warm-up,
 * are read and ignored; publish only after this answer); one JSON line after stdin's
 * "end <expected deliveries>".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAXCL = 16, HB = 100000 /* 10 us buckets: 1 s */, PART = 8192 };

/* Shared with the clients (MAP_SHARED before fork): each client writes only its own slots. */
struct shm {
  int phase, stop;
  long ready;
  struct { long frames, order, bad, unstamped; } cl[MAXCL];
  unsigned hist[MAXCL][HB];
};
static struct shm *S;

/* A connection's bytes not yet parsed: a frame split across reads waits here. */
struct conn { int fd, have; long last; int last_phase; unsigned char part[PART]; };

static void die(const char *what) { perror(what); exit(2); }

static double wall_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Length of the complete frame at p (header included), or 0 while more bytes are needed. */
static size_t frame_length(const unsigned char *p, size_t n, size_t *header) {
  if (n < 2) return 0;
  size_t len = p[1] & 0x7f, h = 2;
  if (len == 126) {
    if (n < 4) return 0;
    len = (size_t)p[2] << 8 | p[3], h = 4;
  } else if (len == 127) {
    if (n < 10) return 0;
    len = 0;
    for (int i = 2; i < 10; i++) len = len << 8 | p[i];
    h = 10;
  }
  *header = h;
  return n >= h + len ? h + len : 0;
}

/* The number after `field` (an escaped JSON key such as \"t\":) in the frame, or -1. */
static double field(const unsigned char *p, size_t n, const char *key) {
  const unsigned char *at = memmem(p, n, key, strlen(key));
  if (!at) return -1;
  return strtod((const char *)at + strlen(key), NULL); /* the payload goes on past the number */
}

static void on_text(int k, struct conn *x, const unsigned char *p, size_t n, double now) {
  double t = field(p, n, "\\\"t\\\":"), phase = field(p, n, "\\\"p\\\":");
  if (t < 0 || phase < 0) return; /* not a bench event (pusher:ping, ...) */
  long seq = (long)field(p, n, "\\\"s\\\":");
  if ((int)phase != x->last_phase) x->last_phase = (int)phase, x->last = 0;
  if (seq <= x->last) S->cl[k].order++;
  x->last = seq;
  if ((int)phase != __atomic_load_n(&S->phase, __ATOMIC_ACQUIRE)) return;
  long us = (long)((now - t) * 1e3);
  if (us < 0) us = 0;
  S->hist[k][us / 10 < HB ? us / 10 : HB - 1]++;
  __atomic_store_n(&S->cl[k].frames, S->cl[k].frames + 1, __ATOMIC_RELEASE);
}

/* Parses every complete frame of x->part; keeps the incomplete rest at its start. */
static void parse(int k, struct conn *x, double now) {
  size_t at = 0, h;
  for (size_t len; (len = frame_length(x->part + at, x->have - at, &h)); at += len) {
    if ((x->part[at] & 0x0f) == 1) on_text(k, x, x->part + at + h, len - h, now);
  }
  memmove(x->part, x->part + at, x->have - at);
  x->have -= (int)at;
}

static void take(int k, struct conn *x, const unsigned char *p, size_t n, double now) {
  while (n) {
    size_t room = PART - x->have, t = n < room ? n : room;
    if (!t) { S->cl[k].bad++, x->have = 0; return; } /* a frame larger than PART: not a bench event */
    memcpy(x->part + x->have, p, t), x->have += (int)t, p += t, n -= t;
    parse(k, x, now);
  }
}

/* Blocking: reads until a text frame containing `want` has arrived (frames before it are dropped). */
static void await_frame(struct conn *x, const char *want) {
  for (;;) {
    size_t h, len = frame_length(x->part, x->have, &h);
    if (len) {
      int hit = memmem(x->part + h, len - h, want, strlen(want)) != NULL;
      memmove(x->part, x->part + len, x->have - len), x->have -= (int)len;
      if (hit) return;
      continue;
    }
    ssize_t r = read(x->fd, x->part + x->have, PART - x->have);
    if (r <= 0) die("read during the handshake");
    x->have += (int)r;
  }
}

static void write_all(int fd, const void *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) die("write during the handshake");
    p = (const char *)p + w, n -= (size_t)w;
  }
}

static void open_subscription(struct conn *x, const struct sockaddr_in *sa, const char *host, const char *key, const char *channel) {
  char req[512], msg[256];
  if ((x->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(x->fd, (const struct sockaddr *)sa, sizeof *sa)) die("connect");
  int n = snprintf(req, sizeof req,
                   "GET /app/%s?protocol=7&client=c-subscribers&version=1 HTTP/1.1\r\nHost: %s:%d\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n", key, host, ntohs(sa->sin_port));
  write_all(x->fd, req, (size_t)n);
  for (;;) { /* the 101 answer; what follows it stays in part */
    ssize_t r = read(x->fd, x->part + x->have, PART - x->have);
    if (r <= 0) die("read the upgrade answer");
    x->have += (int)r;
    unsigned char *end = memmem(x->part, x->have, "\r\n\r\n", 4);
    if (!end) continue;
    if (memcmp(x->part, "HTTP/1.1 101", 12)) { fprintf(stderr, "upgrade refused: %.*s\n", 40, x->part); exit(2); }
    size_t used = (size_t)(end + 4 - x->part);
    memmove(x->part, x->part + used, x->have - used), x->have -= (int)used;
    break;
  }
  await_frame(x, "pusher:connection_established");
  /* A masked frame with a zero mask: the payload is sent as it is. */
  int len = snprintf(msg + 6, sizeof msg - 6, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"%s\"}}", channel);
  msg[0] = (char)0x81, msg[1] = (char)(0x80 | len), memset(msg + 2, 0, 4);
  write_all(x->fd, msg, (size_t)len + 6);
  await_frame(x, "pusher_internal:subscription_succeeded");
}

/* --defer-ms: see the header. 0: read at once and take the receive time from the clock. */
static int defer_ms;

/* One read of x; *when is the kernel's receive time of the last packet read (ms), when it gave one. */
static ssize_t read_stamped(int fd, unsigned char *buf, size_t size, double *when) {
  if (!defer_ms) {
    ssize_t r = read(fd, buf, size);
    *when = wall_ms(); /* one clock read per read(): frames that arrived together share it */
    return r;
  }
  union { char space[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } control;
  struct iovec io = { .iov_base = buf, .iov_len = size };
  struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space };
  ssize_t r = recvmsg(fd, &m, 0);
  *when = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); r > 0 && c; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec t;
      memcpy(&t, CMSG_DATA(c), sizeof t);
      *when = t.tv_sec * 1e3 + t.tv_nsec / 1e6;
    }
  return r;
}

/* --defer-ms: reads everything x has (its fd is -1 once the server closed it). */
static void drain(int k, struct conn *x, unsigned char *buf, size_t size) {
  double when;
  ssize_t r;
  while (x->fd >= 0 && (r = read_stamped(x->fd, buf, size, &when)) != 0) {
    if (r < 0) {
      if (errno == EAGAIN) return;
      break;
    }
    if (when < 0) when = wall_ms(), S->cl[k].unstamped++; /* no kernel timestamp: reported */
    take(k, x, buf, (size_t)r, when);
  }
  if (x->fd >= 0) close(x->fd), x->fd = -1, S->cl[k].bad++;
}

/* --pause-us: after a pass that found fewer than 256 readable sockets, sleep this long, so that
 * deliveries pile up and one wake-up reads many (at most that much latency added). */
static int pause_us;

static void client(int k, int n, const struct sockaddr_in *sa, const char *host, const char *key, const char *channel) {
  /* A parent killed before it sets S->stop (the runner may not wait) must not leave clients behind. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1) _exit(2);
  struct conn *c = calloc(n, sizeof *c);
  int ep = epoll_create1(0), one = 1;
  for (int i = 0; i < n; i++) {
    open_subscription(&c[i], sa, host, key, channel);
    setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (defer_ms && setsockopt(c[i].fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one)) die("SO_TIMESTAMPNS");
    fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
    struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };
    /* --defer-ms watches one socket, the others are read when it fires: a socket in an epoll set
     * costs the sender a callback under that set's lock per delivery (two workers contend on it). */
    if ((!defer_ms || i == 0) && epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &e)) die("epoll_ctl");
  }
  __atomic_add_fetch(&S->ready, n, __ATOMIC_ACQ_REL);
  static unsigned char buf[1 << 16];
  struct epoll_event ev[256];
  while (!__atomic_load_n(&S->stop, __ATOMIC_ACQUIRE)) {
    int m = epoll_wait(ep, ev, 256, 100);
    if (m < 0 && errno == EINTR) continue;
    if (m < 0) die("epoll_wait");
    if (defer_ms && m > 0) {
      usleep(defer_ms * 1000);
      for (int i = 0; i < n; i++) drain(k, &c[i], buf, sizeof buf);
      continue;
    }
    for (int j = 0; j < m; j++) {
      struct conn *x = &c[ev[j].data.u32];
      double when;
      ssize_t r = read_stamped(x->fd, buf, sizeof buf, &when);
      if (r <= 0) { /* closed by the server: stop watching it */
        if (r == 0 || errno != EAGAIN) epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL), S->cl[k].bad++;
        continue;
      }
      take(k, x, buf, (size_t)r, when);
    }
    if (pause_us && m < 256) usleep(pause_us);
  }
  _exit(0);
}

static long frames_total(int K) {
  long f = 0;
  for (int k = 0; k < K; k++) f += __atomic_load_n(&S->cl[k].frames, __ATOMIC_ACQUIRE);
  return f;
}

/* The latency (ms) below which `q` of the measured deliveries fall. */
static double percentile(int K, long total, double q) {
  long want = (long)(q * total), seen = 0;
  for (int b = 0; b < HB; b++) {
    for (int k = 0; k < K; k++) seen += S->hist[k][b];
    if (seen > want) return (b + 0.5) / 100.0;
  }
  return HB / 100.0;
}

static void report(int K, long expected) {
  long frames = frames_total(K), order = 0, bad = 0, unstamped = 0, minb = -1, maxb = 0;
  double sum = 0;
  for (int k = 0; k < K; k++) order += S->cl[k].order, bad += S->cl[k].bad, unstamped += S->cl[k].unstamped;
  for (int b = 0; b < HB; b++)
    for (int k = 0; k < K; k++)
      if (S->hist[k][b]) {
        if (minb < 0) minb = b;
        maxb = b, sum += S->hist[k][b] * (b + 0.5) / 100.0;
      }
  printf("{\"frames\":%ld,\"expected\":%ld,\"min\":%.2f,\"mean\":%.2f,\"p50\":%.2f,\"p90\":%.2f,"
         "\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f,\"order\":%ld,\"bad\":%ld,\"unstamped\":%ld}\n",
         frames, expected, minb < 0 ? 0 : minb / 100.0, frames ? sum / frames : 0, percentile(K, frames, 0.5),
         percentile(K, frames, 0.9), percentile(K, frames, 0.99), percentile(K, frames, 0.999), (maxb + 1) / 100.0,
         order, bad, unstamped);
  fflush(stdout);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *key = 0, *channel = 0;
  int port = 0, N = 0, K = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *o = argv[i], *v = argv[i + 1];
    if (!strcmp(o, "--host")) host = v;
    else if (!strcmp(o, "--port")) port = atoi(v);
    else if (!strcmp(o, "--key")) key = v;
    else if (!strcmp(o, "--channel")) channel = v;
    else if (!strcmp(o, "--subs")) N = atoi(v);
    else if (!strcmp(o, "--clients")) K = atoi(v);
    else if (!strcmp(o, "--pause-us")) pause_us = atoi(v);
    else if (!strcmp(o, "--defer-ms")) defer_ms = atoi(v);
    else { fprintf(stderr, "unknown option %s\n", o); return 2; }
  }
  if (!port || !key || !channel || N < 1 || K < 1 || K > MAXCL || strlen(channel) > 150) {
    fprintf(stderr, "usage: c-subscribers --port P --key K --channel C --subs N [--clients 1..%d] [--host H]\n", MAXCL);
    return 2;
  }
  S = mmap(0, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (S == MAP_FAILED) die("mmap");
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "--host must be an IPv4 address\n"); return 2; }
  pid_t pids[MAXCL];
  for (int k = 0; k < K; k++)
    if ((pids[k] = fork()) == 0) client(k, N / K + (k < N % K), &sa, host, key, channel);
    else if (pids[k] < 0) die("fork");
  while (__atomic_load_n(&S->ready, __ATOMIC_ACQUIRE) < N) {
    int status;
    if (waitpid(-1, &status, WNOHANG) > 0) { fprintf(stderr, "a client failed while connecting\n"); return 2; }
    usleep(10000);
  }
  printf("ready");
  for (int k = 0; k < K; k++) printf("%c%d", k ? ',' : ' ', pids[k]);
  printf("\n");
  fflush(stdout);
  char line[128];
  while (fgets(line, sizeof line, stdin)) {
    long v;
    if (sscanf(line, "phase %ld", &v) == 1) {
      /* Acknowledged once in place: events published after the answer are counted. */
      __atomic_store_n(&S->phase, (int)v, __ATOMIC_RELEASE);
      printf("phase %ld\n", v);
      fflush(stdout);
    }
    else if (sscanf(line, "end %ld", &v) == 1) {
      /* Deliveries may trail the last publish's answer: wait for them, at most 10 s. */
      for (int i = 0; i < 1000 && frames_total(K) < v; i++) usleep(10000);
      report(K, v);
      break;
    }
  }
  __atomic_store_n(&S->stop, 1, __ATOMIC_RELEASE);
  for (int k = 0; k < K; k++) waitpid(pids[k], NULL, 0);
  return 0;
}
