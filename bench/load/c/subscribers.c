/*
 * The subscriber side of the load generator in C: one epoll loop over up to ~19,000 raw TCP
 * subscribers, so that the generator costs a fraction of what the servers it measures cost (the Node
 * generator reached ~100% of its core near 100k events/s and so measured itself as much as them).
 *
 * Same behaviour as subscribers.ts, which drives it through bench/load/c-subscribers.ts: each
 * subscriber binds an explicit local port on its own 127.0.x.y source address, sends one GET, checks
 * for `HTTP/1.1 200`, then reads the `#b<seq>.<due µs>#` marker of every event straight from the
 * socket bytes (whatever the framing), counts lost and duplicate sequence numbers per subscriber and
 * records due-to-receive latency (CLOCK_MONOTONIC, the clock of the publisher's `nowUs()`) in the
 * same 2%-wide log buckets as histogram.ts. Per sequence number it also keeps the event's due time and
 * the first and the last time any of its subscribers read it (the report's `stages`): the time to the
 * first subscriber, and the spread of one event over all the sockets.
 *
 * Commands, one per line on stdin; answers, one JSON object per line on stdout:
 *   connect <host> <port> <firstIndex> <count> <sourceAddress> <path>...  -> {"type":"connected",...}
 *   expect <events>        -> {"type":"complete"} once every subscriber has the last event
 *   report                 -> {"type":"report",...,"histogram":{...},"cpuUs":...,"stages":{...}}
 *   close                  closes everything and exits
 *
 * Built by the bench with the machine's `cc` (no dependencies): cc -O2 -o <out> subscribers.c -lm
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 1200
#define SCALE 50
#define FIRST_LOCAL_PORT 10000
#define LAST_LOCAL_PORT 32000
#define CONNECT_WINDOW 400
#define HEAD_TIMEOUT_US 30000000LL
#define CARRY 48

enum state { IDLE, CONNECTING, WAITING_HEAD, OPEN, FAILED };

struct sub {
  int fd;
  int index;
  int attempts;
  enum state state;
  long long started_us;
  long long next; /* next expected sequence number */
  long long received, lost, duplicates;
  int carry_len;
  char carry[CARRY];
};

static struct sub *subs;
static int nsubs, started, settled, made, failed;
static int epfd;
static double histogram[BUCKETS];
static long long hist_total, max_us, last_us;
static long long expected = -1; /* -1: not told yet */
static int complete;
static char host[64], source[64];
static int port, first_index, next_port = FIRST_LOCAL_PORT;
static char **paths;
static int npaths;
static unsigned char readbuf[65536];
/* Per sequence number (index): due time, first and last receive time over all subscribers, in µs;
 * 0 when no subscriber has read it. Grown as sequence numbers arrive. */
static long long *seq_due, *seq_first, *seq_last;
static long long seq_cap, seq_len;

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void record(long long us) {
  double v = us < 1 ? 1 : (double)us;
  int i = (int)floor(log(v) * SCALE);
  if (i >= BUCKETS) i = BUCKETS - 1;
  histogram[i]++;
  hist_total++;
  if (us > max_us) max_us = us;
}

static void start(int k);

static void settle(struct sub *s, int ok) {
  if (ok) {
    made++;
    s->state = OPEN;
  } else {
    failed++;
    s->state = FAILED;
  }
  if (++settled == nsubs) {
    printf("{\"type\":\"connected\",\"made\":%d,\"failed\":%d}\n", made, failed);
    fflush(stdout);
  } else if (started < nsubs) {
    start(started++);
  }
}

static void fail(struct sub *s, const char *why) {
  fprintf(stderr, "subscriber %d: %s\n", s->index, why);
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  settle(s, 0);
}

static void start(int k) {
  struct sub *s = &subs[k];
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    s->fd = -1;
    fail(s, strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* A port whose last connection is in TIME_WAIT (a run that ended less than a minute ago, from the
   * same source address) may be bound again: the new connection goes to another server port. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in local = {.sin_family = AF_INET};
  inet_pton(AF_INET, source, &local.sin_addr);
  for (;;) {
    local.sin_port = htons(next_port++);
    if (next_port > LAST_LOCAL_PORT) next_port = FIRST_LOCAL_PORT;
    if (bind(fd, (struct sockaddr *)&local, sizeof local) == 0) break;
    /* Another program holds this port: try the next one. */
    if (errno != EADDRINUSE || ++s->attempts > 50) {
      s->fd = fd;
      fail(s, strerror(errno));
      return;
    }
  }
  struct sockaddr_in remote = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &remote.sin_addr);
  s->fd = fd;
  s->state = CONNECTING;
  s->started_us = now_us();
  if (connect(fd, (struct sockaddr *)&remote, sizeof remote) < 0 && errno != EINPROGRESS) {
    fail(s, strerror(errno));
    return;
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)k};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void send_request(struct sub *s) {
  const char *tmpl = paths[(first_index + (s - subs)) % npaths];
  char path[2048], req[2400], num[16];
  snprintf(num, sizeof num, "%d", s->index);
  size_t o = 0;
  for (const char *p = tmpl; *p && o < sizeof path - 16; p++) {
    if (strncmp(p, "{i}", 3) == 0) {
      o += (size_t)snprintf(path + o, sizeof path - o, "%s", num);
      p += 2;
    } else {
      path[o++] = *p;
    }
  }
  path[o] = 0;
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n\r\n", path,
                   host, port);
  if (write(s->fd, req, (size_t)n) != n) {
    fail(s, "request not sent");
    return;
  }
  s->state = WAITING_HEAD;
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(s - subs)};
  epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

