/* interrupt.h - SIGINT, SIGTERM and --deadline stop a run cleanly: the
 * transfer in flight is aborted (libcurl's progress callback reads the
 * flag), the Lua code gets an error at its next instruction (a hook, as
 * lua.c does), to-be-closed variables and cleanup run, and the process
 * exits with 130, 143 or 124.  If cleanup does not finish within a grace
 * period, the process stops hard with the same code. */
#ifndef PAMSH_INTERRUPT_H
#define PAMSH_INTERRUPT_H

#include <signal.h>
#include <lua.h>

enum { INTERRUPT_NONE = 0, INTERRUPT_DEADLINE = 1000 };

/* nonzero once the run is being stopped: the signal number, or
 * INTERRUPT_DEADLINE; libcurl transfers watch it */
extern volatile sig_atomic_t interrupt_flag;

/* Handle SIGINT and SIGTERM for L.  hard_stop: after the grace period the
 * process exits even if Lua code is stuck (scripts); the REPL passes 0 and
 * calls interrupt_reset before each command. */
void interrupt_install(lua_State *L, int hard_stop);
/* arm the --deadline timer (seconds from now) */
void interrupt_set_deadline(double seconds);
/* forget an interruption (the REPL, back at the prompt) */
void interrupt_reset(void);

/* the exit code for the current cause: 130, 143, 124 (0 when none) */
int interrupt_exit_code(void);
/* push the error object for the current cause (kind "interrupted" or
 * "deadline", with message and signal) */
void interrupt_push_error(lua_State *L);

#endif
