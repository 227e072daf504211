/* `overmind.process`: one supervised child as Lua userdata.
 *
 *   local p = core.spawn{
 *     file = "/bin/sh", args = { "sh", "-c", cmd }, cwd = dir,
 *     env = { "K=V", ... },            -- the whole environment
 *     stdin = "null" | "pipe",
 *     pty = nil | { rows = 24, cols = 80 },
 *     log = logfile,                   -- raw output is appended here, in C
 *     tail = 65536,                    -- bytes of output kept in memory
 *     max_line = 1 << 20,              -- longer lines are cut
 *     deliver = false,                 -- hand lines to Lua (see below)
 *     json_lines = true,               -- false: a decoded line's text is
 *                                      -- not copied (its entry is false)
 *     batch_text = false,              -- true: on_output gets a 3rd
 *                                      -- argument, the batch's lines as
 *                                      -- one string (each ends in \n)
 *     decode = false,                  -- true: decode lines that look like
 *                                      -- JSON objects (src/json.c)
 *     fields = { type = true, ... },   -- with decode = true: build only
 *                                      -- these members (see json.h)
 *     on_output = function(lines, decoded, text) end,
 *     on_exit = function(exit_status, signal_name) end,
 *   }
 *
 * The child gets its own session and process group (UV_PROCESS_DETACHED),
 * so kill() reaches everything it started.  stdout and stderr share one
 * pipe.  Output is read in C, appended to the log in C, framed into lines
 * in C, and Lua is called at most once per read with the batch of lines --
 * and only while `deliver` is on, because most missions have nobody
 * watching their lines and Lua need not see them at all.
 *
 * A mission is finished when its main process has exited and the output
 * it wrote has been drained (tmux's window_pane_destroy_ready): the exit
 * and the end of output arrive in either order.  Grandchildren that keep
 * the pipe open do not hold the mission up. */
#include "overmind/core.h"
#include "overmind/json.h"
#include "overmind/lines.h"
#include "overmind/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define PROC_MT "overmind.process"
#define READ_BUF (128 * 1024)
#define DRAIN_MAX (16 * 1024 * 1024)
/* libuv reads a readable pipe up to 32 times per loop turn; a flooding
 * mission would hog the loop (and its subscribers' sockets, which are only
 * written between turns).  Past this many bytes in a turn, a mission's
 * reading pauses until the turn ends. */
#define BURST_MAX (128 * 1024)

typedef struct om_proc {
  uv_process_t proc;
  uv_pipe_t out; /* read end of stdout+stderr, or the PTY master */
  uv_pipe_t in;  /* stdin pipe (not used with a PTY: `out` is writable) */
  uv_timer_t grace; /* PTY only: how long to wait for EIO after the exit */
  om_lines_t framer;
  int pid;
  int pty;
  int open_handles; /* self_ref is dropped when this reaches zero */
  int proc_open, out_open, in_open, grace_open;
  int reading;
  int exited, eof, finished;
  int64_t exit_status;
  int term_signal;
  int deliver;
  int decode;     /* decode lines that look like JSON objects */
  size_t burst;   /* bytes read since the loop last let others run */
  int throttled;  /* reading paused until the end of this loop turn */
  struct om_proc *next_throttled;
  int json_lines; /* also hand over the text of decoded lines */
  int want_text;  /* also hand over the batch's lines as one string */
  char *text;     /* that string, built during a read */
  size_t text_len, text_cap;
  int paused;
  uint64_t last_output; /* loop time of the last read, ms */
  int64_t bytes;
  int64_t lines;
  om_logfile_t *log;
  int log_ref;
  om_json_fields_t *fields; /* what to build of decoded lines (NULL: all) */
  int self_ref, out_ref, exit_ref;
  /* bounded tail of raw output, a ring */
  char *tail;
  size_t tail_cap, tail_len, tail_head;
  /* batch under construction, valid during a read callback */
  int batch_lines, batch_decoded, batch_n;
} om_proc_t;

static char read_buf[READ_BUF];


