/* UTF-8 validation (src/utf8.c), for the JSON encoder and utf8_fix. */
#ifndef OVERMIND_UTF8_H
#define OVERMIND_UTF8_H

#include <stddef.h>

/* The length of the valid UTF-8 sequence at s[0..n) (n >= 1; 1 for
 * ASCII), or 0 with *bad set to the length of the maximal invalid subpart
 * there (at least 1), which a repair replaces with one U+FFFD. */
size_t om_utf8_seq(const unsigned char *s, size_t n, size_t *bad);

#define OM_UTF8_REPLACEMENT "\xEF\xBF\xBD"

#endif
