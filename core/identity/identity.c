/* identity.c - source detection, the retry loop shared by every source,
 * token parsing and the cache. */
#include "identity/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "json.h"
#include "jwt.h"
#include "timeparse.h"
#include "url.h"

#define MAX_ATTEMPTS 5
#define GONE_PERSIST 70.0      /* 410: IMDS is back within 70 s */
#define REFRESH_MARGIN 300     /* refresh when under 5 minutes remain */
#define REFRESH_BACKOFF 30     /* after a failed refresh */
#define DEADLINE_GRACE 0.5     /* s: a request's limit past the run's deadline */
#define HIMDS_PATH "/opt/azcmagent/bin/himds"

typedef struct cache_entry {
  char *key;
  id_token tok;
  long long next_try;          /* no refresh attempt before this */
  struct cache_entry *next;
} cache_entry;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* The wall clock the cache's refresh rules read.  Test builds only: shifted
 * by PAMSH_TEST_CLOCK_OFFSET seconds, read at every call (a script moves it
 * with pam.core._test_setenv), so the half-life of a 3 h token or the 30 s
 * wait after a failed refresh can be crossed in a test that runs for a
 * second.  The production binary has no such switch. */
static long long wall_now(void) {
  long long now = (long long)time(NULL);
#ifdef PAMSH_TEST_HOOKS
  const char *off = env("PAMSH_TEST_CLOCK_OFFSET");
  if (off) now += strtoll(off, NULL, 10);
#endif
  return now;
}

/* ---- detection ------------------------------------------------------ */

static void detect(identity *id) {
  id_env *e = &id->env;
  e->identity_endpoint = env("IDENTITY_ENDPOINT");
  e->identity_header = env("IDENTITY_HEADER");
  e->thumbprint = env("IDENTITY_SERVER_THUMBPRINT");
  e->imds_endpoint = env("IMDS_ENDPOINT");
  e->msi_endpoint = env("MSI_ENDPOINT");
  e->msi_secret = env("MSI_SECRET");
  e->token_file = env("AZURE_FEDERATED_TOKEN_FILE");
  e->client_id = env("AZURE_CLIENT_ID");
  e->tenant_id = env("AZURE_TENANT_ID");
  e->authority = env("AZURE_AUTHORITY_HOST");
  e->ca_file = env("SSL_CERT_FILE");
  e->himds_present = access(HIMDS_PATH, F_OK) == 0;

  const char *why;
  if (e->identity_endpoint && e->identity_header && e->thumbprint) {
    id->source = &id_source_servicefabric;
    why = "IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set";
  } else if (e->identity_endpoint && e->identity_header) {
    id->source = &id_source_appservice;
    why = "IDENTITY_ENDPOINT and IDENTITY_HEADER are set";
  } else if (e->identity_endpoint && e->imds_endpoint) {
    id->source = &id_source_arc;
    why = "IDENTITY_ENDPOINT and IMDS_ENDPOINT are set";
  } else if (e->himds_present) {
    id->source = &id_source_arc;
    why = "the Azure Arc agent " HIMDS_PATH " is installed";
  } else if (e->msi_endpoint && e->msi_secret) {
    id->source = &id_source_appservice2017;
    why = "MSI_ENDPOINT and MSI_SECRET are set (the 2017 App Service protocol)";
  } else if (e->msi_endpoint) {
    id->source = &id_source_cloudshell;
    why = "MSI_ENDPOINT is set";
  } else if (e->token_file) {
    id->source = &id_source_workload;
    why = "AZURE_FEDERATED_TOKEN_FILE is set";
  } else {
    id->source = &id_source_imds;
    why = "no other identity source is configured in the environment";
  }
  snprintf(id->why, sizeof id->why, "%s", why);
}

identity *identity_new(http_client *http, const identity_config *cfg) {
  identity *id = calloc(1, sizeof *id);
  if (!id) return NULL;
  id->http = http;
  id->attempt_timeout_ms = cfg->attempt_timeout_ms > 0 ? cfg->attempt_timeout_ms : 30000;
  id->deadline = cfg->deadline;
  id->time_scale = 1.0;
#ifdef PAMSH_TEST_HOOKS
  /* test builds only: shrink backoff waits so retry tests run in seconds */
  const char *scale = env("PAMSH_TEST_TIME_SCALE");
  if (scale && atof(scale) > 0) id->time_scale = atof(scale);
#endif
  id->imds_base = strdup(cfg->imds_base ? cfg->imds_base : "http://169.254.169.254");
  if (!id->imds_base) {
    free(id);
    return NULL;
  }
  size_t n = strlen(id->imds_base);
  while (n && id->imds_base[n - 1] == '/') id->imds_base[--n] = '\0';
  detect(id);
  return id;
}

