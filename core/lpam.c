/* lpam.c - imds_token, pam_login, pam_request (and pam.secret) for Lua.
 *
 * Every C resource a binding allocates is owned by a "call box" userdata
 * with a __gc, created before the first allocation, so that any Lua error
 * raised afterwards (argument errors, memory errors, our own error objects)
 * leaks nothing. */
#include "lpam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>

#include "http.h"
#include "identity.h"
#include "interrupt.h"
#include "logline.h"
#include "jwt.h"
#include "pam.h"
#include "prompt.h"
#include "redact.h"

#ifndef PAMSH_VERSION
#define PAMSH_VERSION "0.0.0"
#endif

#define CTX_KEY "pamsh.ctx"      /* registry: the context userdata */
#define CTX_MT "pamsh.ctx.mt"    /* registry: its metatable */
#define CALL_MT "pamsh.call"
#define DECODE_KEY "pamsh.json_decode"
#define ENCODE_KEY "pamsh.json_encode"

/* one item of pam.map: its coroutine and where its result goes */
typedef struct {
  lua_State *co;
  int ref;              /* keeps the coroutine alive in the registry */
  lua_Integer index;
  int waiting;          /* yielded in pam_request, a transfer in flight */
} map_slot;

typedef struct {
  map_slot *slots;
  int n;
} map_state;

typedef struct {
  const settings *cfg;
  volatile sig_atomic_t *abort_flag;
  http_client *http;
  identity *id;
  pam_session *pam;
  map_state *map;       /* a pam.map in progress, or NULL */
} pamsh_ctx;

static map_slot *map_slot_of(map_state *m, lua_State *co) {
  for (int i = 0; i < m->n; i++)
    if (m->slots[i].co == co) return &m->slots[i];
  return NULL;
}

static int pam_request_k(lua_State *L, int status, lua_KContext kctx);

static void zero_free(char *s) {
  if (!s) return;
  memset(s, 0, strlen(s));
  free(s);
}

/* a secret from the environment, removed from it so that child processes
 * (os.execute, io.popen) do not inherit it; malloc'd */
static char *take_env_secret(const char *name) {
  const char *v = getenv(name);
  char *copy = v && *v ? strdup(v) : NULL;
  if (v) {
    memset((char *)v, 0, strlen(v));
    unsetenv(name);
  }
  return copy;
}

typedef struct {
  http_response res;
  px_error err;
  char *tmp;
  int rc;        /* the outcome of a request finished by pam.map */
} call_box;

/* ---- lifetimes ---------------------------------------------------- */

static int ctx_gc(lua_State *L) {
  pamsh_ctx *c = luaL_checkudata(L, 1, CTX_MT);
  pam_session_free(c->pam);
  identity_free(c->id);
  http_client_free(c->http);
  c->pam = NULL, c->id = NULL, c->http = NULL;
  return 0;
}

static void box_release(call_box *b) {
  http_response_free(&b->res);
  px_clear(&b->err);
  free(b->tmp);
  b->tmp = NULL;
}

static int box_gc(lua_State *L) {
  box_release(luaL_checkudata(L, 1, CALL_MT));
  return 0;
}

static call_box *new_box(lua_State *L) {
  call_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, CALL_MT);
  return b;
}

static pamsh_ctx *ctx_of(lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

/* ---- error objects ------------------------------------------------ */

static int error_tostring(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "method");
  lua_getfield(L, 1, "path");
  lua_getfield(L, 1, "message");
  const char *m = lua_tostring(L, -3), *p = lua_tostring(L, -2);
  const char *msg = lua_tostring(L, -1);
  size_t ml = m ? strlen(m) : 0;
  /* a transport message already names method and URL */
  int named = m && msg && strncmp(msg, m, ml) == 0 && msg[ml] == ' ';
  if (m && p && !named) lua_pushfstring(L, "%s %s: %s", m, p, msg ? msg : "error");
  else lua_pushstring(L, msg ? msg : "error");
  return 1;
}

static int decode_json(lua_State *L, const char *s, size_t len);

/* push a pamsh.error table built from e; may raise a memory error, which
 * is fine: whatever e points to is owned by a call box */
static void push_error(lua_State *L, const px_error *e) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, px_kind_name(e->kind));
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, e->message);
  lua_setfield(L, -2, "message");
  if (e->status) {
    lua_pushinteger(L, e->status);
    lua_setfield(L, -2, "status");
  }
  if (e->method[0] && e->path[0]) {
    lua_pushstring(L, e->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, e->path);
    lua_setfield(L, -2, "path");
  }
  if (e->body && *e->body) {
    size_t n = strlen(e->body);
    if (!decode_json(L, e->body, n)) {
      lua_pop(L, 1);
      lua_pushlstring(L, e->body, n);
    }
    lua_setfield(L, -2, "body");
  }
  luaL_setmetatable(L, PAMSH_ERROR_MT);
}

static int raise_px(lua_State *L, const px_error *e) {
  /* a transfer aborted by a signal or the deadline: say that, not "network" */
  if (interrupt_flag) interrupt_push_error(L);
  else push_error(L, e);
  return lua_error(L);
}

/* a stopped run does not start new requests, even if the script caught
 * the first interruption */
static void check_interrupt(lua_State *L) {
  if (interrupt_flag) {
    interrupt_push_error(L);
    lua_error(L);
  }
}

static int raise_usage(lua_State *L, const char *msg) {
  px_error e = {0};
  px_set(&e, PX_USAGE, "%s", msg);
  return raise_px(L, &e);
}

/* ---- JSON ---------------------------------------------------------- */

/* cjson decodes every number as a float; ids and counts read better as
 * the integers they are */
