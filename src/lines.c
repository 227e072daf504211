/* Line framing; see include/overmind/lines.h. */
#include "overmind/lines.h"

#include <stdlib.h>
#include <string.h>

void om_lines_init(om_lines_t *f, size_t max, int split_long) {
  memset(f, 0, sizeof(*f));
  f->max = max ? max : 1;
  f->split_long = split_long;
}

void om_lines_free(om_lines_t *f) {
  free(f->buf);
  f->buf = NULL;
  f->len = f->cap = 0;
}

static int reserve(om_lines_t *f, size_t need) {
  size_t cap;
  char *nbuf;
  if (need <= f->cap)
    return 0;
  cap = f->cap ? f->cap : 256;
  while (cap < need)
    cap *= 2;
  nbuf = realloc(f->buf, cap);
  if (nbuf == NULL)
    return -1;
  f->buf = nbuf;
  f->cap = cap;
  return 0;
}

/* Appends a fragment with no newline in it, honouring the cap. */
static int append(om_lines_t *f, const char *p, size_t n, om_line_cb cb,
                  void *ud) {
  while (f->len + n > f->max) {
    size_t room = f->max - f->len;
    if (!f->split_long) {
      f->overflow = 1;
      f->len = 0;
      return -1;
    }
    if (reserve(f, f->max) != 0)
      return -1;
    memcpy(f->buf + f->len, p, room);
    cb(ud, f->buf, f->max);
    f->len = 0;
    p += room;
    n -= room;
  }
  if (n == 0)
    return 0;
  if (reserve(f, f->len + n) != 0)
    return -1;
  memcpy(f->buf + f->len, p, n);
  f->len += n;
  return 0;
}

int om_lines_feed(om_lines_t *f, const char *data, size_t n, om_line_cb cb,
                  void *ud) {
  const char *end = data + n;
  if (f->overflow)
    return -1;
  while (data < end) {
    const char *nl = memchr(data, '\n', (size_t)(end - data));
    size_t seg;
    if (nl == NULL)
      return append(f, data, (size_t)(end - data), cb, ud);
    seg = (size_t)(nl - data);
    if (f->len == 0 && seg <= f->max) {
      /* The common case: a whole line inside this read, no copy. */
      cb(ud, data, seg);
    } else {
      if (append(f, data, seg, cb, ud) != 0)
        return -1;
      cb(ud, f->buf ? f->buf : "", f->len);
      f->len = 0;
    }
    data = nl + 1;
  }
  return 0;
}

void om_lines_flush(om_lines_t *f, om_line_cb cb, void *ud) {
  if (f->len > 0 && !f->overflow)
    cb(ud, f->buf, f->len);
  f->len = 0;
}
