/* `overmind.server` and `overmind.connection`: the daemon's side of the
 * Unix-socket protocol (newline-delimited JSON; the bytes are framed here,
 * the JSON is Lua's business).
 *
 *   local srv = core.listen(path, function(conn) ... end)
 *   conn:start(function(line, err) ... end, function() ... end)
 *   conn:write(s) -> bytes still queued
 *   conn:pause(); conn:resume(); conn:close()
 *
 * Socket hygiene after tmux's server.c: the path length is checked (libuv
 * would truncate it), the socket is created under umask 077 and chmod'ed
 * 0600, each peer's uid is checked against ours, and a line over the cap
 * is reported once (`line == nil, err == "line_too_long"`) after which the
 * connection reads no more. */
#include "overmind/core.h"
#include "overmind/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SERVER_MT "overmind.server"
#define CONN_MT "overmind.connection"
#define MAX_LINE (1 << 20) /* SPEC §1: a request line is at most 1 MiB */

typedef struct {
  uv_pipe_t handle;
  int self_ref, cb_ref;
  int closed;
} om_server_t;

typedef struct {
  uv_pipe_t handle;
  om_lines_t framer;
  int self_ref, line_ref, close_ref;
  int closing;        /* uv_close called or pending */
  int close_notified; /* on_close already delivered */
  int close_when_flushed;
  int reading, paused;
  int uid;
} om_conn_t;

static char conn_buf[64 * 1024];

/* ---- connections ------------------------------------------------------ */

static void conn_closed_cb(uv_handle_t *h) {
  om_conn_t *c = h->data;
  lua_State *L = om_state();
  om_lines_free(&c->framer);
  om_unref(L, &c->line_ref);
  om_unref(L, &c->self_ref);
}

/* Tells Lua, once, that this connection is gone for good. */
static void notify_close(om_conn_t *c) {
  lua_State *L = om_state();
  int ref = c->close_ref;
  if (c->close_notified)
    return;
  c->close_notified = 1;
  c->close_ref = LUA_NOREF;
  if (om_push_ref(L, ref)) {
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    om_pcall(L, 0, 0);
  }
}

static void do_close(om_conn_t *c) {
  if (c->closing)
    return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->handle, conn_closed_cb);
}

/* Closes once every queued reply has been written. */
static void close_after_flush(om_conn_t *c) {
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->handle) == 0)
    do_close(c);
  else
    c->close_when_flushed = 1;
}

static void on_conn_line(void *ud, const char *line, size_t len) {
  om_conn_t *c = ud;
  lua_State *L = om_state();
  if (c->closing || c->close_notified)
    return;
  if (om_push_ref(L, c->line_ref)) {
    lua_pushlstring(L, line, len);
    om_pcall(L, 1, 0);
  }
}

static void conn_alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *buf) {
  (void)h;
  (void)s;
  buf->base = conn_buf;
  buf->len = sizeof(conn_buf);
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  om_conn_t *c = s->data;
  lua_State *L = om_state();
  if (nread > 0) {
    if (om_lines_feed(&c->framer, buf->base, (size_t)nread, on_conn_line, c) !=
            0 &&
        c->framer.overflow) {
      uv_read_stop(s);
      c->reading = 0;
      if (!c->close_notified && om_push_ref(L, c->line_ref)) {
        lua_pushnil(L);
        lua_pushliteral(L, "line_too_long");
        om_pcall(L, 2, 0);
      }
    }
    return;
  }
  if (nread == 0)
    return;
  /* EOF or a read error: the peer is gone (or has half-closed).  Replies
   * already queued are still written; nothing more will be read. */
  uv_read_stop(s);
  c->reading = 0;
  notify_close(c);
  if (!c->closing)
    close_after_flush(c);
}

static om_conn_t *check_conn(lua_State *L, int i) {
  return luaL_checkudata(L, i, CONN_MT);
}

