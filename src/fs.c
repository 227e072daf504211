/* Filesystem helpers Lua's io/os libraries lack: directories, stat,
 * atomic writes, recursive removal, advisory locks. */
#include "overmind/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_MT "overmind.lock"

static int result(lua_State *L, int rc) {
  if (rc != 0)
    return om_push_error(L, -errno);
  lua_pushboolean(L, 1);
  return 1;
}

static int fs_mkdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  mode_t mode = (mode_t)luaL_optinteger(L, 2, 0700);
  return result(L, mkdir(path, mode));
}

static int fs_chmod(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  mode_t mode = (mode_t)luaL_checkinteger(L, 2);
  return result(L, chmod(path, mode));
}

static int fs_unlink(lua_State *L) {
  return result(L, unlink(luaL_checkstring(L, 1)));
}

static int fs_rmdir(lua_State *L) {
  return result(L, rmdir(luaL_checkstring(L, 1)));
}

static int fs_rename(lua_State *L) {
  return result(L, rename(luaL_checkstring(L, 1), luaL_checkstring(L, 2)));
}

static int fs_stat(lua_State *L) {
  struct stat st;
  const char *type = "other";
  if (lstat(luaL_checkstring(L, 1), &st) != 0)
    return om_push_error(L, -errno);
  if (S_ISREG(st.st_mode))
    type = "file";
  else if (S_ISDIR(st.st_mode))
    type = "directory";
  else if (S_ISLNK(st.st_mode))
    type = "link";
  else if (S_ISSOCK(st.st_mode))
    type = "socket";
  lua_createtable(L, 0, 6);
  lua_pushstring(L, type);
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)st.st_mtime);
  lua_setfield(L, -2, "mtime");
  lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_nsec);
  lua_setfield(L, -2, "mtime_ns");
  lua_pushinteger(L, (lua_Integer)st.st_ino);
  lua_setfield(L, -2, "ino");
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st.st_uid);
  lua_setfield(L, -2, "uid");
  return 1;
}

static int fs_listdir(lua_State *L) {
  DIR *d = opendir(luaL_checkstring(L, 1));
  struct dirent *e;
  int n = 0;
  if (d == NULL)
    return om_push_error(L, -errno);
  lua_newtable(L);
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(d);
  return 1;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_DP)
    return rmdir(path);
  return unlink(path);
}

/* Removes a tree without following symbolic links (FTW_PHYS). */
static int fs_rmtree(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) {
      lua_pushboolean(L, 1);
      return 1;
    }
    return om_push_error(L, -errno);
  }
  return result(L, nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS));
}

static int fs_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_Buffer b;
  char buf[16384];
  ssize_t r;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return om_push_error(L, -errno);
  luaL_buffinit(L, &b);
  while ((r = read(fd, buf, sizeof(buf))) != 0) {
    if (r < 0) {
      int e = errno;
      if (e == EINTR)
        continue;
      close(fd);
      return om_push_error(L, -e);
    }
    luaL_addlstring(&b, buf, (size_t)r);
  }
  close(fd);
  luaL_pushresult(&b);
  return 1;
}

static int write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Writes a sibling temporary file and renames it over `path`, so a reader
 * (or a daemon killed mid-write) sees the old or the new file, never half
 * of one. */
static int fs_write_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *data = luaL_checklstring(L, 2, &n);
  mode_t mode = (mode_t)luaL_optinteger(L, 3, 0600);
  const char *tmp = lua_pushfstring(L, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  int e;
  if (fd < 0)
    return om_push_error(L, -errno);
  if (write_all(fd, data, n) != 0) {
    e = errno;
    close(fd);
    unlink(tmp);
    return om_push_error(L, -e);
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    e = errno;
    unlink(tmp);
    return om_push_error(L, -e);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int fs_getcwd(lua_State *L) {
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof(buf)) == NULL)
    return om_push_error(L, -errno);
  lua_pushstring(L, buf);
  return 1;
}

static int fs_chdir(lua_State *L) {
  return result(L, chdir(luaL_checkstring(L, 1)));
}

static int fs_realpath(lua_State *L) {
  char buf[PATH_MAX];
  if (realpath(luaL_checkstring(L, 1), buf) == NULL)
    return om_push_error(L, -errno);
  lua_pushstring(L, buf);
  return 1;
}

/* ---- advisory locks: held while the userdata is alive ----------------- */

typedef struct {
  int fd;
} om_lock_t;

/* core.flock(path[, wait]) -> lock | nil, err.  Without `wait`, a lock
 * held elsewhere gives nil, "EWOULDBLOCK: ...". */
static int fs_flock(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int wait = lua_toboolean(L, 2);
  om_lock_t *lk = lua_newuserdatauv(L, sizeof(*lk), 0);
  lk->fd = -1;
  luaL_setmetatable(L, LOCK_MT);
  lk->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lk->fd < 0)
    return om_push_error(L, -errno);
  while (flock(lk->fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    int e = errno;
    if (e == EINTR)
      continue;
    close(lk->fd);
    lk->fd = -1;
    return om_push_error(L, -e);
  }
  return 1;
}

/* Replaces the lock file's content (the daemon writes its pid there). */
static int lock_write(lua_State *L) {
  om_lock_t *lk = luaL_checkudata(L, 1, LOCK_MT);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  if (lk->fd < 0)
    return om_push_error(L, UV_EBADF);
  if (ftruncate(lk->fd, 0) != 0 || lseek(lk->fd, 0, SEEK_SET) != 0 ||
      write_all(lk->fd, s, n) != 0)
    return om_push_error(L, -errno);
  lua_pushboolean(L, 1);
  return 1;
}

static int lock_release(lua_State *L) {
  om_lock_t *lk = luaL_checkudata(L, 1, LOCK_MT);
  if (lk->fd >= 0) {
    close(lk->fd); /* closing drops the flock */
    lk->fd = -1;
  }
  return 0;
}

void om__open_fs(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"mkdir", fs_mkdir},         {"chmod", fs_chmod},
      {"unlink", fs_unlink},       {"rmdir", fs_rmdir},
      {"rename", fs_rename},       {"stat", fs_stat},
      {"listdir", fs_listdir},     {"rmtree", fs_rmtree},
      {"read_file", fs_read_file}, {"write_file", fs_write_file},
      {"getcwd", fs_getcwd},       {"realpath", fs_realpath},
      {"chdir", fs_chdir},
      {"flock", fs_flock},         {NULL, NULL}};
  static const luaL_Reg methods[] = {{"write", lock_write},
                                     {"release", lock_release},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", lock_release},
                                  {"__close", lock_release},
                                  {NULL, NULL}};
  om__new_class(L, LOCK_MT, methods, meta);
  luaL_setfuncs(L, funcs, 0);
}