static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

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

static om_proc_t *throttled_head;  /* resumed after this loop turn */
static om_proc_t *coalescing_head; /* resumed after COALESCE_MS */
static uv_check_t resume_check;
static uv_timer_t resume_timer;
static int resume_ready;

static void resume_list(om_proc_t *p) {
  while (p != NULL) {
    om_proc_t *next = p->next_throttled;
    p->next_throttled = NULL;
    p->throttled = 0;
    p->burst = 0;
    if (p->out_open && !p->eof && !p->paused && !p->reading) {
      uv_read_start((uv_stream_t *)&p->out, alloc_cb, read_cb);
      p->reading = 1;
    }
    p = next;
  }
}

static void resume_throttled(uv_check_t *h) {
  om_proc_t *p = throttled_head;
  throttled_head = NULL;
  uv_check_stop(h);
  resume_list(p);
}

static void resume_coalesced(uv_timer_t *h) {
  om_proc_t *p = coalescing_head;
  (void)h;
  coalescing_head = NULL;
  resume_list(p);
}

/* Pauses reading; delay 0: until the end of this loop turn. */
static void throttle(om_proc_t *p, int delay) {
  if (p->throttled)
    return;
  if (!resume_ready) {
    uv_check_init(om_loop(), &resume_check);
    uv_unref((uv_handle_t *)&resume_check);
    uv_timer_init(om_loop(), &resume_timer);
    uv_unref((uv_handle_t *)&resume_timer);
    resume_ready = 1;
  }
  uv_read_stop((uv_stream_t *)&p->out);
  p->reading = 0;
  p->throttled = 1;
  if (delay == 0) {
    p->next_throttled = throttled_head;
    throttled_head = p;
    uv_check_start(&resume_check, resume_throttled);
  } else {
    p->next_throttled = coalescing_head;
    coalescing_head = p;
    if (!uv_is_active((uv_handle_t *)&resume_timer))
      uv_timer_start(&resume_timer, resume_coalesced, (uint64_t)delay, 0);
  }
}

static void unlink_from(om_proc_t **pp, om_proc_t *p) {
  while (*pp != NULL) {
    if (*pp == p) {
      *pp = p->next_throttled;
      return;
    }
    pp = &(*pp)->next_throttled;
  }
}

/* A process going away must leave the paused lists. */
static void unthrottle(om_proc_t *p) {
  unlink_from(&throttled_head, p);
  unlink_from(&coalescing_head, p);
  p->next_throttled = NULL;
  p->throttled = 0;
}

static om_proc_t *check_proc(lua_State *L, int i) {
  return luaL_checkudata(L, i, PROC_MT);
}

static void handle_closed(uv_handle_t *h) {
  om_proc_t *p = h->data;
  if (--p->open_handles == 0) {
    lua_State *L = om_state();
    om_unref(L, &p->out_ref);
    om_unref(L, &p->exit_ref);
    om_unref(L, &p->log_ref);
    p->log = NULL;
    om_json_fields_free(L, p->fields);
    p->fields = NULL;
    om_unref(L, &p->self_ref);
  }
}

static void tail_append(om_proc_t *p, const char *d, size_t n) {
  if (p->tail_cap == 0)
    return;
  if (n >= p->tail_cap) {
    memcpy(p->tail, d + n - p->tail_cap, p->tail_cap);
    p->tail_head = 0;
    p->tail_len = p->tail_cap;
    return;
  }
  while (n > 0) {
    size_t pos = (p->tail_head + p->tail_len) % p->tail_cap;
    size_t chunk;
    if (p->tail_len == p->tail_cap) { /* full: overwrite the oldest */
      pos = p->tail_head;
      chunk = p->tail_cap - pos;
      if (chunk > n)
        chunk = n;
      memcpy(p->tail + pos, d, chunk);
      p->tail_head = (p->tail_head + chunk) % p->tail_cap;
    } else {
      chunk = p->tail_cap - pos;
      if (chunk > p->tail_cap - p->tail_len)
        chunk = p->tail_cap - p->tail_len;
      if (chunk > n)
        chunk = n;
      memcpy(p->tail + pos, d, chunk);
      p->tail_len += chunk;
    }
    d += chunk;
    n -= chunk;
  }
}

