/* config.c - options, environment and the config file into one settings
 * struct.  Precedence: option > environment > config file > default. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DEFAULT_IMDS "http://169.254.169.254"
#define DEFAULT_TIMEOUT_MS 30000L
#define SYSTEM_CONFIG "/etc/pamsh/config"

static const char usage_text[] =
  "usage: pamsh [options] SCRIPT.lua [args...]  run a script (args in arg and ...)\n"
  "       pamsh [options] -e CHUNK [SCRIPT.lua] run Lua chunks (-e may repeat),\n"
  "                                             then the script if one is given\n"
  "       pamsh [options] - [args...]           read the script from stdin\n"
  "       pamsh [options]                       the interactive shell when stdin\n"
  "                                             is a terminal, else read the\n"
  "                                             script from stdin\n"
  "       pamsh [options] COMMAND [args...]     a built-in command\n"
  "An argument with a '/' or ending in .lua is a script; any other word is a\n"
  "command.\n"
  "\n"
  "Commands:\n"
  "  token [--raw|--json]    get a managed-identity token, show its source and\n"
  "                          claims\n"
  "  request METHOD PATH [BODY|@FILE|-]\n"
  "                          one authenticated PAM call; the answer as JSON\n"
  "  doctor [PATH]           check identity, token, TLS, login and one read\n"
  "                          call, and say how to fix what fails\n"
  "  version                 versions of pamsh, Lua, libcurl, TLS, lua-cjson\n"
  "\n"
  "An option wins over its environment variable (in brackets), which wins over\n"
  "the config file.\n"
  "\n"
  "Configuration file:\n"
  "  --config FILE           the config file [PAMSH_CONFIG]; by default the\n"
  "                          first that exists of $XDG_CONFIG_HOME/pamsh/config\n"
  "                          (~/.config/pamsh/config) and /etc/pamsh/config\n"
  "  --profile NAME          lay [profile NAME] over [default] [PAMSH_PROFILE]\n"
  "\n"
  "PAM server:\n"
  "  --url URL               PAM base URL with /xtam [PAMSH_URL], e.g.\n"
  "                          https://pam.corp:6443/xtam\n"
  "  --cacert FILE           CA bundle that verifies the server [PAMSH_CACERT]\n"
  "  --insecure              do not verify the server's certificate (warns on\n"
  "                          every run)\n"
  "  --pin sha256//BASE64    also require this public key; a list is\n"
  "                          ;-separated [PAMSH_PIN]\n"
  "  --allow-http            permit a plain http:// URL on a non-loopback host\n"
  "  --timeout SEC           per-request timeout, default 30 [PAMSH_TIMEOUT];\n"
  "                          token retries stop after 4 x SEC (75 s while IMDS\n"
  "                          answers 410)\n"
  "\n"
  "Other logins (hosts without a managed identity):\n"
  "  --login azure|cas       azure (default): managed identity at /landing;\n"
  "                          cas: CAS REST tickets (Federated Sign-In)\n"
  "                          [PAMSH_LOGIN]\n"
  "  --user NAME             CAS user [PAMSH_USER]; the password comes from\n"
  "                          PAMSH_PASSWORD or a no-echo prompt, never from\n"
  "                          argv; without --user, PAMSH_API_TOKEN is used\n"
  "\n"
  "Managed identity:\n"
  "  --resource ID           token audience: the PAM App Registration's client\n"
  "                          ID [PAMSH_RESOURCE]\n"
  "  --client-id ID          user-assigned identity by client ID\n"
  "                          [PAMSH_CLIENT_ID]\n"
  "  --object-id ID          user-assigned identity by object ID\n"
  "                          [PAMSH_OBJECT_ID]\n"
  "  --msi-res-id ID         user-assigned identity by ARM resource ID\n"
  "                          [PAMSH_MSI_RES_ID]\n"
  "  --imds-url URL          IMDS base, default http://169.254.169.254\n"
  "                          [PAMSH_IMDS_URL, then\n"
  "                          AZURE_POD_IDENTITY_AUTHORITY_HOST]\n"
  "\n"
  "Identity sources, detected in this order from the environment:\n"
  "  servicefabric  IDENTITY_ENDPOINT + IDENTITY_HEADER +\n"
  "                 IDENTITY_SERVER_THUMBPRINT\n"
  "  appservice     IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service,\n"
  "                 Functions, Container Apps)\n"
  "  arc            IDENTITY_ENDPOINT + IMDS_ENDPOINT, or the Azure Arc agent\n"
  "  appservice     MSI_ENDPOINT + MSI_SECRET (the 2017 protocol)\n"
  "  cloudshell     MSI_ENDPOINT alone\n"
  "  workload       AZURE_FEDERATED_TOKEN_FILE + AZURE_TENANT_ID +\n"
  "                 AZURE_CLIENT_ID (+ AZURE_AUTHORITY_HOST; SSL_CERT_FILE for\n"
  "                 a private CA)\n"
  "  imds           otherwise (virtual machines)\n"
  "\n"
  "Output:\n"
  "  -v, --verbose           HTTP trace on stderr, secrets redacted\n"
  "  -q, --quiet             log warnings and errors only\n"
  "  --log-format text|json  diagnostics on stderr as text (ISO 8601 time\n"
  "                          stamps when stderr is not a terminal) or JSON\n"
  "                          lines [PAMSH_LOG_FORMAT]\n"
  "  --dry-run               requests other than GET/HEAD are printed, not sent\n"
  "\n"
  "Scheduled jobs:\n"
  "  --lock FILE             hold an exclusive lock for the run; exit 75 if\n"
  "                          another run holds it\n"
  "  --lock-wait SEC         wait up to SEC for the lock first\n"
  "  --deadline SEC          abort the whole run after SEC seconds (exit 124)\n"
  "  --metrics FILE          write a Prometheus textfile at the end of the run\n"
  "\n"
  "Other:\n"
  "  -e CHUNK                run a chunk of Lua (may repeat)\n"
  "  --                      end of the options\n"
  "  -h, --help              this help\n"
  "  --version               print the versions, as pamsh version does, and exit\n"
  "Options that take a value also take it after '=', as in --url=URL.\n"
  "\n"
  "Exit codes: 0 ok, 1 script error, 2 usage or configuration error, 3 identity\n"
  "or login failure, 4 PAM API error (HTTP >= 400), 5 network, TLS or timeout\n"
  "failure, 75 --lock held by another run, 124 --deadline passed, 130/143\n"
  "SIGINT/SIGTERM.\n"
  "\n"
  "The manual: man pamsh; the scripting API: man pamsh-lua.\n";

const char *settings_usage(void) { return usage_text; }

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static int parse_seconds(const char *v, long *ms) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || end == v || *end || !isfinite(d) || d <= 0 || d > 86400.0 * 365)
    return -1;
  *ms = (long)(d * 1000.0 + 0.5);
  if (*ms < 1) *ms = 1;
  return 0;
}

typedef struct {
  const char *name;
  int takes_value;
  size_t offset;       /* into settings, for string options */
} option_spec;

