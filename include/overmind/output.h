/* A child's output, read in C (src/output.c).
 *
 * An om_output_t owns the read end of a mission's output (the pipe that is
 * its stdout and stderr, or its stdout alone, or its stderr alone, or a PTY
 * master) and does everything the hot path does with the bytes: appends
 * them to the log file (or, while `chunks` is on, hands them to Lua, which
 * writes the log and fans them out), keeps the last few in a bounded ring
 * (the tail), frames them into lines and, while delivery is on, hands the
 * lines of each read to Lua in one call, with their stream-json decodings
 * and, if asked, as one string.  It also paces its reading, so that a
 * flooding or a dribbling mission costs the loop little.
 *
 * It is embedded in its owner (the process of src/proc.c), which decides
 * when a mission is finished: the output tells it when the end of output
 * was read and when its handle is closed, through the callbacks below.
 * An owner may embed more than one, each configured through the fields
 * below: a process with stderr = "pipe" reads its stderr with a second
 * output that has no log, no tail (0 bytes), no decoding, and delivers
 * always.  The outputs share the read buffer and the pacing, nothing
 * else. */
#ifndef OVERMIND_OUTPUT_H
#define OVERMIND_OUTPUT_H

#include "overmind/json.h"
#include "overmind/lines.h"
#include "overmind/logfile.h"

#include <lua.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct om_output om_output_t;
typedef void (*om_output_cb)(om_output_t *o);

struct om_output {
  /* Set by the owner after om_output_init.  The Lua values are registry
   * references that om_output_release drops (the owner may drop
   * on_output earlier to stop the callbacks); the flags may change at any
   * time and take effect at the next read. */
  void *data;               /* the owner's */
  om_output_cb on_eof;      /* the end of output was read (called once) */
  om_output_cb on_close;    /* the handle is closed (after om_output_close) */
  int on_output;            /* function(lines, decoded, text) or LUA_NOREF */
  int on_chunk;             /* function(bytes) or LUA_NOREF */
  int chunks;               /* each read's bytes go to on_chunk, not to log */
  om_logfile_t *log;        /* raw output is appended here (NULL: nowhere) */
  int log_ref;              /* keeps `log` alive */
  om_json_fields_t *fields; /* what to build of decoded lines (NULL: all) */
  int deliver;              /* hand lines to Lua at all */
  int decode;               /* decode lines that look like JSON objects */
  int json_lines;           /* also hand over the text of decoded lines */
  int want_text;            /* also hand over the batch's lines as one string */
  int coalesce;             /* let small writes pile up (not for a terminal) */

  /* Read-only for the owner. */
  int open;             /* between om_output_open and om_output_close */
  int reading;          /* uv_read_start is in effect */
  int eof;              /* the end of output was read, or drained */
  uint64_t last_output; /* loop time of the last read, ms */
  int64_t bytes;
  int64_t lines;

  /* Private to src/output.c. */
  uv_pipe_t pipe;
  om_lines_t framer;
  int paused;                  /* by the owner (om_output_pause) */
  int throttled;               /* paused by the pacing, until resumed */
  size_t burst;                /* bytes read since the loop let others run */
  struct om_output *next_throttled;
  char *text;                  /* the batch as one string, during a read */
  size_t text_len, text_cap;
  char *tail;                  /* the ring */
  size_t tail_cap, tail_len, tail_head;
  int batch_lines, batch_decoded, batch_n; /* valid during a read */
};

/* Prepares a closed output keeping `tail` bytes and cutting lines at
 * `max_line`; the owner then fills in its fields.  Returns 0 or UV_ENOMEM
 * (the output is then still safe to om_output_free). */
int om_output_init(om_output_t *o, size_t tail, size_t max_line);

/* Wraps `fd`, the non-blocking read end, in a handle of the loop (which
 * owns the fd from then on).  Reading starts with om_output_start. */
void om_output_open(om_output_t *o, uv_file fd);
void om_output_start(om_output_t *o);

/* Stops (1) or resumes (0) reading: unread output waits in the pipe, and
 * once the pipe is full the child waits, so nothing is lost or reordered. */
void om_output_pause(om_output_t *o, int pause);

/* Reads what is in the pipe now, without waiting for more (grandchildren
 * may hold its write end open for ever), and counts that as the end of
 * output.  on_eof is not called: the owner asked. */
void om_output_drain(om_output_t *o);

/* Hands over the last line, if the output did not end with a newline. */
void om_output_flush(om_output_t *o);

/* Stops reading and closes the handle; on_close follows.  Idempotent. */
void om_output_close(om_output_t *o);

/* Drops the Lua references (once the handle is closed, or was never
 * opened).  Idempotent. */
void om_output_release(lua_State *L, om_output_t *o);

/* Frees the memory: the tail stays readable until then (the owner's
 * __gc).  Idempotent. */
void om_output_free(om_output_t *o);

/* The handle, to write to a PTY master or set its size; NULL once closed. */
uv_stream_t *om_output_stream(om_output_t *o);

/* Milliseconds since the last read (or since reading started). */
uint64_t om_output_idle(const om_output_t *o);

/* Pushes the tail, oldest byte first, as one string. */
void om_output_push_tail(lua_State *L, const om_output_t *o);

#endif