/* Framer callback: counts the line and, while a batch is being built,
 * appends it (and its decoding) to the batch tables. */
static void on_line(void *ud, const char *line, size_t len) {
  om_proc_t *p = ud;
  lua_State *L;
  p->lines++;
  if (!p->batch_lines)
    return;
  L = om_state();
  p->batch_n++;
  if (p->want_text) {
    /* One copy of the batch for verbatim readers (subscribers), instead of
     * one Lua string per line. */
    if (p->text_len + len + 1 > p->text_cap) {
      size_t cap = p->text_cap ? p->text_cap : 65536;
      char *nb;
      while (cap < p->text_len + len + 1)
        cap *= 2;
      nb = realloc(p->text, cap);
      if (nb != NULL) {
        p->text = nb;
        p->text_cap = cap;
      }
    }
    if (p->text_len + len + 1 <= p->text_cap) {
      memcpy(p->text + p->text_len, line, len);
      p->text[p->text_len + len] = '\n';
      p->text_len += len + 1;
    }
  }
  if (p->batch_decoded) {
    size_t i = 0;
    int decoded = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
      i++;
    /* Decoded in C: no Lua call per line. */
    if (i < len && line[i] == '{' &&
        om_json_decode_fields(L, line + i, len - i, p->fields, NULL)) {
      lua_rawseti(L, p->batch_decoded, p->batch_n);
      decoded = 1;
    }
    if (!decoded) {
      lua_pushboolean(L, 0);
      lua_rawseti(L, p->batch_decoded, p->batch_n);
    }
    /* A decoded line's text is only copied into Lua when someone wants it
     * verbatim (subscribers): most of the cost of a line is its objects. */
    if (decoded && !p->json_lines) {
      lua_pushboolean(L, 0);
      lua_rawseti(L, p->batch_lines, p->batch_n);
      return;
    }
  }
  lua_pushlstring(L, line, len);
  lua_rawseti(L, p->batch_lines, p->batch_n);
}

/* Runs `feed` (framing new bytes, or flushing the last partial line) and
 * hands the lines it produced to Lua in one call. */
static void frame(om_proc_t *p, const char *d, size_t n, int flush) {
  lua_State *L = om_state();
  int want = p->deliver && p->out_ref != LUA_NOREF;
  if (want) {
    om_push_ref(L, p->out_ref); /* [fn] */
    lua_createtable(L, 64, 0);  /* [fn, lines] */
    p->batch_lines = lua_gettop(L);
    if (p->decode) {
      lua_createtable(L, 64, 0); /* [fn, lines, decoded] */
      p->batch_decoded = lua_gettop(L);
    }
    p->batch_n = 0;
  }
  if (flush)
    om_lines_flush(&p->framer, on_line, p);
  else
    om_lines_feed(&p->framer, d, n, on_line, p);
  if (want) {
    int nargs = p->batch_decoded ? 2 : 1;
    if (p->want_text) {
      if (nargs == 1)
        lua_pushnil(L);
      lua_pushlstring(L, p->text ? p->text : "", p->text_len);
      nargs = 3;
    }
    p->text_len = 0;
    p->batch_lines = p->batch_decoded = 0;
    if (p->batch_n > 0)
      om_pcall(L, nargs, 0);
    else
      lua_pop(L, nargs + 1);
  }
}

static void consume(om_proc_t *p, const char *d, size_t n) {
  p->bytes += (int64_t)n;
  p->last_output = uv_now(om_loop());
  if (p->log != NULL)
    om_logfile_write(p->log, d, n);
  tail_append(p, d, n);
  frame(p, d, n, 0);
}