static void fix_integers(lua_State *L, int idx, int depth) {
  /* each level needs 4 stack slots: a C function is only promised 20 */
  if (depth > 200 || !lua_checkstack(L, 4)) return;
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      lua_Integer i;
      if (lua_numbertointeger(lua_tonumber(L, -1), &i) &&
          (lua_Number)i == lua_tonumber(L, -1)) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, i);
        lua_rawset(L, idx);
      }
    } else if (lua_type(L, -1) == LUA_TTABLE) {
      fix_integers(L, -1, depth + 1);
    }
    lua_pop(L, 1);
  }
}

/* decode s as JSON: 1 with the value pushed, or 0 with an error message */
static int decode_json(lua_State *L, const char *s, size_t len) {
  lua_getfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
  lua_pushlstring(L, s, len);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return 0;
  if (lua_type(L, -1) == LUA_TTABLE) fix_integers(L, -1, 0);
  return 1;
}

static int looks_like_json(const char *s, size_t n) {
  while (n && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) s++, n--;
  return n && (*s == '{' || *s == '[');
}

/* ---- secrets ------------------------------------------------------- */

typedef struct {
  char *data;
  size_t len;
} secret_box;

void lpam_push_secret(lua_State *L, const char *s, size_t len) {
  secret_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->data = NULL;
  b->len = 0;
  luaL_setmetatable(L, PAMSH_SECRET_MT);
  b->data = malloc(len + 1);
  if (!b->data) luaL_error(L, "out of memory");  /* nothing held: b owns it */
  memcpy(b->data, s, len);
  b->data[len] = '\0';
  b->len = len;
}

static int secret_new(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lpam_push_secret(L, s, len);
  return 1;
}

static int secret_gc(lua_State *L) {
  secret_box *b = luaL_checkudata(L, 1, PAMSH_SECRET_MT);
  if (b->data) {
    memset(b->data, 0, b->len);
    free(b->data);
    b->data = NULL;
  }
  return 0;
}

static int secret_tostring(lua_State *L) {
  luaL_checkudata(L, 1, PAMSH_SECRET_MT);
  lua_pushliteral(L, REDACTED);
  return 1;
}

static int secret_reveal(lua_State *L) {
  secret_box *b = luaL_checkudata(L, 1, PAMSH_SECRET_MT);
  lua_pushlstring(L, b->data ? b->data : "", b->len);
  return 1;
}

static int secret_len(lua_State *L) {
  secret_box *b = luaL_checkudata(L, 1, PAMSH_SECRET_MT);
  lua_pushinteger(L, (lua_Integer)b->len);
  return 1;
}

static int secret_concat(lua_State *L) {
  return luaL_error(L, "cannot concatenate a pam.secret: call :reveal() if you mean to");
}

static int secret_eq(lua_State *L) {
  secret_box *a = luaL_checkudata(L, 1, PAMSH_SECRET_MT);
  secret_box *b = luaL_checkudata(L, 2, PAMSH_SECRET_MT);
  lua_pushboolean(L, a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
  return 1;
}

static int is_secret(lua_State *L, int idx) {
  return luaL_testudata(L, idx, PAMSH_SECRET_MT) != NULL;
}

/* ---- JSON encoding meets secrets ------------------------------------ */

/* Append ".key" or "[i]" to at (always NUL-terminated, truncated at
 * cap); returns the new length. */
static size_t at_append(char *at, size_t cap, size_t len, lua_State *L, int key) {
  int n;
  if (lua_type(L, key) == LUA_TSTRING) n = snprintf(at + len, cap - len, ".%s", lua_tostring(L, key));
  else if (lua_isinteger(L, key)) n = snprintf(at + len, cap - len, "[%lld]", (long long)lua_tointeger(L, key));
  else n = snprintf(at + len, cap - len, "[%s key]", luaL_typename(L, key));
  if (n < 0) return len;
  return len + (size_t)n < cap ? len + (size_t)n : cap - 1;
}

/* Is there a pam.secret in the value at idx (itself, a key or a value,
 * at any depth)?  1 with at naming where, as pam.json does (".fields.
 * Password", "[2]"; empty for the value itself).  seen is the index of a
 * table of the tables already looked at: shared and cyclic tables are
 * walked once.  Only secrets' addresses are looked at, never their
 * contents. */
static int find_secret(lua_State *L, int idx, int seen, char *at, size_t cap, size_t len,
                       int depth) {
  idx = lua_absindex(L, idx);
  at[len] = '\0';
  if (is_secret(L, idx)) return 1;
  if (lua_type(L, idx) != LUA_TTABLE || depth > 1000 || !lua_checkstack(L, 4)) return 0;
  lua_pushvalue(L, idx);
  int known = lua_rawget(L, seen) != LUA_TNIL;
  lua_pop(L, 1);
  if (known) return 0;
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, seen);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t n = at_append(at, cap, len, L, -2);
    if (is_secret(L, -2) || find_secret(L, -1, seen, at, cap, n, depth + 1)) {
      lua_pop(L, 2);
      return 1;
    }
    lua_pop(L, 1);
  }
  at[len] = '\0';
  return 0;
}

/* find_secret from the top: 1 with at filled when idx holds a secret */
static int secret_inside(lua_State *L, int idx, char *at, size_t cap) {
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  int found = find_secret(L, idx, lua_gettop(L), at, cap, 0, 0);
  lua_pop(L, 1);
  return found;
}

/* push what cjson.encode says of a pam.secret found at `at` */
static const char *push_secret_json_error(lua_State *L, const char *at) {
  return lua_pushfstring(L, "cjson.encode: %s is a pam.secret and cannot be encoded as "
                         "JSON; call :reveal() on it (or use pam.json(v, {reveal = true})) "
                         "if you mean to write it out", at[0] ? at : "the value");
}

/* cjson.encode, wrapped (upvalue 1: the original).  cjson refuses a
 * pam.secret like any userdata ("Cannot serialise userdata: type not
 * supported"); this says what it is and what to do instead, in a usage
 * error like pam.json's.  Other failures are cjson's own, unchanged. */
