/* A JSON decoder that builds Lua values directly, for the hot path: every
 * line an agent prints in stream-json is decoded here (from src/proc.c,
 * without a Lua call per line) and handed to the provider as a table.
 *
 *   core.json_decode(s) -> value | nil, "invalid JSON at byte <n>"
 *
 * Compared with lua-cjson 2.1.0 it copies no string without escapes (they
 * are pushed straight from the input), returns integers as Lua integers,
 * and keeps `null` as cjson does (a NULL light userdata, equal to
 * cjson.null), so the two mix freely. */
#include "overmind/json.h"
#include "overmind/core.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH 128

typedef struct {
  lua_State *L;
  const char *p;
  const char *end;
  const char *start;
  char *buf; /* scratch for strings with escapes */
  size_t cap;
  int depth;
} dec_t;

/* One member of a field selection. */
typedef struct {
  char *key;
  size_t len;
  int next;                     /* the next item with key[0] (see by_first) */
  int ref;                      /* the key as an interned Lua string */
  struct om_json_fields *child; /* NULL: the whole value */
  /* The last short string built as this member's value (see
   * member_string): a registry reference, and its bytes, kept alive by
   * the reference. */
  int vref;
  const char *vstr;
  size_t vlen;
} field_t;

/* A field selection (see om_json_fields_new): which members of an object
 * to build; the others are parsed, validated and dropped without
 * creating a Lua value. */
struct om_json_fields {
  int n;
  /* The first item whose name starts with a byte, chained through
   * item.next (-1 ends); the name "" is apart.  Most names in a line are
   * not selected, and are turned away with one look-up. */
  int by_first[256];
  int empty;
  field_t item[];
};

static int value(dec_t *d);
static int value_sel(dec_t *d, om_json_fields_t *sel);
static int skip_value(dec_t *d);

/* The slow paths of the hot functions stay out of line, so that what
 * runs for nearly every token is small enough to be inlined. */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

static NOINLINE void skip_ws_loop(dec_t *d) {
  while (d->p < d->end) {
    char c = *d->p;
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      return;
    d->p++;
  }
}

/* Runs before every token.  Agents print compact JSON: a byte above the
 * space is no whitespace, and that test nearly always ends it. */
static inline void skip_ws(dec_t *d) {
  if (d->p < d->end && (unsigned char)*d->p <= ' ')
    skip_ws_loop(d);
}

static int grow(dec_t *d, size_t need) {
  size_t cap;
  char *nb;
  if (need <= d->cap)
    return 1;
  cap = d->cap ? d->cap : 256;
  while (cap < need)
    cap *= 2;
  nb = realloc(d->buf, cap);
  if (nb == NULL)
    return 0;
  d->buf = nb;
  d->cap = cap;
  return 1;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return 0;
  }
  *out = v;
  return 1;
}

static size_t utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The first byte of [p, e) that ends a plain run of a string: a quote, a
 * backslash or a control character (below 0x20, which JSON forbids raw);
 * e when there is none.  Most bytes of every line an agent prints are
 * inside strings and pass here once, so it looks at 16 bytes a step with
 * SSE2 (baseline on x86-64), else 8 with the "has a byte less than n" word
 * trick.  Loads stay inside [p, e): the input is not NUL-terminated and
 * may end where its mapping does. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static inline const unsigned char *scan_plain(const unsigned char *p,
                                              const unsigned char *e) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i bslash = _mm_set1_epi8('\\');
  const __m128i ctl = _mm_set1_epi8(0x1F);
  while (e - p >= 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* Unsigned v <= 0x1F is min(v, 0x1F) == v: SSE2 has no unsigned
     * compare. */
    __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
        _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
    unsigned m = (unsigned)_mm_movemask_epi8(hit);
    if (m != 0)
      return p + __builtin_ctz(m);
    p += 16;
  }
