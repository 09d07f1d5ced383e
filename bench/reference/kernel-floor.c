/*
 * kernel-floor.c - the least CPU any server can spend per delivered WebSocket message on this
 * machine, for the fan-out scenarios of `npm run bench` (docs/benchmarks.md, "Scenarios").
 *
 * The parent process is the "server": it does nothing but the syscalls a fan-out needs. Each event
 * is one pre-built 102-byte unmasked text frame (0x81, length 100, a 100-byte JSON-ish payload that
 * carries the publish time and a sequence number), written to every subscriber of the event's
 * channel. Forked children are the "clients": they hold the TCP connections, read with epoll, check
 * framing and order, and count. Whatever Herald (or the floor server in floor-server.ts) spends
 * above these figures on the same scenario is user-space overhead; these figures are the kernel's.
 *
 *   cc -O2 -o kernel-floor kernel-floor.c
 *   kernel-floor --scenario a|b|e|g --mode write|writev|uring [--seconds 10] [--warmup 1]
 *                [--batch B] [--clients 2] [--window 16] [--subs N --channels C --rate R]
 *                [--servers P]
 *
 * Modes: write  = one write() per socket per event (what Node/libuv does for an uncorked socket);
 *        writev = B events per socket in one writev() (a corked socket flushed once per loop pass);
 *        uring  = every send of an event (or of B events with --batch) in one io_uring_enter():
 *                 no Node server can do this; it is the floor for one thread.
 * Scenario e publishes back-to-back, closed-loop: at most --window events per subscriber may be
 * sent but not yet read, so the kernel's socket buffers (and the latency) stay bounded, as in
 * bench/run.ts.
 * --servers P splits each channel's subscribers over P server processes that send the same paced
 * schedule (open loop only): the floor for P Herald workers, each holding 1/P of a channel
 * (scenario g of `npm run bench`, 18,000 subscribers of one channel, with 1 and 2 workers).
 *
 * Output: one Markdown table row on stdout (header printed by kernel-floor.sh), details on stderr.
 * Server CPU is getrusage(RUSAGE_SELF) of the parent only: the clients are separate processes and
 * are never waited for inside the measured window, so none of their CPU is included. The total is
 * exact (scheduler runtime); the user/sys split is sampled at timer ticks by kernels built with
 * tick-based CPU accounting (the common default), so treat it as approximate. On loopback the
 * sender's system time includes the receive-side TCP work (the packet is processed in the sender's
 * softirq), as it does for the Node servers measured by `npm run bench` - except the part the
 * kernel hands to ksoftirqd, which no process is charged for: it gets a column of its own.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { FRAME = 102, MAXCL = 8, MAXSV = 8, MAXB = 64, HB = 100000 /* 10 us buckets, 1 s */, MAXEV = 1 << 18 };
enum { M_WRITE, M_WRITEV, M_URING };

/* Shared with the clients (MAP_SHARED before fork): each client writes only its own slots. */
struct shm {
  long measure_from;                 /* first sequence number of the measured phase */
  struct { long frames, bad, order, errs, wakes; } cl[MAXCL];
  unsigned hist[MAXCL][HB];          /* delivery latency, measured phase */
  unsigned evmax[MAXCL][MAXEV];      /* per event: slowest delivery seen by this client (us) */
  struct { long sent, measured, cpu_ns, life_ns; } sv[MAXSV]; /* servers 1..P-1 (--servers): their totals */
};
static struct shm *S;

static void die(const char *what) { perror(what); exit(2); }
static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}
static long digits(const unsigned char *p, int n) {
  long v = 0;
  while (n--) v = v * 10 + (*p++ - '0');
  return v;
}
/* Fixed offsets so the client can read t and s without parsing: t at frame byte 7, s at 32. */
static void build_frame(unsigned char *f, long seq) {
  char tmp[FRAME + 1];
  int n = snprintf(tmp, sizeof tmp, "%c%c{\"t\":%020ld,\"s\":%010ld,\"x\":\"%052d\"}", 0x81, 100,
                   now_ns(), seq, 0);
  if (n != FRAME) { fprintf(stderr, "frame is %d bytes\n", n); exit(2); }
  memcpy(f, tmp, FRAME);
}

/* ---- clients ---------------------------------------------------------------------------- */

struct conn { int fd, have; long last; unsigned char part[FRAME]; };