static int l_json_encode(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checkstack(L, n + 2, "too many arguments");
  lua_pushvalue(L, lua_upvalueindex(1));
  for (int i = 1; i <= n; i++) lua_pushvalue(L, i);
  if (lua_pcall(L, n, 1, 0) == LUA_OK) return 1;
  char at[200] = "";
  if (n < 1 || !secret_inside(L, 1, at, sizeof at)) return lua_error(L);
  return raise_usage(L, push_secret_json_error(L, at));
}

/* cjson.safe.encode, wrapped (upvalue 1: the original): nil and the same
 * plain message as l_json_encode's, as a string (cjson.safe's way) */
static int l_json_safe_encode(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checkstack(L, n + 2, "too many arguments");
  lua_pushvalue(L, lua_upvalueindex(1));
  for (int i = 1; i <= n; i++) lua_pushvalue(L, i);
  lua_call(L, n, 2);
  if (!lua_isnil(L, -2)) {
    lua_pop(L, 1);
    return 1;
  }
  char at[200] = "";
  if (n < 1 || !secret_inside(L, 1, at, sizeof at)) return 2;
  lua_pop(L, 1);
  push_secret_json_error(L, at);
  return 2;
}

/* replace the encode of the module at the top of the stack by f, with
 * the original as its upvalue */
static void wrap_encode(lua_State *L, lua_CFunction f) {
  if (lua_getfield(L, -1, "encode") != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, -2, "encode");
}

/* ---- the context ---------------------------------------------------- */

static int ctx_ready(lua_State *L, pamsh_ctx *c) {
  if (c->pam) return 1;
  const settings *s = c->cfg;
  http_config hc = {
    .verbose = s->verbose,
    .insecure = s->insecure,
    .cacert = s->cacert,
    .pin = s->pin,
    .timeout_ms = s->timeout_ms,
    .connect_timeout_ms = s->timeout_ms < 10000 ? s->timeout_ms : 10000,
    .user_agent = "pamsh/" PAMSH_VERSION,
    .abort_flag = c->abort_flag,
  };
  pam_config pc = {.base_url = s->url, .resource = s->resource,
                   .selector = {s->client_id, s->object_id, s->msi_res_id},
                   .allow_http = s->allow_http};
  char *password = NULL, *api_token = NULL;
  if (strcmp(s->login, "cas") == 0) {
    pc.login.method = PAM_LOGIN_CAS;
    if (s->user) {
      password = take_env_secret("PAMSH_PASSWORD");
      if (!password) {
        char prompt[300];
        snprintf(prompt, sizeof prompt, "PAM password for %s: ", s->user);
        password = prompt_secret(prompt);
      }
      if (!password) {
        px_error e = {0};
        px_set(&e, PX_USAGE, "--login cas --user %s needs a password: set PAMSH_PASSWORD "
               "or run on a terminal to be asked", s->user);
        raise_px(L, &e);
      }
      pc.login.username = s->user;
      pc.login.password = password;
    } else {
      api_token = take_env_secret("PAMSH_API_TOKEN");
      if (!api_token) {
        px_error e = {0};
        px_set(&e, PX_USAGE, "--login cas needs --user NAME (and a password) or an API "
               "token in PAMSH_API_TOKEN");
        raise_px(L, &e);
      }
      pc.login.api_token = api_token;
    }
  }
  identity_config ic = {.imds_base = s->imds_url, .attempt_timeout_ms = s->timeout_ms,
                        .deadline = s->deadline > 0 ? s->started + s->deadline : 0};
  if (!c->http) c->http = http_client_new(&hc);
  if (c->http && !c->id) c->id = identity_new(c->http, &ic);
  if (c->id) c->pam = pam_session_new(c->http, c->id, &pc);
  zero_free(password);  /* the session holds its own copy */
  zero_free(api_token);
  if (!c->pam) {
    px_error e = {0};
    px_set(&e, PX_NETWORK, "%s", c->http ? "cannot set up the PAM session" : http_init_error());
    raise_px(L, &e);
  }
  return 1;
}

/* ---- imds_token ----------------------------------------------------- */

static const char *opt_string(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *v = NULL;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pushfstring(L, "option '%s' must be a string", k);
      raise_usage(L, lua_tostring(L, -1));
    }
    v = lua_tostring(L, -1);
  }
  lua_pop(L, 1);  /* the string stays anchored in the table */
  return v;
}

static void push_claims(lua_State *L, call_box *b, const char *jwt) {
  const char *why = NULL;
  b->tmp = jwt_payload(jwt, strlen(jwt), &why);
  if (!b->tmp || !decode_json(L, b->tmp, strlen(b->tmp))) {
    if (b->tmp) lua_pop(L, 1);
    lua_pushnil(L);
  }
  free(b->tmp);
  b->tmp = NULL;
}

static int l_imds_token(lua_State *L) {
  pamsh_ctx *c = ctx_of(L);
  check_interrupt(L);
  const char *resource = c->cfg->resource;
  id_selector sel = {c->cfg->client_id, c->cfg->object_id, c->cfg->msi_res_id};
  if (lua_type(L, 1) == LUA_TSTRING) {
    resource = lua_tostring(L, 1);
  } else if (lua_type(L, 1) == LUA_TTABLE) {
    const char *r = opt_string(L, 1, "resource");
    const char *ci = opt_string(L, 1, "client_id");
    const char *oi = opt_string(L, 1, "object_id");
    const char *mi = opt_string(L, 1, "msi_res_id");
    if (r) resource = r;
    if (ci || oi || mi) sel = (id_selector){ci, oi, mi};
  } else if (!lua_isnoneornil(L, 1)) {
    return raise_usage(L, "imds_token: expected a resource string or an options table");
  }
  ctx_ready(L, c);
  call_box *b = new_box(L);
  const id_token *t = identity_get(c->id, resource, &sel, &b->err);
  if (!t) return raise_px(L, &b->err);
  lua_pushstring(L, t->access_token);
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, t->expires_on);
  lua_setfield(L, -2, "expires_on");
  lua_pushstring(L, t->resource);
  lua_setfield(L, -2, "resource");
  lua_pushstring(L, t->source);
  lua_setfield(L, -2, "source");
  if (t->client_id) {
    lua_pushstring(L, t->client_id);
    lua_setfield(L, -2, "client_id");
  }
  push_claims(L, b, t->access_token);
  lua_setfield(L, -2, "claims");
  return 2;
}

