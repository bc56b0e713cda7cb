/* fuzz_config.c - configuration: the command line and environment parser
 * settings_parse, and the config file it reads (inih underneath; see
 * core/config.c), through the public entry point so the target does not
 * depend on the parser's internals.
 *
 * Input byte 0: bits 0-6 size the message buffer (truncation is
 * exercised), bit 7 picks the mode.
 *   argv mode: NUL-separated pieces.  A piece starting with 0x01 sets an
 *     environment variable (its second byte picks the name from env_names,
 *     the rest is the value); every other piece is an argument after
 *     argv[0] = "pamsh".  A --config value is replaced by the in-memory
 *     file below (so no input can make the parser read a real file, a tty
 *     or a FIFO).
 *   file mode: byte 1 picks the profile (PAMSH_PROFILE), the rest is the
 *     config file, handed over as PAMSH_CONFIG=/proc/self/fd/N of a
 *     memfd (no disk I/O).
 * HOME and XDG_CONFIG_HOME point at an empty directory, so the user's own
 * config file is never read. */
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

static const char *const env_names[] = {
  "PAMSH_URL", "PAMSH_RESOURCE", "PAMSH_CLIENT_ID", "PAMSH_OBJECT_ID",
  "PAMSH_MSI_RES_ID", "PAMSH_IMDS_URL", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
  "PAMSH_CACERT", "PAMSH_PIN", "PAMSH_TIMEOUT", "PAMSH_LOG_FORMAT",
  "PAMSH_LOGIN", "PAMSH_USER", "PAMSH_PROFILE",
};
#define NENV (sizeof env_names / sizeof env_names[0])
#define MAXARGS 64

static const char *const profiles[] = { NULL, "default", "prod", "dev", "a.b-c@d+e" };

static int memfd = -1;
static char memfd_path[64];
static char home[] = "/tmp/pamsh-fuzz-home.XXXXXX";

static void remove_home(void) { rmdir(home); }

static void setup(void)
{
  if (memfd >= 0)
    return;
  if (mkdtemp(home) == NULL)
    abort();
  atexit(remove_home);
  setenv("HOME", home, 1);
  setenv("XDG_CONFIG_HOME", home, 1);
  unsetenv("PAMSH_CONFIG");
  unsetenv("PAMSH_PROFILE");
  for (size_t k = 0; k < NENV; k++)
    unsetenv(env_names[k]);
  memfd = memfd_create("pamsh-fuzz-config", MFD_CLOEXEC);
  if (memfd < 0)
    abort();
  snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
}

static void set_file(const uint8_t *data, size_t size)
{
  if (ftruncate(memfd, 0) != 0)
    abort();
  size_t off = 0;
  while (off < size) {
    ssize_t w = pwrite(memfd, data + off, size - off, (off_t)off);
    if (w <= 0)
      abort();
    off += (size_t)w;
  }
}

