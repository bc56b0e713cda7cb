/* lock.c - an flock(2) for the whole run.  The file stays: removing a
 * lock file while another process waits on it would let two runs in. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int read_pid(int fd) {
  char buf[32] = "";
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  /* the file is only a hint: anything but a plausible pid shows none */
  long pid = strtol(buf, NULL, 10);
  return pid > 0 && pid <= INT_MAX ? (int)pid : 0;
}

int lock_acquire(const char *path, double wait_s, int *holder, char *msg, int msglen) {
  *holder = 0;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    snprintf(msg, (size_t)msglen, "cannot open the lock file %s: %s", path, strerror(errno));
    return -2;
  }
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) break;
    if (errno != EWOULDBLOCK && errno != EINTR) {
      snprintf(msg, (size_t)msglen, "cannot lock %s: %s", path, strerror(errno));
      close(fd);
      return -2;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    double waited = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
    if (waited >= wait_s) {
      *holder = read_pid(fd);
      close(fd);
      return -1;
    }
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  /* who holds it, for the next run's message */
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
    /* the lock is ours all the same; only the message of a second run
     * loses the pid */
  }
  return fd;
}