/* Checks framing and order of `len` received bytes and records their latency; returns the frames. */
static long account(int k, struct conn *x, const unsigned char *p, size_t left, long now) {
  long from = __atomic_load_n(&S->measure_from, __ATOMIC_ACQUIRE), frames = 0;
  const unsigned char *f;
  while (left) {
    if (x->have == 0 && left >= FRAME) {
      f = p, p += FRAME, left -= FRAME;
    } else { /* a frame split across reads: reassemble it */
      size_t need = FRAME - x->have, t = need < left ? need : left;
      memcpy(x->part + x->have, p, t), x->have += t, p += t, left -= t;
      if (x->have < FRAME) break;
      x->have = 0, f = x->part;
    }
    frames++;
    if (f[0] != 0x81 || f[1] != 100) { S->cl[k].bad++; continue; }
    long t = digits(f + 7, 20), seq = digits(f + 32, 10);
    if (seq <= x->last) S->cl[k].order++; /* duplicate or reordered; gaps show as lost */
    x->last = seq;
    if (seq >= from) {
      long us = (now - t) / 1000;
      S->hist[k][us / 10 < HB ? us / 10 : HB - 1]++;
      if (seq < MAXEV && us > S->evmax[k][seq]) S->evmax[k][seq] = us;
    }
  }
  return frames;
}

static struct conn *connect_all(int n, const struct sockaddr_in *sa) {
  struct conn *c = calloc(n, sizeof *c);
  for (int i = 0; i < n; i++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (const struct sockaddr *)sa, sizeof *sa)) die("client connect");
    c[i].fd = s, c[i].last = -1;
  }
  return c;
}

static void client(int k, int n, const struct sockaddr_in *sa) {
  struct conn *c = connect_all(n, sa);
  int ep = epoll_create1(0), open = n;
  for (int i = 0; i < n; i++) {
    int s = c[i].fd;
    struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &e)) die("epoll_ctl");
  }
  static unsigned char buf[1 << 16];
  struct epoll_event ev[256];
  long frames = 0;
  while (open) {
    int m = epoll_wait(ep, ev, 256, -1);
    if (m < 0 && errno == EINTR) continue;
    if (m < 0) die("epoll_wait");
    S->cl[k].wakes++;
    for (int j = 0; j < m; j++) {
      struct conn *x = &c[ev[j].data.u32];
      ssize_t r = read(x->fd, buf, sizeof buf);
      if (r <= 0) { /* the server's shutdown(SHUT_WR): everything before it has arrived */
        if (r < 0) S->cl[k].errs++;
        if (x->have) S->cl[k].bad++;
        close(x->fd), open--;
        continue;
      }
      /* One clock read per read(): frames that arrived together share their receive time. */
      frames += account(k, x, buf, r, now_ns());
    }
    /* Progress for the server's closed loop (scenario e). */
    __atomic_store_n(&S->cl[k].frames, frames, __ATOMIC_RELEASE);
  }
  _exit(0);
}

/* ---- io_uring through raw syscalls ----------------------------------------------------- */

static int ring = -1;
static unsigned ring_n, *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;
static long short_sends;

