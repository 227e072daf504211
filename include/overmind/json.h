/* JSON decoding straight into Lua values (src/json.c). */
#ifndef OVERMIND_JSON_H
#define OVERMIND_JSON_H

#include <lua.h>
#include <stddef.h>

/* Decodes `n` bytes of JSON and pushes the value; returns 1.  On invalid
 * input pushes nothing, sets *err_at (if given) to the byte offset where
 * decoding stopped, and returns 0.  Never raises except on memory errors. */
int om_json_decode(lua_State *L, const char *s, size_t n, size_t *err_at);

/* A selection of object members to build (the rest is parsed and
 * dropped), compiled from a Lua table at `idx` of the form
 * { key = true | { nested selection } }.  A nested selection applies to
 * the member's value when it is an object, and to every object element
 * when it is an array (at any depth of arrays within it: [[{...}]]); the
 * other elements, and values of any other type, are built whole.  Names
 * match unescaped.  Free with om_json_fields_free. */
typedef struct om_json_fields om_json_fields_t;
om_json_fields_t *om_json_fields_new(lua_State *L, int idx);
void om_json_fields_free(lua_State *L, om_json_fields_t *f);

/* As om_json_decode, building only the selected members of objects (a
 * NULL selection builds everything).  Decoding updates the selection: it
 * keeps each member's last short string value, to push it again when
 * the next line repeats it; so a selection belongs to one lua_State. */
int om_json_decode_fields(lua_State *L, const char *s, size_t n,
                          om_json_fields_t *sel, size_t *err_at);

#endif