static void close_out(om_proc_t *p) {
  unthrottle(p);
  if (p->out_open) {
    p->out_open = 0;
    p->reading = 0;
    uv_close((uv_handle_t *)&p->out, handle_closed);
  }
}

static void close_in(om_proc_t *p) {
  if (p->in_open) {
    p->in_open = 0;
    uv_close((uv_handle_t *)&p->in, handle_closed);
  }
}

/* Both halves are in: flush the last partial line, release the pipes and
 * tell Lua. */
static void close_grace(om_proc_t *p);

static void maybe_finish(om_proc_t *p) {
  lua_State *L = om_state();
  if (p->finished || !p->exited || !p->eof)
    return;
  p->finished = 1;
  frame(p, NULL, 0, 1);
  close_grace(p);
  close_out(p);
  close_in(p);
  if (p->proc_open) {
    p->proc_open = 0;
    uv_close((uv_handle_t *)&p->proc, handle_closed);
  }
  if (om_push_ref(L, p->exit_ref)) {
    lua_pushinteger(L, p->exit_status);
    if (p->term_signal) {
      const char *name = om__signame(p->term_signal);
      if (name)
        lua_pushstring(L, name);
      else
        lua_pushinteger(L, p->term_signal);
    } else {
      lua_pushnil(L);
    }
    om_pcall(L, 2, 0);
  }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = read_buf;
  buf->len = sizeof(read_buf);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  om_proc_t *p = s->data;
  if (nread > 0) {
    consume(p, buf->base, (size_t)nread);
    p->burst += (size_t)nread;
    if (!p->reading || !p->out_open)
      return;
    if (p->burst >= BURST_MAX)
      throttle(p, 0);
    else if (!p->pty && (size_t)nread < COALESCE_BELOW)
      throttle(p, COALESCE_MS);
    return;
  }
  if (nread == 0)
    return;
  /* UV_EOF, or UV_EIO from a PTY master once the slave side is gone. */
  uv_read_stop(s);
  p->reading = 0;
  p->eof = 1;
  maybe_finish(p);
}

/* After the main process exited: read what it left in the pipe, without
 * waiting for grandchildren that may hold the write end open. */
static void drain(om_proc_t *p) {
  uv_os_fd_t fd;
  size_t total = 0;
  if (!p->out_open || p->eof || uv_fileno((uv_handle_t *)&p->out, &fd) != 0) {
    p->eof = 1;
    return;
  }
  while (total < DRAIN_MAX) {
    ssize_t r = read(fd, read_buf, sizeof(read_buf));
    if (r > 0) {
      consume(p, read_buf, (size_t)r);
      total += (size_t)r;
      if (!p->out_open) /* Lua closed us from a callback */
        break;
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    break; /* EOF, EAGAIN, or EIO on a PTY */
  }
  p->eof = 1;
}

static void close_grace(om_proc_t *p) {
  if (p->grace_open) {
    p->grace_open = 0;
    uv_close((uv_handle_t *)&p->grace, handle_closed);
  }
}

static void grace_cb(uv_timer_t *t) {
  om_proc_t *p = t->data;
  drain(p);
  maybe_finish(p);
}

/* Output ends with EIO on a PTY (or EOF on a pipe); the exit may come
 * first.  A pipe holds what the child wrote, so draining it is enough.  A
 * PTY may still be moving the child's last bytes to the master when the
 * exit is reported (the kernel pushes them from a work queue, which a busy
 * machine runs late), so we keep reading until EIO.  What is left of the
 * mission's group is killed first -- the daemon kills it at the exit
 * anyway -- so EIO comes as soon as the bytes are through; the grace
 * period is for a process outside the group holding the terminal open
 * (tmux's window_pane_destroy_ready). */
#define PTY_GRACE_MS 2000

static void exit_cb(uv_process_t *proc, int64_t status, int sig) {
  om_proc_t *p = proc->data;
  p->exited = 1;
  p->exit_status = status;
  p->term_signal = sig;
  if (p->pty && !p->eof && p->out_open && p->reading) {
    kill(-p->pid, SIGKILL);
    uv_timer_init(om_loop(), &p->grace);
    p->grace.data = p;
    p->grace_open = 1;
    p->open_handles++;
    uv_timer_start(&p->grace, grace_cb, PTY_GRACE_MS, 0);
    return;
  }
  drain(p);
  maybe_finish(p);
}

/* Collects a Lua array of strings into a NULL-terminated C array that lives
 * in a Lua userdata (so an error cannot leak it). */
static char **check_strings(lua_State *L, int t, const char *field) {
  char **v;
  lua_Integer n;
  lua_getfield(L, t, field);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  if (!lua_istable(L, -1))
    luaL_error(L, "spawn: '%s' must be a table", field);
  n = luaL_len(L, -1);
  v = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "spawn: '%s' must hold strings", field);
    v[i - 1] = (char *)lua_tostring(L, -1);
    /* The string stays referenced by the table we hold on the stack. */
    lua_pop(L, 1);
  }
  v[n] = NULL;
  /* Leave [tbl, ud] on the stack: both must outlive uv_spawn. */
  return v;
}