#define OPT(n, field) {n, 1, offsetof(settings, field)}
static const option_spec options[] = {
  OPT("url", url), OPT("resource", resource), OPT("client-id", client_id),
  OPT("object-id", object_id), OPT("msi-res-id", msi_res_id),
  OPT("imds-url", imds_url), OPT("cacert", cacert), OPT("login", login),
  OPT("user", user), {"dry-run", 0, 0}, OPT("log-format", log_format),
  OPT("lock", lock), {"lock-wait", 1, 0}, {"deadline", 1, 0}, OPT("metrics", metrics),
  {"quiet", 0, 0}, OPT("pin", pin), {"allow-http", 0, 0},
  {"timeout", 1, 0}, {"insecure", 0, 0}, {"verbose", 0, 0},
  {"config", 1, 0}, {"profile", 1, 0},
  {"help", 0, 0}, {"version", 0, 0},
};
#define NOPTIONS (sizeof options / sizeof options[0])

static int is_script_path(const char *a) {
  size_t n = strlen(a);
  return strchr(a, '/') || (n > 4 && strcmp(a + n - 4, ".lua") == 0);
}

/* A usage error in msg; one that comes from the config file (line > 0)
 * starts with FILE:LINE so that the user can go and fix it. */
static int fail(const settings *s, int line, char *msg, int msglen, const char *fmt, ...)
  __attribute__((format(printf, 5, 6)));