static void stage(long long seq, long long due, long long at) {
  if (seq < 0 || seq > 100000000LL) return;
  if (seq >= seq_cap) {
    long long cap = seq_cap > 0 ? seq_cap : 1024;
    while (cap <= seq) cap *= 2;
    seq_due = realloc(seq_due, (size_t)cap * sizeof *seq_due);
    seq_first = realloc(seq_first, (size_t)cap * sizeof *seq_first);
    seq_last = realloc(seq_last, (size_t)cap * sizeof *seq_last);
    if (seq_due == NULL || seq_first == NULL || seq_last == NULL) {
      fprintf(stderr, "out of memory for %lld sequence numbers\n", cap);
      exit(1);
    }
    memset(seq_due + seq_cap, 0, (size_t)(cap - seq_cap) * sizeof *seq_due);
    memset(seq_first + seq_cap, 0, (size_t)(cap - seq_cap) * sizeof *seq_first);
    memset(seq_last + seq_cap, 0, (size_t)(cap - seq_cap) * sizeof *seq_last);
    seq_cap = cap;
  }
  if (seq >= seq_len) seq_len = seq + 1;
  if (seq_first[seq] == 0 || at < seq_first[seq]) seq_first[seq] = at;
  if (at > seq_last[seq]) seq_last[seq] = at;
  seq_due[seq] = due;
}

static void event(struct sub *s, long long seq, long long due, long long at) {
  if (seq < s->next) {
    s->duplicates++;
    return;
  }
  s->lost += seq - s->next;
  s->next = seq + 1;
  s->received++;
  record(at - due);
  stage(seq, due, at);
  if (expected >= 0 && s->next == expected) {
    last_us = now_us();
    if (++complete == nsubs - failed) {
      printf("{\"type\":\"complete\"}\n");
      fflush(stdout);
    }
  }
}

/* Reads the markers in buf[0, n); a marker cut by the end of a read is kept for the next one. */
static void feed(struct sub *s, const unsigned char *data, size_t n) {
  static unsigned char joined[sizeof readbuf + CARRY];
  const unsigned char *buf = data;
  if (s->carry_len > 0) {
    memcpy(joined, s->carry, (size_t)s->carry_len);
    memcpy(joined + s->carry_len, data, n);
    buf = joined;
    n += (size_t)s->carry_len;
    s->carry_len = 0;
  }
  long long at = 0;
  const unsigned char *end = buf + n;
  const unsigned char *p = buf;
  for (;;) {
    const unsigned char *m = memmem(p, (size_t)(end - p), "#b", 2);
    if (m == NULL) {
      if (n > 0 && end[-1] == '#') {
        s->carry[0] = '#';
        s->carry_len = 1;
      }
      return;
    }
    const unsigned char *j = m + 2;
    long long seq = 0, due = 0;
    while (j < end && *j >= '0' && *j <= '9') seq = seq * 10 + (*j++ - '0');
    j++; /* the '.' */
    while (j < end && *j >= '0' && *j <= '9') due = due * 10 + (*j++ - '0');
    if (j >= end) {
      size_t keep = (size_t)(end - m);
      if (keep <= CARRY) {
        memcpy(s->carry, m, keep);
        s->carry_len = (int)keep;
      }
      return;
    }
    if (at == 0) at = now_us();
    event(s, seq, due, at);
    p = j;
  }
}

static void readable(struct sub *s) {
  for (;;) {
    ssize_t n = read(s->fd, readbuf, sizeof readbuf);
    if (n > 0) {
      if (s->state == WAITING_HEAD) {
        if (n >= 12 && memcmp(readbuf, "HTTP/1.1 200", 12) == 0) {
          settle(s, 1);
        } else {
          char line[81];
          size_t l = 0;
          while (l < (size_t)n && l < 80 && readbuf[l] != '\r') line[l] = (char)readbuf[l], l++;
          line[l] = 0;
          fail(s, line);
          return;
        }
      }
      feed(s, readbuf, (size_t)n);
      if ((size_t)n < sizeof readbuf) return;
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      if (s->state == WAITING_HEAD || s->state == CONNECTING) {
        fail(s, "closed before a response");
      } else {
        epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
        close(s->fd);
        s->fd = -1;
        s->state = FAILED;
      }
      return;
    } else {
      return;
    }
  }
}