static int ref_field(lua_State *L, int t, const char *field, int type) {
  int ref = LUA_NOREF;
  lua_getfield(L, t, field);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != type)
      luaL_error(L, "spawn: '%s' must be a %s", field, lua_typename(L, type));
    ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
  }
  return ref;
}

static lua_Integer int_field(lua_State *L, int t, const char *field,
                             lua_Integer def) {
  lua_Integer v;
  lua_getfield(L, t, field);
  v = luaL_optinteger(L, -1, def);
  lua_pop(L, 1);
  return v;
}

/* Opens a PTY pair; the master is non-blocking and close-on-exec. */
static int open_pty(int *master, int *slave, int rows, int cols) {
  struct winsize ws;
  const char *name;
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return -errno;
  if (grantpt(m) != 0 || unlockpt(m) != 0 || (name = ptsname(m)) == NULL) {
    int e = errno;
    close(m);
    return -e;
  }
  *slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0) {
    int e = errno;
    close(m);
    return -e;
  }
  memset(&ws, 0, sizeof(ws));
  ws.ws_row = (unsigned short)rows;
  ws.ws_col = (unsigned short)cols;
  ioctl(m, TIOCSWINSZ, &ws);
  fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
  *master = m;
  return 0;
}

static int proc_spawn(lua_State *L) {
  uv_process_options_t o;
  uv_stdio_container_t stdio[3];
  om_proc_t *p;
  char **args, **env = NULL;
  const char *file, *stdin_mode;
  uv_file fds[2] = {-1, -1};
  int child_fd, rc, rows = 0, cols = 0;
  char **pty_args = NULL;
  int pidx;

  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  memset(&o, 0, sizeof(o));

  lua_getfield(L, 1, "file"); /* [opts, file] */
  file = luaL_checkstring(L, -1);
  args = check_strings(L, 1, "args"); /* [opts, file, args, argv] */
  if (args == NULL || args[0] == NULL)
    return luaL_error(L, "spawn: 'args' must hold at least argv[0]");
  env = check_strings(L, 1, "env"); /* [..., env, envp] if given */
  lua_getfield(L, 1, "cwd");
  o.cwd = luaL_optstring(L, -1, NULL);
  lua_getfield(L, 1, "stdin");
  stdin_mode = luaL_optstring(L, -1, "null");
  luaL_argcheck(L,
                strcmp(stdin_mode, "null") == 0 ||
                    strcmp(stdin_mode, "pipe") == 0,
                1, "stdin must be 'null' or 'pipe'");
  lua_getfield(L, 1, "pty");
  if (lua_istable(L, -1)) {
    rows = (int)int_field(L, lua_gettop(L), "rows", 24);
    cols = (int)int_field(L, lua_gettop(L), "cols", 80);
  }
  lua_pop(L, 1);

  p = lua_newuserdatauv(L, sizeof(*p), 0); /* [..., p] */
  pidx = lua_gettop(L);
  memset(p, 0, sizeof(*p));
  p->self_ref = p->out_ref = p->exit_ref = p->log_ref = LUA_NOREF;
  luaL_setmetatable(L, PROC_MT);
  p->pty = rows > 0;
  p->deliver = lua_getfield(L, 1, "deliver") != LUA_TNIL && lua_toboolean(L, -1);
  lua_pop(L, 1);
  p->json_lines = lua_getfield(L, 1, "json_lines") == LUA_TNIL || lua_toboolean(L, -1);
  lua_pop(L, 1);
  p->want_text = lua_getfield(L, 1, "batch_text") != LUA_TNIL && lua_toboolean(L, -1);
  lua_pop(L, 1);
  /* Checked before any reference is taken, so raising leaks none. */
  switch (lua_getfield(L, 1, "decode")) {
  case LUA_TNIL:
    break;
  case LUA_TBOOLEAN:
    p->decode = lua_toboolean(L, -1);
    break;
  default:
    return luaL_error(L, "spawn: 'decode' must be a boolean");
  }
  lua_pop(L, 1);
  p->tail_cap = (size_t)int_field(L, 1, "tail", 64 * 1024);
  om_lines_init(&p->framer, (size_t)int_field(L, 1, "max_line", 1 << 20), 1);
  if (p->tail_cap > 0) {
    p->tail = malloc(p->tail_cap);
    if (p->tail == NULL)
      return luaL_error(L, "out of memory");
  }
  lua_getfield(L, 1, "log");
  if (!lua_isnil(L, -1)) {
    p->log = om_logfile_check(L, -1);
    p->log_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
  }
  p->out_ref = ref_field(L, 1, "on_output", LUA_TFUNCTION);
  p->exit_ref = ref_field(L, 1, "on_exit", LUA_TFUNCTION);
  if (lua_getfield(L, 1, "fields") == LUA_TTABLE)
    p->fields = om_json_fields_new(L, -1);
  lua_pop(L, 1);

  /* Output channel: a pipe whose write end is the child's stdout and
   * stderr, or a PTY whose slave is all three of its stdio. */
  if (p->pty) {
    rc = open_pty(&fds[0], &fds[1], rows, cols);
  } else {
    rc = uv_pipe(fds, UV_NONBLOCK_PIPE, 0);
#ifdef F_SETPIPE_SZ
    /* A larger pipe means fewer wake-ups for a chatty mission. */
    if (rc == 0)
      fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
#endif
  }
  if (rc != 0)
    goto fail;
  child_fd = fds[1];

  uv_pipe_init(om_loop(), &p->out, 0);
  p->out.data = p;
  uv_pipe_open(&p->out, fds[0]);
  fds[0] = -1;
  p->out_open = 1;
  p->open_handles++;

  if (p->pty) {
    /* Our own binary becomes a session leader's trampoline: it makes the
     * PTY its controlling terminal, then execs the real program (see
     * om_pty_exec in main.c).  /proc/self/exe still names this binary in
     * the forked child even if the file was replaced on disk. */
    int n = 0;
    while (args[n])
      n++;
    pty_args = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 4), 0);
    pty_args[0] = "overmind";
    pty_args[1] = "--pty-exec";
    pty_args[2] = (char *)file;
    for (int i = 0; i <= n; i++)
      pty_args[3 + i] = args[i];
    o.file = "/proc/self/exe";
    o.args = pty_args;
    for (int i = 0; i < 3; i++) {
      stdio[i].flags = UV_INHERIT_FD;
      stdio[i].data.fd = child_fd;
    }
  } else {
    o.file = file;
    o.args = args;
    if (strcmp(stdin_mode, "pipe") == 0) {
      uv_pipe_init(om_loop(), &p->in, 0);
      p->in.data = p;
      p->in_open = 1;
      p->open_handles++;
      stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
      stdio[0].data.stream = (uv_stream_t *)&p->in;
    } else {
      stdio[0].flags = UV_IGNORE; /* libuv gives the child /dev/null */
    }
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = child_fd;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = child_fd;
  }
  o.env = env;
  o.stdio = stdio;
  o.stdio_count = 3;
  o.exit_cb = exit_cb;
  o.flags = UV_PROCESS_DETACHED; /* setsid(): its own group and session */

  p->proc.data = p;
  rc = uv_spawn(om_loop(), &p->proc, &o);
  close(child_fd);
  fds[1] = -1;
  if (rc != 0) {
    /* libuv requires closing a process handle even when spawn failed. */
    p->open_handles++;
    uv_close((uv_handle_t *)&p->proc, handle_closed);
    p->exited = p->eof = p->finished = 1;
    close_out(p);
    close_in(p);
    lua_pushvalue(L, pidx);
    p->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* The handles close in the next loop turn and drop the reference. */
    om_unref(L, &p->out_ref);
    om_unref(L, &p->exit_ref);
    return om_push_error(L, rc);
  }
  p->pid = p->proc.pid;
  p->proc_open = 1;
  p->open_handles++;
  p->last_output = uv_now(om_loop());
  /* The registry keeps the process (not whatever is on top of the stack,
   * such as the PTY argv) alive while its handles are open. */
  lua_pushvalue(L, pidx);
  p->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  uv_read_start((uv_stream_t *)&p->out, alloc_cb, read_cb);
  p->reading = 1;
  lua_settop(L, pidx);
  return 1;