/* ---- pam_login ------------------------------------------------------ */

/* a string option that may also be a pam.secret */
static const char *opt_secret(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *v = NULL;
  if (luaL_testudata(L, -1, PAMSH_SECRET_MT)) {
    secret_box *sb = lua_touserdata(L, -1);
    v = sb->data;
  } else if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pushfstring(L, "option '%s' must be a string or a pam.secret", k);
      raise_usage(L, lua_tostring(L, -1));
    }
    v = lua_tostring(L, -1);
  }
  lua_pop(L, 1);  /* still anchored in the table */
  return v;
}

static int l_pam_login(lua_State *L) {
  pamsh_ctx *c = ctx_of(L);
  check_interrupt(L);
  const char *url = NULL;
  pam_credentials cred = {0};
  int have_cred = 0;
  if (lua_type(L, 1) == LUA_TTABLE) {
    url = opt_string(L, 1, "url");
    const char *method = opt_string(L, 1, "method");
    cred.token = opt_secret(L, 1, "token");
    cred.username = opt_string(L, 1, "username");
    cred.password = opt_secret(L, 1, "password");
    cred.api_token = opt_secret(L, 1, "api_token");
    if (method && strcmp(method, "cas") == 0) {
      cred.method = PAM_LOGIN_CAS;
      if (cred.token) return raise_usage(L, "pam_login: method cas takes username/password or api_token, not token");
      if (!cred.username && !cred.api_token)
        return raise_usage(L, "pam_login: method cas needs username and password, or api_token");
      if (cred.username && !cred.password)
        return raise_usage(L, "pam_login: method cas with a username needs a password");
      have_cred = 1;
    } else if (method && strcmp(method, "azure") != 0) {
      return raise_usage(L, "pam_login: method must be \"azure\" or \"cas\"");
    } else {
      if (cred.username || cred.password || cred.api_token)
        return raise_usage(L, "pam_login: username, password and api_token need method = \"cas\"");
      have_cred = method != NULL || cred.token != NULL;
    }
  } else if (!lua_isnoneornil(L, 1)) {
    return raise_usage(L, "pam_login: expected an options table");
  }
  ctx_ready(L, c);
  call_box *b = new_box(L);
  pam_login_info info = {0};
  if (pam_login(c->pam, have_cred ? &cred : NULL, url, &info, &b->err) != 0)
    return raise_px(L, &b->err);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, info.url);
  lua_setfield(L, -2, "url");
  lua_pushstring(L, info.source);
  lua_setfield(L, -2, "source");
  if (info.expires_on) {
    lua_pushinteger(L, info.expires_on);
    lua_setfield(L, -2, "expires_on");
  }
  lua_pushinteger(L, info.status);
  lua_setfield(L, -2, "status");
  return 1;
}

/* ---- pam_request ---------------------------------------------------- */

static void add_urlencoded(luaL_Buffer *B, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      luaL_addchar(B, (char)ch);
    } else {
      luaL_addchar(B, '%');
      luaL_addchar(B, hex[ch >> 4]);
      luaL_addchar(B, hex[ch & 15]);
    }
  }
}

/* a form value: string, number, boolean or pam.secret (sent on purpose:
 * the server is where secrets go) */
static const char *form_value(lua_State *L, int idx, size_t *n) {
  if (is_secret(L, idx)) {
    secret_box *sb = lua_touserdata(L, idx);
    *n = sb->len;
    return sb->data ? sb->data : "";
  }
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
  case LUA_TNUMBER:
    return lua_tolstring(L, idx, n);  /* converts the stack copy only */
  case LUA_TBOOLEAN:
    *n = lua_toboolean(L, idx) ? 4 : 5;
    return lua_toboolean(L, idx) ? "true" : "false";
  default:
    return NULL;
  }
}

/* push "k=v&..." for table t, keys sorted so requests are reproducible */
static void push_form(lua_State *L, int t) {
  t = lua_absindex(L, t);
  lua_newtable(L);  /* keys */
  int keys = lua_gettop(L), nkeys = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) raise_usage(L, "opts.form: keys must be strings");
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, ++nkeys);
  }
  for (int i = 2; i <= nkeys; i++) {  /* insertion sort: forms are small */
    for (int j = i; j > 1; j--) {
      lua_rawgeti(L, keys, j);
      lua_rawgeti(L, keys, j - 1);
      int less = strcmp(lua_tostring(L, -2), lua_tostring(L, -1)) < 0;
      if (less) {
        lua_rawseti(L, keys, j);
        lua_rawseti(L, keys, j - 1);
      } else {
        lua_pop(L, 2);
        break;
      }
    }
  }
  /* each "k=v" is built in a buffer of its own, with nothing else pushed
   * meanwhile (the luaL_Buffer rule), then the pieces are joined */
  for (int i = 1; i <= nkeys; i++) {
    size_t kn, vn;
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_gettable(L, t);
    const char *v = form_value(L, -1, &vn);
    if (!v) raise_usage(L, "opts.form: values must be strings, numbers, booleans or secrets");
    const char *k = lua_tolstring(L, -2, &kn);
    luaL_Buffer P;
    luaL_buffinit(L, &P);
    add_urlencoded(&P, k, kn);
    luaL_addchar(&P, '=');
    add_urlencoded(&P, v, vn);
    luaL_pushresult(&P);
    lua_rawseti(L, keys, nkeys + i);
    lua_pop(L, 2);
  }
  luaL_Buffer B;
  luaL_buffinit(L, &B);
  for (int i = 1; i <= nkeys; i++) {
    if (i > 1) luaL_addchar(&B, '&');
    lua_rawgeti(L, keys, nkeys + i);
    luaL_addvalue(&B);
  }
  luaL_pushresult(&B);
  lua_remove(L, keys);
}

