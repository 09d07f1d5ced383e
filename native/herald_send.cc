// herald_send: the optional native send path of Herald's WebSocket fan-out (docs/operations.md,
// "Native send path"). One call sends the queued frames of up to 1024 sockets of an event-loop pass
// (the JavaScript side calls once per 1024, so the first sockets do not wait for the last ones):
//
//   io_uring: one SEND/SENDMSG entry per socket, all submitted (and reaped) with one
//             io_uring_enter() per ring-full, i.e. one syscall for the call;
//   send:     one send()/sendmsg() per socket, but one JS->C call for up to 1024 of them (no
//             stream code).
//
// Every send is non-blocking (MSG_DONTWAIT): it takes what the kernel's socket buffer accepts
// right now and completes inside the call, so when send() returns nothing refers to the caller's
// buffers any more and no byte can be written later behind Node's back. What was not taken (a
// partial write, EAGAIN, EPIPE, ECONNRESET...) is reported per socket and the JavaScript side
// hands the remainder to Node, which then owns the socket's byte stream again.
//
// Node-API only (NAPI_VERSION 8): one build serves every Node version Herald supports.
// No liburing: raw io_uring_setup/io_uring_enter and mmap with the kernel's own header.
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdio.h>
#include <linux/io_uring.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <vector>