static int conn_start(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (c->closing)
    return 0;
  om_unref(L, &c->line_ref);
  lua_pushvalue(L, 2);
  c->line_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (lua_isfunction(L, 3)) {
    om_unref(L, &c->close_ref);
    lua_pushvalue(L, 3);
    c->close_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  if (!c->reading && !c->paused) {
    uv_read_start((uv_stream_t *)&c->handle, conn_alloc_cb, conn_read_cb);
    c->reading = 1;
  }
  return 0;
}

typedef struct {
  uv_write_t req;
  om_conn_t *conn;
} conn_write_t;

static void conn_write_cb(uv_write_t *req, int status) {
  conn_write_t *w = (conn_write_t *)req;
  om_conn_t *c = w->conn;
  free(w);
  if (c->closing)
    return;
  if (status != 0) {
    /* The peer went away mid-write. */
    notify_close(c);
    do_close(c);
    return;
  }
  if (c->close_when_flushed &&
      uv_stream_get_write_queue_size((uv_stream_t *)&c->handle) == 0)
    do_close(c);
}

/* Queues `s` (a newline is not added).  Returns the bytes still queued:
 * a caller streaming to a slow reader drops it past its own bound. */
static int conn_write(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  conn_write_t *w;
  uv_buf_t buf;
  int rc;
  if (c->closing || c->close_when_flushed)
    return om_push_error(L, UV_EPIPE);
  /* Try the fast path first: most replies fit the socket buffer. */
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->handle) == 0) {
    buf = uv_buf_init((char *)s, (unsigned int)n);
    rc = uv_try_write((uv_stream_t *)&c->handle, &buf, 1);
    if (rc == (int)n) {
      lua_pushinteger(L, 0);
      return 1;
    }
    if (rc > 0) {
      s += rc;
      n -= (size_t)rc;
    } else if (rc != UV_EAGAIN) {
      return om_push_error(L, rc);
    }
  }
  w = malloc(sizeof(*w) + n);
  if (w == NULL)
    return om_push_error(L, UV_ENOMEM);
  w->conn = c;
  memcpy(w + 1, s, n);
  buf = uv_buf_init((char *)(w + 1), (unsigned int)n);
  rc = uv_write(&w->req, (uv_stream_t *)&c->handle, &buf, 1, conn_write_cb);
  if (rc != 0) {
    free(w);
    return om_push_error(L, rc);
  }
  lua_pushinteger(L,
                  (lua_Integer)uv_stream_get_write_queue_size(
                      (uv_stream_t *)&c->handle));
  return 1;
}

static int conn_queued(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  lua_pushinteger(L, c->closing ? 0
                                : (lua_Integer)uv_stream_get_write_queue_size(
                                      (uv_stream_t *)&c->handle));
  return 1;
}

/* Stops reading, so requests on one connection are served one at a time
 * while a reply is deferred. */
static int conn_pause(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  c->paused = 1;
  if (c->reading && !c->closing) {
    uv_read_stop((uv_stream_t *)&c->handle);
    c->reading = 0;
  }
  return 0;
}

static int conn_resume(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  c->paused = 0;
  if (!c->reading && !c->closing && !c->close_notified &&
      !c->framer.overflow && c->line_ref != LUA_NOREF) {
    uv_read_start((uv_stream_t *)&c->handle, conn_alloc_cb, conn_read_cb);
    c->reading = 1;
  }
  return 0;
}

/* Closes after queued writes are flushed; `close(true)` closes at once.
 * Lua's on_close is not called for a close Lua asked for. */
static int conn_close(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  c->close_notified = 1;
  om_unref(L, &c->close_ref);
  if (c->closing)
    return 0;
  if (c->reading) {
    uv_read_stop((uv_stream_t *)&c->handle);
    c->reading = 0;
  }
  if (lua_toboolean(L, 2))
    do_close(c);
  else
    close_after_flush(c);
  return 0;
}

static int conn_is_closed(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  lua_pushboolean(L, c->closing || c->close_notified);
  return 1;
}

static int conn_fd(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  uv_os_fd_t fd = -1;
  uv_fileno((uv_handle_t *)&c->handle, &fd);
  lua_pushinteger(L, fd);
  return 1;
}

static int conn_gc(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  om_lines_free(&c->framer);
  return 0;
}

static int conn_tostring(lua_State *L) {
  om_conn_t *c = check_conn(L, 1);
  lua_pushfstring(L, "overmind.connection (%p%s)", (void *)c,
                  c->closing ? ", closed" : "");
  return 1;
}

/* ---- the listening socket --------------------------------------------- */

static int peer_uid(uv_pipe_t *p) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)p, &fd) != 0)
    return -1;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return -1;
  return (int)cred.uid;
}