/* data, status, headers from a successful response in b */
static int finish_request(lua_State *L, call_box *b, const char *method, const char *path) {
  /* data */
  char *ct = http_header(&b->res, "Content-Type");
  int is_json = ct && strstr(ct, "json") != NULL;
  free(ct);
  if (b->res.body_len == 0) {
    lua_pushnil(L);
  } else if (is_json || looks_like_json(b->res.body, b->res.body_len)) {
    if (!decode_json(L, b->res.body, b->res.body_len)) {
      if (is_json) {
        /* the server promised JSON and broke the promise */
        const char *why = lua_tostring(L, -1);
        b->err.kind = PX_HTTP;
        b->err.status = b->res.status;
        snprintf(b->err.method, sizeof b->err.method, "%s", method);
        snprintf(b->err.path, sizeof b->err.path, "%s", path);
        snprintf(b->err.message, sizeof b->err.message,
                 "HTTP %ld response is not valid JSON (%s)", b->res.status,
                 why ? why : "parse error");
        return raise_px(L, &b->err);
      }
      lua_pop(L, 1);
      lua_pushlstring(L, b->res.body, b->res.body_len);
    }
  } else {
    lua_pushlstring(L, b->res.body, b->res.body_len);
  }
  lua_pushinteger(L, b->res.status);
  /* headers, lower-cased names; cookies never cross into Lua */
  lua_newtable(L);
  const char *p = b->res.headers, *end = p + b->res.headers_len;
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
    const char *colon = memchr(p, ':', len);
    if (colon && colon > p) {
      luaL_Buffer B;
      luaL_buffinit(L, &B);
      for (const char *q = p; q < colon; q++) {
        char ch = *q;
        luaL_addchar(&B, (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch);
      }
      luaL_pushresult(&B);
      const char *v = colon + 1, *ve = p + len;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
      if (strcmp(lua_tostring(L, -1), "set-cookie") == 0) lua_pushliteral(L, REDACTED);
      else lua_pushlstring(L, v, (size_t)(ve - v));
      lua_rawset(L, -3);
    }
    p += len + 1;
  }
  box_release(b);  /* free the body now rather than at the next GC */
  return 3;
}

static int l_pam_request(lua_State *L) {
  pamsh_ctx *c = ctx_of(L);
  check_interrupt(L);
  const char *method_in = luaL_checkstring(L, 1);
  const char *path = luaL_checkstring(L, 2);
  char method[16];
  size_t ml = strlen(method_in);
  if (ml == 0 || ml >= sizeof method) return raise_usage(L, "pam_request: bad method");
  for (size_t i = 0; i <= ml; i++) {
    char ch = method_in[i];
    if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
    if (i < ml && !(ch >= 'A' && ch <= 'Z')) return raise_usage(L, "pam_request: bad method");
    method[i] = ch;
  }
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);
  const char *ctype = NULL;
  if (lua_istable(L, 4)) ctype = opt_string(L, 4, "content_type");
  /* slot 5: the request body as a string, or nil */
  if (lua_istable(L, 4) && (lua_getfield(L, 4, "form"), !lua_isnil(L, -1))) {
    if (!lua_istable(L, -1)) return raise_usage(L, "pam_request: opts.form must be a table");
    push_form(L, -1);
    lua_remove(L, -2);
    if (!ctype) ctype = "application/x-www-form-urlencoded";
  } else {
    if (lua_istable(L, 4)) lua_pop(L, 1);
    if (lua_type(L, 3) == LUA_TTABLE) {
      lua_getfield(L, LUA_REGISTRYINDEX, ENCODE_KEY);
      lua_pushvalue(L, 3);
      if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        char at[200] = "";
        if (secret_inside(L, 3, at, sizeof at))
          lua_pushfstring(L, "pam_request: the body cannot be sent as JSON: %s is a pam.secret; "
                          "call :reveal() on it (or send pam.json(body, {reveal = true})) "
                          "if you mean to send it", at[0] ? at : "the body");
        else
          lua_pushfstring(L, "pam_request: the body cannot be sent as JSON: %s",
                          lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
        return raise_usage(L, lua_tostring(L, -1));
      }
      if (!ctype) ctype = "application/json";
    } else if (lua_type(L, 3) == LUA_TSTRING) {
      lua_pushvalue(L, 3);
      if (!ctype) ctype = "application/json";
    } else if (lua_isnil(L, 3)) {
      lua_pushnil(L);
    } else {
      return raise_usage(L, "pam_request: body must be a string or a table");
    }
  }
  size_t blen = 0;
  const char *body = lua_isnil(L, 5) ? NULL : lua_tolstring(L, 5, &blen);
  if (c->cfg->dry_run && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    /* shown, not sent: the script runs to the end on a synthetic answer */
    int is_form = ctype && strstr(ctype, "x-www-form-urlencoded") != NULL;
    char *shown = !body ? NULL : is_form ? redact_form(body, blen) : redact_text(body, blen);
    log_msg(LOG_INFO, "dry-run: %s %s%s%s", method, path, shown ? " " : "", shown ? shown : "");
    free(shown);
    lua_createtable(L, 0, 1);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "dry_run");
    lua_pushinteger(L, 0);
    lua_newtable(L);
    return 3;
  }
  ctx_ready(L, c);
  map_slot *slot = c->map ? map_slot_of(c->map, L) : NULL;
  if (slot && lua_isyieldable(L)) {
    /* inside pam.map: start the transfer, yield to the scheduler, and
     * finish in pam_request_k when it has completed */
    px_error err = {0};
    pam_async *a = pam_async_start(c->pam, method, path, body, blen, ctype, slot, &err);
    if (!a) return raise_px(L, &err);
    slot->waiting = 1;
    return lua_yieldk(L, 0, 0, pam_request_k);
  }
  call_box *b = new_box(L);
  if (pam_request(c->pam, method, path, body, blen, ctype, &b->res, &b->err) != 0)
    return raise_px(L, &b->err);
  return finish_request(L, b, method, path);
}