#endif
  while (e - p >= 8) {
    uint64_t w, q, bs;
    memcpy(&w, p, 8);
    q = w ^ (ONES * '"');
    bs = w ^ (ONES * '\\');
    /* A hit somewhere in these 8: the byte loop below says where, which
     * keeps this independent of the byte order. */
    if ((((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((bs - ONES) & ~bs)) &
        HIGHS)
      break;
    p += 8;
  }
  for (; p < e; p++)
    if (*p == '"' || *p == '\\' || *p < 0x20)
      return p;
  return e;
}

/* The rest of a string with escapes: s is where its plain run started,
 * q the first special byte.  The plain runs between escapes are copied
 * whole. */
static NOINLINE int str_escaped(dec_t *d, const unsigned char *s,
                                const unsigned char *q, const char **out,
                                size_t *len) {
  const unsigned char *e = (const unsigned char *)d->end;
  size_t n = 0;
  for (;;) {
    size_t run = (size_t)(q - s);
    unsigned cp, lo;
    d->p = (const char *)q; /* where an error stops */
    if (q == e || *q < 0x20)
      return 0;
    /* An escape writes at most 4 bytes (a surrogate pair's UTF-8). */
    if (!grow(d, n + run + 4))
      return 0;
    memcpy(d->buf + n, s, run);
    n += run;
    if (*q == '"') {
      *out = d->buf;
      *len = n;
      d->p = (const char *)q + 1;
      return 1;
    }
    if (e - q < 2)
      return 0;
    switch (q[1]) {
    case '"': d->buf[n++] = '"'; break;
    case '\\': d->buf[n++] = '\\'; break;
    case '/': d->buf[n++] = '/'; break;
    case 'b': d->buf[n++] = '\b'; break;
    case 'f': d->buf[n++] = '\f'; break;
    case 'n': d->buf[n++] = '\n'; break;
    case 'r': d->buf[n++] = '\r'; break;
    case 't': d->buf[n++] = '\t'; break;
    case 'u':
      if (e - q < 6 || !hex4((const char *)q + 2, &cp))
        return 0;
      q += 4; /* with the 2 below: past \uXXXX */
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        /* A high surrogate wants its low half. */
        if (e - q >= 8 && q[2] == '\\' && q[3] == 'u' &&
            hex4((const char *)q + 4, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          q += 6;
        } else {
          cp = 0xFFFD;
        }
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFD;
      }
      n += utf8(d->buf + n, cp);
      break;
    default:
      return 0;
    }
    s = q + 2;
    q = scan_plain(s, e);
  }
}

/* At the opening quote: the string's bytes, unescaped, in *out and *len.
 * A string without escapes (the common case) is not copied: *out points
 * into the input; otherwise into d->buf, valid until the next string. */
static inline int str_bytes(dec_t *d, const char **out, size_t *len) {
  const unsigned char *s = (const unsigned char *)d->p + 1;
  const unsigned char *e = (const unsigned char *)d->end;
  const unsigned char *q = scan_plain(s, e);
  if (q < e && *q == '"') {
    *out = (const char *)s;
    *len = (size_t)(q - s);
    d->p = (const char *)q + 1;
    return 1;
  }
  return str_escaped(d, s, q, out, len);
}

/* At the opening quote: pushes the string. */
static int string(dec_t *d) {
  const char *s;
  size_t n;
  if (!str_bytes(d, &s, &n))
    return 0;
  lua_pushlstring(d->L, s, n);
  return 1;
}

/* Scans a number's syntax (RFC 8259); tells whether it is a float. */
static int scan_number(dec_t *d, int *is_float) {
  *is_float = 0;
  if (d->p < d->end && *d->p == '-')
    d->p++;
  if (d->p >= d->end)
    return 0;
  if (*d->p == '0') {
    d->p++;
  } else if (*d->p >= '1' && *d->p <= '9') {
    while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
      d->p++;
  } else {
    return 0;
  }
  if (d->p < d->end && *d->p == '.') {
    *is_float = 1;
    d->p++;
    if (d->p >= d->end || *d->p < '0' || *d->p > '9')
      return 0;
    while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
      d->p++;
  }
  if (d->p < d->end && (*d->p == 'e' || *d->p == 'E')) {
    *is_float = 1;
    d->p++;
    if (d->p < d->end && (*d->p == '+' || *d->p == '-'))
      d->p++;
    if (d->p >= d->end || *d->p < '0' || *d->p > '9')
      return 0;
    while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
      d->p++;
  }
  return 1;
}

/* Numbers: integers as Lua integers; so are floats with an integral value
 * that an integer holds exactly (2.0 prints as 2, as lua-cjson users of
 * this project expect); the rest as floats. */
static int number(dec_t *d) {
  const char *s = d->p;
  char small[128], *tmp = small;
  size_t len;
  int is_float = 0;
  double v;
  if (!scan_number(d, &is_float))
    return 0;
  /* The number is copied: strtod wants a terminator, and the byte after
   * the input may be the start of the next line. */
  len = (size_t)(d->p - s);
  if (len >= sizeof(small) && (tmp = malloc(len + 1)) == NULL)
    return 0;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  if (!is_float) {
    long long iv;
    errno = 0;
    iv = strtoll(tmp, NULL, 10);
    if (errno == 0) {
      if (tmp != small)
        free(tmp);
      lua_pushinteger(d->L, (lua_Integer)iv);
      return 1;
    }
  }
  v = strtod(tmp, NULL);
  if (tmp != small)
    free(tmp);
  /* The range test comes first: casting a double out of range is UB. */
  if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
      v == (double)(long long)v)
    lua_pushinteger(d->L, (lua_Integer)v);
  else
    lua_pushnumber(d->L, (lua_Number)v);
  return 1;
}

