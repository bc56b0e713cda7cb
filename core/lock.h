/* lock.h - --lock FILE: one run at a time for scheduled jobs */
#ifndef PAMSH_LOCK_H
#define PAMSH_LOCK_H

/* Take an exclusive flock on path (created 0600, never deleted), waiting
 * up to wait_s seconds (0: not at all).  Returns the open descriptor to
 * keep for the run; -1 when another process holds it (*holder = its pid
 * as written in the file, or 0); -2 on another error (msg says which). */
int lock_acquire(const char *path, double wait_s, int *holder, char *msg, int msglen);

#endif
