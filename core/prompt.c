/* prompt.c - a no-echo prompt on the controlling terminal, restoring the
 * terminal's mode whatever happens to the read */
#include "prompt.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

char *prompt_secret(const char *prompt) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct termios old, quiet;
  int restore = tcgetattr(fd, &old) == 0;
  if (restore) {
    quiet = old;
    quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  if (write(fd, prompt, strlen(prompt)) < 0) {}
  char *buf = calloc(1, 4096);
  size_t n = 0;
  int got_line = 0;
  while (buf && n < 4095) {
    char ch;
    ssize_t r = read(fd, &ch, 1);
    if (r <= 0) break;
    if (ch == '\n' || ch == '\r') {
      got_line = 1;
      break;
    }
    buf[n++] = ch;
  }
  if (restore) tcsetattr(fd, TCSAFLUSH, &old);
  if (write(fd, "\n", 1) < 0) {}
  close(fd);
  if (buf && !got_line && n == 0) {
    free(buf);
    return NULL;
  }
  return buf;
}
