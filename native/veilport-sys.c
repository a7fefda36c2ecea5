/*
 * veilport-sys: the few system calls Node cannot make.
 *
 *   veilport-sys notify          Relay to systemd: reads NUL-terminated messages on stdin
 *                                ("READY=1", "WATCHDOG=1", "STATUS=...") and sends each
 *                                as one datagram to $NOTIFY_SOCKET. Lives as long as the
 *                                daemon (it exits when stdin closes), so systemd can
 *                                always attribute its datagrams to the service's cgroup
 *                                (a short-lived systemd-notify may exit before systemd
 *                                reads its message, which is then dropped).
 *                                The unit needs NotifyAccess=all: the sender is this
 *                                child, not the main PID.
 *   veilport-sys listen PATH     Binds a datagram socket at PATH (a leading '@' means the
 *                                abstract namespace) and prints every datagram received
 *                                as one line "<monotonic ms> <text>", newlines as "\n".
 *                                Prints "listening" first. For tests and for debugging.
 *   veilport-sys clock           The kernel's clock discipline (adjtimex, read only) as
 *                                JSON: whether an NTP client has synchronised it.
 *                                timedatectl's NTPSynchronized is derived from the same.
 *
 * Exit codes: 0 done, 1 system error, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int socket_address(const char *path, struct sockaddr_un *sa, socklen_t *len) {
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof(sa->sun_path)) return -1;
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, n);
  if (path[0] == '@') sa->sun_path[0] = '\0';
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  return 0;
}

static int cmd_notify(void) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) {
    fprintf(stderr, "veilport-sys: notify: NOTIFY_SOCKET is not set\n");
    return 2;
  }
  struct sockaddr_un sa;
  socklen_t salen;
  if (socket_address(path, &sa, &salen) < 0) {
    fprintf(stderr, "veilport-sys: notify: unusable NOTIFY_SOCKET \"%s\"\n", path);
    return 2;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("veilport-sys: notify: socket");
    return 1;
  }
  char *msg = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getdelim(&msg, &cap, '\0', stdin)) > 0) {
    if (msg[n - 1] == '\0') n--;
    if (n == 0) continue;
    if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0) {
      /* systemd may be re-executing; the next message tries again. */
      fprintf(stderr, "veilport-sys: notify: send to %s failed: %s\n", path, strerror(errno));
    }
  }
  free(msg);
  close(fd);
  return 0;
}

static int cmd_listen(const char *path) {
  struct sockaddr_un sa;
  socklen_t salen;
  if (socket_address(path, &sa, &salen) < 0) {
    fprintf(stderr, "veilport-sys: listen: unusable path \"%s\"\n", path);
    return 2;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("veilport-sys: listen: socket");
    return 1;
  }
  if (path[0] != '@') unlink(path);
  if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
    fprintf(stderr, "veilport-sys: listen: bind %s: %s\n", path, strerror(errno));
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("listening\n");
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("veilport-sys: listen: recv");
      return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("%lld ", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == '\n') fputs("\\n", stdout);
      else if (buf[i] == '\\') fputs("\\\\", stdout);
      else if ((unsigned char)buf[i] < 0x20) printf("\\x%02x", (unsigned char)buf[i]);
      else putchar(buf[i]);
    }
    putchar('\n');
  }
}

static int cmd_clock(void) {
  struct timex tx;
  memset(&tx, 0, sizeof(tx));
  int state = adjtimex(&tx);
  if (state < 0) {
    perror("veilport-sys: clock: adjtimex");
    return 1;
  }
  printf("{\"state\":%d,\"unsynchronised\":%s,\"status\":%d,\"maxerrorUs\":%ld,\"esterrorUs\":%ld,\"offset\":%ld,\"nanoUnits\":%s}\n",
         state, (tx.status & STA_UNSYNC) ? "true" : "false", tx.status, (long)tx.maxerror, (long)tx.esterror, (long)tx.offset,
         (tx.status & STA_NANO) ? "true" : "false");
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc == 2 && strcmp(argv[1], "notify") == 0) return cmd_notify();
  if (argc == 3 && strcmp(argv[1], "listen") == 0) return cmd_listen(argv[2]);
  if (argc == 2 && strcmp(argv[1], "clock") == 0) return cmd_clock();
  fprintf(stderr, "usage: veilport-sys notify | listen PATH | clock\n");
  return 2;
}
