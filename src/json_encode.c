/* The JSON encoder for everything Overmind writes: replies, events, state
 * files, `--json` output.
 *
 *   core.json_encode(v[, repair]) -> string
 *
 * It replaces lua-cjson's encoder, which Debian ships as 2.1.0: that one
 * prints numbers with "%.14g" (so 123456789012345 became
 * 1.2345678901234e+14 and an agent's 64-bit id lost its last digits),
 * escapes every "/" and writes an empty array as {}.  Here integers are
 * exact, floats are the shortest text that reads back to the same double,
 * "/" is left alone, and a table marked as an array (its metatable's
 * __json field is "array", see overmind/json.lua) is [] even when empty.
 *
 * With `repair`, bytes that are not UTF-8 become U+FFFD, so the text is
 * valid for every JSON parser (docker's JSON does the same); without it
 * strings keep their bytes, for what only Overmind reads back (records,
 * requests: commands and paths need not be UTF-8).
 *
 * Like lua-cjson: a table whose keys are all positive integers is an array
 * (holes are null) unless it is too sparse, in which case it is an object
 * with the numbers as keys; nil and cjson.null are null; NaN and the
 * infinities, which JSON cannot say, are null (as JSON.stringify); a
 * function, a userdata or a cycle is an error. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overmind/core.h"
#include "overmind/utf8.h"

#define MAX_DEPTH 1000

typedef struct {
  lua_State *L;
  char *buf;
  size_t len, cap;
  int repair;
  const char *err;      /* set on failure; the buffer is freed before raising */
  const char *bad_type; /* the type that cannot be encoded (a static name) */
} enc_t;

static int reserve(enc_t *e, size_t n) {
  size_t cap;
  char *nb;
  if (e->len + n <= e->cap)
    return 1;
  cap = e->cap ? e->cap : 256;
  while (cap < e->len + n)
    cap *= 2;
  nb = realloc(e->buf, cap);
  if (nb == NULL) {
    e->err = "out of memory";
    return 0;
  }
  e->buf = nb;
  e->cap = cap;
  return 1;
}

static int put(enc_t *e, const char *s, size_t n) {
  if (!reserve(e, n))
    return 0;
  memcpy(e->buf + e->len, s, n);
  e->len += n;
  return 1;
}

#define PUT_LIT(e, s) put((e), (s), sizeof(s) - 1)

/* Bytes copied as they are inside a string: printable ASCII but '"' and
 * '\\' (bytes >= 0x80 are UTF-8, checked apart). */
static int plain(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static int put_string(enc_t *e, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, bad;
  /* most strings need no escape: room for all of it, and the quotes */
  if (!reserve(e, n + 2))
    return 0;
  e->buf[e->len++] = '"';
  while (i < n) {
    size_t j = i;
    unsigned char c;
    while (j < n && plain(s[j]))
      j++;
    if (j > i && !put(e, str + i, j - i))
      return 0;
    if (j == n)
      break;
    c = s[j];
    if (c >= 0x80) {
      size_t k = e->repair ? om_utf8_seq(s + j, n - j, &bad) : 1;
      if (k == 0) {
        if (!PUT_LIT(e, OM_UTF8_REPLACEMENT))
          return 0;
        i = j + bad;
      } else {
        if (!put(e, str + j, k))
          return 0;
        i = j + k;
      }
      continue;
    }
    switch (c) {
    case '"': if (!PUT_LIT(e, "\\\"")) return 0; break;
    case '\\': if (!PUT_LIT(e, "\\\\")) return 0; break;
    case '\n': if (!PUT_LIT(e, "\\n")) return 0; break;
    case '\r': if (!PUT_LIT(e, "\\r")) return 0; break;
    case '\t': if (!PUT_LIT(e, "\\t")) return 0; break;
    case '\b': if (!PUT_LIT(e, "\\b")) return 0; break;
    case '\f': if (!PUT_LIT(e, "\\f")) return 0; break;
    default: {
      char u[8];
      snprintf(u, sizeof(u), "\\u%04x", c);
      if (!put(e, u, 6))
        return 0;
    }
    }
    i = j + 1;
  }
  return put(e, "\"", 1);
}

static int put_number(enc_t *e, lua_State *L, int idx) {
  char num[40];
  int n;
  if (lua_isinteger(L, idx)) {
    n = snprintf(num, sizeof(num), LUA_INTEGER_FMT,
                 (LUAI_UACINT)lua_tointeger(L, idx));
  } else {
    double d = (double)lua_tonumber(L, idx);
    int prec;
    if (isnan(d) || isinf(d))
      return PUT_LIT(e, "null");
    /* the shortest of %.15g, %.16g, %.17g that reads back exactly */
    for (prec = 15; prec < 17; prec++) {
      n = snprintf(num, sizeof(num), "%.*g", prec, d);
      if (strtod(num, NULL) == d)
        break;
    }
    if (prec == 17)
      n = snprintf(num, sizeof(num), "%.17g", d);
  }
  return put(e, num, (size_t)n);
}

static int encode(enc_t *e, int idx, int depth);

/* For a table at idx: its array length, 0 for an empty array, or -1 when
 * it is an object.  Keys that are all positive integers make an array if
 * it is not too sparse (lua-cjson's default: length <= 2 * count, or
 * length <= 10). */
static lua_Integer array_length(lua_State *L, int idx, int *marked) {
  lua_Integer max = 0, count = 0;
  *marked = 0;
  if (luaL_getmetafield(L, idx, "__json") != LUA_TNIL) {
    *marked = lua_type(L, -1) == LUA_TSTRING &&
              strcmp(lua_tostring(L, -1), "array") == 0;
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_Integer k;
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || (k = lua_tointeger(L, -1)) < 1) {
      lua_pop(L, 1);
      return -1;
    }
    if (k > max)
      max = k;
    count++;
  }
  if (count == 0)
    return *marked ? 0 : -1;
  if (max > 10 && max > 2 * count)
    return -1;
  return max;
}

