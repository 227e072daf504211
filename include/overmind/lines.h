/* Line framing: bytes in, whole lines out.
 *
 * Used for mission output and for the socket protocol.  A line longer than
 * `max` is either cut into `max`-sized pieces (output, so a mission that
 * never writes a newline still gets logged) or reported as an overflow
 * (the protocol, whose lines are capped). */
#ifndef OVERMIND_LINES_H
#define OVERMIND_LINES_H

#include <stddef.h>

typedef struct om_lines {
  char *buf;
  size_t len;
  size_t cap;
  size_t max;
  int split_long; /* 1: emit pieces of `max` bytes; 0: report overflow */
  int overflow;   /* set once a line passed `max` with split_long == 0 */
} om_lines_t;

/* Called once per complete line, without its '\n' (a trailing '\r' is
 * kept: the framer does not interpret bytes). */
typedef void (*om_line_cb)(void *ud, const char *line, size_t len);

void om_lines_init(om_lines_t *f, size_t max, int split_long);
void om_lines_free(om_lines_t *f);

/* Feeds `n` bytes; calls `cb` for every line completed.  Returns 0, or -1
 * when the framer is in overflow (it then ignores further input) or out of
 * memory. */
int om_lines_feed(om_lines_t *f, const char *data, size_t n, om_line_cb cb,
                  void *ud);

/* Emits what is buffered as a last line, if anything. */
void om_lines_flush(om_lines_t *f, om_line_cb cb, void *ud);

#endif