static int ring_init(unsigned entries, int *fds, int nfds) {
  struct io_uring_params p;
  /* SINGLE_ISSUER|DEFER_TASKRUN: completions run only when we ask for them, in our own context,
   * instead of via task_work interrupts; fall back to a plain ring on kernels before 6.1. */
  unsigned flags[] = { IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, 0 };
  for (int i = 0; i < 2 && ring < 0; i++) {
    memset(&p, 0, sizeof p), p.flags = flags[i];
    ring = syscall(__NR_io_uring_setup, entries, &p);
  }
  if (ring < 0) return -1;
  ring_n = p.sq_entries;
  char *sq = mmap(0, p.sq_off.array + p.sq_entries * sizeof(unsigned), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  char *cq = mmap(0, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
                  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
  sqes = mmap(0, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
              ring, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return -1;
  sq_tail = (unsigned *)(sq + p.sq_off.tail), sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  sq_array = (unsigned *)(sq + p.sq_off.array);
  cq_head = (unsigned *)(cq + p.cq_off.head), cq_tail = (unsigned *)(cq + p.cq_off.tail);
  cq_mask = (unsigned *)(cq + p.cq_off.ring_mask), cqes = (void *)(cq + p.cq_off.cqes);
  /* Registered files spare the kernel an fd-table lookup and refcount per send. */
  return syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES, fds, nfds) ? -1 : 0;
}

static void write_all(int fd, const unsigned char *p, size_t len) {
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write");
    p += w, len -= w;
  }
}

/* One SQE per subscriber, one io_uring_enter() per ring-full (= per event when it fits). */
static void send_uring(const int *subs, int n, const int *fds, const unsigned char *buf,
                       const struct iovec *iov, int B) {
  for (int done = 0; done < n;) {
    unsigned rem = n - done, k = rem < ring_n ? rem : ring_n, tail = *sq_tail, got = 0;
    for (unsigned i = 0; i < k; i++, tail++) {
      struct io_uring_sqe *s = &sqes[tail & *sq_mask];
      memset(s, 0, sizeof *s);
      s->opcode = B == 1 ? IORING_OP_SEND : IORING_OP_WRITEV;
      s->addr = B == 1 ? (unsigned long)buf : (unsigned long)iov;
      s->len = B == 1 ? FRAME : B;
      s->fd = subs[done + i], s->flags = IOSQE_FIXED_FILE, s->user_data = subs[done + i];
      sq_array[tail & *sq_mask] = tail & *sq_mask;
    }
    __atomic_store_n(sq_tail, tail, __ATOMIC_RELEASE);
    for (unsigned submit = k; got < k; submit = 0) { /* wait for all: the buffer is reused next */
      if (syscall(__NR_io_uring_enter, ring, submit, k - got, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
        if (errno == EINTR) continue;
        die("io_uring_enter");
      }
      unsigned h = *cq_head;
      for (; h != __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE); h++, got++) {
        struct io_uring_cqe *c = &cqes[h & *cq_mask];
        if (c->res < 0) { errno = -c->res; die("io_uring send"); }
        if (c->res < B * FRAME) /* a short send: finish it the slow way so the stream stays intact */
          short_sends++, write_all(fds[c->user_data], buf + c->res, B * FRAME - c->res);
      }
      __atomic_store_n(cq_head, h, __ATOMIC_RELEASE);
    }
    done += k;
  }
}

/* ---- the same client on io_uring (--client-io uring) ----------------------------------- */

/* One multishot recv per socket into a ring of provided buffers: a delivery costs a completion
 * instead of an epoll_wait() share plus a read(), i.e. no user/kernel crossing per delivery, and
 * with --client-wait W the client sleeps until W completions are ready (or 1 ms passed). It shows
 * what receiving costs once the syscalls are gone (docs/benchmarks.md, session 12). */
enum { CBUFS = 4096, CBUFSZ = 2048 };
static struct io_uring_buf_ring *cbr;
static unsigned char *cbufs;
static unsigned short cbr_tail;
static unsigned c_tail, c_queued;

static void recycle_buffer(unsigned bid) {
  struct io_uring_buf *b = &cbr->bufs[cbr_tail++ & (CBUFS - 1)];
  b->addr = (unsigned long)(cbufs + (size_t)bid * CBUFSZ), b->len = CBUFSZ, b->bid = bid;
}

static void arm_recv(int i) {
  struct io_uring_sqe *s = &sqes[c_tail & *sq_mask];
  memset(s, 0, sizeof *s);
  s->opcode = IORING_OP_RECV, s->fd = i, s->flags = IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  s->ioprio = IORING_RECV_MULTISHOT, s->buf_group = 0, s->user_data = i;
  sq_array[c_tail & *sq_mask] = c_tail & *sq_mask;
  c_tail++, c_queued++;
}

/* Submits what is queued and waits for `wait` completions or 1 ms, whichever comes first. */
static void client_enter(unsigned wait) {
  __atomic_store_n(sq_tail, c_tail, __ATOMIC_RELEASE);
  struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };
  struct io_uring_getevents_arg arg = { .ts = (unsigned long)&ts };
  unsigned flags = wait ? IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG : 0;
  if (syscall(__NR_io_uring_enter, ring, c_queued, wait, flags, wait ? &arg : NULL, wait ? sizeof arg : 0) < 0 &&
      errno != EINTR && errno != ETIME)
    die("client io_uring_enter");
  c_queued = 0;
}