/* the continuation of a pam_request that yielded inside pam.map: the
 * scheduler resumed it with a call box holding the outcome */
static int pam_request_k(lua_State *L, int status, lua_KContext kctx) {
  (void)status; (void)kctx;
  call_box *b = luaL_checkudata(L, -1, CALL_MT);
  if (b->rc != 0) return raise_px(L, &b->err);
  char method[16];
  snprintf(method, sizeof method, "%s", lua_tostring(L, 1));
  for (char *p = method; *p; p++)
    if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
  return finish_request(L, b, method, lua_tostring(L, 2));
}

/* ---- pam.map: coroutines over the multi interface -------------------- */

/* resume slot's coroutine with nargs values on its stack; record what it
 * ends with.  Returns 1 when the item is finished. */
static int map_resume(lua_State *L, map_slot *sl, int nargs, int results, int errors) {
  int nres = 0;
  sl->waiting = 0;
  int st = lua_resume(sl->co, L, nargs, &nres);
  if (st == LUA_YIELD) {
    if (sl->waiting) {
      lua_pop(sl->co, nres);
      return 0;
    }
    /* a yield that is not ours (coroutine.yield in fn): that item fails */
    lua_pop(sl->co, nres);
    lua_pushliteral(L, "pam.map: the function yielded outside a request");
    lua_rawseti(L, errors, sl->index);
  } else if (st == LUA_OK) {
    if (nres > 0) {
      /* the first result (fn may return several, as pam_request does:
       * data, status, headers); the others are dropped */
      lua_pop(sl->co, nres - 1);
      lua_xmove(sl->co, L, 1);
      lua_rawseti(L, results, sl->index);
    }
  } else {
    lua_xmove(sl->co, L, 1);
    lua_rawseti(L, errors, sl->index);
  }
  luaL_unref(L, LUA_REGISTRYINDEX, sl->ref);
  sl->co = NULL;
  return 1;
}

/* call the progress function at index fn with (done, total); a failing
 * progress display must not stop the work */
static void map_progress(lua_State *L, int fn, lua_Integer done, lua_Integer total) {
  lua_pushvalue(L, fn);
  lua_pushinteger(L, done);
  lua_pushinteger(L, total);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1);
}

/* core.map(list, fn, [concurrency], [progress]) -> results, errors */
static int l_map(lua_State *L) {
  pamsh_ctx *c = ctx_of(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_Integer conc = luaL_optinteger(L, 3, 8);
  if (conc < 1) conc = 1;
  if (conc > 256) conc = 256;
  int has_progress = lua_isfunction(L, 4);
  lua_settop(L, 4);
  if (c->map) return raise_usage(L, "pam.map cannot be nested");
  check_interrupt(L);
  ctx_ready(L, c);
  lua_Integer n = luaL_len(L, 1);
  lua_newtable(L);  /* 5: results */
  lua_newtable(L);  /* 6: errors */
  map_slot *slots = lua_newuserdatauv(L, sizeof(map_slot) * (size_t)conc, 0);  /* 7 */
  memset(slots, 0, sizeof(map_slot) * (size_t)conc);
  map_state m = {slots, (int)conc};
  c->map = &m;
  lua_Integer next = 1, done = 0;
  int active = 0;
  while (next <= n || active > 0) {
    /* fill free slots with new items */
    for (int i = 0; i < conc && next <= n; i++) {
      map_slot *sl = &slots[i];
      if (sl->co) continue;
      sl->co = lua_newthread(L);
      sl->ref = luaL_ref(L, LUA_REGISTRYINDEX);
      sl->index = next;
      lua_pushvalue(L, 2);
      lua_geti(L, 1, next);
      lua_xmove(L, sl->co, 2);
      next++;
      active++;
      if (map_resume(L, sl, 1, 5, 6)) {
        active--;
        done++;
        if (has_progress) map_progress(L, 4, done, n);
      }
    }
    if (active == 0) continue;
    pam_async_run(c->pam, 200);
    void *user;
    int rc;
    http_response res;
    px_error err = {0};
    while (pam_async_next(c->pam, &user, &rc, &res, &err)) {
      map_slot *sl = user;
      call_box *b = new_box(sl->co);
      b->rc = rc;
      if (rc == 0) b->res = res;
      else {
        b->err = err;  /* the box owns the body now */
        memset(&err, 0, sizeof err);
      }
      if (map_resume(L, sl, 1, 5, 6)) {
        active--;
        done++;
        if (has_progress) map_progress(L, 4, done, n);
      }
    }
    px_clear(&err);
  }
  c->map = NULL;
  /* a signal or the deadline stopped the items: stop the script too */
  check_interrupt(L);
  lua_pushvalue(L, 5);
  lua_pushvalue(L, 6);
  return 2;
}

/* forget the session; -v says so when there was one */
static void ctx_logout(pamsh_ctx *c) {
  if (!c->pam) return;
  int was = pam_logged_in(c->pam);
  pam_logout(c->pam);
  if (was) log_msg(LOG_DEBUG, "logged out of PAM");
}

static int l_pam_logout(lua_State *L) {
  ctx_logout(ctx_of(L));
  return 0;
}

void lpam_logout(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY);
  pamsh_ctx *c = luaL_testudata(L, -1, CTX_MT);
  lua_pop(L, 1);
  if (c) ctx_logout(c);
}