static int fail(const settings *s, int line, char *msg, int msglen, const char *fmt, ...) {
  int n = 0;
  if (line > 0 && s->config_path)
    n = snprintf(msg, (size_t)msglen, "%s:%d: ", s->config_path, line);
  if (n < 0) n = 0;
  if (n < msglen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, (size_t)(msglen - n), fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ------------------------------------------------------------ config file
 *
 * INI as the AWS CLI's config: a [default] section and [profile NAME]
 * sections of `key = value` lines, the keys being long option names.  The
 * chosen profile's keys override [default]'s; an empty value clears what
 * [default] set.  Parsed with libinih; what inih lets pass (a key outside a
 * section, an unknown one, a line too long for its buffer) pamsh refuses
 * with the file and line, since a silently ignored setting sends a job to
 * the wrong server. */

/* What a config file may set: per-server settings.  Per-run switches
 * (--dry-run, --lock, --deadline, -v, ...) stay on the command line, and
 * passwords and tokens never go in a file. */
static const char *const file_keys[] = {
  "url", "resource", "client-id", "object-id", "msi-res-id", "imds-url",
  "cacert", "pin", "insecure", "allow-http", "timeout", "login", "user",
  "log-format", NULL
};
#define FILE_KEY_LIST "url, resource, client-id, object-id, msi-res-id, imds-url, " \
  "cacert, pin, insecure, allow-http, timeout, login, user, log-format"

/* Debian's libinih1 makes its build options run-time variables; upstream
 * builds have them as macros only.  Weak references let pamsh link against
 * either: where they exist, lines may be long enough for an ARM resource id
 * (inih's default buffer is 200 bytes) and an indented line is a key of
 * its own rather than the continuation of the previous value.  Elsewhere
 * an over-long line is an error (never cut short) and so is a
 * continuation line. */
extern int ini_max_line;
extern bool ini_allow_multiline;
#pragma weak ini_max_line
#pragma weak ini_allow_multiline
#define CONFIG_MAX_LINE 4096

typedef struct {
  int section;       /* index into sections */
  char *key;         /* as in file_keys */
  char *value;       /* "" clears what [default] set */
  int line;
} file_entry;

struct settings_file {
  char *path;
  char **sections;   /* [0] is "default", then the profiles in file order */
  int nsections;
  int profile;       /* the section in use over [default] (0: none) */
  file_entry *entries;
  int nentries;
};

typedef struct {
  struct settings_file *f;
  FILE *fp;
  int line;          /* of the line being parsed */
  int section;       /* -1 before the first section header */
  bool indented;     /* the line starts with blank space */
  bool multiline;    /* inih treats indented lines as continuations */
  int err_line;      /* the first error pamsh itself found; 0: none */
  char err[400];
} file_parser;

static void parse_error(file_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void parse_error(file_parser *p, const char *fmt, ...) {
  if (p->err_line) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, sizeof p->err, fmt, ap);
  va_end(ap);
  p->err_line = p->line;
}

static int add_section(file_parser *p, const char *name) {
  struct settings_file *f = p->f;
  for (int i = 0; i < f->nsections; i++)
    if (strcmp(f->sections[i], name) == 0) return i;
  char **n = realloc(f->sections, (size_t)(f->nsections + 1) * sizeof *n);
  char *copy = strdup(name);
  if (n) f->sections = n;
  if (!n || !copy) {
    free(copy);
    parse_error(p, "out of memory");
    return -1;
  }
  f->sections[f->nsections] = copy;
  return f->nsections++;
}

static int profile_name_ok(const char *n) {
  if (!*n) return 0;
  for (; *n; n++)
    if (!isalnum((unsigned char)*n) && !strchr("._-@+", *n)) return 0;
  return 1;
}

/* A section header: [default] or [profile NAME].  inih ignores anything
 * after the ']'; pamsh does not. */
static void parse_section(file_parser *p, const char *l) {
  const char *end = strchr(l, ']');
  if (!end) return;  /* no ']': inih reports the line */
  const char *after = end + 1;
  while (*after == ' ' || *after == '\t') after++;
  if (*after && *after != ';' && *after != '#' && *after != '\r' && *after != '\n') {
    parse_error(p, "unexpected text after the section header");
    return;
  }
  char name[256];
  l++;
  while (*l == ' ' || *l == '\t') l++;
  size_t n = (size_t)(end - l);
  while (n && (l[n - 1] == ' ' || l[n - 1] == '\t')) n--;
  if (n >= sizeof name) {
    parse_error(p, "section name longer than %zu characters", sizeof name - 1);
    return;
  }
  memcpy(name, l, n);
  name[n] = '\0';
  if (strcmp(name, "default") == 0) {
    p->section = 0;
  } else if (strncmp(name, "profile", 7) == 0 && (name[7] == ' ' || name[7] == '\t')) {
    const char *prof = name + 8;
    while (*prof == ' ' || *prof == '\t') prof++;
    if (!profile_name_ok(prof)) {
      parse_error(p, "bad profile name '%s' (letters, digits and . _ - @ + only)", prof);
      return;
    }
    /* [profile default] is the AWS CLI's other spelling of [default] */
    p->section = strcmp(prof, "default") == 0 ? 0 : add_section(p, prof);
  } else {
    parse_error(p, "unknown section [%s]: sections are [default] and [profile NAME]", name);
  }
}

/* inih's reader: fgets, counting lines (inih does not tell its handler
 * which line it is on) and looking at each line before inih does */
static char *parse_read(char *buf, int size, void *stream) {
  file_parser *p = stream;
  if (p->err_line) return NULL;  /* stop at pamsh's first error */
  if (!fgets(buf, size, p->fp)) return NULL;
  p->line++;
  size_t n = strlen(buf);
  if (n + 1 == (size_t)size && buf[n - 1] != '\n') {
    int c = getc(p->fp);
    if (c != EOF && c != '\n') {
      parse_error(p, "line longer than %d characters", size - 3);
      return NULL;
    }
  }
  const char *l = buf;
  if (p->line == 1 && strncmp(l, "\xEF\xBB\xBF", 3) == 0) l += 3;
  p->indented = *l == ' ' || *l == '\t';
  while (*l == ' ' || *l == '\t') l++;
  if (*l == '[') parse_section(p, l);
  return buf;
}

static int file_key_index(const char *key) {
  for (int i = 0; file_keys[i]; i++)
    if (strcmp(file_keys[i], key) == 0) return i;
  return -1;
}

/* why a key is refused, with what to do instead */
static void unknown_key(file_parser *p, const char *key) {
  static const char *const secretish[] = {
    "password", "passwd", "secret", "token", "passphrase", "credential", NULL
  };
  char low[64];
  size_t i;
  for (i = 0; key[i] && i < sizeof low - 1; i++) low[i] = (char)tolower((unsigned char)key[i]);
  low[i] = '\0';
  for (i = 0; secretish[i]; i++)
    if (strstr(low, secretish[i])) {
      parse_error(p, "'%s': passwords and tokens never go in the config file "
                  "(use PAMSH_PASSWORD, PAMSH_API_TOKEN or the prompt)", key);
      return;
    }
  for (i = 0; i < NOPTIONS; i++)
    if (strcmp(options[i].name, key) == 0) {
      parse_error(p, "'%s' is not a config file key: give --%s on the command line "
                  "(keys: " FILE_KEY_LIST ")", key, key);
      return;
    }
  parse_error(p, "unknown key '%s' (keys: " FILE_KEY_LIST ")", key);
}

/* "url = https://pam/xtam   # production": a '#' that starts the value or
 * follows a blank starts a comment, as inih's ';' does.  No setting's
 * value begins with '#' or holds " #", and the example file's comments
 * use '#': without this, the comment would end up in the URL or path. */
static void strip_inline_comment(char *v) {
  for (char *c = v; *c; c++)
    if (*c == '#' && (c == v || c[-1] == ' ' || c[-1] == '\t')) {
      *c = '\0';
      break;
    }
  size_t n = strlen(v);
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) v[--n] = '\0';
}

/* inih's handler: one `key = value` */
static int parse_key(void *user, const char *section, const char *name, const char *value) {
  file_parser *p = user;
  struct settings_file *f = p->f;
  (void)section;  /* p->section, from parse_read, is the checked one */
  if (p->err_line) return 1;
  if (p->section < 0) {
    parse_error(p, "'%s' outside a section: put it under [default] or [profile NAME]", name);
    return 0;
  }
  /* client_id is client-id: AWS CLI users write underscores */
  char key[64];
  size_t i;
  for (i = 0; name[i] && i < sizeof key - 1; i++) key[i] = name[i] == '_' ? '-' : name[i];
  key[i] = '\0';
  if (name[i] || file_key_index(key) < 0) {
    unknown_key(p, name);
    return 0;
  }
  for (int k = f->nentries - 1; k >= 0; k--) {
    const file_entry *e = &f->entries[k];
    if (e->section != p->section || strcmp(e->key, key) != 0) continue;
    if (p->multiline && p->indented && k == f->nentries - 1)
      parse_error(p, "this indented line would continue the value of '%s': "
                  "write each key on a line of its own, unindented", key);
    else
      parse_error(p, "'%s' is set twice in [%s%s] (first at line %d)", key,
                  p->section ? "profile " : "", f->sections[p->section], e->line);
    return 0;
  }
  file_entry *n = realloc(f->entries, (size_t)(f->nentries + 1) * sizeof *n);
  if (n) f->entries = n;
  char *k = strdup(key), *v = strdup(value ? value : "");
  if (!n || !k || !v) {
    free(k);
    free(v);
    parse_error(p, "out of memory");
    return 0;
  }
  strip_inline_comment(v);
  f->entries[f->nentries++] = (file_entry){p->section, k, v, p->line};
  return 1;
}

static void file_free(struct settings_file *f) {
  if (!f) return;
  for (int i = 0; i < f->nsections; i++) free(f->sections[i]);
  for (int i = 0; i < f->nentries; i++) {
    free(f->entries[i].key);
    free(f->entries[i].value);
  }
  free(f->sections);
  free(f->entries);
  free(f->path);
  free(f);
}

/* Opens the config file: the one named by --config or PAMSH_CONFIG (which
 * must be there), else the first of the XDG one and /etc/pamsh/config
 * that exists.  *fp stays NULL when there is none; *looked_at lists the
 * places tried. */
static int file_open(const char *given, const char *given_by, FILE **fp, char **path,
                     char *looked_at, size_t looked_len, char *msg, int msglen) {
  *fp = NULL;
  *path = NULL;
  looked_at[0] = '\0';
  struct stat st;
  if (given) {
    *fp = fopen(given, "r");
    if (!*fp) {
      snprintf(msg, (size_t)msglen, "cannot read the config file %s (%s): %s", given,
               given_by, strerror(errno));
      return -1;
    }
    if (fstat(fileno(*fp), &st) == 0 && S_ISDIR(st.st_mode)) {
      snprintf(msg, (size_t)msglen, "the config file %s (%s) is a directory", given, given_by);
      fclose(*fp);
      *fp = NULL;
      return -1;
    }
    if (!(*path = strdup(given))) goto oom;
    return 0;
  }
  /* $XDG_CONFIG_HOME only when absolute, as the XDG spec says */
  const char *xdg = env("XDG_CONFIG_HOME"), *home = env("HOME");
  char *cand[2] = {NULL, NULL};
  int ncand = 0;
  if (xdg && xdg[0] == '/') {
    if (asprintf(&cand[ncand++], "%s/pamsh/config", xdg) < 0) goto oom;
  } else if (home) {
    if (asprintf(&cand[ncand++], "%s/.config/pamsh/config", home) < 0) goto oom;
  }
  if (!(cand[ncand++] = strdup(SYSTEM_CONFIG))) goto oom_cand;
  int rc = 0;
  for (int i = 0; i < ncand && !*path; i++) {
    snprintf(looked_at + strlen(looked_at), looked_len - strlen(looked_at), "%s%s",
             i ? " and " : "", cand[i]);
    /* a file that cannot be seen (missing, or behind a directory we may not
     * enter, as with systemd's ProtectHome=) is not there; one that is there
     * but cannot be read is an error, not something to skip silently */
    if (stat(cand[i], &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      snprintf(msg, (size_t)msglen, "the config file %s is a directory", cand[i]);
      rc = -1;
      break;
    }
    if (!(*fp = fopen(cand[i], "r"))) {
      snprintf(msg, (size_t)msglen, "cannot read the config file %s: %s", cand[i], strerror(errno));
      rc = -1;
      break;
    }
    *path = cand[i];
    cand[i] = NULL;
  }
  free(cand[0]);
  free(cand[1]);
  return rc;
oom_cand:
  free(cand[0]);
oom:
  snprintf(msg, (size_t)msglen, "out of memory");
  return -1;
}

/* Reads the config file into s->file and picks the profile. */
static int file_setup(settings *s, const char *config, const char *profile,
                      char *msg, int msglen) {
  const char *given_by = config ? "--config" : "PAMSH_CONFIG";
  const char *profile_by = profile ? "--profile" : "PAMSH_PROFILE";
  if (!config) config = env("PAMSH_CONFIG");
  if (!profile) profile = env("PAMSH_PROFILE");
  s->profile = profile;
  FILE *fp;
  char *path, looked_at[1024];
  if (file_open(config, given_by, &fp, &path, looked_at, sizeof looked_at, msg, msglen) != 0)
    return -1;
  if (!fp) {
    if (profile && strcmp(profile, "default") != 0)
      return fail(s, 0, msg, msglen, "no config file for profile '%s' (%s): looked for %s",
                  profile, profile_by, looked_at);
    return 0;
  }
  struct settings_file *f = calloc(1, sizeof *f);
  if (!f) {
    fclose(fp);
    free(path);
    return fail(s, 0, msg, msglen, "out of memory");
  }
  f->path = path;
  s->file = f;
  s->config_path = path;
  file_parser p = {.f = f, .fp = fp, .section = -1, .multiline = true};
  if (&ini_max_line) ini_max_line = CONFIG_MAX_LINE;
  if (&ini_allow_multiline) {
    ini_allow_multiline = false;
    p.multiline = false;
  }
  if (add_section(&p, "default") != 0) {
    fclose(fp);
    return fail(s, 0, msg, msglen, "out of memory");
  }
  int rc = ini_parse_stream(parse_read, &p, parse_key, &p);
  int read_error = ferror(fp) ? (errno ? errno : EIO) : 0;
  fclose(fp);
  if (rc > 0 && (!p.err_line || rc < p.err_line))
    return fail(s, rc, msg, msglen, "expected [default], [profile NAME], key = value or a comment");
  if (p.err_line) return fail(s, p.err_line, msg, msglen, "%s", p.err);
  if (rc < 0) return fail(s, 0, msg, msglen, "out of memory");
  if (read_error)
    return fail(s, 0, msg, msglen, "cannot read the config file %s: %s", path, strerror(read_error));

  if (!profile || strcmp(profile, "default") == 0) return 0;
  for (int i = 1; i < f->nsections; i++)
    if (strcmp(f->sections[i], profile) == 0) {
      f->profile = i;
      return 0;
    }
  /* the profiles there are, so that a typo is quick to fix */
  int n = snprintf(msg, (size_t)msglen, "unknown profile '%s' (%s) in %s; ", profile,
                   profile_by, path);
  if (f->nsections == 1) {
    if (n >= 0 && n < msglen) snprintf(msg + n, (size_t)(msglen - n), "it has no [profile NAME] sections");
    return -1;
  }
  for (int i = 1; i < f->nsections && n >= 0 && n < msglen; i++)
    n += snprintf(msg + n, (size_t)(msglen - n), "%s%s", i == 1 ? "profiles: " : ", ",
                  f->sections[i]);
  return -1;
}

/* key in one section, or NULL */
static file_entry *file_get_in(const struct settings_file *f, int section, const char *key) {
  if (!f) return NULL;
  for (int i = 0; i < f->nentries; i++)
    if (f->entries[i].section == section && strcmp(f->entries[i].key, key) == 0)
      return &f->entries[i];
  return NULL;
}

/* key in the profile, else in [default]; NULL when unset or cleared */
static file_entry *file_get(const struct settings_file *f, const char *key) {
  if (!f) return NULL;
  file_entry *e = f->profile ? file_get_in(f, f->profile, key) : NULL;
  if (!e) e = file_get_in(f, 0, key);
  return e && *e->value ? e : NULL;
}

/* a string setting: the option, else the environment, else the file; *line
 * is the file line it came from (0 when not from the file) */
static const char *layered(const settings *s, const char *opt, const char *envname,
                           const char *key, int *line) {
  *line = 0;
  if (opt) return opt;
  const char *v = envname ? env(envname) : NULL;
  if (v) return v;
  const file_entry *e = file_get(s->file, key);
  if (!e) return NULL;
  *line = e->line;
  return e->value;
}

static int file_bool(const settings *s, const char *key, int *out, char *msg, int msglen) {
  const file_entry *e = file_get(s->file, key);
  if (!e) return 0;
  static const char *const yes[] = {"true", "yes", "on", "1", NULL};
  static const char *const no[] = {"false", "no", "off", "0", NULL};
  for (int i = 0; yes[i] && no[i]; i++) {
    if (strcasecmp(e->value, yes[i]) == 0) {
      *out = 1;
      return 0;
    }
    if (strcasecmp(e->value, no[i]) == 0) {
      *out = 0;
      return 0;
    }
  }
  return fail(s, e->line, msg, msglen, "%s must be true or false, not '%s'", key, e->value);
}

/* A relative cacert in the config file is relative to the file's own
 * directory (cacert = pam-ca.pem next to /etc/pamsh/config), ~/ to HOME:
 * not to wherever the job happens to run. */
static int file_path(const settings *s, const char *key, const char **out, char *msg, int msglen) {
  file_entry *e = file_get(s->file, key);
  if (!e || e->value[0] == '/') return 0;
  char *abs = NULL;
  int n;
  if (strncmp(e->value, "~/", 2) == 0) {
    const char *home = env("HOME");
    if (!home) return fail(s, e->line, msg, msglen, "%s: ~ needs HOME to be set", key);
    n = asprintf(&abs, "%s/%s", home, e->value + 2);
  } else {
    const char *slash = strrchr(s->config_path, '/');
    if (!slash) return 0;  /* the file is in the working directory */
    n = asprintf(&abs, "%.*s/%s", (int)(slash - s->config_path), s->config_path, e->value);
  }
  if (n < 0) return fail(s, 0, msg, msglen, "out of memory");
  free(e->value);
  e->value = abs;
  *out = abs;
  return 0;
}

int settings_parse(settings *s, int argc, char **argv, char *msg, int msglen) {
  memset(s, 0, sizeof *s);
  s->argc = argc;
  s->argv = argv;
  s->target_index = argc;
  s->chunks = calloc((size_t)argc + 1, sizeof *s->chunks);
  if (!s->chunks) return fail(s, 0, msg, msglen, "out of memory");
  const char *timeout = NULL, *lock_wait = NULL, *deadline = NULL;
  const char *config = NULL, *profile = NULL;
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) { i++; break; }
    if (strcmp(a, "-") == 0 || a[0] != '-') break;
    if (strcmp(a, "-e") == 0) {
      if (i + 1 >= argc) return fail(s, 0, msg, msglen, "-e needs a chunk of Lua");
      s->chunks[s->nchunks++] = argv[++i];
      continue;
    }
    if (strcmp(a, "-v") == 0) { s->verbose = 1; continue; }
    if (strcmp(a, "-q") == 0) { s->quiet = 1; continue; }
    if (strcmp(a, "-h") == 0) { s->help = 1; continue; }
    if (a[1] != '-')
      return fail(s, 0, msg, msglen, "unknown option '%s' (see pamsh --help)", a);
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const option_spec *o = NULL;
    for (size_t k = 0; k < NOPTIONS; k++)
      if (strlen(options[k].name) == nlen && strncmp(options[k].name, name, nlen) == 0)
        o = &options[k];
    if (!o)
      return fail(s, 0, msg, msglen, "unknown option '--%.*s' (see pamsh --help)", (int)nlen, name);
    const char *value = NULL;
    if (o->takes_value) {
      if (eq) value = eq + 1;
      else if (i + 1 < argc) value = argv[++i];
      else return fail(s, 0, msg, msglen, "option --%s needs a value", o->name);
      if (!*value) return fail(s, 0, msg, msglen, "option --%s needs a non-empty value", o->name);
    } else if (eq) {
      return fail(s, 0, msg, msglen, "option --%s takes no value", o->name);
    }
    if (strcmp(o->name, "timeout") == 0) timeout = value;
    else if (strcmp(o->name, "lock-wait") == 0) lock_wait = value;
    else if (strcmp(o->name, "deadline") == 0) deadline = value;
    else if (strcmp(o->name, "config") == 0) config = value;
    else if (strcmp(o->name, "profile") == 0) profile = value;
    else if (strcmp(o->name, "quiet") == 0) s->quiet = 1;
    else if (strcmp(o->name, "allow-http") == 0) s->allow_http = 1;
    else if (strcmp(o->name, "insecure") == 0) s->insecure = 1;
    else if (strcmp(o->name, "verbose") == 0) s->verbose = 1;
    else if (strcmp(o->name, "help") == 0) s->help = 1;
    else if (strcmp(o->name, "version") == 0) s->version = 1;
    else if (strcmp(o->name, "dry-run") == 0) s->dry_run = 1;
    else *(const char **)((char *)s + o->offset) = value;
  }
  if (i < argc) {
    s->target = argv[i];
    s->target_index = i;
    if (strcmp(s->target, "-") == 0) s->mode = RUN_STDIN;
    else if (is_script_path(s->target)) s->mode = RUN_SCRIPT;
    else s->mode = RUN_COMMAND;
  } else {
    s->mode = s->nchunks ? RUN_CHUNKS_ONLY : RUN_REPL_OR_STDIN;
  }

  /* `pamsh version` is `pamsh --version` (main runs the version command for
   * both); with -e chunks before it, it is a command like any other */
  if (s->mode == RUN_COMMAND && strcmp(s->target, "version") == 0 && !s->nchunks)
    s->version = 1;
  /* --help and --version answer whatever the environment and the config
   * file say (a bad PAMSH_TIMEOUT, a broken file): they are how one finds
   * out what is wrong.  Neither uses a setting, so they get the defaults. */
  if (s->help || s->version) {
    s->imds_url = DEFAULT_IMDS;
    s->timeout_ms = DEFAULT_TIMEOUT_MS;
    s->log_format = "text";
    s->login = "azure";
    return 0;
  }
  if (file_setup(s, config, profile, msg, msglen) != 0) return -1;

  /* the environment, then the config file, fill what the command line left
   * open */
  int line;
  s->url = layered(s, s->url, "PAMSH_URL", "url", &line);
  s->resource = layered(s, s->resource, "PAMSH_RESOURCE", "resource", &line);

  /* the identity selectors go together: one layer picks the identity */
  int sel_line = 0;
  if (!s->client_id && !s->object_id && !s->msi_res_id) {
    s->client_id = env("PAMSH_CLIENT_ID");
    s->object_id = env("PAMSH_OBJECT_ID");
    s->msi_res_id = env("PAMSH_MSI_RES_ID");
  }
  if (!s->client_id && !s->object_id && !s->msi_res_id && s->file) {
    static const char *const keys[] = {"client-id", "object-id", "msi-res-id"};
    const char **fields[] = {&s->client_id, &s->object_id, &s->msi_res_id};
    struct settings_file *f = s->file;
    int section = 0;  /* a profile that names any selector replaces [default]'s */
    for (int k = 0; k < 3 && f->profile; k++)
      if (file_get_in(f, f->profile, keys[k])) section = f->profile;
    for (int k = 0; k < 3; k++) {
      const file_entry *e = file_get_in(f, section, keys[k]);
      if (e && *e->value) {
        *fields[k] = e->value;
        sel_line = e->line;
      }
    }
  }

  if (!s->imds_url) s->imds_url = env("PAMSH_IMDS_URL");
  if (!s->imds_url) s->imds_url = env("AZURE_POD_IDENTITY_AUTHORITY_HOST");
  if (!s->imds_url) s->imds_url = layered(s, NULL, NULL, "imds-url", &line);
  if (!s->imds_url) s->imds_url = DEFAULT_IMDS;

  s->cacert = layered(s, s->cacert, "PAMSH_CACERT", "cacert", &line);
  if (line && file_path(s, "cacert", &s->cacert, msg, msglen) != 0) return -1;

  s->pin = layered(s, s->pin, "PAMSH_PIN", "pin", &line);
  if (s->pin && strncmp(s->pin, "sha256//", 8) != 0)
    return fail(s, line, msg, msglen, "%s takes sha256//<base64 of the public key's SHA-256>, not '%s'",
                line ? "pin" : "--pin", s->pin);

  /* booleans: the command line can only turn them on */
  if (!s->insecure && file_bool(s, "insecure", &s->insecure, msg, msglen) != 0) return -1;
  if (!s->allow_http && file_bool(s, "allow-http", &s->allow_http, msg, msglen) != 0) return -1;

  timeout = layered(s, timeout, "PAMSH_TIMEOUT", "timeout", &line);
  s->timeout_ms = DEFAULT_TIMEOUT_MS;
  if (timeout && parse_seconds(timeout, &s->timeout_ms) != 0)
    return fail(s, line, msg, msglen, "timeout must be a positive number of seconds, not '%s'", timeout);
  long ms;
  if (lock_wait) {
    if (parse_seconds(lock_wait, &ms) != 0)
      return fail(s, 0, msg, msglen, "--lock-wait must be a positive number of seconds, not '%s'", lock_wait);
    s->lock_wait = ms / 1000.0;
    if (!s->lock) return fail(s, 0, msg, msglen, "--lock-wait needs --lock FILE");
  }
  if (deadline) {
    if (parse_seconds(deadline, &ms) != 0)
      return fail(s, 0, msg, msglen, "--deadline must be a positive number of seconds, not '%s'", deadline);
    s->deadline = ms / 1000.0;
  }

  s->log_format = layered(s, s->log_format, "PAMSH_LOG_FORMAT", "log-format", &line);
  if (!s->log_format) s->log_format = "text";
  if (strcmp(s->log_format, "text") != 0 && strcmp(s->log_format, "json") != 0)
    return fail(s, line, msg, msglen, "%s must be text or json, not '%s'",
                line ? "log-format" : "--log-format", s->log_format);
  if (s->quiet && s->verbose)
    return fail(s, 0, msg, msglen, "--quiet and --verbose exclude each other");

  int login_line;
  s->login = layered(s, s->login, "PAMSH_LOGIN", "login", &login_line);
  int login_given = s->login && !login_line;  /* by the option or the environment */
  if (!s->login) s->login = "azure";
  if (strcmp(s->login, "azure") != 0 && strcmp(s->login, "cas") != 0)
    return fail(s, login_line, msg, msglen, "%s must be azure or cas, not '%s'",
                login_line ? "login" : "--login", s->login);
  s->user = layered(s, s->user, "PAMSH_USER", "user", &line);
  if (s->user && strcmp(s->login, "cas") != 0) {
    /* the file's CAS user goes with the file's CAS login, which the command
     * line or the environment has just overridden */
    if (line && login_given) s->user = NULL;
    else return fail(s, line, msg, msglen, line ? "user is for login = cas" : "--user is for --login cas");
  }

  if (!!s->client_id + !!s->object_id + !!s->msi_res_id > 1)
    return fail(s, sel_line, msg, msglen, sel_line
                ? "set at most one of client-id, object-id, msi-res-id"
                : "pick at most one of --client-id, --object-id, --msi-res-id");
  return 0;
}

void settings_free(settings *s) {
  free(s->chunks);
  s->chunks = NULL;
  file_free(s->file);
  s->file = NULL;
  s->config_path = NULL;
}