static int literal(dec_t *d, const char *word, size_t n) {
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
    return 0;
  d->p += n;
  return 1;
}

/* Between the members of an object or an array: a comma means MORE, the
 * closing bracket DONE (both consumed); anything else is an error. */
enum { BAD = 0, MORE, DONE };

static int next_member(dec_t *d, char close) {
  skip_ws(d);
  if (d->p >= d->end)
    return BAD;
  if (*d->p == ',') {
    d->p++;
    return MORE;
  }
  if (*d->p == close) {
    d->p++;
    return DONE;
  }
  return BAD;
}

/* The colon after a member's name. */
static int colon(dec_t *d) {
  skip_ws(d);
  if (d->p >= d->end || *d->p != ':')
    return 0;
  d->p++;
  return 1;
}

static int object_sel(dec_t *d, om_json_fields_t *sel);

/* An object built in full. */
static int object(dec_t *d) { return object_sel(d, NULL); }

/* An array whose elements are built under `sel` (see value_sel); in full
 * when it is NULL. */
static int array_sel(dec_t *d, om_json_fields_t *sel) {
  lua_State *L = d->L;
  lua_Integer i = 0;
  int more;
  /* [arr, value]; a nested container checks for its own. */
  if (!lua_checkstack(L, 2))
    return 0;
  d->p++;
  lua_createtable(L, 4, 0);
  skip_ws(d);
  if (d->p < d->end && *d->p == ']') {
    d->p++;
    return 1;
  }
  for (;;) {
    if (!(sel == NULL ? value(d) : value_sel(d, sel)))
      return 0;
    lua_rawseti(L, -2, ++i);
    if ((more = next_member(d, ']')) != MORE)
      return more == DONE;
  }
}

static int array(dec_t *d) { return array_sel(d, NULL); }

/* ---- parsing without building: the members nobody asked for ---------- */