fail:
  om_json_fields_free(L, p->fields);
  p->fields = NULL;
  if (fds[0] >= 0)
    close(fds[0]);
  if (fds[1] >= 0)
    close(fds[1]);
  om_lines_free(&p->framer);
  free(p->tail);
  p->tail = NULL;
  p->finished = 1;
  om_unref(L, &p->out_ref);
  om_unref(L, &p->exit_ref);
  om_unref(L, &p->log_ref);
  return om_push_error(L, rc);
}

static int proc_pid(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  lua_pushinteger(L, p->pid);
  return 1;
}

/* Signals the whole process group by default; ("TERM", true) signals the
 * main process only.  After the main process is gone the group may live
 * on in its grandchildren, so the group is still reachable. */
static int proc_kill(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  int sig = lua_isnoneornil(L, 2) ? SIGTERM : om__checksignal(L, 2);
  int leader_only = lua_toboolean(L, 3);
  int rc;
  if (p->pid <= 0)
    return om_push_error(L, UV_ESRCH);
  rc = leader_only ? kill(p->pid, sig) : kill(-p->pid, sig);
  if (rc != 0)
    return om_push_error(L, -errno);
  lua_pushboolean(L, 1);
  return 1;
}

static void write_cb(uv_write_t *req, int status) {
  (void)status; /* EPIPE: the child closed its stdin; nothing to do. */
  free(req);
}

