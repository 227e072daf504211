/* `overmind.logfile`: an append-only file with rotation.
 *
 *   local lf = core.logfile(path, { max = 64 << 20, keep = 3,
 *                                   on_error = function(msg) end })
 *   lf:write(s); lf:writeline(s); lf:size(); lf:close()
 *
 * Writes are plain blocking appends: they land in the page cache, cost one
 * syscall per batch, and keep every byte in order, which an asynchronous
 * thread-pool write would not guarantee as cheaply.  Mission output reaches
 * this file from C (src/output.c) without passing through Lua, unless
 * someone follows it (lua/overmind/daemon/run.lua writes it then). */
#include "overmind/logfile.h"
#include "overmind/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define LOGFILE_MT "overmind.logfile"

struct om_logfile {
  int fd;
  char *path;
  int64_t size;  /* bytes in the current file */
  int64_t total; /* bytes appended through this object */
  int64_t max;   /* no file grows past this (see append_rotating); 0: never */
  int keep;      /* older files kept */
  int err_ref;   /* Lua callback told about write failures */
  int failing;   /* inside a failure episode: report once */
  int last;      /* the last byte appended (across rotations); -1: none */
};

om_logfile_t *om_logfile_check(lua_State *L, int i) {
  om_logfile_t *lf = luaL_checkudata(L, i, LOGFILE_MT);
  luaL_argcheck(L, lf->fd >= 0, i, "log file is closed");
  return lf;
}