/* The rest of a skipped string from q, its first special byte. */
static NOINLINE int skip_escaped(dec_t *d, const unsigned char *q) {
  const unsigned char *e = (const unsigned char *)d->end;
  unsigned cp;
  for (;;) {
    d->p = (const char *)q; /* where an error stops */
    if (q == e || *q < 0x20)
      return 0;
    if (*q == '"') {
      d->p++;
      return 1;
    }
    if (e - q < 2)
      return 0;
    switch (q[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
    case 't':
      q += 2;
      break;
    case 'u':
      if (e - q < 6 || !hex4((const char *)q + 2, &cp))
        return 0;
      q += 6;
      break;
    default:
      return 0;
    }
    q = scan_plain(q, e);
  }
}

/* A string nobody asked for: validated as strictly as one we build, but
 * never copied. */
static inline int skip_string(dec_t *d) {
  const unsigned char *e = (const unsigned char *)d->end;
  const unsigned char *q = scan_plain((const unsigned char *)d->p + 1, e);
  if (q < e && *q == '"') {
    d->p = (const char *)q + 1;
    return 1;
  }
  return skip_escaped(d, q);
}

static int skip_container(dec_t *d, char open) {
  char close = open == '{' ? '}' : ']';
  int more;
  d->p++;
  skip_ws(d);
  if (d->p < d->end && *d->p == close) {
    d->p++;
    return 1;
  }
  for (;;) {
    skip_ws(d);
    if (open == '{') {
      if (d->p >= d->end || *d->p != '"' || !skip_string(d))
        return 0;
      if (!colon(d))
        return 0;
    }
    if (!skip_value(d))
      return 0;
    if ((more = next_member(d, close)) != MORE)
      return more == DONE;
  }
}

static int skip_value(dec_t *d) {
  int ok;
  skip_ws(d);
  if (d->p >= d->end)
    return 0;
  switch (*d->p) {
  case '{':
  case '[':
    if (++d->depth > MAX_DEPTH)
      return 0;
    ok = skip_container(d, *d->p);
    d->depth--;
    return ok;
  case '"':
    return skip_string(d);
  case 't':
    return literal(d, "true", 4);
  case 'f':
    return literal(d, "false", 5);
  case 'n':
    return literal(d, "null", 4);
  default: {
    int is_float; /* a dropped number is only scanned, not converted */
    return scan_number(d, &is_float);
  }
  }
}

/* The member of `sel` named k, or NULL. */
static field_t *find_field(om_json_fields_t *sel, const char *k,
                           size_t len) {
  int i = len > 0 ? sel->by_first[(unsigned char)k[0]] : sel->empty;
  while (i >= 0) {
    field_t *f = &sel->item[i];
    if (f->len == len &&
        (len <= 1 || memcmp(f->key + 1, k + 1, len - 1) == 0))
      return f;
    i = f->next;
  }
  return NULL;
}

/* Lua interns strings up to this length (LUAI_MAXSHORTLEN), hashing
 * every byte to find the copy it already has. */
#define SHORT_STRING 40

/* At the opening quote of a selected member's value: pushes the string.
 * A member's value often repeats from line to line (type, role, the
 * session's id), so the member keeps the last short string it built and
 * pushes it again when the bytes are the same: a compare instead of
 * Lua's hashing.  Long strings are not interned, so nothing to save. */
static int member_string(dec_t *d, field_t *f) {
  lua_State *L = d->L;
  const char *s;
  size_t n;
  if (!str_bytes(d, &s, &n))
    return 0;
  if (n > SHORT_STRING) {
    lua_pushlstring(L, s, n);
    return 1;
  }
  if (f->vstr != NULL && f->vlen == n && memcmp(f->vstr, s, n) == 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->vref);
    return 1;
  }
  f->vstr = lua_pushlstring(L, s, n);
  f->vlen = n;
  lua_pushvalue(L, -1);
  if (f->vref == LUA_NOREF)
    f->vref = luaL_ref(L, LUA_REGISTRYINDEX);
  else
    lua_rawseti(L, LUA_REGISTRYINDEX, f->vref);
  return 1;
}

/* An object of which only the members in `sel` are built (all of them
 * when `sel` is NULL); the others are parsed and dropped. */
