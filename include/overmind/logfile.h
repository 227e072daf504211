/* Append-only log files with size-based rotation (SPEC §2): when a write
 * would take the file past its maximum size, the lines that fit stay and
 * the rest starts a new file; `keep` older files are kept, named
 * <path>.1 (newest) to <path>.<keep>. */
#ifndef OVERMIND_LOGFILE_H
#define OVERMIND_LOGFILE_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

typedef struct om_logfile om_logfile_t;

/* The userdata at index `i`, raising if it is not an open log file. */
om_logfile_t *om_logfile_check(lua_State *L, int i);

/* Appends `n` bytes.  On failure (disk full, ...) the data is dropped and
 * the file's error callback is told once per failure episode; returns 0 or
 * a negative errno. */
int om_logfile_write(om_logfile_t *lf, const char *data, size_t n);

/* Appends `n` bytes and a newline in one write. */
int om_logfile_writeline(om_logfile_t *lf, const char *data, size_t n);

#endif