static void token_clear(id_token *t) {
  id_free_secret(t->access_token);
  free(t->resource);
  free(t->client_id);
  memset(t, 0, sizeof *t);
}

void identity_free(identity *id) {
  if (!id) return;
  for (cache_entry *e = id->cache, *n; e; e = n) {
    n = e->next;
    token_clear(&e->tok);
    free(e->key);
    free(e);
  }
  free(id->imds_base);
  free(id);
}

void identity_describe(const identity *id, id_source_info *out) {
  out->source = id->source->name;
  out->title = id->source->title;
  snprintf(out->why, sizeof out->why, "%s", id->why);
  id->source->endpoint(id, out->endpoint, sizeof out->endpoint);
}

int identity_fetch_count(const identity *id) { return id->fetches; }

/* ---- helpers for sources --------------------------------------------- */

void id_free_secret(char *s) {
  if (!s) return;
  memset(s, 0, strlen(s));
  free(s);
}

void id_endpoint_of(const char *url, char *buf, size_t n) {
  snprintf(buf, n, "%s", url ? url : "");
  char *q = strchr(buf, '?');
  if (q) *q = '\0';
}

void id_selector_pick(const id_selector *sel, const char **kind, const char **val) {
  *kind = *val = NULL;
  if (!sel) return;
  if (sel->client_id) *kind = "client_id", *val = sel->client_id;
  else if (sel->object_id) *kind = "object_id", *val = sel->object_id;
  else if (sel->msi_res_id) *kind = "msi_res_id", *val = sel->msi_res_id;
}

char *id_query_url(const char *base, const char *api_version, const char *resource,
                   const char *selname, const char *selval) {
  char *enc = url_encode(resource, strlen(resource));
  char *encsel = selval ? url_encode(selval, strlen(selval)) : NULL;
  size_t n = strlen(base) + strlen(api_version) + (enc ? strlen(enc) : 0) +
             (encsel ? strlen(encsel) + strlen(selname) : 0) + 48;
  char *url = malloc(n);
  if (enc && (!selval || encsel) && url) {
    snprintf(url, n, "%s%sapi-version=%s&resource=%s%s%s%s%s", base,
             strchr(base, '?') ? "&" : "?", api_version, enc,
             selval ? "&" : "", selval ? selname : "", selval ? "=" : "",
             selval ? encsel : "");
  } else {
    free(url);
    url = NULL;
  }
  free(enc);
  free(encsel);
  return url;
}

int id_send(identity *id, const char *method, const char *url,
            const char *const *headers, const char *body, size_t body_len,
            const char *cainfo, const char *pin, http_response *res, px_error *err) {
  long timeout = id->attempt_timeout_ms;
  if (id->deadline > 0) {
    /* a request may not outlive the run's deadline, but it gets a little
     * longer: the run's own deadline timer must be what stops it (so the
     * run ends as "the deadline passed", exit 124, not as a timeout of
     * the identity endpoint); this limit only backs the timer up */
    double left = id->deadline - mono_s() + DEADLINE_GRACE;
    if (left < timeout / 1000.0) timeout = left > 0.001 ? (long)(left * 1000) : 1;
  }
  http_request req = {.method = method, .url = url, .headers = headers,
                      .body = body, .body_len = body_len, .identity = 1,
                      .timeout_ms = timeout, .cainfo = cainfo, .pin_sha1 = pin};
  id->fetches++;
  return http_perform(id->http, &req, res, err);
}

char *id_read_small_file(const char *path, size_t max, const char *what,
                         const char *denied_hint, px_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int e = errno;
    px_set(err, PX_AUTH, "cannot read %s %s: %s%s%s%s", what, path, strerror(e),
           e == EACCES ? " (" : "", e == EACCES ? denied_hint : "", e == EACCES ? ")" : "");
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
    close(fd);
    px_set(err, PX_AUTH, "%s %s is not a regular file of at most %zu bytes", what, path, max);
    return NULL;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf || got != (size_t)st.st_size) {
    if (buf) {
      memset(buf, 0, got);
      free(buf);
    }
    px_set(err, PX_AUTH, "cannot read %s %s", what, path);
    return NULL;
  }
  while (got && (buf[got - 1] == '\n' || buf[got - 1] == '\r' || buf[got - 1] == ' '))
    got--;
  buf[got] = '\0';
  return buf;
}

/* ---- retries ---------------------------------------------------------- */

/* "error_description" (or "error", or "message") of an error body */
static char *error_text(const http_response *res) {
  char *d = json_get_str(res->body, res->body_len, "error_description");
  if (!d) d = json_get_str(res->body, res->body_len, "error");
  if (!d) d = json_get_str(res->body, res->body_len, "message");
  if (d) {
    /* AAD appends trace and correlation ids on new lines: one line is enough */
    char *nl = strpbrk(d, "\r\n");
    if (nl) *nl = '\0';
  }
  return d;
}