static void connection_cb(uv_stream_t *server, int status) {
  om_server_t *s = server->data;
  lua_State *L = om_state();
  om_conn_t *c;
  int uid;
  if (status != 0 || s->closed)
    return;
  c = lua_newuserdatauv(L, sizeof(*c), 0); /* [conn] */
  memset(c, 0, sizeof(*c));
  c->self_ref = c->line_ref = c->close_ref = LUA_NOREF;
  om_lines_init(&c->framer, MAX_LINE, 0);
  luaL_setmetatable(L, CONN_MT);
  uv_pipe_init(om_loop(), &c->handle, 0);
  c->handle.data = c;
  lua_pushvalue(L, -1);
  c->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (uv_accept(server, (uv_stream_t *)&c->handle) != 0) {
    c->close_notified = 1;
    do_close(c);
    lua_pop(L, 1);
    return;
  }
  uid = peer_uid(&c->handle);
  c->uid = uid;
  if (uid < 0 || ((uid_t)uid != geteuid() && uid != 0)) {
    /* Another user reached a socket that is not theirs: drop them
     * without a word. */
    c->close_notified = 1;
    do_close(c);
    lua_pop(L, 1);
    return;
  }
  if (om_push_ref(L, s->cb_ref)) { /* [conn, cb] */
    lua_insert(L, -2);              /* [cb, conn] */
    om_pcall(L, 1, 0);
  } else {
    lua_pop(L, 1);
  }
}

static void server_closed_cb(uv_handle_t *h) {
  om_server_t *s = h->data;
  om_unref(om_state(), &s->self_ref);
}

static int server_listen(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  om_server_t *s;
  mode_t old;
  int rc;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (len >= sizeof(((struct sockaddr_un *)0)->sun_path))
    return om_push_error(L, UV_ENAMETOOLONG);
  s = lua_newuserdatauv(L, sizeof(*s), 0);
  memset(s, 0, sizeof(*s));
  s->self_ref = s->cb_ref = LUA_NOREF;
  s->closed = 1;
  luaL_setmetatable(L, SERVER_MT);
  uv_pipe_init(om_loop(), &s->handle, 0);
  s->handle.data = s;
  s->closed = 0;
  lua_pushvalue(L, -1);
  s->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  old = umask(077);
  rc = uv_pipe_bind(&s->handle, path);
  umask(old);
  if (rc == 0) {
    chmod(path, 0600);
    rc = uv_listen((uv_stream_t *)&s->handle, 128, connection_cb);
  }
  if (rc != 0) {
    s->closed = 1;
    uv_close((uv_handle_t *)&s->handle, server_closed_cb);
    return om_push_error(L, rc);
  }
  lua_pushvalue(L, 2);
  s->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static int server_close(lua_State *L) {
  om_server_t *s = luaL_checkudata(L, 1, SERVER_MT);
  if (!s->closed) {
    s->closed = 1;
    om_unref(L, &s->cb_ref);
    uv_close((uv_handle_t *)&s->handle, server_closed_cb);
  }
  return 0;
}

static int server_gc(lua_State *L) {
  om_server_t *s = luaL_checkudata(L, 1, SERVER_MT);
  if (om_loop_closed())
    s->closed = 1;
  return server_close(L);
}

static int server_tostring(lua_State *L) {
  om_server_t *s = luaL_checkudata(L, 1, SERVER_MT);
  lua_pushfstring(L, "overmind.server (%p%s)", (void *)s,
                  s->closed ? ", closed" : "");
  return 1;
}

void om__open_server(lua_State *L) {
  static const luaL_Reg smethods[] = {{"close", server_close}, {NULL, NULL}};
  static const luaL_Reg smeta[] = {{"__gc", server_gc},
                                   {"__close", server_close},
                                   {"__tostring", server_tostring},
                                   {NULL, NULL}};
  static const luaL_Reg cmethods[] = {
      {"start", conn_start},   {"write", conn_write},
      {"queued", conn_queued}, {"pause", conn_pause},
      {"resume", conn_resume}, {"close", conn_close},
      {"is_closed", conn_is_closed}, {"fd", conn_fd},
      {NULL, NULL}};
  static const luaL_Reg cmeta[] = {{"__gc", conn_gc},
                                   {"__tostring", conn_tostring},
                                   {NULL, NULL}};
  om__new_class(L, SERVER_MT, smethods, smeta);
  om__new_class(L, CONN_MT, cmethods, cmeta);
  lua_pushcfunction(L, server_listen);
  lua_setfield(L, -2, "listen");
}