static void client_uring(int k, int n, const struct sockaddr_in *sa, unsigned wait) {
  struct conn *c = connect_all(n, sa);
  int *fds = malloc(n * sizeof *fds), open = n;
  for (int i = 0; i < n; i++) fds[i] = c[i].fd;
  if (ring_init(4096, fds, n)) die("client io_uring");
  cbr = mmap(0, CBUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  cbufs = malloc((size_t)CBUFS * CBUFSZ);
  struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)cbr, .ring_entries = CBUFS, .bgid = 0 };
  if (cbr == MAP_FAILED || !cbufs || syscall(__NR_io_uring_register, ring, IORING_REGISTER_PBUF_RING, &reg, 1))
    die("client provided buffers");
  for (unsigned b = 0; b < CBUFS; b++) recycle_buffer(b);
  __atomic_store_n(&cbr->tail, cbr_tail, __ATOMIC_RELEASE);
  c_tail = *sq_tail;
  for (int i = 0; i < n; i++) {
    arm_recv(i);
    if (c_queued == ring_n) client_enter(0);
  }
  long frames = 0;
  while (open) {
    client_enter(wait);
    S->cl[k].wakes++;
    long now = now_ns(); /* as with epoll: completions reaped together share their receive time */
    unsigned h = *cq_head;
    for (; h != __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE); h++) {
      struct io_uring_cqe *q = &cqes[h & *cq_mask];
      struct conn *x = &c[q->user_data];
      if (q->res == -ENOBUFS) { arm_recv(q->user_data); continue; } /* all buffers in use: re-arm */
      if (q->res <= 0) { /* the server's shutdown(SHUT_WR), or an error */
        if (q->res < 0) S->cl[k].errs++;
        if (x->have) S->cl[k].bad++;
        close(x->fd), open--;
        continue;
      }
      unsigned bid = q->flags >> IORING_CQE_BUFFER_SHIFT;
      frames += account(k, x, cbufs + (size_t)bid * CBUFSZ, q->res, now);
      recycle_buffer(bid);
      if (!(q->flags & IORING_CQE_F_MORE)) arm_recv(q->user_data); /* the multishot ended */
    }
    __atomic_store_n(&cbr->tail, cbr_tail, __ATOMIC_RELEASE);
    __atomic_store_n(cq_head, h, __ATOMIC_RELEASE);
    __atomic_store_n(&S->cl[k].frames, frames, __ATOMIC_RELEASE);
  }
  _exit(0);
}

/* ---- server ----------------------------------------------------------------------------- */

/* CPU time of one task: /proc/PID/schedstat is exact (the scheduler's runtime, in ns). */
static long task_ns(int pid) {
  char path[64];
  long ns = 0;
  snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
  FILE *f = fopen(path, "r");
  if (f && fscanf(f, "%ld", &ns) != 1) ns = 0;
  if (f) fclose(f);
  return ns;
}

/* Loopback receive work that the kernel defers to ksoftirqd (when softirqs pile up) is charged to
 * no process, so neither here nor in `npm run bench`: report it beside the server's figure. */
static int nks, ks_pid[256];
static long ksoftirqd_ns(void) {
  if (!nks) {
    DIR *d = opendir("/proc");
    char path[300], comm[32];
    for (struct dirent *e; d && (e = readdir(d)) && nks < 256;) {
      snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
      FILE *f = atoi(e->d_name) > 0 ? fopen(path, "r") : NULL;
      if (f && fgets(comm, sizeof comm, f) && !strncmp(comm, "ksoftirqd/", 10))
        ks_pid[nks++] = atoi(e->d_name);
      if (f) fclose(f);
    }
    if (d) closedir(d);
  }
  long sum = 0;
  for (int i = 0; i < nks; i++) sum += task_ns(ks_pid[i]);
  return sum;
}

/* What else ran: machine idle time (/proc/stat idle + iowait, exact on tickless kernels, whereas
 * its busy columns are tick samples that phase-lock with a periodic load), clients, ksoftirqd. */
struct snap { long idle, clients, ksoftirqd; };
static void snap(struct snap *s, int K, const pid_t *pids) {
  long v[5] = { 0 };
  FILE *f = fopen("/proc/stat", "r");
  if (f && fscanf(f, "cpu %ld %ld %ld %ld %ld", v, v + 1, v + 2, v + 3, v + 4) != 5) v[3] = v[4] = 0;
  if (f) fclose(f);
  s->idle = (v[3] + v[4]) * (1000000000L / sysconf(_SC_CLK_TCK)), s->clients = 0;
  for (int k = 0; k < K; k++) s->clients += task_ns(pids[k]);
  s->ksoftirqd = ksoftirqd_ns();
}

