/* A kernel TCP load generator and server for bench/tun/handshake_rate.sh (compiled by the script with the
 * system C compiler; no dependencies).
 *
 *   handshake_load client ADDR PORT INFLIGHT SECONDS COUNT rst|fin
 *     keeps INFLIGHT non-blocking connect()s to ADDR:PORT in flight (epoll); each connection that completes
 *     its handshake is closed at once, with RST (SO_LINGER {1, 0}) or FIN (plain close). Stops after COUNT
 *     completed handshakes or SECONDS seconds, whichever comes first (both bounds always apply), then
 *     prints one line: "handshakes N errors E seconds S rate R".
 *   handshake_load server ADDR PORT SECONDS
 *     the kernel's own discard server: accepts, reads until EOF or error, closes; exits after SECONDS.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char* text, int port, struct sockaddr_in* out) {
  memset(out, 0, sizeof(*out));
  out->sin_family = AF_INET;
  out->sin_port = htons((unsigned short)port);
  return inet_pton(AF_INET, text, &out->sin_addr) == 1 ? 0 : -1;
}

static int start_connect(int ep, const struct sockaddr_in* to, long* errors) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (const struct sockaddr*)to, sizeof(*to)) < 0 && errno != EINPROGRESS) {
      ++*errors; /* EADDRNOTAVAIL: every ephemeral port busy for now */
      close(fd);
      continue;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
      close(fd);
      return -1;
    }
    return 0;
  }
  return -1;
}

static int client(const char* addr, int port, int inflight, double seconds, long count, int rst) {
  struct sockaddr_in to;
  if (parse_addr(addr, port, &to) < 0) return 2;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  long done = 0, errors = 0, started = 0, open = 0;
  const double t0 = now_s(), end = t0 + seconds;
  for (; open < inflight && started < count; ++open, ++started) {
    if (start_connect(ep, &to, &errors) < 0) return 1;
  }
  struct epoll_event events[256];
  while (open > 0) {
    if (now_s() >= end) break;
    int n = epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd, err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        ++done;
        if (rst) {
          struct linger lg = {.l_onoff = 1, .l_linger = 0};
          setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
      } else {
        ++errors;
      }
      close(fd); /* also removes it from the epoll set */
      --open;
      if (started < count) {
        if (start_connect(ep, &to, &errors) < 0) return 1;
        ++open;
        ++started;
      }
    }
  }
  const double took = now_s() - t0;
  printf("handshakes %ld errors %ld seconds %.3f rate %.0f\n", done, errors, took, (double)done / took);
  return 0;
}

static int server(const char* addr, int port, double seconds) {
  struct sockaddr_in at;
  if (parse_addr(addr, port, &at) < 0) return 2;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(l, (struct sockaddr*)&at, sizeof(at)) < 0 || listen(l, 4096) < 0) {
    perror("server");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  const double end = now_s() + seconds;
  long accepted = 0;
  char buf[4096];
  struct epoll_event events[256];
  while (now_s() < end) {
    int n = epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == l) {
        for (int k = 0; k < 256; ++k) {
          int c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          ++accepted;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t r;
      while ((r = read(fd, buf, sizeof(buf))) > 0) {
      }
      if (r == 0 || (r < 0 && errno != EAGAIN)) close(fd);
    }
  }
  printf("accepted %ld\n", accepted);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 8 && strcmp(argv[1], "client") == 0) {
    return client(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]), atol(argv[6]),
                  strcmp(argv[7], "rst") == 0);
  }
  if (argc == 5 && strcmp(argv[1], "server") == 0) return server(argv[2], atoi(argv[3]), atof(argv[4]));
  fprintf(stderr, "usage: %s client ADDR PORT INFLIGHT SECONDS COUNT rst|fin | server ADDR PORT SECONDS\n",
          argv[0]);
  return 2;
}
