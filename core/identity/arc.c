/* arc.c - Azure Arc-enabled servers: the himds agent answers the first
 * request with a 401 naming a key file only root (or the himds group) can
 * read; its contents prove we run on the machine. */
#include "identity/source.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARC_DEFAULT_ENDPOINT "http://localhost:40342/metadata/identity/oauth2/token"
#define ARC_KEY_DIR "/var/opt/azcmagent/tokens/"
#define ARC_KEY_MAX 4096

static const char *refuse(const identity *id, const id_selector *sel) {
  (void)id; (void)sel;
  return "Azure Arc offers only the machine's system-assigned identity; drop "
         "--client-id/--object-id/--msi-res-id";
}

static const char *base_url(const identity *id) {
  return id->env.identity_endpoint ? id->env.identity_endpoint : ARC_DEFAULT_ENDPOINT;
}

static void endpoint(const identity *id, char *buf, size_t n) {
  id_endpoint_of(base_url(id), buf, n);
}

/* what to do when the agent's key directory or file is not ours to read */
#define ARC_DENIED_HINT "run as root or a member of the himds group"

/* the key file named by "Basic realm=<path>", checked as the SDKs check
 * it: inside the agent's token directory, a .key file, small.  The name is
 * checked before the file system is touched, so a hostile realm cannot
 * make us probe paths elsewhere; then again once symbolic links are
 * resolved. */
static char *challenge_key(const http_response *res, px_error *err) {
  char *www = http_header(res, "WWW-Authenticate");
  const char *realm = www ? strcasestr(www, "realm=") : NULL;
  if (!realm) {
    free(www);
    px_set(err, PX_AUTH, "arc: the agent's 401 carries no WWW-Authenticate realm");
    return NULL;
  }
  realm += 6;
  char path[PATH_MAX + 1], real[PATH_MAX];
  snprintf(path, sizeof path, "%s", realm);
  free(www);
  size_t n = strlen(path);
  if (n >= 2 && path[0] == '"' && path[n - 1] == '"') {
    memmove(path, path + 1, n - 2);
    path[n - 2] = '\0';
    n -= 2;
  }
  const size_t dl = strlen(ARC_KEY_DIR);
  int named_ok = n > dl + 4 && strncmp(path, ARC_KEY_DIR, dl) == 0 &&
                 !strchr(path + dl, '/') && strcmp(path + n - 4, ".key") == 0;
  if (named_ok && !realpath(path, real)) {
    /* the agent's directory is closed to other users: that is the usual
     * reason, and the message must say how to get in */
    int e = errno;
    px_set(err, PX_AUTH, "arc: cannot read the Azure Arc key file %s: %s%s", path,
           strerror(e), e == EACCES ? " (" ARC_DENIED_HINT ")" : "");
    return NULL;
  }
  if (!named_ok || strncmp(real, ARC_KEY_DIR, dl) != 0 || strchr(real + dl, '/') ||
      strlen(real) < dl + 5 || strcmp(real + strlen(real) - 4, ".key") != 0) {
    px_set(err, PX_AUTH, "arc: the agent named key file %s, which is not a .key file "
           "in " ARC_KEY_DIR " (refusing to read it)", path);
    return NULL;
  }
  char *key = id_read_small_file(real, ARC_KEY_MAX, "the Azure Arc key file",
                                 ARC_DENIED_HINT, err);
  if (!key) {
    /* name the source, as every other arc error does */
    char m[sizeof err->message];
    snprintf(m, sizeof m, "%s", err->message);
    px_set(err, PX_AUTH, "arc: %s", m);
  }
  return key;
}

static int attempt(identity *id, const char *resource, const id_selector *sel,
                   http_response *res, px_error *err) {
  (void)sel;
  char *url = id_query_url(base_url(id), "2020-06-01", resource, NULL, NULL);
  if (!url) {
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  static const char *const first[] = {"Metadata: true", NULL};
  int rc = id_send(id, "GET", url, first, NULL, 0, NULL, NULL, res, err);
  if (rc != 0 || res->status != 401) {
    free(url);
    return rc;
  }
  char *key = challenge_key(res, err);
  http_response_free(res);
  if (!key) {
    free(url);
    return -1;
  }
  size_t n = strlen(key) + 32;
  char *auth = malloc(n);
  if (!auth) {
    id_free_secret(key);
    free(url);
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  snprintf(auth, n, "Authorization: Basic %s", key);
  id_free_secret(key);
  const char *second[] = {"Metadata: true", auth, NULL};
  rc = id_send(id, "GET", url, second, NULL, 0, NULL, NULL, res, err);
  id_free_secret(auth);
  free(url);
  return rc;
}

const id_source id_source_arc = {"arc", "Azure Arc", refuse, endpoint, attempt};