static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }
static long received(int K) {
  long r = 0;
  for (int k = 0; k < K; k++) r += __atomic_load_n(&S->cl[k].frames, __ATOMIC_ACQUIRE);
  return r;
}
static int cmp_u(const void *a, const void *b) {
  return (*(unsigned *)a > *(unsigned *)b) - (*(unsigned *)a < *(unsigned *)b);
}
static double pct(unsigned long *h, unsigned long total, double q) { /* ms, bucket upper bound */
  unsigned long acc = 0, want = total * q;
  for (int i = 0; i < HB; i++)
    if ((acc += h[i]) > want) return (i + 1) / 100.0;
  return HB / 100.0;
}

int main(int argc, char **argv) {
  char scen = 'a';
  int mode = M_WRITE, B = 0, K = 2, window = 16, N = 0, C = 0, P = 1, cio = 0, cwait = 1;
  double secs = 10, warm = 1, rate = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *o = argv[i], *v = argv[i + 1];
    if (!strcmp(o, "--scenario")) scen = v[0];
    else if (!strcmp(o, "--mode"))
      mode = !strcmp(v, "write") ? M_WRITE : !strcmp(v, "writev") ? M_WRITEV
           : !strcmp(v, "uring") ? M_URING : -1;
    else if (!strcmp(o, "--seconds")) secs = atof(v);
    else if (!strcmp(o, "--warmup")) warm = atof(v);
    else if (!strcmp(o, "--batch")) B = atoi(v);
    else if (!strcmp(o, "--clients")) K = atoi(v);
    else if (!strcmp(o, "--window")) window = atoi(v);
    else if (!strcmp(o, "--subs")) N = atoi(v);
    else if (!strcmp(o, "--channels")) C = atoi(v);
    else if (!strcmp(o, "--rate")) rate = atof(v);
    else if (!strcmp(o, "--servers")) P = atoi(v);
    else if (!strcmp(o, "--client-io")) cio = !strcmp(v, "epoll") ? 0 : !strcmp(v, "uring") ? 1 : -1;
    else if (!strcmp(o, "--client-wait")) cwait = atoi(v);
    else mode = -1;
  }
  if (argc % 2 == 0) mode = -1; /* an option without its value */
  int dN = scen == 'a' ? 1000 : scen == 'b' ? 5000 : scen == 'g' ? 18000 : 2000, dC = scen == 'b' ? 50 : 1;
  double dR = scen == 'a' ? 20 : scen == 'b' ? 100 : scen == 'g' ? 2 : 0; /* 0 = back-to-back (saturation) */
  N = N ? N : dN, C = C ? C : dC, rate = rate >= 0 ? rate : dR;
  B = B ? B : mode == M_WRITEV ? 8 : 1;
  if (mode < 0 || !scen || !strchr("abeg", scen) || N < 1 || C < 1 || N % C || K < 1 || K > MAXCL ||
      B < 1 || B > MAXB || (B > 1 && rate > 0) || (mode == M_WRITE && B > 1) || window < B ||
      P < 1 || P > MAXSV || (P > 1 && (rate <= 0 || N % (C * P))) || cio < 0 || cwait < 1) {
    fprintf(stderr, "usage: %s --scenario a|b|e|g --mode write|writev|uring [--seconds S] "
            "[--warmup S] [--batch B (saturation only)] [--clients K<=%d] [--window W>=B] "
            "[--subs N --channels C (N%%C==0) --rate R/s (0 = back-to-back)] "
            "[--servers P<=%d (paced only, N%%(C*P)==0)] [--client-io epoll|uring] [--client-wait W]\n",
            argv[0], MAXCL, MAXSV);
    return 2;
  }
  /* 5,000 sockets per side: take the whole hard limit (the shell's ulimit -n may be lower). */
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl), rl.rlim_cur = rl.rlim_max, setrlimit(RLIMIT_NOFILE, &rl);

  S = mmap(0, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (S == MAP_FAILED) die("mmap");
  S->measure_from = 1L << 62;
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t sl = sizeof sa;
  if (bind(ls, (void *)&sa, sizeof sa) || listen(ls, 4096) || getsockname(ls, (void *)&sa, &sl))
    die("listen");
  pid_t pids[MAXCL];
  for (int k = 0; k < K; k++)
    if ((pids[k] = fork()) == 0) {
      close(ls);
      if (cio) client_uring(k, N / K + (k < N % K), &sa, cwait);
      else client(k, N / K + (k < N % K), &sa);
    }
    else if (pids[k] < 0) die("fork");

  alarm(60); /* a client that failed to connect would leave accept() waiting forever */
  int *fds = malloc(N * sizeof *fds), per = N / C, *subs = malloc(N * sizeof *subs);
  for (int i = 0; i < N; i++) {
    if ((fds[i] = accept(ls, 0, 0)) < 0) die("accept");
    setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as ws does */
    subs[(i % C) * per + i / C] = i; /* subscriber i is on channel i % C; subs is grouped by channel */
  }
  /* --servers: every server process keeps every fd but sends only to its share of each channel. */
  long t0 = now_ns() + 50000000L; /* one schedule for all servers, after their rings are set up */
  int slot = 0;
  pid_t spids[MAXSV];
  for (int s = 1; s < P && !slot; s++)
    if ((spids[s] = fork()) == 0) slot = s;
    else if (spids[s] < 0) die("fork");
  if (P > 1) {
    int mine = 0;
    for (int i = 0; i < N; i++)
      if (i % per % P == slot) subs[mine++] = subs[i]; /* keeps the grouping by channel */
    per /= P;
  }
  if (mode == M_URING && ring_init(per < 4096 ? per : 4096, fds, N)) {
    perror("io_uring unavailable");
    printf("| %c | uring | io_uring unavailable | | | | | | | | |\n", scen);
    return 3;
  }
  alarm(warm + secs + 60);

  unsigned char frames[MAXB * FRAME];
  struct iovec iov[MAXB];
  for (int b = 0; b < B; b++) iov[b] = (struct iovec){ frames + b * FRAME, FRAME };
  long seq = 0, sent = 0, sent0 = 0, waits = 0, tm = 0;
  long t_meas = t0 + (long)(warm * 1e9), t_end = t_meas + (long)(secs * 1e9), next = t0;
  struct rusage r0, r1;
  struct snap s0 = { 0 }, s1;
  for (int round = 0;; round++) {
    long now;
    if (rate > 0) { /* open loop: event k at t0 + k/rate; phases follow the schedule, not the clock */
      struct timespec ts = { next / 1000000000L, next % 1000000000L };
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
      now = next, next = t0 + (long)((round + 1) * 1e9 / rate);
    } else { /* closed loop: keep at most `window` events per subscriber unread */
      while (sent - received(K) + (long)B * per > (long)window * per * C) {
        struct timespec ts = { 0, 50000 };
        nanosleep(&ts, NULL), waits++;
      }
      now = now_ns();
    }
    if (!tm && now >= t_meas) {
      if (!slot) __atomic_store_n(&S->measure_from, seq, __ATOMIC_RELEASE);
      snap(&s0, K, pids); /* before r0: outside the measured window */
      getrusage(RUSAGE_SELF, &r0), tm = now_ns(), sent0 = sent;
    }
    if (now >= t_end) break;
    const int *ch = subs + (round % C) * per; /* round-robin over channels */
    for (int b = 0; b < B; b++) build_frame(frames + b * FRAME, seq++);
    if (mode == M_URING) send_uring(ch, per, fds, frames, iov, B);
    else /* blocking sockets: a short write only happens on a signal, but keep the stream intact */
      for (int i = 0; i < per; i++) {
        int fd = fds[ch[i]];
        ssize_t w = B == 1 ? write(fd, frames, FRAME) : writev(fd, iov, B);
        if (w != B * FRAME) write_all(fd, frames + (w > 0 ? w : 0), B * FRAME - (w > 0 ? w : 0));
      }
    sent += (long)B * per;
  }
  getrusage(RUSAGE_SELF, &r1);
  if (slot) { /* a secondary server: hand over its totals, leave the report to the first */
    S->sv[slot].sent = sent, S->sv[slot].measured = sent - sent0;
    S->sv[slot].cpu_ns = (long)((tv(r1.ru_utime) + tv(r1.ru_stime) - tv(r0.ru_utime) - tv(r0.ru_stime)) * 1e9);
    S->sv[slot].life_ns = (long)((tv(r1.ru_utime) + tv(r1.ru_stime)) * 1e9);
    _exit(0);
  }
  long others_cpu_ns = 0, others_life_ns = 0; /* the other servers' CPU, added to the first's: it has no user/sys split */
  for (int s = 1; s < P; s++) {
    int st;
    if (waitpid(spids[s], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) die("server process");
    sent += S->sv[s].sent, sent0 += S->sv[s].sent - S->sv[s].measured, others_cpu_ns += S->sv[s].cpu_ns;
    others_life_ns += S->sv[s].life_ns; /* waited for: counted in RUSAGE_CHILDREN with the clients */
  }
  snap(&s1, K, pids);
  long d = sent - sent0 ? sent - sent0 : 1, from = S->measure_from, last = seq;
  long wall_ns = now_ns() - tm;
  double wall = wall_ns / 1e9, ks = (s1.ksoftirqd - s0.ksoftirqd) / 1e3 / d;

  /* End of stream: clients read to EOF on every socket, so lost = sent - received is exact. */
  for (int i = 0; i < N; i++) shutdown(fds[i], SHUT_WR);
  long errs = 0, bad = 0, order = 0, wakes = 0;
  for (int k = 0; k < K; k++) {
    int st;
    if (waitpid(pids[k], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) errs++;
    bad += S->cl[k].bad, order += S->cl[k].order, errs += S->cl[k].errs, wakes += S->cl[k].wakes;
  }
  long lost = sent - received(K);
  struct rusage rc;
  getrusage(RUSAGE_CHILDREN, &rc);

  static unsigned long h[HB];
  unsigned long hn = 0;
  for (int k = 0; k < K; k++)
    for (int i = 0; i < HB; i++) h[i] += S->hist[k][i], hn += S->hist[k][i];
  /* Fan-out time of an event = publish -> its last delivery, whichever client had it. */
  long ne = (last < MAXEV ? last : MAXEV) - from;
  if (ne < 0) ne = 0;
  unsigned *ev = calloc(ne > 0 ? ne : 1, sizeof *ev);
  for (long e = 0; e < ne; e++)
    for (int k = 0; k < K; k++) if (S->evmax[k][from + e] > ev[e]) ev[e] = S->evmax[k][from + e];
  qsort(ev, ne, sizeof *ev, cmp_u);

  double us = (tv(r1.ru_utime) - tv(r0.ru_utime)) * 1e6 / d;
  double sy = ((tv(r1.ru_stime) - tv(r0.ru_stime)) * 1e6 + others_cpu_ns / 1e3) / d;
  double other = (wall_ns * sysconf(_SC_NPROCESSORS_ONLN) - (s1.idle - s0.idle) - (us + sy) * d * 1e3
                  - (s1.clients - s0.clients) - (s1.ksoftirqd - s0.ksoftirqd)) / wall_ns * 100;
  char mname[32];
  int mn = snprintf(mname, sizeof mname, B > 1 ? "%s ×%d" : "%s",
                    mode == M_URING ? "uring" : B > 1 ? "writev" : "write", B);
  if (P > 1) snprintf(mname + mn, sizeof mname - mn, " ×%d servers", P);
  printf("| %c | %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f / %.2f | %ld |\n", scen,
         mname, d / wall, us, sy, us + sy, ks, pct(h, hn, 0.5), pct(h, hn, 0.99),
         ne > 0 ? ev[ne / 2] / 1000.0 : 0, ne > 0 ? ev[ne - 1] / 1000.0 : 0, lost);
  fprintf(stderr, "%c %s: %d subs, %d ch, %ld events measured, %ld deliveries in %.2f s; server "
          "CPU %.0f%% of a core; clients %.2f us/delivery, %.1f deliveries per epoll_wait (all "
          "phases; per io_uring_enter with --client-io uring); closed-loop waits %ld; short uring sends %ld; other load %.0f%% of a core; "
          "bad frames %ld; out of order %ld; client errors %ld\n",
          scen, mname, N, C, last - from, d, wall, (us + sy) * d / wall / 1e4,
          ((tv(rc.ru_utime) + tv(rc.ru_stime)) * 1e6 - others_life_ns / 1e3) / sent, (double)sent / (wakes ? wakes : 1),
          waits, short_sends, other, bad, order, errs);
  return lost || bad || order || errs ? 1 : 0;
}
