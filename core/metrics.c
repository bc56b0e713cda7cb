/* metrics.c - the run's outcome for node_exporter's textfile collector */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "logline.h"

static const char *metrics_path;
static double start_mono, start_wall;

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_metrics(int status, void *arg) {
  (void)arg;
  if (!metrics_path) return;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", metrics_path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    if (fd >= 0) close(fd);
    log_msg(LOG_ERROR, "cannot write metrics to %s: %s", tmp, strerror(errno));
    return;
  }
  fprintf(f, "# HELP pamsh_last_run_exit_code Exit code of the last pamsh run.\n"
             "# TYPE pamsh_last_run_exit_code gauge\n"
             "pamsh_last_run_exit_code %d\n", status);
  fprintf(f, "# HELP pamsh_last_run_duration_seconds Wall time of the last pamsh run.\n"
             "# TYPE pamsh_last_run_duration_seconds gauge\n"
             "pamsh_last_run_duration_seconds %.3f\n", mono_now() - start_mono);
  fprintf(f, "# HELP pamsh_last_run_timestamp_seconds When the last pamsh run started (epoch).\n"
             "# TYPE pamsh_last_run_timestamp_seconds gauge\n"
             "pamsh_last_run_timestamp_seconds %.3f\n", start_wall);
  fprintf(f, "# HELP pamsh_requests_total PAM API requests of the last run by method and status.\n"
             "# TYPE pamsh_requests_total counter\n");
  const http_stat *st;
  int n = http_stats(&st);
  for (int i = 0; i < n; i++) {
    if (st[i].status)
      fprintf(f, "pamsh_requests_total{method=\"%s\",status=\"%ld\"} %lu\n", st[i].method,
              st[i].status, st[i].count);
    else
      fprintf(f, "pamsh_requests_total{method=\"%s\",status=\"error\"} %lu\n", st[i].method,
              st[i].count);
  }
  int bad = ferror(f);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) bad = 1;
  if (fclose(f) != 0) bad = 1;
  if (bad || rename(tmp, metrics_path) != 0) {
    log_msg(LOG_ERROR, "cannot write metrics to %s: %s", metrics_path, strerror(errno));
    unlink(tmp);
  }
}

void metrics_at_exit(const char *path, double started_mono, double started_wall) {
  metrics_path = path;
  start_mono = started_mono;
  start_wall = started_wall;
  /* on_exit sees the exit status, whether main returns or a script calls
   * os.exit */
  on_exit(write_metrics, NULL);
}
