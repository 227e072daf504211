/* A child's output: reading, pacing, the tail, line framing and the
 * batches handed to Lua; see include/overmind/output.h.
 *
 * One read is handled at once, in order: the bytes are appended to the log
 * file (in C), to the tail ring, and framed into lines; Lua is called at
 * most once per read, with the batch of lines -- and only while `deliver`
 * is on, because most missions have nobody watching their lines and Lua
 * need not see them at all.  src/proc.c owns the process around it and
 * decides, from the exit and the end of output reported here, when the
 * mission is finished. */
#include "overmind/output.h"
#include "overmind/core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BUF (128 * 1024)
#define DRAIN_MAX (16 * 1024 * 1024)
/* libuv reads a readable pipe up to 32 times per loop turn; a flooding
 * mission would hog the loop (and its subscribers' sockets, which are only
 * written between turns).  Past this many bytes in a turn, a mission's
 * reading pauses until the turn ends. */
#define BURST_MAX (128 * 1024)

/* Every output is read into this one buffer: a read is consumed before the
 * next one starts, and the loop is single-threaded. */
static char read_buf[READ_BUF];

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void start_reading(om_output_t *o) {
  uv_read_start((uv_stream_t *)&o->pipe, alloc_cb, read_cb);
  o->reading = 1;
}

static void stop_reading(om_output_t *o) {
  uv_read_stop((uv_stream_t *)&o->pipe);
  o->reading = 0;
}

/* Reading is paused, and resumed a little later, in two cases.
 *
 * Fairness: past BURST_MAX bytes in one loop turn a mission waits until the
 * turn ends (one check handle resumes them after the poll phase), so a
 * flooding mission does not starve the others or its subscribers.
 *
 * Coalescing: a read much smaller than the buffer means the mission writes
 * in small pieces; waiting COALESCE_MS before reading again lets them pile
 * up in the (1 MiB) pipe, so the daemon wakes once per many writes instead
 * of once per write.  Terminals are exempt: a human is watching. */
#define COALESCE_BELOW (16 * 1024)
#define COALESCE_MS 1

static om_output_t *throttled_head;  /* resumed after this loop turn */
static om_output_t *coalescing_head; /* resumed after COALESCE_MS */
static uv_check_t resume_check;
static uv_timer_t resume_timer;
static int resume_ready;

static void resume_list(om_output_t *o) {
  while (o != NULL) {
    om_output_t *next = o->next_throttled;
    o->next_throttled = NULL;
    o->throttled = 0;
    o->burst = 0;
    if (o->open && !o->eof && !o->paused && !o->reading)
      start_reading(o);
    o = next;
  }
}

static void resume_throttled(uv_check_t *h) {
  om_output_t *o = throttled_head;
  throttled_head = NULL;
  uv_check_stop(h);
  resume_list(o);
}

static void resume_coalesced(uv_timer_t *h) {
  om_output_t *o = coalescing_head;
  (void)h;
  coalescing_head = NULL;
  resume_list(o);
}

/* Pauses reading; delay 0: until the end of this loop turn. */
static void throttle(om_output_t *o, int delay) {
  if (o->throttled)
    return;
  if (!resume_ready) {
    uv_check_init(om_loop(), &resume_check);
    uv_unref((uv_handle_t *)&resume_check);
    uv_timer_init(om_loop(), &resume_timer);
    uv_unref((uv_handle_t *)&resume_timer);
    resume_ready = 1;
  }
  stop_reading(o);
  o->throttled = 1;
  if (delay == 0) {
    o->next_throttled = throttled_head;
    throttled_head = o;
    uv_check_start(&resume_check, resume_throttled);
  } else {
    o->next_throttled = coalescing_head;
    coalescing_head = o;
    if (!uv_is_active((uv_handle_t *)&resume_timer))
      uv_timer_start(&resume_timer, resume_coalesced, (uint64_t)delay, 0);
  }
}

static void unlink_from(om_output_t **pp, om_output_t *o) {
  while (*pp != NULL) {
    if (*pp == o) {
      *pp = o->next_throttled;
      return;
    }
    pp = &(*pp)->next_throttled;
  }
}

/* An output going away must leave the paused lists. */
static void unthrottle(om_output_t *o) {
  unlink_from(&throttled_head, o);
  unlink_from(&coalescing_head, o);
  o->next_throttled = NULL;
  o->throttled = 0;
}