static const char *hint_for(const identity *id, long status, const char *desc) {
  if (desc && strcasestr(desc, "multiple user assigned"))
    return "several user-assigned identities: pass --client-id, --object-id or --msi-res-id";
  if (desc && (strcasestr(desc, "identity not found") ||
               strcasestr(desc, "no managed identity")))
    return "no managed identity matches: assign one to this machine, or check "
           "--client-id/--object-id/--msi-res-id";
  if (desc && strcasestr(desc, "AADSTS700211"))
    return "the federated credential's issuer does not match: check the workload "
           "identity's federation";
  if (desc && strcasestr(desc, "AADSTS"))
    return "Entra ID refused the client assertion: check AZURE_CLIENT_ID, "
           "AZURE_TENANT_ID and the federated credential";
  if (status == 429) return "the identity endpoint is throttling (about 20 requests/s per VM)";
  if (status == 404 || status == 410) return "the identity endpoint is updating; try again in a minute";
  if (status == 401 && id->source == &id_source_arc)
    return "the Azure Arc agent refused the key file's contents";
  return NULL;
}

static int parse_token(identity *id, const char *resource, long long sent,
                       const http_response *res, id_token *out, px_error *err,
                       const char *endpoint) {
  char *tok = NULL;
  if (!json_valid(res->body, res->body_len)) {
    /* something other than the identity endpoint answered: a proxy, a
     * captive portal */
    px_set(err, PX_AUTH, "%s: identity endpoint unavailable: the answer from %s "
           "is not JSON", id->source->name, endpoint);
    return -1;
  }
  if (json_get(res->body, res->body_len, "access_token", &tok) != JSON_STRING || !*tok) {
    id_free_secret(tok);
    px_set(err, PX_AUTH, "%s: the answer from %s holds no access_token",
           id->source->name, endpoint);
    return -1;
  }
  memset(out, 0, sizeof *out);
  out->access_token = tok;
  out->obtained_at = sent;
  out->source = id->source->name;
  out->resource = json_get_str(res->body, res->body_len, "resource");
  if (!out->resource) out->resource = strdup(resource);
  out->client_id = json_get_str(res->body, res->body_len, "client_id");
  char *eo = json_get_str(res->body, res->body_len, "expires_on");
  char *ei = json_get_str(res->body, res->body_len, "expires_in");
  long long v;
  if (eo && parse_expires_on(eo, &v) == 0) {
    out->expires_on = v;
  } else if (ei && parse_epoch(ei, &v) == 0) {
    out->expires_on = sent + v;  /* counted from when the request was sent */
  } else {
    /* neither: the token's own exp claim, else assume an hour */
    const char *why;
    char *payload = jwt_payload(tok, strlen(tok), &why);
    char *exp = payload ? json_get_str(payload, strlen(payload), "exp") : NULL;
    out->expires_on = exp && parse_epoch(exp, &v) == 0 ? v : sent + 3600;
    free(exp);
    free(payload);
  }
  free(eo);
  free(ei);
  return 0;
}

