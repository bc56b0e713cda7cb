/* fuzz_luajson.c - a PAM response into Lua, as core/lpam.c's
 * l_pam_request does it: the raw header block into a table of lower-cased
 * names (Set-Cookie redacted), and the body through lua-cjson's decode
 * followed by the integer fixing of decode_json/fix_integers.
 *
 * Input: header block, a blank line ("\n\n" or "\r\n\r\n"), body.  Without
 * a blank line the whole input is the body.
 *
 * decode_json, fix_integers, looks_like_json and the header loop are
 * COPIES of the static functions in core/lpam.c (kept in step by hand; see
 * the report of issue 8 for moving them into a small core/luaconv.c that
 * both would use).  Memory is bounded by a counting allocator: past
 * FUZZ_LUA_MEM_LIMIT Lua raises a memory error, which pcall catches. */
#include "fuzz.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>

#include "redact.h"

int luaopen_cjson(lua_State *L);

#define FUZZ_LUA_MEM_LIMIT ((size_t)256 << 20)
#define DECODE_KEY "pamsh.json_decode"
#define ENCODE_KEY "pamsh.json_encode"

static size_t lua_mem;

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  (void)ud;
  if (ptr == NULL)
    osize = 0;
  if (nsize == 0) {
    free(ptr);
    lua_mem -= osize;
    return NULL;
  }
  if (nsize > osize && lua_mem + (nsize - osize) > FUZZ_LUA_MEM_LIMIT)
    return NULL;
  void *p = realloc(ptr, nsize);
  if (p != NULL)
    lua_mem = lua_mem - osize + nsize;
  return p;
}

/* ---- copied from core/lpam.c ------------------------------------------ */

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

/* the headers table of l_pam_request */
static void push_headers(lua_State *L, const char *headers, size_t headers_len) {
  lua_newtable(L);
  const char *p = headers, *end = p + headers_len;
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
}

/* ---- properties ------------------------------------------------------- */

/* after fix_integers no float with an integer value is left (to depth 200) */
static void check_fixed(lua_State *L, int idx, int depth)
{
  if (depth > 200)
    return;
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 4, "fuzz");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      lua_Number d = lua_tonumber(L, -1);
      lua_Integer i;
      FUZZ_CHECK(!(lua_numbertointeger(d, &i) && (lua_Number)i == d));
    } else if (lua_type(L, -1) == LUA_TTABLE) {
      check_fixed(L, -1, depth + 1);
    }
    lua_pop(L, 1);
  }
}

static int body_step(lua_State *L)
{
  const char *s = lua_touserdata(L, 1);
  size_t n = (size_t)lua_tointeger(L, 2);
  int top = lua_gettop(L);
  if (decode_json(L, s, n)) {
    FUZZ_CHECK(lua_gettop(L) == top + 1);
    if (lua_type(L, -1) == LUA_TTABLE) {
      check_fixed(L, -1, 0);
      /* what a script does next: encode it again (may fail: sparse
       * arrays, depth); errors are fine, crashes are not */
      lua_getfield(L, LUA_REGISTRYINDEX, ENCODE_KEY);
      lua_pushvalue(L, -2);
      lua_pcall(L, 1, 1, 0);
    }
  } else {
    FUZZ_CHECK(lua_gettop(L) == top + 1);   /* the error message */
  }
  (void)looks_like_json(s, n);
  return 0;
}

static int headers_step(lua_State *L)
{
  const char *s = lua_touserdata(L, 1);
  size_t n = (size_t)lua_tointeger(L, 2);
  push_headers(L, s, n);
  /* cookies never cross into Lua */
  lua_getfield(L, -1, "set-cookie");
  FUZZ_CHECK(lua_isnil(L, -1) ||
             strcmp(lua_tostring(L, -1), REDACTED) == 0);
  return 0;
}

static lua_State *state(void)
{
  static lua_State *L;
  if (L == NULL) {
    L = lua_newstate(limited_alloc, NULL);
    FUZZ_CHECK(L != NULL);
    luaL_openlibs(L);
    luaL_requiref(L, "cjson", luaopen_cjson, 0);
    lua_getfield(L, -1, "decode");
    lua_setfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
    lua_getfield(L, -1, "encode");
    lua_setfield(L, LUA_REGISTRYINDEX, ENCODE_KEY);
    lua_pop(L, 1);
  }
  return L;
}

static void run(lua_State *L, lua_CFunction f, const uint8_t *s, size_t n)
{
  /* a copy of exactly n bytes, so reads past the end show under ASan */
  char *copy = malloc(n ? n : 1);
  if (copy == NULL)
    abort();
  if (n)
    memcpy(copy, s, n);
  lua_pushcfunction(L, f);
  lua_pushlightuserdata(L, copy);
  lua_pushinteger(L, (lua_Integer)n);
  int rc = lua_pcall(L, 2, 0, 0);
  /* only a memory error may escape (the allocator's limit) */
  if (rc != LUA_OK) {
    FUZZ_CHECK(rc == LUA_ERRMEM);
    lua_pop(L, 1);
  }
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  lua_State *L = state();
  const uint8_t *body = data;
  size_t blen = size;
  const uint8_t *sep = size >= 2 ? memmem(data, size, "\n\n", 2) : NULL;
  const uint8_t *sep2 = size >= 4 ? memmem(data, size, "\r\n\r\n", 4) : NULL;
  size_t hlen = 0;
  if (sep2 != NULL && (sep == NULL || sep2 < sep)) {
    hlen = (size_t)(sep2 - data);
    body = sep2 + 4;
  } else if (sep != NULL) {
    hlen = (size_t)(sep - data);
    body = sep + 2;
  }
  blen = size - (size_t)(body - data);
  if (body != data)
    run(L, headers_step, data, hlen);
  run(L, body_step, body, blen);
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