static void tail_append(om_output_t *o, const char *d, size_t n) {
  if (o->tail_cap == 0)
    return;
  if (n >= o->tail_cap) {
    memcpy(o->tail, d + n - o->tail_cap, o->tail_cap);
    o->tail_head = 0;
    o->tail_len = o->tail_cap;
    return;
  }
  while (n > 0) {
    size_t pos = (o->tail_head + o->tail_len) % o->tail_cap;
    size_t chunk;
    if (o->tail_len == o->tail_cap) { /* full: overwrite the oldest */
      pos = o->tail_head;
      chunk = o->tail_cap - pos;
      if (chunk > n)
        chunk = n;
      memcpy(o->tail + pos, d, chunk);
      o->tail_head = (o->tail_head + chunk) % o->tail_cap;
    } else {
      chunk = o->tail_cap - pos;
      if (chunk > o->tail_cap - o->tail_len)
        chunk = o->tail_cap - o->tail_len;
      if (chunk > n)
        chunk = n;
      memcpy(o->tail + pos, d, chunk);
      o->tail_len += chunk;
    }
    d += chunk;
    n -= chunk;
  }
}

/* Framer callback: counts the line and, while a batch is being built,
 * appends it (and its decoding) to the batch tables. */
static void on_line(void *ud, const char *line, size_t len) {
  om_output_t *o = ud;
  lua_State *L;
  o->lines++;
  if (!o->batch_lines)
    return;
  L = om_state();
  o->batch_n++;
  if (o->want_text) {
    /* One copy of the batch for verbatim readers (subscribers), instead of
     * one Lua string per line. */
    if (o->text_len + len + 1 > o->text_cap) {
      size_t cap = o->text_cap ? o->text_cap : 65536;
      char *nb;
      while (cap < o->text_len + len + 1)
        cap *= 2;
      nb = realloc(o->text, cap);
      if (nb != NULL) {
        o->text = nb;
        o->text_cap = cap;
      }
    }
    if (o->text_len + len + 1 <= o->text_cap) {
      memcpy(o->text + o->text_len, line, len);
      o->text[o->text_len + len] = '\n';
      o->text_len += len + 1;
    }
  }
  if (o->batch_decoded) {
    size_t i = 0;
    int decoded = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
      i++;
    /* Decoded in C: no Lua call per line. */
    if (i < len && line[i] == '{' &&
        om_json_decode_fields(L, line + i, len - i, o->fields, NULL)) {
      lua_rawseti(L, o->batch_decoded, o->batch_n);
      decoded = 1;
    }
    if (!decoded) {
      lua_pushboolean(L, 0);
      lua_rawseti(L, o->batch_decoded, o->batch_n);
    }
    /* A decoded line's text is only copied into Lua when someone wants it
     * verbatim (subscribers): most of the cost of a line is its objects. */
    if (decoded && !o->json_lines) {
      lua_pushboolean(L, 0);
      lua_rawseti(L, o->batch_lines, o->batch_n);
      return;
    }
  }
  lua_pushlstring(L, line, len);
  lua_rawseti(L, o->batch_lines, o->batch_n);
}

/* Frames new bytes (or, with `flush`, the last partial line) and hands the
 * lines that came out to Lua in one call. */
static void frame(om_output_t *o, const char *d, size_t n, int flush) {
  lua_State *L = om_state();
  int want = o->deliver && o->on_output != LUA_NOREF;
  if (want) {
    om_push_ref(L, o->on_output); /* [fn] */
    lua_createtable(L, 64, 0);    /* [fn, lines] */
    o->batch_lines = lua_gettop(L);
    if (o->decode) {
      lua_createtable(L, 64, 0); /* [fn, lines, decoded] */
      o->batch_decoded = lua_gettop(L);
    }
    o->batch_n = 0;
  }
  if (flush)
    om_lines_flush(&o->framer, on_line, o);
  else
    om_lines_feed(&o->framer, d, n, on_line, o);
  if (want) {
    int nargs = o->batch_decoded ? 2 : 1;
    if (o->want_text) {
      if (nargs == 1)
        lua_pushnil(L);
      lua_pushlstring(L, o->text ? o->text : "", o->text_len);
      nargs = 3;
    }
    o->text_len = 0;
    o->batch_lines = o->batch_decoded = 0;
    if (o->batch_n > 0)
      om_pcall(L, nargs, 0);
    else
      lua_pop(L, nargs + 1);
  }
}