static int object_sel(dec_t *d, om_json_fields_t *sel) {
  lua_State *L = d->L;
  int more;
  /* [obj, key, value, copy of the value (member_string)]; a nested
   * container checks for its own. */
  if (!lua_checkstack(L, 4))
    return 0;
  d->p++;
  lua_createtable(L, 0, sel == NULL || sel->n >= 4 ? 4 : sel->n);
  skip_ws(d);
  if (d->p < d->end && *d->p == '}') {
    d->p++;
    return 1;
  }
  for (;;) {
    skip_ws(d);
    if (d->p >= d->end || *d->p != '"')
      return 0;
    if (sel == NULL) {
      if (!string(d) || !colon(d) || !value(d)) /* [obj, key, value] */
        return 0;
      lua_rawset(L, -3);
    } else {
      /* Matched unescaped: "t\u0079pe" is the member "type". */
      const char *k;
      size_t klen;
      field_t *f;
      if (!str_bytes(d, &k, &klen) || !colon(d))
        return 0;
      f = find_field(sel, k, klen);
      if (f == NULL) {
        if (!skip_value(d))
          return 0;
      } else {
        lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref);
        skip_ws(d);
        if (f->child == NULL && d->p < d->end && *d->p == '"') {
          if (!member_string(d, f))
            return 0;
        } else if (!value_sel(d, f->child)) {
          return 0;
        }
        lua_rawset(L, -3);
      }
    }
    if ((more = next_member(d, '}')) != MORE)
      return more == DONE;
  }
}

/* A value under a selection: an object is pruned to it; so is each
 * object inside an array (claude's message.content is an array of
 * content blocks), and inside arrays in arrays; anything else, and any
 * value selected whole (NULL), is built in full. */
static int value_sel(dec_t *d, om_json_fields_t *sel) {
  int ok;
  if (sel == NULL)
    return value(d);
  skip_ws(d);
  if (d->p < d->end && (*d->p == '{' || *d->p == '[')) {
    if (++d->depth > MAX_DEPTH)
      return 0;
    ok = *d->p == '{' ? object_sel(d, sel) : array_sel(d, sel);
    d->depth--;
    return ok;
  }
  return value(d);
}

static int value(dec_t *d) {
  int ok;
  skip_ws(d);
  if (d->p >= d->end)
    return 0;
  switch (*d->p) {
  case '{':
  case '[':
    if (++d->depth > MAX_DEPTH)
      return 0;
    ok = *d->p == '{' ? object(d) : array(d);
    d->depth--;
    return ok;
  case '"':
    return string(d);
  case 't':
    if (!literal(d, "true", 4))
      return 0;
    lua_pushboolean(d->L, 1);
    return 1;
  case 'f':
    if (!literal(d, "false", 5))
      return 0;
    lua_pushboolean(d->L, 0);
    return 1;
  case 'n':
    if (!literal(d, "null", 4))
      return 0;
    lua_pushlightuserdata(d->L, NULL);
    return 1;
  default:
    return number(d);
  }
}

int om_json_decode(lua_State *L, const char *s, size_t n, size_t *err_at) {
  return om_json_decode_fields(L, s, n, NULL, err_at);
}

int om_json_decode_fields(lua_State *L, const char *s, size_t n,
                          om_json_fields_t *sel, size_t *err_at) {
  dec_t d;
  int top = lua_gettop(L), ok;
  memset(&d, 0, sizeof(d));
  d.L = L;
  d.p = d.start = s;
  d.end = s + n;
  /* A scalar needs one slot; containers check for what they need. */
  ok = lua_checkstack(L, 1) && value_sel(&d, sel);
  if (ok) {
    skip_ws(&d);
    ok = d.p == d.end;
  }
  free(d.buf);
  if (!ok) {
    if (err_at)
      *err_at = (size_t)(d.p - s);
    lua_settop(L, top);
    return 0;
  }
  return 1;
}

om_json_fields_t *om_json_fields_new(lua_State *L, int idx) {
  om_json_fields_t *f;
  int n = 0, i = 0;
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TSTRING)
      n++;
    lua_pop(L, 1);
  }
  f = calloc(1, sizeof(*f) + (size_t)n * sizeof(f->item[0]));
  if (f == NULL)
    return NULL;
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* [..., key, value] */
    if (lua_type(L, -2) == LUA_TSTRING && i < n) {
      size_t len;
      const char *k = lua_tolstring(L, -2, &len);
      f->item[i].key = malloc(len + 1);
      if (f->item[i].key != NULL)
        memcpy(f->item[i].key, k, len + 1);
      f->item[i].len = f->item[i].key != NULL ? len : (size_t)-1;
      f->item[i].vref = LUA_NOREF;
      lua_pushvalue(L, -2);
      f->item[i].ref = luaL_ref(L, LUA_REGISTRYINDEX);
      f->item[i].child =
          lua_istable(L, -1) ? om_json_fields_new(L, -1) : NULL;
      i++;
    }
    lua_pop(L, 1);
  }
  f->n = i;
  f->empty = -1;
  for (int b = 0; b < 256; b++)
    f->by_first[b] = -1;
  /* Chained from the last item, so each chain is in item order. */
  for (i = f->n - 1; i >= 0; i--) {
    field_t *it = &f->item[i];
    int *head;
    if (it->len == (size_t)-1) /* its name could not be copied */
      continue;
    head = it->len > 0 ? &f->by_first[(unsigned char)it->key[0]] : &f->empty;
    it->next = *head;
    *head = i;
  }
  return f;
}

