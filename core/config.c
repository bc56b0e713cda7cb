/* config.c - options and environment into one settings struct */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_IMDS "http://169.254.169.254"
#define DEFAULT_TIMEOUT_MS 30000L

static const char usage_text[] =
  "usage: pamsh [options] SCRIPT.lua [args...]   run a script (args in `arg` and `...`)\n"
  "       pamsh [options] -e CHUNK ...           run Lua chunks (-e may repeat)\n"
  "       pamsh [options] -                      read the script from standard input\n"
  "       pamsh [options]                        read the script from standard input\n"
  "       pamsh [options] COMMAND [args...]      a built-in command\n"
  "\n"
  "Commands:\n"
  "  token [--raw|--json]    get a managed-identity token and show its source and claims\n"
  "  doctor [PATH]           check identity, token, TLS, login and one read call, with fixes\n"
  "  version                 versions of pamsh, Lua, libcurl, lua-cjson, TLS backend\n"
  "\n"
  "PAM server:\n"
  "  --url URL               PAM base URL with /xtam, e.g. https://pam.corp:6443/xtam  [PAMSH_URL]\n"
  "  --cacert FILE           CA bundle that verifies the PAM server               [PAMSH_CACERT]\n"
  "  --insecure              do not verify the PAM server's certificate (warns every run)\n"
  "  --pin sha256//BASE64    also require this public key (;-separated list)  [PAMSH_PIN]\n"
  "  --allow-http            permit a plain http:// PAM URL on a non-loopback host\n"
  "  --timeout SEC           per-request timeout, default 30; token retries stop\n"
  "                          after 4 x SEC (75 s while IMDS answers 410) [PAMSH_TIMEOUT]\n"
  "\n"
  "Other logins (hosts without a managed identity):\n"
  "  --login azure|cas       azure (default): managed identity at /landing;    [PAMSH_LOGIN]\n"
  "                          cas: the CAS REST ticket flow (Federated Sign-In)\n"
  "  --user NAME             CAS user; the password comes from PAMSH_PASSWORD    [PAMSH_USER]\n"
  "                          or a no-echo prompt on the terminal, never from argv;\n"
  "                          without --user, an API token from PAMSH_API_TOKEN\n"
  "\n"
  "Managed identity:\n"
  "  --resource ID           token audience: the PAM App Registration's client ID [PAMSH_RESOURCE]\n"
  "  --client-id ID          user-assigned identity by client ID                [PAMSH_CLIENT_ID]\n"
  "  --object-id ID          user-assigned identity by object ID                [PAMSH_OBJECT_ID]\n"
  "  --msi-res-id ID         user-assigned identity by ARM resource ID         [PAMSH_MSI_RES_ID]\n"
  "  --imds-url URL          IMDS base, default http://169.254.169.254          [PAMSH_IMDS_URL,\n"
  "                                                     then AZURE_POD_IDENTITY_AUTHORITY_HOST]\n"
  "\n"
  "Identity sources, detected in this order from the environment:\n"
  "  servicefabric  IDENTITY_ENDPOINT + IDENTITY_HEADER + IDENTITY_SERVER_THUMBPRINT\n"
  "  appservice     IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service, Functions, Container Apps)\n"
  "  arc            IDENTITY_ENDPOINT + IMDS_ENDPOINT, or the Azure Arc agent installed\n"
  "  appservice     MSI_ENDPOINT + MSI_SECRET (the 2017 protocol)\n"
  "  cloudshell     MSI_ENDPOINT alone\n"
  "  workload       AZURE_FEDERATED_TOKEN_FILE + AZURE_TENANT_ID + AZURE_CLIENT_ID\n"
  "                 (+ AZURE_AUTHORITY_HOST; SSL_CERT_FILE for a private CA)\n"
  "  imds           otherwise (virtual machines)\n"
  "\n"
  "Output:\n"
  "  -v, --verbose           HTTP trace on stderr, secrets redacted\n"
  "  -q, --quiet             log warnings and errors only\n"
  "  --log-format text|json  diagnostics on stderr as text (ISO-8601 time stamps when\n"
  "                          stderr is not a terminal) or JSON lines  [PAMSH_LOG_FORMAT]\n"
  "  --dry-run               requests other than GET/HEAD are printed, not sent\n"
  "\n"
  "Scheduled jobs:\n"
  "  --lock FILE             hold an exclusive lock for the run; exit 75 if another\n"
  "                          run holds it\n"
  "  --lock-wait SEC         wait up to SEC for the lock first\n"
  "  --deadline SEC          abort the whole run after SEC seconds (exit 124)\n"
  "  --metrics FILE          write a Prometheus textfile at the end of the run\n"
  "  -h, --help              this help\n"
  "  --version               print the version and exit\n"
  "\n"
  "Exit codes: 0 ok, 1 script error, 2 usage or configuration error, 3 identity or\n"
  "login failure, 4 PAM API error (HTTP >= 400), 5 network, TLS or timeout failure,\n"
  "75 --lock held by another run, 124 --deadline passed, 130/143 SIGINT/SIGTERM.\n";

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
  {"help", 0, 0}, {"version", 0, 0},
};

static int is_script_path(const char *a) {
  size_t n = strlen(a);
  return strchr(a, '/') || (n > 4 && strcmp(a + n - 4, ".lua") == 0);
}