static void consume(om_output_t *o, const char *d, size_t n) {
  o->bytes += (int64_t)n;
  o->last_output = uv_now(om_loop());
  if (o->chunks && o->on_chunk != LUA_NOREF) {
    /* Someone follows the log: Lua writes it and fans the bytes out, so
     * every byte reaches the file and the followers in one place. */
    lua_State *L = om_state();
    om_push_ref(L, o->on_chunk);
    lua_pushlstring(L, d, n);
    om_pcall(L, 1, 0);
  } else if (o->log != NULL) {
    om_logfile_write(o->log, d, n);
  }
  tail_append(o, d, n);
  frame(o, d, n, 0);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = read_buf;
  buf->len = sizeof(read_buf);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  om_output_t *o = s->data;
  if (nread > 0) {
    consume(o, buf->base, (size_t)nread);
    o->burst += (size_t)nread;
    if (!o->reading || !o->open) /* paused or closed from Lua */
      return;
    if (o->burst >= BURST_MAX)
      throttle(o, 0);
    else if (o->coalesce && (size_t)nread < COALESCE_BELOW)
      throttle(o, COALESCE_MS);
    return;
  }
  if (nread == 0)
    return;
  /* UV_EOF, or UV_EIO from a PTY master once the slave side is gone. */
  stop_reading(o);
  o->eof = 1;
  o->on_eof(o);
}

int om_output_init(om_output_t *o, size_t tail, size_t max_line) {
  memset(o, 0, sizeof(*o));
  o->on_output = o->on_chunk = o->log_ref = LUA_NOREF;
  om_lines_init(&o->framer, max_line, 1);
  if (tail > 0) {
    o->tail = malloc(tail);
    if (o->tail == NULL)
      return UV_ENOMEM;
    o->tail_cap = tail;
  }
  return 0;
}

void om_output_open(om_output_t *o, uv_file fd) {
  uv_pipe_init(om_loop(), &o->pipe, 0);
  o->pipe.data = o;
  uv_pipe_open(&o->pipe, fd);
  o->open = 1;
}

void om_output_start(om_output_t *o) {
  o->last_output = uv_now(om_loop());
  start_reading(o);
}

void om_output_pause(om_output_t *o, int pause) {
  o->paused = pause;
  if (!o->open || o->eof)
    return;
  if (pause && o->reading)
    stop_reading(o);
  else if (!pause && !o->reading && !o->throttled)
    start_reading(o);
}

void om_output_drain(om_output_t *o) {
  uv_os_fd_t fd;
  size_t total = 0;
  if (!o->open || o->eof || uv_fileno((uv_handle_t *)&o->pipe, &fd) != 0) {
    o->eof = 1;
    return;
  }
  while (total < DRAIN_MAX) {
    ssize_t r = read(fd, read_buf, sizeof(read_buf));
    if (r > 0) {
      consume(o, read_buf, (size_t)r);
      total += (size_t)r;
      if (!o->open) /* Lua closed us from a callback */
        break;
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    break; /* EOF, EAGAIN, or EIO on a PTY */
  }
  o->eof = 1;
}

void om_output_flush(om_output_t *o) { frame(o, NULL, 0, 1); }

static void closed_cb(uv_handle_t *h) {
  om_output_t *o = h->data;
  o->on_close(o);
}

void om_output_close(om_output_t *o) {
  unthrottle(o);
  if (o->open) {
    o->open = 0;
    o->reading = 0;
    uv_close((uv_handle_t *)&o->pipe, closed_cb);
  }
}

void om_output_release(lua_State *L, om_output_t *o) {
  om_unref(L, &o->on_output);
  om_unref(L, &o->on_chunk);
  om_unref(L, &o->log_ref);
  o->log = NULL;
  om_json_fields_free(L, o->fields);
  o->fields = NULL;
}

void om_output_free(om_output_t *o) {
  free(o->text);
  o->text = NULL;
  o->text_len = o->text_cap = 0;
  om_lines_free(&o->framer);
  free(o->tail);
  o->tail = NULL;
  o->tail_cap = o->tail_len = o->tail_head = 0;
}

uv_stream_t *om_output_stream(om_output_t *o) {
  return o->open ? (uv_stream_t *)&o->pipe : NULL;
}

uint64_t om_output_idle(const om_output_t *o) {
  uv_update_time(om_loop());
  return uv_now(om_loop()) - o->last_output;
}

void om_output_push_tail(lua_State *L, const om_output_t *o) {
  luaL_Buffer b;
  size_t first;
  if (o->tail_len == 0) {
    lua_pushliteral(L, "");
    return;
  }
  luaL_buffinit(L, &b);
  first = o->tail_cap - o->tail_head;
  if (first > o->tail_len)
    first = o->tail_len;
  luaL_addlstring(&b, o->tail + o->tail_head, first);
  luaL_addlstring(&b, o->tail, o->tail_len - first);
  luaL_pushresult(&b);
}
