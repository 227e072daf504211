/* Terminal control for the client side: isatty, window size, raw mode.
 * (The PTYs that missions run in live in src/proc.c.) */
#include "overmind/core.h"

#include <errno.h>
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

void om__open_tty(lua_State *L) {
  static const luaL_Reg funcs[] = {{"isatty", tty_isatty},
                                   {"winsize", tty_winsize},
                                   {"tty_raw", tty_raw},
                                   {"tty_restore", tty_restore},
                                   {NULL, NULL}};
  luaL_setfuncs(L, funcs, 0);
}