int settings_parse(settings *s, int argc, char **argv, char *msg, int msglen) {
  memset(s, 0, sizeof *s);
  s->argc = argc;
  s->argv = argv;
  s->target_index = argc;
  s->chunks = calloc((size_t)argc + 1, sizeof *s->chunks);
  if (!s->chunks) {
    snprintf(msg, (size_t)msglen, "out of memory");
    return -1;
  }
  const char *timeout = NULL, *lock_wait = NULL, *deadline = NULL;
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) { i++; break; }
    if (strcmp(a, "-") == 0 || a[0] != '-') break;
    if (strcmp(a, "-e") == 0) {
      if (i + 1 >= argc) {
        snprintf(msg, (size_t)msglen, "-e needs a chunk of Lua");
        return -1;
      }
      s->chunks[s->nchunks++] = argv[++i];
      continue;
    }
    if (strcmp(a, "-v") == 0) { s->verbose = 1; continue; }
    if (strcmp(a, "-q") == 0) { s->quiet = 1; continue; }
    if (strcmp(a, "-h") == 0) { s->help = 1; continue; }
    if (a[1] != '-') {
      snprintf(msg, (size_t)msglen, "unknown option '%s' (see pamsh --help)", a);
      return -1;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const option_spec *o = NULL;
    for (size_t k = 0; k < sizeof options / sizeof options[0]; k++)
      if (strlen(options[k].name) == nlen && strncmp(options[k].name, name, nlen) == 0)
        o = &options[k];
    if (!o) {
      snprintf(msg, (size_t)msglen, "unknown option '--%.*s' (see pamsh --help)", (int)nlen, name);
      return -1;
    }
    const char *value = NULL;
    if (o->takes_value) {
      if (eq) value = eq + 1;
      else if (i + 1 < argc) value = argv[++i];
      else {
        snprintf(msg, (size_t)msglen, "option --%s needs a value", o->name);
        return -1;
      }
      if (!*value) {
        snprintf(msg, (size_t)msglen, "option --%s needs a non-empty value", o->name);
        return -1;
      }
    } else if (eq) {
      snprintf(msg, (size_t)msglen, "option --%s takes no value", o->name);
      return -1;
    }
    if (strcmp(o->name, "timeout") == 0) timeout = value;
    else if (strcmp(o->name, "lock-wait") == 0) lock_wait = value;
    else if (strcmp(o->name, "deadline") == 0) deadline = value;
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

  /* the environment fills what the command line left open */
  if (!s->url) s->url = env("PAMSH_URL");
  if (!s->resource) s->resource = env("PAMSH_RESOURCE");
  if (!s->client_id && !s->object_id && !s->msi_res_id) {
    s->client_id = env("PAMSH_CLIENT_ID");
    s->object_id = env("PAMSH_OBJECT_ID");
    s->msi_res_id = env("PAMSH_MSI_RES_ID");
  }
  if (!s->imds_url) s->imds_url = env("PAMSH_IMDS_URL");
  if (!s->imds_url) s->imds_url = env("AZURE_POD_IDENTITY_AUTHORITY_HOST");
  if (!s->imds_url) s->imds_url = DEFAULT_IMDS;
  if (!s->cacert) s->cacert = env("PAMSH_CACERT");
  if (!s->pin) s->pin = env("PAMSH_PIN");
  if (s->pin && strncmp(s->pin, "sha256//", 8) != 0) {
    snprintf(msg, (size_t)msglen, "--pin takes sha256//<base64 of the public key's SHA-256>, not '%s'", s->pin);
    return -1;
  }
  if (!timeout) timeout = env("PAMSH_TIMEOUT");
  s->timeout_ms = DEFAULT_TIMEOUT_MS;
  if (timeout && parse_seconds(timeout, &s->timeout_ms) != 0) {
    snprintf(msg, (size_t)msglen, "timeout must be a positive number of seconds, not '%s'", timeout);
    return -1;
  }
  long ms;
  if (lock_wait) {
    if (parse_seconds(lock_wait, &ms) != 0) {
      snprintf(msg, (size_t)msglen, "--lock-wait must be a positive number of seconds, not '%s'", lock_wait);
      return -1;
    }
    s->lock_wait = ms / 1000.0;
    if (!s->lock) {
      snprintf(msg, (size_t)msglen, "--lock-wait needs --lock FILE");
      return -1;
    }
  }
  if (deadline) {
    if (parse_seconds(deadline, &ms) != 0) {
      snprintf(msg, (size_t)msglen, "--deadline must be a positive number of seconds, not '%s'", deadline);
      return -1;
    }
    s->deadline = ms / 1000.0;
  }
  if (!s->log_format) s->log_format = env("PAMSH_LOG_FORMAT");
  if (!s->log_format) s->log_format = "text";
  if (strcmp(s->log_format, "text") != 0 && strcmp(s->log_format, "json") != 0) {
    snprintf(msg, (size_t)msglen, "--log-format must be text or json, not '%s'", s->log_format);
    return -1;
  }
  if (s->quiet && s->verbose) {
    snprintf(msg, (size_t)msglen, "--quiet and --verbose exclude each other");
    return -1;
  }
  if (!s->login) s->login = env("PAMSH_LOGIN");
  if (!s->login) s->login = "azure";
  if (strcmp(s->login, "azure") != 0 && strcmp(s->login, "cas") != 0) {
    snprintf(msg, (size_t)msglen, "--login must be azure or cas, not '%s'", s->login);
    return -1;
  }
  if (!s->user) s->user = env("PAMSH_USER");
  if (s->user && strcmp(s->login, "cas") != 0) {
    snprintf(msg, (size_t)msglen, "--user is for --login cas");
    return -1;
  }
  if (!!s->client_id + !!s->object_id + !!s->msi_res_id > 1) {
    snprintf(msg, (size_t)msglen,
             "pick at most one of --client-id, --object-id, --msi-res-id");
    return -1;
  }
  return 0;
}

void settings_free(settings *s) {
  free(s->chunks);
  s->chunks = NULL;
}
