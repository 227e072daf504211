/* The Lua state's allocator (src/alloc.c): a pool of small blocks. */
#ifndef OVERMIND_ALLOC_H
#define OVERMIND_ALLOC_H

#include <stddef.h>

typedef struct om_pool om_pool_t;

/* A new pool, or NULL when the plain allocator is in use (sanitizer
 * builds); om_pool_alloc takes either as its `ud`. */
om_pool_t *om_pool_new(void);
void om_pool_free(om_pool_t *p);

/* A lua_Alloc. */
void *om_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