static uv_stream_t *input_stream(om_proc_t *p) {
  if (p->pty)
    return p->out_open ? (uv_stream_t *)&p->out : NULL;
  return p->in_open ? (uv_stream_t *)&p->in : NULL;
}

/* Queues bytes for the child's stdin (or the PTY).  Returns the bytes
 * queued but not yet written, so callers can bound a slow reader. */
static int proc_write(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  uv_stream_t *st = input_stream(p);
  uv_write_t *req;
  uv_buf_t buf;
  int rc;
  if (st == NULL || p->finished)
    return om_push_error(L, UV_EPIPE);
  req = malloc(sizeof(*req) + n);
  if (req == NULL)
    return om_push_error(L, UV_ENOMEM);
  memcpy(req + 1, s, n);
  buf = uv_buf_init((char *)(req + 1), (unsigned int)n);
  rc = uv_write(req, st, &buf, 1, write_cb);
  if (rc != 0) {
    free(req);
    return om_push_error(L, rc);
  }
  lua_pushinteger(L, (lua_Integer)uv_stream_get_write_queue_size(st));
  return 1;
}

static int proc_close_stdin(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  if (!p->pty)
    close_in(p);
  return 0;
}

static int proc_deliver(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  p->deliver = lua_toboolean(L, 2);
  return 0;
}

