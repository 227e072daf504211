/* The Lua state's allocator: small blocks from per-size free lists.
 *
 * An agent that chatters makes the daemon build and drop several small
 * Lua objects per line (the decoded line, its tables, the event, the log
 * text): hundreds of thousands a second.  With glibc's malloc behind
 * Lua's default allocator that was a quarter of the daemon's time on the
 * agent path.  Blocks of up to MAX_SMALL bytes come from free lists, one
 * per 16-byte size class, refilled from 64 KiB chunks; a freed block goes
 * back on its list (Lua tells the size of every block it frees).  Larger
 * blocks -- log batches, big strings, table arrays -- use malloc.
 *
 * The pool keeps what it has used: it grows to the peak of live small
 * objects and stays there (a few MB for a busy daemon), and it is freed
 * whole with the state.  Under AddressSanitizer the plain allocator is
 * used, so every Lua object is still checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overmind/alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define OM_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OM_POOL 0
#endif
#endif
#ifndef OM_POOL
#define OM_POOL 1
#endif

#define GRAIN 16
#define MAX_SMALL 512
#define NCLASS (MAX_SMALL / GRAIN)
#define CHUNK (64 * 1024)

typedef struct block {
  struct block *next;
} block_t;

typedef struct chunk {
  struct chunk *next;
  /* the blocks follow, aligned for any Lua object */
  _Alignas(max_align_t) unsigned char data[];
} chunk_t;

struct om_pool {
  block_t *free[NCLASS];
  chunk_t *chunks;
  unsigned char *cur, *end; /* the unused part of the newest chunk */
};

static size_t class_of(size_t n) { return (n + GRAIN - 1) / GRAIN - 1; }

static void small_free(om_pool_t *p, void *ptr, size_t c) {
  block_t *b = ptr;
  b->next = p->free[c];
  p->free[c] = b;
}

static void *small_alloc(om_pool_t *p, size_t c) {
  size_t size = (c + 1) * GRAIN;
  block_t *b = p->free[c];
  if (b != NULL) {
    p->free[c] = b->next;
    return b;
  }
  if ((size_t)(p->end - p->cur) < size) {
    /* What is left of the old chunk goes to the free lists, in the
     * largest blocks it holds (sizes and offsets are multiples of GRAIN). */
    while ((size_t)(p->end - p->cur) >= GRAIN) {
      size_t left = (size_t)(p->end - p->cur);
      size_t lsize = left < MAX_SMALL ? left : MAX_SMALL;
      small_free(p, p->cur, lsize / GRAIN - 1);
      p->cur += lsize;
    }
    chunk_t *ch = malloc(sizeof(chunk_t) + CHUNK);
    if (ch == NULL)
      return NULL;
    ch->next = p->chunks;
    p->chunks = ch;
    p->cur = ch->data;
    p->end = ch->data + CHUNK;
  }
  b = (block_t *)p->cur;
  p->cur += size;
  return b;
}

/* lua_Alloc: Lua passes the block's true size as osize whenever ptr is
 * not NULL, which is what lets a block find its list again. */
void *om_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  om_pool_t *p = ud;
  size_t oc, nc;
  void *nb;
  if (!OM_POOL || p == NULL) {
    if (nsize == 0) {
      free(ptr);
      return NULL;
    }
    return realloc(ptr, nsize);
  }
  if (ptr == NULL)
    osize = 0; /* osize then tells the kind of object, not a size */
  if (nsize == 0) {
    if (ptr != NULL) {
      if (osize <= MAX_SMALL)
        small_free(p, ptr, class_of(osize));
      else
        free(ptr);
    }
    return NULL;
  }
  if (nsize > MAX_SMALL && (ptr == NULL || osize > MAX_SMALL))
    return realloc(ptr, nsize); /* large to large: malloc's business */
  nc = nsize <= MAX_SMALL ? class_of(nsize) : NCLASS;
  if (ptr != NULL && osize <= MAX_SMALL) {
    oc = class_of(osize);
    if (oc == nc)
      return ptr; /* same class: the block already fits */
  }
  nb = nsize <= MAX_SMALL ? small_alloc(p, nc) : malloc(nsize);
  if (nb == NULL)
    return NULL;
  if (ptr != NULL) {
    memcpy(nb, ptr, osize < nsize ? osize : nsize);
    if (osize <= MAX_SMALL)
      small_free(p, ptr, class_of(osize));
    else
      free(ptr);
  }
  return nb;
}

om_pool_t *om_pool_new(void) {
  if (!OM_POOL)
    return NULL;
  return calloc(1, sizeof(om_pool_t));
}

void om_pool_free(om_pool_t *p) {
  if (p == NULL)
    return;
  while (p->chunks != NULL) {
    chunk_t *next = p->chunks->next;
    free(p->chunks);
    p->chunks = next;
  }
  free(p);
}