static int encode_table(enc_t *e, int idx, int depth) {
  lua_State *L = e->L;
  int marked, first = 1;
  lua_Integer n = array_length(L, idx, &marked), i;
  if (n >= 0) {
    if (!put(e, "[", 1))
      return 0;
    for (i = 1; i <= n; i++) {
      int ok;
      if (i > 1 && !put(e, ",", 1))
        return 0;
      lua_rawgeti(L, idx, i);
      ok = encode(e, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
      if (!ok)
        return 0;
    }
    return put(e, "]", 1);
  }
  if (!put(e, "{", 1))
    return 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int kt = lua_type(L, -2);
    size_t kl;
    const char *ks;
    if (!first && !put(e, ",", 1)) {
      lua_pop(L, 2);
      return 0;
    }
    first = 0;
    if (kt == LUA_TSTRING) {
      ks = lua_tolstring(L, -2, &kl);
      if (!put_string(e, ks, kl)) {
        lua_pop(L, 2);
        return 0;
      }
    } else if (kt == LUA_TNUMBER) {
      /* a number key, as a string: "3" (never tostring in place: that
       * would confuse lua_next) */
      int ok = put(e, "\"", 1) && put_number(e, L, lua_gettop(L) - 1) &&
               put(e, "\"", 1);
      if (!ok) {
        lua_pop(L, 2);
        return 0;
      }
    } else {
      e->err = "cannot encode a table key that is not a string or number";
      lua_pop(L, 2);
      return 0;
    }
    if (!put(e, ":", 1) || !encode(e, lua_gettop(L), depth + 1)) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pop(L, 1);
  }
  return put(e, "}", 1);
}

static int encode(enc_t *e, int idx, int depth) {
  lua_State *L = e->L;
  size_t n;
  const char *s;
  if (depth > MAX_DEPTH) {
    e->err = "cannot encode: nested too deep (a cycle?)";
    return 0;
  }
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    return PUT_LIT(e, "null");
  case LUA_TBOOLEAN:
    return lua_toboolean(L, idx) ? PUT_LIT(e, "true") : PUT_LIT(e, "false");
  case LUA_TNUMBER:
    return put_number(e, L, idx);
  case LUA_TSTRING:
    s = lua_tolstring(L, idx, &n);
    return put_string(e, s, n);
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) /* cjson.null */
      return PUT_LIT(e, "null");
    break;
  case LUA_TTABLE:
    if (!lua_checkstack(L, 4)) {
      e->err = "cannot encode: nested too deep";
      return 0;
    }
    return encode_table(e, idx, depth);
  default:
    break;
  }
  e->bad_type = luaL_typename(L, idx);
  return 0;
}

static int json_encode(lua_State *L) {
  enc_t e = {L, NULL, 0, 0, 0, NULL, NULL};
  int ok;
  luaL_checkany(L, 1);
  e.repair = lua_toboolean(L, 2);
  lua_settop(L, 1);
  ok = encode(&e, 1, 0);
  if (!ok) {
    free(e.buf);
    if (e.bad_type != NULL)
      return luaL_error(L, "cannot encode a %s", e.bad_type);
    return luaL_error(L, "%s", e.err ? e.err : "cannot encode");
  }
  lua_pushlstring(L, e.buf ? e.buf : "", e.len);
  free(e.buf);
  return 1;
}

void om__open_json_encode(lua_State *L) {
  lua_pushcfunction(L, json_encode);
  lua_setfield(L, -2, "json_encode");
}
