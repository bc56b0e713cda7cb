/* mk/lint-lua-noreturn.h - included (-include) into every file for
 * clang-tidy only, never for a build.  Lua's headers do not mark the
 * functions that raise an error as noreturn, so the analyzer follows paths
 * through a luaL_error() as if it returned ("null passed to memcpy" after
 * `if (!p) luaL_error(...)`, "uninitialized argument" after a raise).
 * Redeclaring them noreturn removes that whole class of false positives. */
#include <lua.h>
#include <lauxlib.h>

int (lua_error)(lua_State *L) __attribute__((noreturn));
int (luaL_error)(lua_State *L, const char *fmt, ...) __attribute__((noreturn));
int (luaL_argerror)(lua_State *L, int arg, const char *extramsg) __attribute__((noreturn));
int (luaL_typeerror)(lua_State *L, int arg, const char *tname) __attribute__((noreturn));