static void sleep_s(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int fetch(identity *id, const char *resource, const id_selector *sel,
                 id_token *out, px_error *err) {
  char endpoint[512];
  id->source->endpoint(id, endpoint, sizeof endpoint);
  const char *name = id->source->name;
  double start = mono_s(), scale = id->time_scale;
  /* each request gets --timeout; the whole acquisition, retries included,
   * 4 x --timeout (or the run's deadline) */
  double budget = 4 * id->attempt_timeout_ms / 1000.0;
  int gone = 0;
  for (int attempt = 0;; attempt++) {
    http_response res;
    px_error terr = {0};
    long long sent = wall_now();
    int got = id->source->attempt(id, resource, sel, &res, &terr);
    char *retry_after = NULL;
    int again = 0;
    if (got != 0) {
      if (terr.kind == PX_AUTH || terr.kind == PX_USAGE) {
        /* the source refused before sending (a key file, a missing
         * variable): nothing to retry */
        *err = terr;
        return -1;
      }
      /* retried: timeouts and cut connections (the endpoint restarting);
       * not: nothing listening (retrying only delays the answer), TLS
       * verification (a wrong pin stays wrong), an interruption */
      px_set(err, PX_AUTH, "%s: no token from %s: %s%s", name, endpoint, terr.message,
             terr.unreachable && id->source == &id_source_imds
               ? " (no identity endpoint answered: is this an Azure VM with a "
                 "managed identity? PAMSH_IMDS_URL overrides the address)"
               : "");
      again = terr.transient;
      px_clear(&terr);
    } else if (res.status == 200) {
      int rc = parse_token(id, resource, sent, &res, out, err, endpoint);
      http_response_free(&res);
      return rc;
    } else {
      char *desc = error_text(&res);
      const char *hint = hint_for(id, res.status, desc);
      px_set(err, PX_AUTH, "%s: HTTP %ld from %s%s%s%s%s%s", name, res.status, endpoint,
             desc ? ": " : "", desc ? desc : "", hint ? " (" : "", hint ? hint : "",
             hint ? ")" : "");
      err->status = res.status;
      free(desc);
      again = identity_retryable(res.status);
      if (res.status == 410) gone = 1;
      if (again) retry_after = http_header(&res, "Retry-After");
      http_response_free(&res);
    }
    if (!again) {
      free(retry_after);
      return -1;
    }
    double wait = identity_backoff(attempt, retry_after, (double)rand() / RAND_MAX) * scale;
    free(retry_after);
    double elapsed = mono_s() - start;
    /* 410 promises the endpoint back within 70 s: keep trying that long,
     * past the attempt limit and --timeout; only a deadline cuts it short */
    double limit = budget;
    if (gone && limit < (GONE_PERSIST + 5) * scale) limit = (GONE_PERSIST + 5) * scale;
    int more = gone ? elapsed < GONE_PERSIST * scale : attempt + 1 < MAX_ATTEMPTS;
    if (!more || elapsed + wait >= limit) return -1;
    if (id->deadline > 0 && mono_s() + wait >= id->deadline) return -1;
    http_trace(id->http, "* %s: retrying in %.1f s\n", name, wait);
    sleep_s(wait);
  }
}

/* ---- the cache -------------------------------------------------------- */

static char *cache_key(const identity *id, const char *resource, const id_selector *sel) {
  const char *kind, *val;
  id_selector_pick(sel, &kind, &val);
  if (!kind) kind = "default", val = "";
  size_t n = strlen(id->source->name) + strlen(kind) + strlen(val) + strlen(resource) + 8;
  char *k = malloc(n);
  if (k) snprintf(k, n, "%s|%s=%s|%s", id->source->name, kind, val, resource);
  return k;
}

static int needs_refresh(const id_token *t, long long now) {
  long long life = t->expires_on - t->obtained_at;
  if (t->expires_on - now < REFRESH_MARGIN) return 1;
  /* long-lived tokens are renewed at half-life, as the SDKs do */
  return life > 7200 && now >= t->obtained_at + life / 2;
}

const id_token *identity_get(identity *id, const char *resource,
                             const id_selector *sel, px_error *err) {
  if (!resource || !*resource) {
    px_set(err, PX_USAGE, "no token audience: pass --resource ID (the PAM App "
           "Registration's client ID) or set PAMSH_RESOURCE");
    return NULL;
  }
  int nsel = sel ? !!sel->client_id + !!sel->object_id + !!sel->msi_res_id : 0;
  if (nsel > 1) {
    px_set(err, PX_USAGE, "pick at most one of --client-id, --object-id, --msi-res-id");
    return NULL;
  }
  const char *refusal = nsel ? id->source->refuse_selector(id, sel) : NULL;
  if (refusal) {
    px_set(err, PX_USAGE, "%s: %s", id->source->name, refusal);
    return NULL;
  }
  char *key = cache_key(id, resource, sel);
  if (!key) {
    px_set(err, PX_AUTH, "out of memory");
    return NULL;
  }
  cache_entry *e = id->cache;
  while (e && strcmp(e->key, key) != 0) e = e->next;
  long long now = wall_now();
  if (e && !needs_refresh(&e->tok, now)) {
    free(key);
    return &e->tok;
  }
  int still_valid = e && e->tok.expires_on - now > 60;
  if (still_valid && now < e->next_try) {
    free(key);
    return &e->tok;
  }
  id_token fresh;
  if (fetch(id, resource, sel, &fresh, err) != 0) {
    if (still_valid) {
      /* keep using the valid token; try again no sooner than 30 s */
      http_trace(id->http, "* %s: refresh failed, keeping the current token: %s\n",
                 id->source->name, err->message);
      px_clear(err);
      e->next_try = now + REFRESH_BACKOFF;
      free(key);
      return &e->tok;
    }
    free(key);
    return NULL;
  }
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e) {
      token_clear(&fresh);
      free(key);
      px_set(err, PX_AUTH, "out of memory");
      return NULL;
    }
    e->key = key;
    e->next = id->cache;
    id->cache = e;
  } else {
    free(key);
    token_clear(&e->tok);
  }
  e->tok = fresh;
  e->next_try = 0;
  return &e->tok;
}
