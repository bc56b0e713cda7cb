/* core/curl_load.c - libcurl, loaded when pamsh first needs it.
 *
 * Linked the usual way, libcurl made every start of pamsh pay for its
 * whole dependency tree (GnuTLS through librtmp and OpenLDAP, Kerberos,
 * SASL, libssh2, ...): about 4.5 ms of loading and library constructors
 * (an empty main() linked with -lcurl: 5.3 ms; without: 0.6 ms), which is
 * most of `pamsh -e ''` and of every script that never makes a request.
 * So pamsh is not linked with libcurl: this file defines the libcurl
 * functions http.c calls, and the first call dlopen()s libcurl.so.4 and
 * forwards to the real ones.  The Debian package still depends on libcurl4
 * (packaging/shlibdeps is told about the library).
 *
 * Only the functions http.c uses are here; a new one fails the link, which
 * is the reminder to add it.  A library that cannot be loaded makes the
 * constructors fail (curl_global_init, curl_easy_init, ... return their
 * error values) and curl_load_error() says why. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "curl_load.h"

#define LIBCURL_SONAME "libcurl.so.4"

typedef void (*any_fn)(void);

static struct {
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  CURLcode (*easy_perform)(CURL *);
  void (*easy_cleanup)(CURL *);
  const char *(*easy_strerror)(CURLcode);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_perform)(CURLM *, int *);
  CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  CURLMcode (*multi_cleanup)(CURLM *);
  CURLSH *(*share_init)(void);
  CURLSHcode (*share_setopt)(CURLSH *, CURLSHoption, ...);
  CURLSHcode (*share_cleanup)(CURLSH *);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  curl_version_info_data *(*version_info)(CURLversion);
} fn;

/* each symbol and where its address goes (dlsym gives a void *; POSIX
 * guarantees it can be stored into a function pointer this way) */
#define SYM(name, field) {name, (void **)&fn.field}
static const struct { const char *name; void **slot; } symbols[] = {
  SYM("curl_global_init", global_init),
  SYM("curl_easy_init", easy_init),
  SYM("curl_easy_setopt", easy_setopt),
  SYM("curl_easy_getinfo", easy_getinfo),
  SYM("curl_easy_perform", easy_perform),
  SYM("curl_easy_cleanup", easy_cleanup),
  SYM("curl_easy_strerror", easy_strerror),
  SYM("curl_multi_init", multi_init),
  SYM("curl_multi_setopt", multi_setopt),
  SYM("curl_multi_add_handle", multi_add_handle),
  SYM("curl_multi_remove_handle", multi_remove_handle),
  SYM("curl_multi_perform", multi_perform),
  SYM("curl_multi_poll", multi_poll),
  SYM("curl_multi_info_read", multi_info_read),
  SYM("curl_multi_cleanup", multi_cleanup),
  SYM("curl_share_init", share_init),
  SYM("curl_share_setopt", share_setopt),
  SYM("curl_share_cleanup", share_cleanup),
  SYM("curl_slist_append", slist_append),
  SYM("curl_slist_free_all", slist_free_all),
  SYM("curl_version_info", version_info),
};

static int state;            /* 0 not tried, 1 loaded, -1 failed */
static char why[300];

/* 0 when libcurl is there, -1 (and `why`) when it cannot be */
static int load(void) {
  if (state) return state > 0 ? 0 : -1;
  const char *name = LIBCURL_SONAME;
#ifdef PAMSH_TEST_HOOKS
  /* tests load a library that is not there, to see the error */
  const char *test_name = getenv("PAMSH_TEST_LIBCURL");
  if (test_name && *test_name) name = test_name;
#endif
  /* never unloaded: libcurl and OpenSSL keep process-wide state */
  void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    /* dlerror() names the file itself */
    snprintf(why, sizeof why, "cannot load libcurl: %s (is the libcurl4 package installed?)",
             e ? e : name);
    state = -1;
    return -1;
  }
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    void *p = dlsym(lib, symbols[i].name);
    if (!p) {
      snprintf(why, sizeof why, "%s has no %s (libcurl older than 7.66?)", name,
               symbols[i].name);
      dlclose(lib);
      state = -1;
      return -1;
    }
    *symbols[i].slot = p;
  }
  state = 1;
  return 0;
}

const char *curl_load_error(void) {
  if (load() == 0) return NULL;
  return why;
}

CURLcode curl_global_init(long flags) {
  return load() == 0 ? fn.global_init(flags) : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void) { return load() == 0 ? fn.easy_init() : NULL; }

/* The functions below that take a handle or a list do not try to load
 * libcurl: a handle or a list exists only once libcurl made it, so
 * loading succeeded.  Only NULL is turned away, as libcurl does. */

/* The setopt functions take one value after the option, whose type the
 * option's number range tells (curl.h's CURLOPTTYPE_* bases, the same for
 * easy and multi options): long, an object pointer, a function pointer or
 * a curl_off_t; what is read from the va_list is passed on as that type,
 * which is how libcurl reads it on the other side. */
