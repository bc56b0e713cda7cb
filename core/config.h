/* config.h - one settings struct from the command line, the environment
 * and the config file (option > environment > config file > default). */
#ifndef PAMSH_CONFIG_H
#define PAMSH_CONFIG_H

typedef enum {
  RUN_REPL_OR_STDIN,  /* no script: REPL on a terminal, else stdin */
  RUN_STDIN,          /* "-" */
  RUN_SCRIPT,         /* a path */
  RUN_COMMAND,        /* a built-in command name */
  RUN_CHUNKS_ONLY     /* -e without a script */
} run_mode;

typedef struct {
  /* connection and identity */
  const char *url;
  const char *resource;
  const char *client_id, *object_id, *msi_res_id;
  const char *imds_url;
  const char *cacert;
  int insecure;
  const char *pin;        /* --pin sha256//BASE64[;sha256//...] public-key pins */
  int allow_http;         /* permit http:// PAM URLs on non-loopback hosts */
  long timeout_ms;
  int verbose;
  int dry_run;            /* requests other than GET/HEAD are shown, not sent */
  int quiet;              /* log warnings and errors only */
  const char *log_format; /* "text" (default) or "json" */
  const char *lock;       /* --lock FILE */
  double lock_wait;       /* --lock-wait SEC, 0 = do not wait */
  double deadline;        /* --deadline SEC, 0 = none */
  const char *metrics;    /* --metrics FILE */
  double started;         /* CLOCK_MONOTONIC seconds at start */
  double started_wall;    /* epoch seconds at start */
  const char *login;      /* "azure" (default) or "cas" */
  const char *user;       /* CAS user name */
  /* what to run */
  run_mode mode;
  const char **chunks;  /* -e, in order */
  int nchunks;
  const char *target;   /* script path, "-" or command name */
  int argc;             /* the whole argv, for the `arg` table */
  char **argv;
  int target_index;     /* index of target in argv (argc when none) */
  int help, version;
  /* the config file (--config/PAMSH_CONFIG, else the XDG file, else
   * /etc/pamsh/config) and the profile read from it */
  const char *config_path;     /* NULL: no config file was read */
  const char *profile;         /* NULL: the [default] section only */
  struct settings_file *file;  /* owns every string that came from the file */
} settings;

/* Fill s from argv, the environment and the config file (not read for
 * --help and --version).  Strings point into argv, the environment or
 * s->file, which settings_free releases.  Returns 0, or -1 with a one-line
 * message in msg (a usage error, exit 2); errors in the config file start
 * with "FILE:LINE: ".  Call settings_free in both cases. */
int settings_parse(settings *s, int argc, char **argv, char *msg, int msglen);
void settings_free(settings *s);

/* the --help text */
const char *settings_usage(void);

#endif