namespace {

constexpr int kSendFlags = MSG_DONTWAIT | MSG_NOSIGNAL;
constexpr unsigned kRingEntries = 1024;
// A socket sends at most this many frames per call; the rest is reported unwritten (handed back).
constexpr int kMaxFramesPerSocket = 64;

enum Mode { kNone = 0, kUring = 1, kSend = 2 };

struct Ring {
  int fd = -1;
  unsigned entries = 0;
  unsigned *sq_head = nullptr, *sq_tail = nullptr, *sq_mask = nullptr, *sq_array = nullptr;
  unsigned *cq_head = nullptr, *cq_tail = nullptr, *cq_mask = nullptr;
  io_uring_sqe *sqes = nullptr;
  io_uring_cqe *cqes = nullptr;
  void *sq_map = MAP_FAILED, *cq_map = MAP_FAILED;
  size_t sq_len = 0, cq_len = 0, sqes_len = 0;
};

// One per Node-API environment (main thread or worker): SINGLE_ISSUER rings belong to one thread.
struct State {
  Mode mode = kNone;
  Ring ring;
  // Per call scratch, kept between calls so a pass allocates nothing once they have grown.
  std::vector<iovec> iov;
  std::vector<msghdr> msgs;
  std::vector<const unsigned char *> data;
  std::vector<size_t> lengths;
};

template <typename T>
T load_acquire(const T *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
template <typename T>
void store_release(T *p, T v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

int ring_enter(int fd, unsigned submit, unsigned wait, unsigned flags) {
  return (int)syscall(__NR_io_uring_enter, fd, submit, wait, flags, nullptr, 0);
}

void ring_close(Ring &r) {
  if (r.sqes) munmap(r.sqes, r.sqes_len);
  if (r.cq_map != MAP_FAILED) munmap(r.cq_map, r.cq_len);
  if (r.sq_map != MAP_FAILED) munmap(r.sq_map, r.sq_len);
  if (r.fd >= 0) close(r.fd);
  r = Ring();
}

// Returns 0 or an errno.
int ring_open(Ring &r, unsigned entries) {
  io_uring_params p;
  // DEFER_TASKRUN|SINGLE_ISSUER (6.1+): completion work runs in our own io_uring_enter(), never
  // as task_work interrupting the event loop; SUBMIT_ALL (5.18+): one bad entry does not stop the
  // rest. Older kernels get a plain ring.
  const unsigned attempts[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_SUBMIT_ALL, 0};
  int fd = -1, err = ENOSYS;
  for (unsigned flags : attempts) {
    memset(&p, 0, sizeof p);
    p.flags = flags;
    fd = (int)syscall(__NR_io_uring_setup, entries, &p);
    if (fd >= 0) break;
    err = errno;
    if (err != EINVAL) break;  // ENOSYS, EPERM (seccomp, io_uring_disabled), ENOMEM: give up
  }
  if (fd < 0) return err;
  r.fd = fd;
  r.entries = p.sq_entries;
  r.sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r.cq_len = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  r.sqes_len = p.sq_entries * sizeof(io_uring_sqe);
  r.sq_map = mmap(nullptr, r.sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                  IORING_OFF_SQ_RING);
  r.cq_map = mmap(nullptr, r.cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                  IORING_OFF_CQ_RING);
  void *sqes = mmap(nullptr, r.sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                    IORING_OFF_SQES);
  if (r.sq_map == MAP_FAILED || r.cq_map == MAP_FAILED || sqes == MAP_FAILED) {
    err = errno;
    if (sqes != MAP_FAILED) munmap(sqes, r.sqes_len);
    ring_close(r);
    return err;
  }
  char *sq = static_cast<char *>(r.sq_map), *cq = static_cast<char *>(r.cq_map);
  r.sqes = static_cast<io_uring_sqe *>(sqes);
  r.sq_head = reinterpret_cast<unsigned *>(sq + p.sq_off.head);
  r.sq_tail = reinterpret_cast<unsigned *>(sq + p.sq_off.tail);
  r.sq_mask = reinterpret_cast<unsigned *>(sq + p.sq_off.ring_mask);
  r.sq_array = reinterpret_cast<unsigned *>(sq + p.sq_off.array);
  r.cq_head = reinterpret_cast<unsigned *>(cq + p.cq_off.head);
  r.cq_tail = reinterpret_cast<unsigned *>(cq + p.cq_off.tail);
  r.cq_mask = reinterpret_cast<unsigned *>(cq + p.cq_off.ring_mask);
  r.cqes = reinterpret_cast<io_uring_cqe *>(cq + p.cq_off.cqes);
  return 0;
}

void fill_sqe(Ring &r, unsigned tail, int fd, const msghdr *msg, const void *buf, size_t len,
              unsigned long long user) {
  unsigned slot = tail & *r.sq_mask;
  io_uring_sqe *s = &r.sqes[slot];
  memset(s, 0, sizeof *s);
  s->fd = fd;
  s->msg_flags = kSendFlags;  // MSG_DONTWAIT: EAGAIN completes now, never armed for later
  if (msg) {
    s->opcode = IORING_OP_SENDMSG;
    s->addr = (unsigned long long)(uintptr_t)msg;
    s->len = 1;
  } else {
    s->opcode = IORING_OP_SEND;
    s->addr = (unsigned long long)(uintptr_t)buf;
    s->len = (unsigned)len;
  }
  s->user_data = user;
  r.sq_array[slot] = slot;
}

// Submits `count` prepared entries starting at the current tail and waits for all of them.
// Returns 0, or an errno when the ring itself failed (entries not consumed are withdrawn).
int ring_submit_all(Ring &r, unsigned first_tail, unsigned count, int *results) {
  store_release(r.sq_tail, first_tail + count);
  unsigned to_submit = count, got = 0;
  while (got < count) {
    int ret = ring_enter(r.fd, to_submit, count - got, IORING_ENTER_GETEVENTS);
    if (ret < 0) {
      int err = errno;
      if (err != EINTR && err != EAGAIN && err != EBUSY) {
        // Withdraw what the kernel did not take so no stale entry is submitted later.
        store_release(r.sq_tail, load_acquire(r.sq_head));
        return err;
      }
    } else {
      to_submit -= (unsigned)ret < to_submit ? (unsigned)ret : to_submit;
    }
    unsigned head = *r.cq_head, tail = load_acquire(r.cq_tail);
    for (; head != tail; head++, got++) {
      const io_uring_cqe *c = &r.cqes[head & *r.cq_mask];
      results[c->user_data] = c->res;
    }
    store_release(r.cq_head, head);
  }
  return 0;
}

int plain_send(int fd, const msghdr *msg, const void *buf, size_t len) {
  for (;;) {
    ssize_t w = msg ? sendmsg(fd, msg, kSendFlags) : send(fd, buf, len, kSendFlags);
    if (w >= 0) return (int)w;
    if (errno != EINTR) return -errno;
  }
}

// Checks that this kernel completes a send to a full socket with EAGAIN at once (MSG_DONTWAIT
// honoured by io_uring) instead of parking it: a parked send would write bytes after the call
// returned, behind Node's back. Returns 0 when io_uring behaves, else an errno.
int ring_self_test(Ring &r) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) return errno;
  int small = 4096, err = 0;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  static const unsigned char fill[4096] = {0};
  int res = 0;
  // 1. an ordinary send arrives complete
  unsigned tail = *r.sq_tail;
  fill_sqe(r, tail, sv[0], nullptr, fill, 1, 0);
  err = ring_submit_all(r, tail, 1, &res);
  if (!err && res != 1) err = res < 0 ? -res : EIO;
  // 2. fill the socket, then a send must complete with EAGAIN without waiting
  while (!err && send(sv[0], fill, sizeof fill, kSendFlags) > 0) {
  }
  if (!err) {
    tail = *r.sq_tail;
    fill_sqe(r, tail, sv[0], nullptr, fill, 1, 0);
    store_release(r.sq_tail, tail + 1);
    if (ring_enter(r.fd, 1, 0, IORING_ENTER_GETEVENTS) < 0) err = errno;
    unsigned head = *r.cq_head;
    if (!err && head == load_acquire(r.cq_tail)) err = EINPROGRESS;  // parked: unusable
    if (!err && r.cqes[head & *r.cq_mask].res != -EAGAIN) err = EPROTO;
    if (!err) store_release(r.cq_head, head + 1);
  }
  close(sv[0]);
  close(sv[1]);
  return err;
}

// ---- Node-API ------------------------------------------------------------------------------

napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}

