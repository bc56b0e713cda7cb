/* main.c - argument parsing and dispatch; nothing else */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "runtime.h"

#ifndef PAMSH_VERSION
#define PAMSH_VERSION "0.0.0"
#endif

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
  cfg.started = (double)mono.tv_sec + mono.tv_nsec / 1e9;
  cfg.started_wall = (double)wall.tv_sec + wall.tv_nsec / 1e9;
  if (cfg.help) {
    fputs(settings_usage(), stdout);
    settings_free(&cfg);
    return EXIT_OK;
  }
  if (cfg.version) {
    printf("pamsh %s\n", PAMSH_VERSION);
    settings_free(&cfg);
    return EXIT_OK;
  }
  if (cfg.cacert && access(cfg.cacert, R_OK) != 0) {
    fprintf(stderr, "pamsh: cannot read the CA bundle %s (--cacert/PAMSH_CACERT)\n", cfg.cacert);
    settings_free(&cfg);
    return EXIT_USAGE;
  }
  if (cfg.insecure)
    fprintf(stderr, "pamsh: warning: --insecure: the PAM server's TLS certificate "
            "is not verified\n");
  lua_State *L = runtime_new(&cfg);
  if (!L) {
    fprintf(stderr, "pamsh: cannot create the Lua state (out of memory)\n");
    settings_free(&cfg);
    return EXIT_SCRIPT;
  }
  int code = runtime_main(L, &cfg);
  runtime_close(L);
  settings_free(&cfg);
  return code;
}