static void report(void) {
  long long received = 0, lost = 0, duplicates = 0;
  for (int k = 0; k < nsubs; k++) {
    struct sub *s = &subs[k];
    received += s->received;
    duplicates += s->duplicates;
    long long behind = (expected > s->next ? expected - s->next : 0);
    lost += s->lost + behind;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long long cpu = (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec +
                  (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
  printf("{\"type\":\"report\",\"received\":%lld,\"lost\":%lld,\"duplicates\":%lld,\"lastUs\":%lld,\"cpuUs\":%lld,"
         "\"histogram\":{\"maxUs\":%lld,\"buckets\":[",
         received, lost, duplicates, last_us, cpu, max_us);
  int first = 1;
  for (int i = 0; i < BUCKETS; i++) {
    if (histogram[i] > 0) {
      printf("%s[%d,%.0f]", first ? "" : ",", i, histogram[i]);
      first = 0;
    }
  }
  /* Per sequence number: due, first and last receive (µs, 0 when none arrived). */
  printf("]},\"stages\":{\"dueUs\":[");
  for (long long i = 0; i < seq_len; i++) printf("%s%lld", i ? "," : "", seq_due[i]);
  printf("],\"firstUs\":[");
  for (long long i = 0; i < seq_len; i++) printf("%s%lld", i ? "," : "", seq_first[i]);
  printf("],\"lastUs\":[");
  for (long long i = 0; i < seq_len; i++) printf("%s%lld", i ? "," : "", seq_last[i]);
  printf("]}}\n");
  fflush(stdout);
}

static char linebuf[1 << 16];
static size_t linelen;

static void command(char *line) {
  char *save = NULL;
  char *word = strtok_r(line, " ", &save);
  if (word == NULL) return;
  if (strcmp(word, "connect") == 0) {
    snprintf(host, sizeof host, "%s", strtok_r(NULL, " ", &save));
    port = atoi(strtok_r(NULL, " ", &save));
    first_index = atoi(strtok_r(NULL, " ", &save));
    nsubs = atoi(strtok_r(NULL, " ", &save));
    snprintf(source, sizeof source, "%s", strtok_r(NULL, " ", &save));
    paths = calloc(64, sizeof *paths);
    char *p;
    while (npaths < 64 && (p = strtok_r(NULL, " ", &save)) != NULL) paths[npaths++] = strdup(p);
    subs = calloc((size_t)(nsubs > 0 ? nsubs : 1), sizeof *subs);
    for (int k = 0; k < nsubs; k++) subs[k].fd = -1, subs[k].index = first_index + k;
    if (nsubs == 0) {
      printf("{\"type\":\"connected\",\"made\":0,\"failed\":0}\n");
      fflush(stdout);
    }
    while (started < nsubs && started < CONNECT_WINDOW) start(started++);
  } else if (strcmp(word, "expect") == 0) {
    expected = atoll(strtok_r(NULL, " ", &save));
    /* Subscribers that already have every event (or none is expected). Those that never connected
     * cannot get any: the wait is for the others, not until the caller's bound (they are reported
     * as failed, and their events as lost). */
    for (int k = 0; k < nsubs; k++)
      if (subs[k].next >= expected && expected >= 0) complete++;
    if (complete >= nsubs - failed) {
      printf("{\"type\":\"complete\"}\n");
      fflush(stdout);
    }
  } else if (strcmp(word, "report") == 0) {
    report();
  } else if (strcmp(word, "close") == 0) {
    exit(0);
  }
}

static void stdin_readable(void) {
  ssize_t n = read(0, linebuf + linelen, sizeof linebuf - linelen - 1);
  if (n <= 0) exit(0); /* the driver went away */
  linelen += (size_t)n;
  char *nl;
  while ((nl = memchr(linebuf, '\n', linelen)) != NULL) {
    *nl = 0;
    command(linebuf);
    size_t used = (size_t)(nl - linebuf) + 1;
    memmove(linebuf, nl + 1, linelen - used);
    linelen -= used;
  }
}

int main(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  epfd = epoll_create1(0);
  struct epoll_event in = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &in);
  struct epoll_event events[512];
  for (;;) {
    int n = epoll_wait(epfd, events, 512, settled < nsubs ? 1000 : -1);
    for (int e = 0; e < n; e++) {
      uint32_t k = events[e].data.u32;
      if (k == UINT32_MAX) {
        stdin_readable();
        continue;
      }
      struct sub *s = &subs[k];
      if (s->fd < 0) continue;
      if (s->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
          fail(s, strerror(err));
          continue;
        }
        if (events[e].events & EPOLLOUT) send_request(s);
        continue;
      }
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readable(s);
    }
    if (settled < nsubs) {
      long long now = now_us();
      for (int k = 0; k < started; k++) {
        struct sub *s = &subs[k];
        if ((s->state == CONNECTING || s->state == WAITING_HEAD) && now - s->started_us > HEAD_TIMEOUT_US) {
          epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
          fail(s, "no response within 30000 ms");
        }
      }
    }
  }
}
