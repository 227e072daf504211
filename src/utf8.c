/*
 * UTF-8 validation and repair for what the daemon writes as JSON.
 *
 *   core.utf8_fix(s) -> s (the same string) when s is valid UTF-8, else a
 *                       copy where each invalid sequence is U+FFFD
 *
 * Commands, names and agents' output are bytes; JSON is text.  lua-cjson
 * (and the agents whose lines are passed on verbatim) copy bytes >= 0x80
 * as they are, so one mission printing Latin-1 would make `ps --json`
 * unreadable to every strict parser.  The daemon repairs its replies and
 * events here, as Go's encoding/json does for docker's and kubectl's:
 * invalid bytes become U+FFFD and valid text is untouched.  Because JSON's
 * structure is ASCII, repairing the encoded text repairs only the strings.
 *
 * Valid means RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF.  Each maximal invalid subpart becomes one U+FFFD (Unicode's
 * recommended practice, also what Python's "replace" does).
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <string.h>

#include "overmind/core.h"
#include "overmind/utf8.h"

size_t om_utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t len, i;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0; /* overlong */
    else if (c == 0xED)
      hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90; /* overlong */
    else if (c == 0xF4)
      hi = 0x8F; /* above U+10FFFF */
  } else {
    *bad = 1;
    return 0;
  }
  for (i = 1; i < len; i++) {
    unsigned char b = i < n ? s[i] : 0;
    if (i >= n || b < lo || b > hi) {
      *bad = i;
      return 0;
    }
    lo = 0x80, hi = 0xBF; /* only the second byte has narrower bounds */
  }
  return len;
}

/* Offset of the first byte of an invalid sequence, or n.  ASCII, by far
 * the most common case, goes eight bytes at a time. */
static size_t first_invalid(const unsigned char *s, size_t n) {
  size_t i = 0, bad;
  while (i < n) {
    if (n - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = om_utf8_seq(s + i, n - i, &bad);
    if (k == 0)
      return i;
    i += k;
  }
  return n;
}

static int utf8_fix(lua_State *L) {
  size_t n, i, bad;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  i = first_invalid(s, n);
  if (i == n) {
    lua_settop(L, 1);
    return 1;
  }
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, (const char *)s, i);
  while (i < n) {
    size_t j = i + first_invalid(s + i, n - i);
    luaL_addlstring(&b, (const char *)s + i, j - i);
    if (j == n)
      break;
    om_utf8_seq(s + j, n - j, &bad);
    luaL_addstring(&b, OM_UTF8_REPLACEMENT);
    i = j + bad;
  }
  luaL_pushresult(&b);
  return 1;
}

void om__open_utf8(lua_State *L) {
  lua_pushcfunction(L, utf8_fix);
  lua_setfield(L, -2, "utf8_fix");
}
