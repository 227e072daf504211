/* Fuzz target: the line framer in its output mode (long lines are cut).
 * The first byte picks the cap, the rest is fed in chunks whose sizes come
 * from the data; whatever the chunking, the lines plus their newlines must
 * give back the input exactly. */
#include "overmind/lines.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  char *out;
  size_t len;
  size_t max;
} sink_t;

static void on_line(void *ud, const char *line, size_t len) {
  sink_t *s = ud;
  if (len > s->max)
    abort(); /* a line longer than the cap */
  memcpy(s->out + s->len, line, len);
  s->len += len;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  om_lines_t f;
  sink_t s;
  size_t max, pos = 0, i, nl = 0;
  char *expect;
  if (size < 2)
    return 0;
  max = (size_t)(data[0] % 64) + 1;
  data++;
  size--;
  s.out = malloc(size + 1);
  s.len = 0;
  s.max = max;
  om_lines_init(&f, max, 1);
  while (pos < size) {
    size_t chunk = (size_t)(data[pos] % 17) + 1;
    if (chunk > size - pos)
      chunk = size - pos;
    om_lines_feed(&f, (const char *)data + pos, chunk, on_line, &s);
    pos += chunk;
  }
  om_lines_flush(&f, on_line, &s);
  om_lines_free(&f);
  /* The input without its newlines is what the lines hold. */
  expect = malloc(size + 1);
  for (i = 0; i < size; i++)
    if (data[i] != '\n')
      expect[nl++] = (char)data[i];
  if (nl != s.len || memcmp(expect, s.out, nl) != 0)
    abort();
  free(expect);
  free(s.out);
  return 0;
}