static int proc_batch_text(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  p->want_text = lua_toboolean(L, 2);
  return 0;
}

/* Pausing stops reading the child's output: it waits in the pipe (and,
 * once the pipe is full, the child waits) until resumed, so nothing is
 * lost or processed out of order. */
static int proc_pause(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  int pause = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  p->paused = pause;
  if (!p->out_open || p->eof)
    return 0;
  if (pause && p->reading) {
    uv_read_stop((uv_stream_t *)&p->out);
    p->reading = 0;
  } else if (!pause && !p->reading && !p->throttled) {
    uv_read_start((uv_stream_t *)&p->out, alloc_cb, read_cb);
    p->reading = 1;
  }
  return 0;
}

static int proc_idle(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  uv_update_time(om_loop());
  lua_pushinteger(L, (lua_Integer)(uv_now(om_loop()) - p->last_output));
  return 1;
}

static int proc_stats(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, p->pid);
  lua_setfield(L, -2, "pid");
  lua_pushinteger(L, p->bytes);
  lua_setfield(L, -2, "bytes");
  lua_pushinteger(L, p->lines);
  lua_setfield(L, -2, "lines");
  lua_pushboolean(L, p->exited);
  lua_setfield(L, -2, "exited");
  lua_pushboolean(L, p->eof);
  lua_setfield(L, -2, "eof");
  lua_pushboolean(L, p->finished);
  lua_setfield(L, -2, "finished");
  return 1;
}

static int proc_tail(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  luaL_Buffer b;
  size_t first;
  if (p->tail_len == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  luaL_buffinit(L, &b);
  first = p->tail_cap - p->tail_head;
  if (first > p->tail_len)
    first = p->tail_len;
  luaL_addlstring(&b, p->tail + p->tail_head, first);
  luaL_addlstring(&b, p->tail, p->tail_len - first);
  luaL_pushresult(&b);
  return 1;
}

static int proc_resize(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  struct winsize ws;
  uv_os_fd_t fd;
  memset(&ws, 0, sizeof(ws));
  ws.ws_row = (unsigned short)luaL_checkinteger(L, 2);
  ws.ws_col = (unsigned short)luaL_checkinteger(L, 3);
  if (!p->pty || !p->out_open || uv_fileno((uv_handle_t *)&p->out, &fd) != 0)
    return om_push_error(L, UV_EBADF);
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0)
    return om_push_error(L, -errno);
  lua_pushboolean(L, 1);
  return 1;
}

/* Stops callbacks into Lua.  The handles stay open until the process has
 * exited (libuv: a process handle is closed only after its exit callback),
 * then release themselves. */
static int proc_close(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  om_unref(L, &p->out_ref);
  om_unref(L, &p->exit_ref);
  return 0;
}

static int proc_gc(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  free(p->text);
  p->text = NULL;
  om_lines_free(&p->framer);
  free(p->tail);
  p->tail = NULL;
  p->tail_cap = p->tail_len = 0;
  return 0;
}

static int proc_tostring(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  lua_pushfstring(L, "overmind.process (pid %d%s)", p->pid,
                  p->finished ? ", finished" : "");
  return 1;
}

void om__open_proc(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"pid", proc_pid},     {"kill", proc_kill},
      {"write", proc_write}, {"close_stdin", proc_close_stdin},
      {"deliver", proc_deliver}, {"batch_text", proc_batch_text},
      {"pause", proc_pause},
      {"idle", proc_idle},   {"stats", proc_stats},
      {"tail", proc_tail},   {"resize", proc_resize},
      {"close", proc_close}, {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", proc_gc},
                                  {"__close", proc_close},
                                  {"__tostring", proc_tostring},
                                  {NULL, NULL}};
  om__new_class(L, PROC_MT, methods, meta);
  lua_pushcfunction(L, proc_spawn);
  lua_setfield(L, -2, "spawn");
}