#define CHECK(call)                                        \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      napi_throw_error(env, nullptr, "herald_send: " #call); \
      return nullptr;                                      \
    }                                                      \
  } while (0)

State *state_of(napi_env env) {
  void *data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<State *>(data);
}

void free_state(napi_env, void *data, void *) {
  State *s = static_cast<State *>(data);
  ring_close(s->ring);
  delete s;
}

// open(mode: 'io_uring' | 'send'): the mode in use. Throws when io_uring was asked for and the
// kernel refuses it (ENOSYS, EPERM from seccomp or kernel.io_uring_disabled...).
napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  char mode[16] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], mode, sizeof mode, &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "open(mode): mode must be 'io_uring' or 'send'");
    return nullptr;
  }
  State *s = state_of(env);
  ring_close(s->ring);
  s->mode = kNone;
  if (!strcmp(mode, "io_uring")) {
    int err = ring_open(s->ring, kRingEntries);
    if (err) return throw_errno(env, "io_uring_setup", err);
    err = ring_self_test(s->ring);
    if (err) {
      ring_close(s->ring);
      return throw_errno(env, "io_uring self-test", err);
    }
    s->mode = kUring;
  } else if (!strcmp(mode, "send")) {
    s->mode = kSend;
  } else {
    napi_throw_type_error(env, nullptr, "open(mode): mode must be 'io_uring' or 'send'");
    return nullptr;
  }
  napi_value out;
  CHECK(napi_create_string_utf8(env, mode, NAPI_AUTO_LENGTH, &out));
  return out;
}

