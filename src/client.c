/* `overmind.client`: the CLI's side of the socket, blocking by design.
 *
 *   local c, err = core.connect(path)
 *   c:send(line)                 -- writes it all (add the '\n' yourself)
 *   local line, err = c:recv(timeout_ms)  -- err: "timeout" | "eof"
 *   c:close()
 *
 * The CLI does one thing and exits, so it needs no event loop: a plain
 * socket with poll() timeouts keeps start-up in the low milliseconds. */
#include "overmind/core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_MT "overmind.client"

typedef struct {
  int fd;
  char *buf; /* bytes received past the last line returned */
  size_t len, cap;
  int eof;
} om_client_t;

static om_client_t *check_client(lua_State *L, int i) {
  om_client_t *c = luaL_checkudata(L, i, CLIENT_MT);
  luaL_argcheck(L, c->fd >= 0, i, "client is closed");
  return c;
}

static int client_connect(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  struct sockaddr_un sa;
  om_client_t *c;
  if (len >= sizeof(sa.sun_path))
    return om_push_error(L, UV_ENAMETOOLONG);
  c = lua_newuserdatauv(L, sizeof(*c), 0);
  memset(c, 0, sizeof(*c));
  c->fd = -1;
  luaL_setmetatable(L, CLIENT_MT);
  c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return om_push_error(L, -errno);
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, len + 1);
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    int e = errno;
    close(c->fd);
    c->fd = -1;
    return om_push_error(L, -e);
  }
  return 1;
}

static int client_send(lua_State *L) {
  om_client_t *c = check_client(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  while (n > 0) {
    ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return om_push_error(L, -errno);
    }
    s += w;
    n -= (size_t)w;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns the next line without its newline.  timeout_ms < 0 waits for
 * ever.  At end of stream a last unterminated line is returned first. */
static int client_recv(lua_State *L) {
  om_client_t *c = check_client(L, 1);
  lua_Integer timeout = luaL_optinteger(L, 2, -1);
  int64_t deadline = timeout >= 0 ? now_ms() + timeout : -1;
  size_t scanned = 0;
  for (;;) {
    char *nl = c->len > scanned ? memchr(c->buf + scanned, '\n',
                                         c->len - scanned)
                                : NULL;
    if (nl != NULL) {
      size_t n = (size_t)(nl - c->buf);
      lua_pushlstring(L, c->buf, n);
      memmove(c->buf, nl + 1, c->len - n - 1);
      c->len -= n + 1;
      return 1;
    }
    scanned = c->len;
    if (c->eof) {
      if (c->len > 0) {
        lua_pushlstring(L, c->buf, c->len);
        c->len = 0;
        return 1;
      }
      lua_pushnil(L);
      lua_pushliteral(L, "eof");
      return 2;
    }
    {
      struct pollfd pfd = {c->fd, POLLIN, 0};
      int wait = -1, r;
      ssize_t got;
      if (deadline >= 0) {
        int64_t left = deadline - now_ms();
        wait = left > 0 ? (int)left : 0;
      }
      r = poll(&pfd, 1, wait);
      if (r < 0) {
        if (errno == EINTR)
          continue;
        return om_push_error(L, -errno);
      }
      if (r == 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "timeout");
        return 2;
      }
      if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 131072;
        char *nb = realloc(c->buf, cap);
        if (nb == NULL)
          return om_push_error(L, UV_ENOMEM);
        c->buf = nb;
        c->cap = cap;
      }
      got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN)
          continue;
        if (errno == ECONNRESET) {
          c->eof = 1;
          continue;
        }
        return om_push_error(L, -errno);
      }
      if (got == 0)
        c->eof = 1;
      c->len += (size_t)got;
    }
  }
}

/* c:take() -> the bytes received but not yet returned by recv (a client
 * that switches to copying the raw stream starts with these). */
static int client_take(lua_State *L) {
  om_client_t *c = check_client(L, 1);
  lua_pushlstring(L, c->buf ? c->buf : "", c->len);
  c->len = 0;
  return 1;
}

static int client_fd(lua_State *L) {
  om_client_t *c = check_client(L, 1);
  lua_pushinteger(L, c->fd);
  return 1;
}

/* Half-closes the sending side: the daemon sees end of input. */
static int client_shutdown(lua_State *L) {
  om_client_t *c = check_client(L, 1);
  shutdown(c->fd, SHUT_WR);
  return 0;
}

static int client_close(lua_State *L) {
  om_client_t *c = luaL_checkudata(L, 1, CLIENT_MT);
  if (c->fd >= 0) {
    close(c->fd);
    c->fd = -1;
  }
  free(c->buf);
  c->buf = NULL;
  c->len = c->cap = 0;
  return 0;
}

static int client_tostring(lua_State *L) {
  om_client_t *c = luaL_checkudata(L, 1, CLIENT_MT);
  lua_pushfstring(L, "overmind.client (fd %d)", c->fd);
  return 1;
}

void om__open_client(lua_State *L) {
  static const luaL_Reg methods[] = {{"send", client_send},
                                     {"recv", client_recv},
                                     {"fd", client_fd},
                                     {"take", client_take},
                                     {"shutdown", client_shutdown},
                                     {"close", client_close},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", client_close},
                                  {"__close", client_close},
                                  {"__tostring", client_tostring},
                                  {NULL, NULL}};
  om__new_class(L, CLIENT_MT, methods, meta);
  lua_pushcfunction(L, client_connect);
  lua_setfield(L, -2, "connect");
}