static void check_result(int rc, const settings *s, int argc, char **argv,
                         const char *msg, int msglen)
{
  FUZZ_CHECK(rc == 0 || rc == -1);
  if (rc == -1) {
    FUZZ_CHECK(memchr(msg, '\0', (size_t)msglen) != NULL);
    FUZZ_CHECK(msglen == 1 || msg[0] != '\0');
    return;
  }
  FUZZ_CHECK(s->argc == argc && s->argv == argv);
  FUZZ_CHECK(s->target_index >= 1 && s->target_index <= argc);
  FUZZ_CHECK((s->target != NULL) == (s->target_index < argc));
  if (s->target)
    FUZZ_CHECK(s->target == argv[s->target_index]);
  if (s->help || s->version)
    return;                         /* nothing else is looked at */
  FUZZ_CHECK(s->nchunks >= 0 && s->nchunks < argc);
  for (int i = 0; i < s->nchunks; i++)
    FUZZ_CHECK(s->chunks[i] != NULL);
  FUZZ_CHECK(s->timeout_ms >= 1);
  FUZZ_CHECK(s->lock_wait >= 0 && s->deadline >= 0);
  FUZZ_CHECK(strcmp(s->log_format, "text") == 0 ||
             strcmp(s->log_format, "json") == 0);
  FUZZ_CHECK(strcmp(s->login, "azure") == 0 || strcmp(s->login, "cas") == 0);
  FUZZ_CHECK(s->imds_url != NULL && *s->imds_url);
  FUZZ_CHECK(!(s->quiet && s->verbose));
  FUZZ_CHECK(!!s->client_id + !!s->object_id + !!s->msi_res_id <= 1);
  FUZZ_CHECK(!s->user || strcmp(s->login, "cas") == 0);
  FUZZ_CHECK(!s->pin || strncmp(s->pin, "sha256//", 8) == 0);
  FUZZ_CHECK(!s->lock_wait || s->lock);
  /* every string is readable (ASan checks the bytes) */
  const char *strs[] = { s->url, s->resource, s->client_id, s->object_id,
                         s->msi_res_id, s->imds_url, s->cacert, s->pin,
                         s->lock, s->metrics, s->user };
  size_t total = 0;
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
    if (strs[i])
      total += strlen(strs[i]);
  FUZZ_CHECK(total < SIZE_MAX);
  switch (s->mode) {
  case RUN_STDIN:
    FUZZ_CHECK(s->target && strcmp(s->target, "-") == 0);
    break;
  case RUN_SCRIPT:
  case RUN_COMMAND:
    FUZZ_CHECK(s->target != NULL);
    break;
  case RUN_CHUNKS_ONLY:
    FUZZ_CHECK(!s->target && s->nchunks > 0);
    break;
  case RUN_REPL_OR_STDIN:
    FUZZ_CHECK(!s->target && s->nchunks == 0);
    break;
  default:
    FUZZ_CHECK(0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  setup();
  int msglen = 1 + (data[0] & 0x7f) * 2;
  int file_mode = data[0] & 0x80;
  char *buf = NULL;
  char *argv[MAXARGS + 2];
  char *config_eq = NULL;
  int argc = 0;
  argv[argc++] = "pamsh";
  int env_set[NENV] = { 0 };

  if (file_mode) {
    const char *prof = size > 1 ? profiles[data[1] % (sizeof profiles / sizeof profiles[0])] : NULL;
    set_file(size > 1 ? data + 2 : data, size > 1 ? size - 2 : 0);
    setenv("PAMSH_CONFIG", memfd_path, 1);
    if (prof)
      setenv("PAMSH_PROFILE", prof, 1);
  } else {
    set_file((const uint8_t *)"[default]\nurl = https://pam.example/xtam\n", 41);
    buf = fuzz_dup0(data + 1, size - 1);
    size_t n = size - 1;
    for (size_t i = 0; i <= n && argc < MAXARGS;) {
      char *piece = buf + i;
      size_t len = strlen(piece);
      if (piece[0] == 1 && len >= 2) {
        size_t k = (unsigned char)piece[1] % NENV;
        setenv(env_names[k], piece + 2, 1);
        env_set[k] = 1;
      } else if (i < n || len) {
        if (argc > 1 && strcmp(argv[argc - 1], "--config") == 0)
          piece = memfd_path;
        else if (strncmp(piece, "--config=", 9) == 0 && config_eq == NULL) {
          config_eq = malloc(9 + sizeof memfd_path);
          if (config_eq == NULL)
            abort();
          snprintf(config_eq, 9 + sizeof memfd_path, "--config=%s", memfd_path);
          piece = config_eq;
        } else if (strncmp(piece, "--config=", 9) == 0) {
          piece = "--config";       /* one replacement is enough */
        }
        argv[argc++] = piece;
      }
      i += len + 1;
    }
    /* a trailing "--config" would take the next argument: there is none */
  }
  argv[argc] = NULL;

  char *msg = malloc((size_t)msglen);
  if (msg == NULL)
    abort();
  memset(msg, 'x', (size_t)msglen);
  settings s;
  int rc = settings_parse(&s, argc, argv, msg, msglen);
  check_result(rc, &s, argc, argv, msg, msglen);
  settings_free(&s);

  for (size_t k = 0; k < NENV; k++)
    if (env_set[k])
      unsetenv(env_names[k]);
  unsetenv("PAMSH_CONFIG");
  unsetenv("PAMSH_PROFILE");
  free(msg);
  free(config_eq);
  free(buf);
  return 0;
}