// send(slots: Int32Array, sockets: number, buffers: Buffer[], results: Int32Array): undefined
//   slots: per socket [fd, frameCount, bufferIndex × frameCount], sockets after one another;
//   results[i]: bytes the kernel took for socket i (all, some, or 0), or -errno.
// Throws only when the ring itself fails; then nothing was sent that is not in `results`.
napi_value Send(napi_env env, napi_callback_info info) {
  State *s = state_of(env);
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 4 || s->mode == kNone) {
    napi_throw_error(env, nullptr, "send(slots, sockets, buffers, results) before open()");
    return nullptr;
  }
  napi_typedarray_type type;
  size_t slot_len = 0, result_len = 0;
  void *slot_data = nullptr, *result_data = nullptr;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &slot_len, &slot_data, nullptr, nullptr));
  if (type != napi_int32_array) return napi_throw_type_error(env, nullptr, "slots: Int32Array"), nullptr;
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &result_len, &result_data, nullptr, nullptr));
  if (type != napi_int32_array) return napi_throw_type_error(env, nullptr, "results: Int32Array"), nullptr;
  int32_t sockets = 0;
  CHECK(napi_get_value_int32(env, argv[1], &sockets));
  uint32_t nbuf = 0;
  CHECK(napi_get_array_length(env, argv[2], &nbuf));
  if (sockets < 0 || (size_t)sockets > result_len) {
    napi_throw_range_error(env, nullptr, "more sockets than results");
    return nullptr;
  }
  const int32_t *slots = static_cast<const int32_t *>(slot_data);
  int32_t *results = static_cast<int32_t *>(result_data);

  s->data.resize(nbuf);
  s->lengths.resize(nbuf);
  for (uint32_t i = 0; i < nbuf; i++) {
    napi_value el;
    void *p = nullptr;
    size_t n = 0;
    CHECK(napi_get_element(env, argv[2], i, &el));
    bool is_buffer = false;
    CHECK(napi_is_buffer(env, el, &is_buffer));
    if (!is_buffer) return napi_throw_type_error(env, nullptr, "buffers: Buffer[]"), nullptr;
    CHECK(napi_get_buffer_info(env, el, &p, &n));
    s->data[i] = static_cast<const unsigned char *>(p);
    s->lengths[i] = n;
  }

  // First pass: validate the layout and count iovecs, so the vectors never move afterwards
  // (entries point into them until the kernel has completed every send).
  size_t pos = 0, iov_total = 0;
  for (int32_t i = 0; i < sockets; i++) {
    if (pos + 2 > slot_len) return napi_throw_range_error(env, nullptr, "slots too short"), nullptr;
    int32_t frames = slots[pos + 1];
    if (frames < 1 || frames > kMaxFramesPerSocket || pos + 2 + frames > slot_len)
      return napi_throw_range_error(env, nullptr, "bad frame count"), nullptr;
    for (int32_t f = 0; f < frames; f++)
      if ((uint32_t)slots[pos + 2 + f] >= nbuf)
        return napi_throw_range_error(env, nullptr, "buffer index out of range"), nullptr;
    if (frames > 1) iov_total += frames;
    pos += 2 + frames;
    results[i] = 0;  // if the ring fails below, unreported sockets are handed back whole
  }
  s->iov.resize(iov_total);
  s->msgs.resize(sockets);

  Ring &r = s->ring;
  unsigned batch_tail = s->mode == kUring ? *r.sq_tail : 0, batch = 0;
  size_t iov_at = 0;
  pos = 0;
  for (int32_t i = 0; i < sockets; i++) {
    int fd = slots[pos];
    int32_t frames = slots[pos + 1];
    const int32_t *idx = slots + pos + 2;
    pos += 2 + frames;
    const msghdr *msg = nullptr;
    const void *buf = s->data[idx[0]];
    size_t len = s->lengths[idx[0]];
    if (frames > 1) {
      msghdr &m = s->msgs[i];
      memset(&m, 0, sizeof m);
      m.msg_iov = &s->iov[iov_at];
      m.msg_iovlen = frames;
      for (int32_t f = 0; f < frames; f++, iov_at++) {
        s->iov[iov_at].iov_base = const_cast<unsigned char *>(s->data[idx[f]]);
        s->iov[iov_at].iov_len = s->lengths[idx[f]];
      }
      msg = &m;
    }
    if (s->mode == kSend) {
      results[i] = plain_send(fd, msg, buf, len);
      continue;
    }
    fill_sqe(r, batch_tail + batch, fd, msg, buf, len, (unsigned long long)i);
    if (++batch == r.entries) {
      int err = ring_submit_all(r, batch_tail, batch, results);
      if (err) return throw_errno(env, "io_uring_enter", err);
      batch_tail += batch;
      batch = 0;
    }
  }
  if (batch) {
    int err = ring_submit_all(r, batch_tail, batch, results);
    if (err) return throw_errno(env, "io_uring_enter", err);
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  State *s = new State();
  if (napi_set_instance_data(env, s, free_state, nullptr) != napi_ok) {
    delete s;
    return nullptr;
  }
  napi_property_descriptor props[] = {
      {"open", nullptr, Open, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"send", nullptr, Send, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value max;
  napi_create_int32(env, kMaxFramesPerSocket, &max);
  napi_set_named_property(env, exports, "maxFramesPerSocket", max);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
