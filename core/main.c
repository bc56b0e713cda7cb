/* main.c - argument parsing and dispatch; nothing else */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "lock.h"
#include "logline.h"
#include "metrics.h"
#include "runtime.h"

int main(int argc, char **argv) {
  settings cfg;
  char msg[512];
  struct timespec mono, wall;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &wall);
  if (settings_parse(&cfg, argc, argv, msg, sizeof msg) != 0) {
    fprintf(stderr, "pamsh: %s\n", msg);
    settings_free(&cfg);
    return EXIT_USAGE;
  }
  log_setup(strcmp(cfg.log_format, "json") == 0,
            cfg.quiet ? LOG_WARN : cfg.verbose ? LOG_DEBUG : LOG_INFO);
  /* -v says which settings file applied: the first question when a job
   * reaches the wrong server */
  if (cfg.config_path)
    log_msg(LOG_DEBUG, "config file %s%s%s", cfg.config_path,
            cfg.profile ? ", profile " : "", cfg.profile ? cfg.profile : "");
  cfg.started = (double)mono.tv_sec + mono.tv_nsec / 1e9;
  cfg.started_wall = (double)wall.tv_sec + wall.tv_nsec / 1e9;
  /* tokens, cookies and passwords live in this process's memory: no core
   * dumps of it, and no ptrace by other processes of the same user */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* the metrics file is written at exit whatever happens next */
  if (cfg.metrics) metrics_at_exit(cfg.metrics, cfg.started, cfg.started_wall);
  if (cfg.help) {
    fputs(settings_usage(), stdout);
    settings_free(&cfg);
    return EXIT_OK;
  }
  /* --version and `pamsh version` print the same: the version command
   * (lua/cmd/version.lua), the one place that knows lua-cjson's version.
   * No lock, CA bundle or script: they only print. */
  if (cfg.version) {
    cfg.mode = RUN_COMMAND;
    cfg.target = "version";
    if (cfg.target_index < cfg.argc && strcmp(cfg.argv[cfg.target_index], "version") != 0)
      cfg.target_index = cfg.argc;  /* pamsh --version foo.lua: no arguments */
    cfg.nchunks = 0;
    cfg.lock = NULL;
    cfg.cacert = NULL;
    cfg.insecure = 0;
    cfg.deadline = 0;
  }
  if (cfg.cacert && access(cfg.cacert, R_OK) != 0) {
    log_msg(LOG_ERROR, "cannot read the CA bundle %s (--cacert/PAMSH_CACERT)", cfg.cacert);
    settings_free(&cfg);
    return EXIT_USAGE;
  }
  if (cfg.insecure)
    log_msg(LOG_WARN, "--insecure: the PAM server's TLS certificate is not verified");
  int lock_fd = -1;
  if (cfg.lock) {
    int holder = 0;
    lock_fd = lock_acquire(cfg.lock, cfg.lock_wait, &holder, msg, sizeof msg);
    if (lock_fd == -1) {
      if (holder)
        log_msg(LOG_ERROR, "another run holds the lock %s (pid %d)", cfg.lock, holder);
      else
        log_msg(LOG_ERROR, "another run holds the lock %s", cfg.lock);
      settings_free(&cfg);
      return EXIT_LOCKED;
    }
    if (lock_fd < 0) {
      log_msg(LOG_ERROR, "%s", msg);
      settings_free(&cfg);
      return EXIT_USAGE;
    }
  }
  lua_State *L = runtime_new(&cfg);
  if (!L) {
    log_msg(LOG_ERROR, "cannot create the Lua state (out of memory)");
    settings_free(&cfg);
    return EXIT_SCRIPT;
  }
  int code = runtime_main(L, &cfg);
  runtime_close(L);
  if (lock_fd >= 0) close(lock_fd);  /* released only now, after cleanup */
  settings_free(&cfg);
  return code;
}