static int open_append(const char *path) {
  return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

static void report(om_logfile_t *lf, int err, const char *what) {
  lua_State *L = om_state();
  if (lf->failing)
    return;
  lf->failing = 1;
  if (L != NULL && om_push_ref(L, lf->err_ref)) {
    lua_pushfstring(L, "%s %s: %s", what, lf->path, strerror(err));
    om_pcall(L, 1, 0);
  }
}

/* Shifts <path>.k to <path>.k+1, newest last, then the live file to .1. */
static int rotate(om_logfile_t *lf) {
  size_t n = strlen(lf->path) + 16;
  char *from = malloc(n), *to = malloc(n);
  int fd;
  if (from == NULL || to == NULL) {
    free(from);
    free(to);
    return -ENOMEM;
  }
  if (lf->keep > 0) {
    snprintf(to, n, "%s.%d", lf->path, lf->keep);
    unlink(to);
    for (int k = lf->keep - 1; k >= 1; k--) {
      snprintf(from, n, "%s.%d", lf->path, k);
      snprintf(to, n, "%s.%d", lf->path, k + 1);
      rename(from, to);
    }
    snprintf(to, n, "%s.1", lf->path);
    rename(lf->path, to);
  } else {
    unlink(lf->path);
  }
  free(from);
  free(to);
  fd = open_append(lf->path);
  if (fd < 0)
    return -errno;
  close(lf->fd);
  lf->fd = fd;
  lf->size = 0;
  return 0;
}

static int write_all(om_logfile_t *lf, struct iovec *iov, int iovcnt) {
  while (iovcnt > 0) {
    ssize_t w = writev(lf->fd, iov, iovcnt);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    lf->size += w;
    lf->total += w;
    while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      iovcnt--;
    }
    if (iovcnt > 0) {
      iov->iov_base = (char *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
  return 0;
}

/* Appends bytes so that no file grows past `max`: what does not fit goes
 * to a fresh file, cut after the last whole line that fits (only a line
 * longer than `max` itself is cut in the middle).  `logs` reads the files
 * in order, so nothing is lost or reordered. */
static int append_rotating(om_logfile_t *lf, const char *d, size_t n) {
  int rotate_ok = 1;
  while (n > 0) {
    size_t take = n;
    int full = 0;
    struct iovec iov;
    int rc;
    if (rotate_ok && (size_t)lf->size + n > (size_t)lf->max) {
      size_t room = lf->size < lf->max ? (size_t)(lf->max - lf->size) : 0;
      const char *nl = room > 0 ? memrchr(d, '\n', room) : NULL;
      if (nl != NULL) {
        take = (size_t)(nl - d) + 1;
        full = 1;
      } else if (lf->size > 0) {
        rc = rotate(lf);
        if (rc != 0) {
          report(lf, -rc, "cannot rotate");
          rotate_ok = 0; /* keep writing to the file we have */
        }
        continue;
      } else {
        take = (size_t)lf->max; /* one line longer than a whole file */
        full = 1;
      }
    }
    iov.iov_base = (void *)d;
    iov.iov_len = take;
    rc = write_all(lf, &iov, 1);
    if (rc != 0)
      return rc;
    d += take;
    n -= take;
    if (full && n > 0 && rotate_ok) {
      rc = rotate(lf);
      if (rc != 0) {
        report(lf, -rc, "cannot rotate");
        rotate_ok = 0;
      }
    }
  }
  return 0;
}

static int append_iov(om_logfile_t *lf, struct iovec *iov, int iovcnt) {
  struct iovec iov0[2];
  size_t total = 0;
  int rc = 0;
  if (lf->fd < 0)
    return -EBADF;
  for (int i = 0; i < iovcnt; i++)
    total += iov[i].iov_len;
  /* write_all consumes the vector; keep the original for what follows. */
  memcpy(iov0, iov, sizeof(struct iovec) * (size_t)iovcnt);
  if (lf->max <= 0 || (size_t)lf->size + total <= (size_t)lf->max) {
    rc = write_all(lf, iov, iovcnt); /* the common case: one syscall */
  } else {
    for (int i = 0; i < iovcnt && rc == 0; i++)
      rc = append_rotating(lf, iov0[i].iov_base, iov0[i].iov_len);
  }
  if (rc != 0) {
    report(lf, -rc, "cannot write");
    return rc;
  }
  lf->failing = 0;
  for (int i = iovcnt - 1; i >= 0; i--) {
    if (iov0[i].iov_len > 0) {
      lf->last = ((unsigned char *)iov0[i].iov_base)[iov0[i].iov_len - 1];
      break;
    }
  }
  return 0;
}

int om_logfile_write(om_logfile_t *lf, const char *data, size_t n) {
  struct iovec iov = {(void *)data, n};
  if (n == 0)
    return 0;
  return append_iov(lf, &iov, 1);
}

int om_logfile_writeline(om_logfile_t *lf, const char *data, size_t n) {
  struct iovec iov[2] = {{(void *)data, n}, {"\n", 1}};
  return append_iov(lf, iov, 2);
}

static int logfile_new(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  om_logfile_t *lf;
  struct stat st;
  lua_settop(L, 2);
  lf = lua_newuserdatauv(L, sizeof(*lf), 0); /* [path, opts, lf] */
  memset(lf, 0, sizeof(*lf));
  lf->fd = -1;
  lf->err_ref = LUA_NOREF;
  lf->keep = 3;
  luaL_setmetatable(L, LOGFILE_MT);
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "max");
    lf->max = luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "keep");
    lf->keep = (int)luaL_optinteger(L, -1, 3);
    lua_getfield(L, 2, "on_error");
    if (lua_isfunction(L, -1)) {
      lua_pushvalue(L, -1);
      lf->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_pop(L, 3);
  }
  luaL_argcheck(L, lf->keep >= 0 && lf->keep <= 99, 2, "keep out of range");
  lf->path = strdup(path);
  if (lf->path == NULL)
    return luaL_error(L, "out of memory");
  lf->fd = open_append(path);
  if (lf->fd < 0)
    return om_push_error(L, -errno);
  lf->last = -1;
  if (fstat(lf->fd, &st) == 0) {
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char c;
    lf->size = st.st_size;
    /* Whether the file ends mid-line decides where a marker goes. */
    if (rfd >= 0) {
      if (st.st_size > 0 && pread(rfd, &c, 1, st.st_size - 1) == 1)
        lf->last = c;
      close(rfd);
    }
  }
  return 1;
}

static int logfile_write(lua_State *L) {
  om_logfile_t *lf = om_logfile_check(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  int rc = om_logfile_write(lf, s, n);
  if (rc != 0)
    return om_push_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int logfile_writeline(lua_State *L) {
  om_logfile_t *lf = om_logfile_check(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  int rc = om_logfile_writeline(lf, s, n);
  if (rc != 0)
    return om_push_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int logfile_size(lua_State *L) {
  om_logfile_t *lf = om_logfile_check(L, 1);
  lua_pushinteger(L, lf->size);
  lua_pushinteger(L, lf->total);
  return 2;
}

/* lf:at_line_start() -> true when what was appended last ends a line (or
 * nothing was), so a line of our own would not glue onto output. */
static int logfile_at_line_start(lua_State *L) {
  om_logfile_t *lf = om_logfile_check(L, 1);
  lua_pushboolean(L, lf->last < 0 || lf->last == '\n');
  return 1;
}

static int logfile_path(lua_State *L) {
  om_logfile_t *lf = om_logfile_check(L, 1);
  lua_pushstring(L, lf->path);
  return 1;
}

static int logfile_set_max(lua_State *L) {
  om_logfile_t *lf = om_logfile_check(L, 1);
  lf->max = luaL_checkinteger(L, 2);
  return 0;
}

static int logfile_close(lua_State *L) {
  om_logfile_t *lf = luaL_checkudata(L, 1, LOGFILE_MT);
  if (lf->fd >= 0) {
    close(lf->fd);
    lf->fd = -1;
  }
  om_unref(L, &lf->err_ref);
  free(lf->path);
  lf->path = NULL;
  return 0;
}

static int logfile_tostring(lua_State *L) {
  om_logfile_t *lf = luaL_checkudata(L, 1, LOGFILE_MT);
  lua_pushfstring(L, "overmind.logfile (%s)",
                  lf->path ? lf->path : "closed");
  return 1;
}

void om__open_logfile(lua_State *L) {
  static const luaL_Reg methods[] = {{"write", logfile_write},
                                     {"writeline", logfile_writeline},
                                     {"size", logfile_size},
                                     {"path", logfile_path},
                                     {"at_line_start", logfile_at_line_start},
                                     {"set_max", logfile_set_max},
                                     {"close", logfile_close},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", logfile_close},
                                  {"__close", logfile_close},
                                  {"__tostring", logfile_tostring},
                                  {NULL, NULL}};
  om__new_class(L, LOGFILE_MT, methods, meta);
  lua_pushcfunction(L, logfile_new);
  lua_setfield(L, -2, "logfile");
}