static int l_logged_in(lua_State *L) {
  pamsh_ctx *c = ctx_of(L);
  lua_pushboolean(L, c->pam && pam_logged_in(c->pam));
  return 1;
}

/* the number of token requests sent to the identity endpoint */
static int l_identity_fetches(lua_State *L) {
  pamsh_ctx *c = ctx_of(L);
  lua_pushinteger(L, c->id ? identity_fetch_count(c->id) : 0);
  return 1;
}

/* is this field name one whose value is a secret? */
static int l_is_secret_name(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_pushboolean(L, redact_name_is_secret(s, n));
  return 1;
}

static int l_is_secret(lua_State *L) {
  lua_pushboolean(L, is_secret(L, 1));
  return 1;
}

static int l_redact(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char *r = redact_text(s, n);
  if (!r) return luaL_error(L, "out of memory");
  lua_pushstring(L, r);  /* may raise on OOM: r leaks only then */
  free(r);
  return 1;
}

static int l_versions(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushliteral(L, PAMSH_VERSION);
  lua_setfield(L, -2, "pamsh");
  lua_pushstring(L, http_version_string());
  lua_setfield(L, -2, "libcurl");
  lua_pushstring(L, http_tls_backend());
  lua_setfield(L, -2, "tls");
  lua_pushliteral(L, LUA_RELEASE);
  lua_setfield(L, -2, "lua");
  return 1;
}

/* error{kind=, message=, ...}: a structured error raised from Lua code
 * (the friendly layer) that the runtime reports like those born in C */
static int l_make_error(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "kind");
  const char *k = lua_tostring(L, -1);
  if (!k || (strcmp(k, "auth") && strcmp(k, "http") && strcmp(k, "network") &&
             strcmp(k, "usage")))
    return luaL_argerror(L, 1, "kind must be auth, http, network or usage");
  lua_pop(L, 1);
  lua_settop(L, 1);
  luaL_setmetatable(L, PAMSH_ERROR_MT);
  return 1;
}

static void set_str(lua_State *L, const char *k, const char *v) {
  if (!v || !*v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

/* the effective settings, without secrets (there are none among them) */
static int l_settings(lua_State *L) {
  const settings *s = ctx_of(L)->cfg;
  lua_createtable(L, 0, 12);
  set_str(L, "url", s->url);
  set_str(L, "resource", s->resource);
  set_str(L, "client_id", s->client_id);
  set_str(L, "object_id", s->object_id);
  set_str(L, "msi_res_id", s->msi_res_id);
  set_str(L, "imds_url", s->imds_url);
  set_str(L, "cacert", s->cacert);
  lua_pushboolean(L, s->insecure);
  lua_setfield(L, -2, "insecure");
  lua_pushboolean(L, s->verbose);
  lua_setfield(L, -2, "verbose");
  lua_pushnumber(L, s->timeout_ms / 1000.0);
  lua_setfield(L, -2, "timeout");
  lua_pushboolean(L, s->dry_run);
  lua_setfield(L, -2, "dry_run");
  lua_pushboolean(L, s->quiet);
  lua_setfield(L, -2, "quiet");
  set_str(L, "login", s->login);
  set_str(L, "user", s->user);
  set_str(L, "log_format", s->log_format);
  if (s->deadline > 0) {
    lua_pushnumber(L, s->deadline);
    lua_setfield(L, -2, "deadline");
  }
  return 1;
}

/* which identity source and why */
static int l_identity_source(lua_State *L) {
  pamsh_ctx *c = ctx_of(L);
  ctx_ready(L, c);
  id_source_info info;
  identity_describe(c->id, &info);
  lua_createtable(L, 0, 4);
  set_str(L, "source", info.source);
  set_str(L, "title", info.title);
  set_str(L, "why", info.why);
  set_str(L, "endpoint", info.endpoint);
  return 1;
}

/* tls_probe([url]) -> {verified, verify_error, subject, issuer, not_before, not_after} */
static int l_tls_probe(lua_State *L) {
  pamsh_ctx *c = ctx_of(L);
  const char *url = luaL_optstring(L, 1, c->cfg->url);
  if (!url) return raise_usage(L, "no PAM URL: pass --url URL or set PAMSH_URL");
  ctx_ready(L, c);
  call_box *b = new_box(L);
  http_tls_info t;
  if (http_tls_probe(c->http, url, &t, &b->err) != 0) return raise_px(L, &b->err);
  lua_createtable(L, 0, 6);
  lua_pushboolean(L, t.verified);
  lua_setfield(L, -2, "verified");
  set_str(L, "verify_error", t.verify_error);
  set_str(L, "subject", t.subject);
  set_str(L, "issuer", t.issuer);
  set_str(L, "not_before", t.not_before);
  set_str(L, "not_after", t.not_after);
  return 1;
}

/* decode a JWT's payload (no signature check): claims table or nil, why */
static int l_jwt_claims(lua_State *L) {
  size_t n;
  const char *jwt = luaL_checklstring(L, 1, &n);
  call_box *b = new_box(L);
  const char *why = NULL;
  b->tmp = jwt_payload(jwt, n, &why);
  if (!b->tmp) {
    lua_pushnil(L);
    lua_pushstring(L, why ? why : "not a JWT");
    return 2;
  }
  if (!decode_json(L, b->tmp, strlen(b->tmp))) {
    lua_pushnil(L);
    lua_pushliteral(L, "payload is not JSON");
    return 2;
  }
  return 1;
}

#ifdef PAMSH_TEST_HOOKS
/* test builds only: change this process's environment, to show that
 * rotating values (the App Service header) are re-read */
static int l_test_setenv(lua_State *L) {
  const char *k = luaL_checkstring(L, 1), *v = luaL_checkstring(L, 2);
  lua_pushboolean(L, setenv(k, v, 1) == 0);
  return 1;
}
#endif

/* log(level, msg, [fields]): one diagnostic line in the run's format.
 * Field values that are secrets, or whose names look secret, are
 * written as [REDACTED]. */
static int l_log(lua_State *L) {
  static const char *const names[] = {"debug", "info", "warn", "error", NULL};
  log_level level = (log_level)luaL_checkoption(L, 1, NULL, names);
  const char *msg = luaL_checkstring(L, 2);
  if (!log_enabled(level)) return 0;
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  /* sorted keys: stable lines */
  lua_newtable(L);  /* 4: keys */
  int n = 0;
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) == LUA_TSTRING && n < 64) {
        lua_pushvalue(L, -1);
        lua_rawseti(L, 4, ++n);
      }
    }
  }
  for (int i = 2; i <= n; i++)
    for (int j = i; j > 1; j--) {
      lua_rawgeti(L, 4, j);
      lua_rawgeti(L, 4, j - 1);
      if (strcmp(lua_tostring(L, -2), lua_tostring(L, -1)) >= 0) {
        lua_pop(L, 2);
        break;
      }
      lua_rawseti(L, 4, j);
      lua_rawseti(L, 4, j - 1);
    }
  log_field fields[64];
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 4, i);
    size_t kl;
    const char *k = lua_tolstring(L, -1, &kl);
    lua_pushvalue(L, -1);
    lua_gettable(L, 3);
    log_field *f = &fields[i - 1];
    f->key = k;
    f->json_value = 0;
    if (is_secret(L, -1) || redact_name_is_secret(k, kl)) {
      lua_pop(L, 1);
      lua_pushliteral(L, REDACTED);
    } else if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TBOOLEAN) {
      f->json_value = 1;
      if (lua_type(L, -1) == LUA_TBOOLEAN) {
        int b = lua_toboolean(L, -1);
        lua_pop(L, 1);
        lua_pushstring(L, b ? "true" : "false");
      }
    } else if (lua_type(L, -1) != LUA_TSTRING) {
      luaL_tolstring(L, -1, NULL);
      lua_remove(L, -2);
    }
    f->value = lua_tostring(L, -1);  /* anchored on the stack until we return */
  }
  log_write(level, msg, fields, (size_t)n);
  return 0;
}

