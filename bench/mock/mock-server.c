/*
 * The benchmark's user server: listens on the port of JUPYTERHUB_SERVICE_URL and answers every
 * HTTP request with 200 "ok", keeping connections alive. One process, one epoll loop, no
 * allocation per request, so that its own start costs about a millisecond and it never limits
 * a proxy measurement. It only understands requests without a body (GETs), which is all it gets.
 * Built at benchmark set-up by bench/lib/mock.ts: cc -O2 -o bench/out/mock-server mock-server.c
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char REPLY[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

/* Port from "http://127.0.0.1:PORT/prefix/". */
static int port_of(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  const char *colon = strchr(p, ':');
  if (!colon) return 80;
  return atoi(colon + 1);
}

int main(void) {
  const char *url = getenv("JUPYTERHUB_SERVICE_URL");
  if (!url) {
    fprintf(stderr, "mock-server: JUPYTERHUB_SERVICE_URL is not set\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)port_of(url));
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 1024) != 0) {
    perror("mock-server: bind/listen");
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  /* Per connection: how many bytes of a possible "\r\n\r\n" ended the last read. */
  static unsigned char tail[65536];
  struct epoll_event events[64];
  char buf[16384];
  for (;;) {
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          if (c >= (int)sizeof tail) { close(c); continue; }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          tail[c] = 0;
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t r;
      while ((r = read(fd, buf, sizeof buf)) > 0) {
        /* Count request ends ("\r\n\r\n"), carrying a partial match across reads. */
        static const char END[] = "\r\n\r\n";
        int m = tail[fd], requests = 0;
        for (ssize_t k = 0; k < r; k++) {
          if (buf[k] == END[m]) m++;
          else m = (buf[k] == '\r') ? 1 : 0;
          if (m == 4) { requests++; m = 0; }
        }
        tail[fd] = (unsigned char)m;
        for (int q = 0; q < requests; q++) {
          if (write(fd, REPLY, sizeof REPLY - 1) < 0) break;
        }
      }
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) close(fd);
    }
  }
}