#define FORWARD_SETOPT(call, handle, option, ap)                          \
  do {                                                                    \
    if ((option) < CURLOPTTYPE_OBJECTPOINT) {                             \
      long v_ = va_arg(ap, long);                                         \
      rc = call(handle, option, v_);                                      \
    } else if ((option) < CURLOPTTYPE_FUNCTIONPOINT) {                    \
      void *v_ = va_arg(ap, void *);                                      \
      rc = call(handle, option, v_);                                      \
    } else if ((option) < CURLOPTTYPE_OFF_T) {                            \
      any_fn v_ = va_arg(ap, any_fn);                                     \
      rc = call(handle, option, v_);                                      \
    } else if ((option) < CURLOPTTYPE_BLOB) {                             \
      curl_off_t v_ = va_arg(ap, curl_off_t);                             \
      rc = call(handle, option, v_);                                      \
    } else {                                                              \
      void *v_ = va_arg(ap, void *);                                      \
      rc = call(handle, option, v_);                                      \
    }                                                                     \
  } while (0)

CURLcode curl_easy_setopt(CURL *e, CURLoption option, ...) {
  if (!e) return CURLE_BAD_FUNCTION_ARGUMENT;
  CURLcode rc;
  va_list ap;
  va_start(ap, option);
  FORWARD_SETOPT(fn.easy_setopt, e, option, ap);
  va_end(ap);
  return rc;
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption option, ...) {
  if (!m) return CURLM_BAD_HANDLE;
  CURLMcode rc;
  va_list ap;
  va_start(ap, option);
  FORWARD_SETOPT(fn.multi_setopt, m, option, ap);
  va_end(ap);
  return rc;
}

/* every CURLINFO takes a pointer to where the answer goes */
CURLcode curl_easy_getinfo(CURL *e, CURLINFO info, ...) {
  if (!e) return CURLE_BAD_FUNCTION_ARGUMENT;
  va_list ap;
  va_start(ap, info);
  void *out = va_arg(ap, void *);
  va_end(ap);
  return fn.easy_getinfo(e, info, out);
}

CURLcode curl_easy_perform(CURL *e) {
  return e ? fn.easy_perform(e) : CURLE_BAD_FUNCTION_ARGUMENT;
}

void curl_easy_cleanup(CURL *e) {
  if (e) fn.easy_cleanup(e);
}

const char *curl_easy_strerror(CURLcode rc) {
  return load() == 0 ? fn.easy_strerror(rc) : why;
}

CURLM *curl_multi_init(void) { return load() == 0 ? fn.multi_init() : NULL; }

CURLMcode curl_multi_add_handle(CURLM *m, CURL *e) {
  return m ? fn.multi_add_handle(m, e) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *e) {
  return m ? fn.multi_remove_handle(m, e) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_perform(CURLM *m, int *running) {
  return m ? fn.multi_perform(m, running) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd *extra, unsigned int n, int timeout_ms,
                          int *numfds) {
  return m ? fn.multi_poll(m, extra, n, timeout_ms, numfds) : CURLM_BAD_HANDLE;
}

CURLMsg *curl_multi_info_read(CURLM *m, int *left) {
  if (!m) {
    if (left) *left = 0;
    return NULL;
  }
  return fn.multi_info_read(m, left);
}

CURLMcode curl_multi_cleanup(CURLM *m) {
  return m ? fn.multi_cleanup(m) : CURLM_BAD_HANDLE;
}

CURLSH *curl_share_init(void) { return load() == 0 ? fn.share_init() : NULL; }

/* CURLSHOPT_SHARE and _UNSHARE take an int (a curl_lock_data), the lock
 * functions a function pointer, CURLSHOPT_USERDATA a pointer */
CURLSHcode curl_share_setopt(CURLSH *sh, CURLSHoption option, ...) {
  if (!sh) return CURLSHE_INVALID;
  CURLSHcode rc;
  va_list ap;
  va_start(ap, option);
  if (option == CURLSHOPT_SHARE || option == CURLSHOPT_UNSHARE) {
    int v = va_arg(ap, int);
    rc = fn.share_setopt(sh, option, v);
  } else if (option == CURLSHOPT_LOCKFUNC || option == CURLSHOPT_UNLOCKFUNC) {
    any_fn v = va_arg(ap, any_fn);
    rc = fn.share_setopt(sh, option, v);
  } else {
    void *v = va_arg(ap, void *);
    rc = fn.share_setopt(sh, option, v);
  }
  va_end(ap);
  return rc;
}

CURLSHcode curl_share_cleanup(CURLSH *sh) {
  return sh ? fn.share_cleanup(sh) : CURLSHE_INVALID;
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s) {
  return load() == 0 ? fn.slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list) {
  if (list) fn.slist_free_all(list);
}

curl_version_info_data *curl_version_info(CURLversion v) {
  return load() == 0 ? fn.version_info(v) : NULL;
}
