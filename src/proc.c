/* `overmind.process`: one supervised child as Lua userdata.
 *
 *   local p = core.spawn{
 *     file = "/bin/sh", args = { "sh", "-c", cmd }, cwd = dir,
 *     env = { "K=V", ... },            -- the whole environment
 *     stdin = "null" | "pipe",
 *     stderr = "merged" | "pipe",      -- "pipe" (not with a pty): fd 2 is
 *                                      -- a pipe of its own, see below
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
 *     on_chunk = function(bytes) end,  -- while deliver_chunks is on, each
 *                                      -- read's bytes go here instead of
 *                                      -- to `log` (Lua writes the log)
 *     on_stderr = function(lines) end, -- with stderr = "pipe": the lines
 *                                      -- of each read of stderr
 *     on_exit = function(exit_status, signal_name) end,
 *   }
 *
 * The child gets its own session and process group (UV_PROCESS_DETACHED),
 * so kill() reaches everything it started.  stdout and stderr share one
 * pipe (or are the PTY, through the --pty-exec trampoline of main.c),
 * unless stderr = "pipe" gives stderr a pipe of its own.
 *
 * A separate stderr is read by a second om_output_t, `err`, configured
 * for diagnostics: no log (Lua writes stderr's lines to the log, marked,
 * so they never hide a provider's JSON answer), no tail, no decoding, and
 * its lines go to on_stderr whenever that is set (`deliver` is for stdout,
 * whose lines most missions never need in Lua; stderr is rare and always
 * wanted).  It is paced and paused with stdout, counts in idle() and in
 * stats(), and the mission is finished only once both streams are in.
 *
 * This file owns the process: the options, the spawn, the exit, kill,
 * stdin (or writes to the PTY), the terminal's size, and the rule that
 * says when a mission is finished.  Its output -- read, paced, kept in the
 * tail, written to the log, framed into lines and handed to Lua in one
 * batch per read, and only while `deliver` is on -- is src/output.c's, an
 * om_output_t embedded here that tells us when the end of output is in.
 *
 * A mission is finished when its main process has exited and the output
 * it wrote has been drained (tmux's window_pane_destroy_ready): the exit
 * and the end of output arrive in either order.  With a separate stderr,
 * both pipes must have ended or been drained.  Grandchildren that keep
 * either pipe open do not hold the mission up. */
#include "overmind/core.h"
#include "overmind/json.h"
#include "overmind/output.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define PROC_MT "overmind.process"

typedef struct om_proc {
  uv_process_t proc;
  om_output_t out; /* stdout+stderr, or the PTY master (writable too) */
  om_output_t err; /* stderr, with stderr = "pipe" (else never opened) */
  uv_pipe_t in;    /* stdin pipe (not used with a PTY: `out` is writable) */
  uv_timer_t grace; /* PTY only: how long to wait for EIO after the exit */
  int pid;
  int pty;
  int err_pipe;     /* stderr = "pipe": `err` is in use */
  int open_handles; /* self_ref is dropped when this reaches zero */
  int proc_open, in_open, grace_open;
  int exited, finished;
  int64_t exit_status;
  int term_signal;
  int self_ref, exit_ref;
} om_proc_t;

static om_proc_t *check_proc(lua_State *L, int i) {
  return luaL_checkudata(L, i, PROC_MT);
}

/* One of our handles is closed; the last one lets the process go. */
static void release(om_proc_t *p) {
  if (--p->open_handles == 0) {
    lua_State *L = om_state();
    om_unref(L, &p->exit_ref);
    om_output_release(L, &p->out);
    om_output_release(L, &p->err);
    om_unref(L, &p->self_ref);
  }
}

static void handle_closed(uv_handle_t *h) { release(h->data); }

static void output_closed(om_output_t *o) { release(o->data); }

static void close_in(om_proc_t *p) {
  if (p->in_open) {
    p->in_open = 0;
    uv_close((uv_handle_t *)&p->in, handle_closed);
  }
}