void om_json_fields_free(lua_State *L, om_json_fields_t *f) {
  if (f == NULL)
    return;
  for (int i = 0; i < f->n; i++) {
    free(f->item[i].key);
    luaL_unref(L, LUA_REGISTRYINDEX, f->item[i].ref);
    luaL_unref(L, LUA_REGISTRYINDEX, f->item[i].vref);
    om_json_fields_free(L, f->item[i].child);
  }
  free(f);
}

#define FIELDS_MT "overmind.json_fields"

typedef struct {
  om_json_fields_t *f;
} fields_ud;

/* core.json_fields(tbl) -> a compiled selection, reusable across calls. */
static int json_fields(lua_State *L) {
  fields_ud *u;
  luaL_checktype(L, 1, LUA_TTABLE);
  u = lua_newuserdatauv(L, sizeof(*u), 0);
  u->f = NULL;
  luaL_setmetatable(L, FIELDS_MT);
  u->f = om_json_fields_new(L, 1);
  if (u->f == NULL)
    return luaL_error(L, "out of memory");
  return 1;
}

static int fields_gc(lua_State *L) {
  fields_ud *u = luaL_checkudata(L, 1, FIELDS_MT);
  om_json_fields_free(L, u->f);
  u->f = NULL;
  return 0;
}

/* core.json_decode(s[, fields]): `fields` selects which members of the
 * objects to build: { key = true (whole value) | { nested fields } }, as a
 * table or compiled by core.json_fields.  Nested fields apply to a
 * member's object, or to each object in a member's array (and in arrays
 * nested in it); the array's other elements are built whole. */
static int json_decode(lua_State *L) {
  size_t n, at = 0;
  const char *s = luaL_checklstring(L, 1, &n);
  fields_ud *u = NULL;
  int ok;
  /* A compiled selection is known by its metatable, an upvalue: what
   * luaL_testudata does, without looking the metatable up by name in the
   * registry on every call (a script may decode line after line). */
  if (lua_type(L, 2) == LUA_TUSERDATA && lua_getmetatable(L, 2)) {
    if (lua_rawequal(L, -1, lua_upvalueindex(1)))
      u = lua_touserdata(L, 2);
    lua_pop(L, 1);
  }
  if (u != NULL) {
    ok = om_json_decode_fields(L, s, n, u->f, &at);
  } else if (lua_istable(L, 2)) {
    om_json_fields_t *f = om_json_fields_new(L, 2);
    ok = om_json_decode_fields(L, s, n, f, &at);
    om_json_fields_free(L, f);
  } else {
    ok = om_json_decode(L, s, n, &at);
  }
  if (ok)
    return 1;
  lua_pushnil(L);
  lua_pushfstring(L, "invalid JSON at byte %d", (int)at + 1);
  return 2;
}

void om__open_json(lua_State *L) {
  static const luaL_Reg meta[] = {{"__gc", fields_gc}, {NULL, NULL}};
  static const luaL_Reg none[] = {{NULL, NULL}};
  om__new_class(L, FIELDS_MT, none, meta);
  luaL_getmetatable(L, FIELDS_MT);
  lua_pushcclosure(L, json_decode, 1);
  lua_setfield(L, -2, "json_decode");
  lua_pushcfunction(L, json_fields);
  lua_setfield(L, -2, "json_fields");
}
