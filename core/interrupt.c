/* interrupt.c - signals and the deadline */
#include "interrupt.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <lauxlib.h>

#include "lpam.h"

#define GRACE_SECONDS 1

volatile sig_atomic_t interrupt_flag;
static lua_State *volatile hooked_state;
static volatile sig_atomic_t hard_stop_armed, hard_stop_enabled, deadline_armed;
static double deadline_seconds;

int interrupt_exit_code(void) {
  switch (interrupt_flag) {
  case SIGINT: return 130;
  case SIGTERM: return 143;
  case INTERRUPT_DEADLINE: return 124;
  case 0: return 0;
  default: return 128 + (int)interrupt_flag;
  }
}

void interrupt_push_error(lua_State *L) {
  lua_createtable(L, 0, 4);
  if (interrupt_flag == INTERRUPT_DEADLINE) {
    lua_pushliteral(L, "deadline");
    lua_setfield(L, -2, "kind");
    char buf[96];
    snprintf(buf, sizeof buf, "the deadline of %g s passed (--deadline)", deadline_seconds);
    lua_pushstring(L, buf);
  } else {
    lua_pushliteral(L, "interrupted");
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, interrupt_flag);
    lua_setfield(L, -2, "signal");
    lua_pushstring(L, interrupt_flag == SIGTERM ? "terminated (SIGTERM)"
                                                : "interrupted (SIGINT)");
  }
  lua_setfield(L, -2, "message");
  luaL_setmetatable(L, PAMSH_ERROR_MT);
}

/* the hook raises the error once, at the next Lua instruction */
static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  interrupt_push_error(L);
  lua_error(L);
}

static void arm_hook(void) {
  lua_State *L = hooked_state;
  /* lua_sethook is safe to call from a signal handler (lua.c does it) */
  if (L) lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void arm_hard_stop(void) {
  if (!hard_stop_enabled || hard_stop_armed) return;
  hard_stop_armed = 1;
  struct itimerval it = {{0, 0}, {GRACE_SECONDS, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void hard_stop(void) {
  static const char msg[] = "pamsh: cleanup did not finish in time; stopping\n";
  if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {}
  _exit(interrupt_exit_code());
}

static void on_signal(int sig) {
  if (sig == SIGALRM) {
    if (hard_stop_armed) hard_stop();
    if (!deadline_armed) return;
    deadline_armed = 0;
    if (!interrupt_flag) interrupt_flag = INTERRUPT_DEADLINE;
  } else {
    if (interrupt_flag && interrupt_flag != INTERRUPT_DEADLINE && hard_stop_enabled) {
      /* a second Ctrl-C: the user means it */
      hard_stop();
    }
    if (!interrupt_flag) interrupt_flag = sig;
  }
  arm_hook();
  arm_hard_stop();
}

void interrupt_install(lua_State *L, int hard_stop_on) {
  hooked_state = L;
  hard_stop_enabled = hard_stop_on;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  /* no SA_RESTART: a blocking read returns EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
}

void interrupt_set_deadline(double seconds) {
  deadline_seconds = seconds;
  deadline_armed = 1;
  struct itimerval it = {{0, 0}, {(time_t)seconds,
                                  (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)}};
  if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
  setitimer(ITIMER_REAL, &it, NULL);
}

void interrupt_reset(void) {
  interrupt_flag = 0;
  if (hooked_state) lua_sethook(hooked_state, NULL, 0, 0);
}