static void close_grace(om_proc_t *p) {
  if (p->grace_open) {
    p->grace_open = 0;
    uv_close((uv_handle_t *)&p->grace, handle_closed);
  }
}

/* Every stream of output has ended (or was drained). */
static int output_done(const om_proc_t *p) {
  return p->out.eof && (!p->err_pipe || p->err.eof);
}

/* Stops the Lua callbacks of the output (close, and a failed spawn). */
static void drop_callbacks(lua_State *L, om_proc_t *p) {
  om_unref(L, &p->out.on_output);
  om_unref(L, &p->out.on_chunk);
  om_unref(L, &p->err.on_output);
  om_unref(L, &p->exit_ref);
}

/* Both halves are in: flush the last partial lines, release the pipes and
 * tell Lua. */
static void maybe_finish(om_proc_t *p) {
  lua_State *L = om_state();
  if (p->finished || !p->exited || !output_done(p))
    return;
  p->finished = 1;
  om_output_flush(&p->out);
  if (p->err_pipe)
    om_output_flush(&p->err);
  close_grace(p);
  om_output_close(&p->out);
  om_output_close(&p->err);
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

/* The end of output came before (or without) the exit. */
static void output_ended(om_output_t *o) { maybe_finish(o->data); }

static void grace_cb(uv_timer_t *t) {
  om_proc_t *p = t->data;
  om_output_drain(&p->out);
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
  if (p->pty && !p->out.eof && p->out.open && !p->out.paused) {
    /* Reading may be held back for this loop turn (pacing): it resumes
     * by itself, and the last bytes are still ahead of EIO. */
    kill(-p->pid, SIGKILL);
    uv_timer_init(om_loop(), &p->grace);
    p->grace.data = p;
    p->grace_open = 1;
    p->open_handles++;
    uv_timer_start(&p->grace, grace_cb, PTY_GRACE_MS, 0);
    return;
  }
  om_output_drain(&p->out);
  if (p->err_pipe)
    om_output_drain(&p->err);
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

/* A flag: `def` when absent, else whether the value is truthy (these
 * options have always taken any value). */
static int flag_field(lua_State *L, int t, const char *field, int def) {
  int v = lua_getfield(L, t, field) == LUA_TNIL ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static int proc_spawn(lua_State *L) {
  uv_process_options_t o;
  uv_stdio_container_t stdio[3];
  om_proc_t *p;
  char **args, **env = NULL;
  const char *file, *stdin_mode;
  uv_file fds[2] = {-1, -1}, efds[2] = {-1, -1};
  int child_fd, rc, rows = 0, cols = 0, decode = 0, err_pipe = 0;
  size_t tail, max_line;
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
  tail = (size_t)int_field(L, 1, "tail", 64 * 1024);
  max_line = (size_t)int_field(L, 1, "max_line", 1 << 20);
  /* Checked before any reference is taken, so raising leaks none. */
  switch (lua_getfield(L, 1, "decode")) {
  case LUA_TNIL:
    break;
  case LUA_TBOOLEAN:
    decode = lua_toboolean(L, -1);
    break;
  default:
    return luaL_error(L, "spawn: 'decode' must be a boolean");
  }
  lua_pop(L, 1);
  switch (lua_getfield(L, 1, "stderr")) {
  case LUA_TNIL:
    break;
  case LUA_TSTRING:
    if (strcmp(lua_tostring(L, -1), "pipe") == 0) {
      err_pipe = 1;
      break;
    }
    if (strcmp(lua_tostring(L, -1), "merged") == 0)
      break;
    /* fall through */
  default:
    return luaL_error(L, "spawn: 'stderr' must be 'merged' or 'pipe'");
  }
  lua_pop(L, 1);
  if (err_pipe && rows > 0)
    return luaL_error(L, "spawn: stderr = 'pipe' needs no pty");

  p = lua_newuserdatauv(L, sizeof(*p), 0); /* [..., p] */
  pidx = lua_gettop(L);
  memset(p, 0, sizeof(*p));
  p->self_ref = p->exit_ref = LUA_NOREF;
  /* Closed, with no references yet: __gc can free whatever comes next. */
  rc = om_output_init(&p->out, tail, max_line);
  if (rc == 0)
    rc = om_output_init(&p->err, 0, max_line);
  luaL_setmetatable(L, PROC_MT);
  if (rc != 0)
    return luaL_error(L, "out of memory");
  p->pty = rows > 0;
  p->out.data = p;
  p->out.on_eof = output_ended;
  p->out.on_close = output_closed;
  p->out.coalesce = !p->pty;
  p->out.decode = decode;
  p->out.deliver = flag_field(L, 1, "deliver", 0);
  p->out.json_lines = flag_field(L, 1, "json_lines", 1);
  p->out.want_text = flag_field(L, 1, "batch_text", 0);
  lua_getfield(L, 1, "log");
  if (!lua_isnil(L, -1)) {
    p->out.log = om_logfile_check(L, -1);
    p->out.log_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
  }
  p->out.on_output = ref_field(L, 1, "on_output", LUA_TFUNCTION);
  p->out.on_chunk = ref_field(L, 1, "on_chunk", LUA_TFUNCTION);
  /* stderr: lines to on_stderr, plain, always; no log, no tail. */
  p->err_pipe = err_pipe;
  p->err.data = p;
  p->err.on_eof = output_ended;
  p->err.on_close = output_closed;
  p->err.coalesce = 1;
  p->err.deliver = 1;
  p->err.on_output = ref_field(L, 1, "on_stderr", LUA_TFUNCTION);
  p->exit_ref = ref_field(L, 1, "on_exit", LUA_TFUNCTION);
  if (lua_getfield(L, 1, "fields") == LUA_TTABLE)
    p->out.fields = om_json_fields_new(L, -1);
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
  if (rc == 0 && err_pipe)
    rc = uv_pipe(efds, UV_NONBLOCK_PIPE, 0);
  if (rc != 0)
    goto fail;
  child_fd = fds[1];

  om_output_open(&p->out, fds[0]);
  fds[0] = -1;
  p->open_handles++;
  if (err_pipe) {
    om_output_open(&p->err, efds[0]);
    efds[0] = -1;
    p->open_handles++;
  }

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
    stdio[2].data.fd = err_pipe ? efds[1] : child_fd;
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
  if (efds[1] >= 0) {
    close(efds[1]);
    efds[1] = -1;
  }
  if (rc != 0) {
    /* libuv requires closing a process handle even when spawn failed. */
    p->open_handles++;
    uv_close((uv_handle_t *)&p->proc, handle_closed);
    p->exited = p->finished = 1;
    om_output_close(&p->out);
    om_output_close(&p->err);
    close_in(p);
    lua_pushvalue(L, pidx);
    p->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* The handles close in the next loop turn and drop the reference. */
    drop_callbacks(L, p);
    return om_push_error(L, rc);
  }
  p->pid = p->proc.pid;
  p->proc_open = 1;
  p->open_handles++;
  /* The registry keeps the process (not whatever is on top of the stack,
   * such as the PTY argv) alive while its handles are open. */
  lua_pushvalue(L, pidx);
  p->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  om_output_start(&p->out);
  if (err_pipe)
    om_output_start(&p->err);
  lua_settop(L, pidx);
  return 1;

fail:
  if (fds[0] >= 0)
    close(fds[0]);
  if (fds[1] >= 0)
    close(fds[1]);
  if (efds[0] >= 0)
    close(efds[0]);
  if (efds[1] >= 0)
    close(efds[1]);
  p->finished = 1;
  om_output_release(L, &p->out);
  om_output_free(&p->out);
  om_output_release(L, &p->err);
  om_output_free(&p->err);
  om_unref(L, &p->exit_ref);
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
    return om_output_stream(&p->out);
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

/* Bytes queued for the child's stdin (or the PTY) and not yet written: a
 * child that stops reading would otherwise make the daemon hold whatever
 * it is sent.  0 when there is no stdin stream (any more). */
static int proc_stdin_queued(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  uv_stream_t *st = input_stream(p);
  lua_pushinteger(L,
                  st ? (lua_Integer)uv_stream_get_write_queue_size(st) : 0);
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
  p->out.deliver = lua_toboolean(L, 2);
  return 0;
}

/* proc:deliver_chunks(on): while on, each read's bytes go to on_chunk
 * instead of being appended to the log by C (see output.h). */
static int proc_deliver_chunks(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  p->out.chunks = lua_toboolean(L, 2);
  return 0;
}

static int proc_batch_text(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  p->out.want_text = lua_toboolean(L, 2);
  return 0;
}

/* Pausing stops reading the child's output: it waits in the pipe (and,
 * once the pipe is full, the child waits) until resumed, so nothing is
 * lost or processed out of order. */
static int proc_pause(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  int pause = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  om_output_pause(&p->out, pause);
  om_output_pause(&p->err, pause);
  return 0;
}

/* Since the last output on either stream. */
static int proc_idle(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  uint64_t idle = om_output_idle(&p->out);
  if (p->err_pipe) {
    uint64_t e = om_output_idle(&p->err);
    if (e < idle)
      idle = e;
  }
  lua_pushinteger(L, (lua_Integer)idle);
  return 1;
}

/* bytes and lines count both streams; stderr_* count stderr alone (0
 * unless stderr = "pipe"); eof is the end of all output. */
static int proc_stats(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  lua_createtable(L, 0, 9);
  lua_pushinteger(L, p->pid);
  lua_setfield(L, -2, "pid");
  lua_pushinteger(L, p->out.bytes + p->err.bytes);
  lua_setfield(L, -2, "bytes");
  lua_pushinteger(L, p->out.lines + p->err.lines);
  lua_setfield(L, -2, "lines");
  lua_pushinteger(L, p->err.bytes);
  lua_setfield(L, -2, "stderr_bytes");
  lua_pushinteger(L, p->err.lines);
  lua_setfield(L, -2, "stderr_lines");
  lua_pushboolean(L, p->exited);
  lua_setfield(L, -2, "exited");
  lua_pushboolean(L, output_done(p));
  lua_setfield(L, -2, "eof");
  lua_pushboolean(L, !p->err_pipe || p->err.eof);
  lua_setfield(L, -2, "stderr_eof");
  lua_pushboolean(L, p->finished);
  lua_setfield(L, -2, "finished");
  return 1;
}

static int proc_tail(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  om_output_push_tail(L, &p->out);
  return 1;
}

static int proc_resize(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  uv_stream_t *master = om_output_stream(&p->out);
  struct winsize ws;
  uv_os_fd_t fd;
  memset(&ws, 0, sizeof(ws));
  ws.ws_row = (unsigned short)luaL_checkinteger(L, 2);
  ws.ws_col = (unsigned short)luaL_checkinteger(L, 3);
  if (!p->pty || master == NULL || uv_fileno((uv_handle_t *)master, &fd) != 0)
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
  drop_callbacks(L, p);
  return 0;
}

static int proc_gc(lua_State *L) {
  om_proc_t *p = check_proc(L, 1);
  om_output_free(&p->out);
  om_output_free(&p->err);
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
      {"write", proc_write}, {"stdin_queued", proc_stdin_queued},
      {"close_stdin", proc_close_stdin},
      {"deliver", proc_deliver}, {"batch_text", proc_batch_text},
      {"deliver_chunks", proc_deliver_chunks},
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
