/* Terminal control for the client side: isatty, window size, raw mode.
 * (The PTYs that missions run in live in src/proc.c.) */
#include "overmind/core.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static int tty_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

static int tty_winsize(lua_State *L) {
  struct winsize ws;
  if (ioctl((int)luaL_optinteger(L, 1, 1), TIOCGWINSZ, &ws) != 0)
    return om_push_error(L, -errno);
  lua_pushinteger(L, ws.ws_row);
  lua_pushinteger(L, ws.ws_col);
  return 2;
}

/* core.tty_raw(fd) -> saved: puts the terminal in raw mode and returns its
 * previous settings as an opaque string for core.tty_restore. */
static int tty_raw(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  struct termios old, raw;
  if (tcgetattr(fd, &old) != 0)
    return om_push_error(L, -errno);
  raw = old;
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSANOW, &raw) != 0)
    return om_push_error(L, -errno);
  lua_pushlstring(L, (const char *)&old, sizeof(old));
  return 1;
}

static int tty_restore(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  struct termios t;
  luaL_argcheck(L, n == sizeof(t), 2, "not a saved terminal state");
  memcpy(&t, s, sizeof(t));
  if (tcsetattr(fd, TCSANOW, &t) != 0)
    return om_push_error(L, -errno);
  lua_pushboolean(L, 1);
  return 1;
}

/* core.poll({fd...}, timeout_ms) -> { [fd] = true, ... } of the fds that
 * are readable or hung up.  Used by `attach`, the one client that waits on
 * the terminal and the socket at once.  EINTR (a SIGWINCH) returns an
 * empty table. */
static int tty_poll(lua_State *L) {
  struct pollfd pfd[8];
  int n, r;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)luaL_len(L, 1);
  luaL_argcheck(L, n > 0 && n <= 8, 1, "1 to 8 descriptors");
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    pfd[i].fd = (int)luaL_checkinteger(L, -1);
    pfd[i].events = POLLIN;
    pfd[i].revents = 0;
    lua_pop(L, 1);
  }
  r = poll(pfd, (nfds_t)n, (int)luaL_optinteger(L, 2, -1));
  if (r < 0 && errno != EINTR)
    return om_push_error(L, -errno);
  lua_newtable(L);
  for (int i = 0; r > 0 && i < n; i++) {
    if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
      lua_pushboolean(L, 1);
      lua_rawseti(L, -2, pfd[i].fd);
    }
  }
  return 1;
}

/* core.read(fd, n) -> bytes, "" at end of file, or nil, err. */
static int tty_read(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  lua_Integer n = luaL_optinteger(L, 2, 4096);
  char buf[65536];
  ssize_t r;
  if (n > (lua_Integer)sizeof(buf))
    n = sizeof(buf);
  do
    r = read(fd, buf, (size_t)n);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return om_push_error(L, -errno);
  lua_pushlstring(L, buf, (size_t)r);
  return 1;
}

/* core.write(fd, s): writes it all. */
static int tty_write(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  while (n > 0) {
    ssize_t w = write(fd, s, n);
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

static volatile sig_atomic_t winch_seen;

static void on_winch(int sig) {
  (void)sig;
  winch_seen = 1;
}

/* core.winch() -> true once after each SIGWINCH (the first call installs
 * the handler; only the client uses it, never the daemon). */
static int tty_winch(lua_State *L) {
  static int installed;
  if (!installed) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, NULL);
    installed = 1;
  }
  lua_pushboolean(L, winch_seen);
  winch_seen = 0;
  return 1;
}

void om__open_tty(lua_State *L) {
  static const luaL_Reg funcs[] = {{"isatty", tty_isatty},
                                   {"winsize", tty_winsize},
                                   {"tty_raw", tty_raw},
                                   {"tty_restore", tty_restore},
                                   {"poll", tty_poll},
                                   {"read", tty_read},
                                   {"write", tty_write},
                                   {"winch", tty_winch},
                                   {NULL, NULL}};
  luaL_setfuncs(L, funcs, 0);
}