/* isatty(fd): is standard input (0), output (1) or error (2) a terminal */
static int l_isatty(lua_State *L) {
  lua_Integer fd = luaL_optinteger(L, 1, 1);
  lua_pushboolean(L, fd >= 0 && fd <= 2 && isatty((int)fd));
  return 1;
}

/* pam.core.monotonic() -> seconds (a float) on a clock that only goes
 * forward: for rates and durations (pam.map's progress line), where
 * os.time() steps by whole seconds and jumps with the wall clock */
static int l_monotonic(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static const luaL_Reg core_funcs[] = {
  {"isatty", l_isatty},
  {"monotonic", l_monotonic},
  {"map", l_map},
  {"log", l_log},
#ifdef PAMSH_TEST_HOOKS
  {"_test_setenv", l_test_setenv},
#endif
  {"settings", l_settings},
  {"identity_source", l_identity_source},
  {"tls_probe", l_tls_probe},
  {"jwt_claims", l_jwt_claims},
  {"imds_token", l_imds_token},
  {"pam_login", l_pam_login},
  {"pam_request", l_pam_request},
  {"logout", l_pam_logout},
  {"logged_in", l_logged_in},
  {"identity_fetches", l_identity_fetches},
  {"secret", secret_new},
  {"is_secret", l_is_secret},
  {"is_secret_name", l_is_secret_name},
  {"redact", l_redact},
  {"versions", l_versions},
  {"error", l_make_error},
  {NULL, NULL}
};

static const luaL_Reg secret_meta[] = {
  {"__gc", secret_gc},
  {"__close", secret_gc},
  {"__tostring", secret_tostring},
  {"__len", secret_len},
  {"__concat", secret_concat},
  {"__eq", secret_eq},
  {NULL, NULL}
};

static const luaL_Reg secret_methods[] = {
  {"reveal", secret_reveal},
  {NULL, NULL}
};

int luaopen_pam_core(lua_State *L) {
  luaL_newlibtable(L, core_funcs);
  lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY);
  luaL_setfuncs(L, core_funcs, 1);
  return 1;
}

void lpam_setup(lua_State *L, const settings *cfg, volatile sig_atomic_t *abort_flag) {
  pamsh_ctx *c = lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  c->cfg = cfg;
  c->abort_flag = abort_flag;
  luaL_newmetatable(L, CTX_MT);
  lua_pushcfunction(L, ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, CTX_KEY);

  luaL_newmetatable(L, CALL_MT);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);

  luaL_newmetatable(L, PAMSH_ERROR_MT);
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);

  luaL_newmetatable(L, PAMSH_SECRET_MT);
  luaL_setfuncs(L, secret_meta, 0);
  luaL_newlib(L, secret_methods);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "pam.secret");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);

  /* cjson's codec, kept where a script cannot replace it */
  luaL_requiref(L, "cjson", NULL, 0);
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "decode");
  lua_setfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
  lua_getfield(L, -1, "encode");
  lua_setfield(L, LUA_REGISTRYINDEX, ENCODE_KEY);
  /* scripts' cjson.encode (the global, require "cjson") and
   * cjson.safe's say plainly why a pam.secret is refused */
  wrap_encode(L, l_json_encode);
  lua_pop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "cjson.safe") == LUA_TTABLE) wrap_encode(L, l_json_safe_encode);
  lua_pop(L, 2);

  luaL_requiref(L, "pam.core", luaopen_pam_core, 0);
  lua_getfield(L, -1, "imds_token");
  lua_setglobal(L, "imds_token");
  lua_getfield(L, -1, "pam_login");
  lua_setglobal(L, "pam_login");
  lua_getfield(L, -1, "pam_request");
  lua_setglobal(L, "pam_request");
  lua_pop(L, 1);
}
