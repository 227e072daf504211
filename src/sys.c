/* Process-level facilities: ids, memory, signals to arbitrary pids, the
 * detached start of the daemon, the environment. */
#include "overmind/core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int sys_getpid(lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}

static int sys_getuid(lua_State *L) {
  lua_pushinteger(L, geteuid());
  return 1;
}

/* Resident set size in bytes of `pid` (default: this process). */
static int sys_rss(lua_State *L) {
  lua_Integer pid = luaL_optinteger(L, 1, 0);
  char path[64];
  long pages = 0, rss = 0;
  FILE *f;
  if (pid > 0)
    snprintf(path, sizeof(path), "/proc/%lld/statm", (long long)pid);
  else
    snprintf(path, sizeof(path), "/proc/self/statm");
  f = fopen(path, "re");
  if (f == NULL)
    return om_push_error(L, -errno);
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
    rss = 0;
  fclose(f);
  lua_pushinteger(L, (lua_Integer)rss * sysconf(_SC_PAGESIZE));
  return 1;
}

/* core.kill(pid, sig): a negative pid names a process group, as kill(2).
 * Signal 0 probes for existence. */
static int sys_kill(lua_State *L) {
  lua_Integer pid = luaL_checkinteger(L, 1);
  int sig = lua_isnoneornil(L, 2) ? SIGTERM
            : (lua_type(L, 2) == LUA_TNUMBER && lua_tointeger(L, 2) == 0)
                ? 0
                : om__checksignal(L, 2);
  luaL_argcheck(L, pid != 0 && pid != -1, 1, "refusing to signal pid 0/-1");
  if (kill((pid_t)pid, sig) != 0)
    return om_push_error(L, -errno);
  lua_pushboolean(L, 1);
  return 1;
}

/* Start time of `pid` in clock ticks since boot (field 22 of
 * /proc/<pid>/stat): with the pid it identifies a process across pid
 * reuse, which is how a restarted daemon knows a recorded process group
 * is still the one it started. */
static int sys_proc_starttime(lua_State *L) {
  lua_Integer pid = luaL_checkinteger(L, 1);
  char path[64], buf[1024];
  unsigned long long start = 0;
  char *p;
  FILE *f;
  size_t n;
  snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
  f = fopen(path, "re");
  if (f == NULL)
    return om_push_error(L, -errno);
  n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: skip past the last
   * ')' and count fields from there (state is field 3). */
  p = strrchr(buf, ')');
  if (p == NULL)
    return om_push_error(L, UV_EINVAL);
  p++;
  for (int field = 3; field < 22 && p != NULL; field++)
    p = strchr(p + 1, ' ');
  if (p == NULL || sscanf(p, " %llu", &start) != 1)
    return om_push_error(L, UV_EINVAL);
  lua_pushinteger(L, (lua_Integer)start);
  return 1;
}

/* The path of this binary.  A binary replaced on disk while we run (a
 * rebuild under a live daemon) reads as "<path> (deleted)": the path is
 * what the missions we start should run, so the suffix goes. */
static int sys_exepath(lua_State *L) {
  static const char deleted[] = " (deleted)";
  char buf[PATH_MAX];
  size_t dl = sizeof(deleted) - 1;
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n < 0)
    return om_push_error(L, -errno);
  buf[n] = '\0';
  if ((size_t)n > dl && strcmp(buf + n - dl, deleted) == 0)
    buf[n - dl] = '\0';
  lua_pushstring(L, buf);
  return 1;
}

/* Starts a program in a new session with stdin on /dev/null and stdout and
 * stderr appended to `logpath`, sharing no other descriptor with us (a test
 * harness reading our stdout must not wait on the daemon).  Returns the
 * pid; the caller reaps it with core.waitpid if it dies early. */
static int sys_spawn_detached(lua_State *L) {
  const char *file = luaL_checkstring(L, 1);
  const char *logpath = luaL_checkstring(L, 3);
  lua_Integer n, i;
  char **argv;
  pid_t pid;
  luaL_checktype(L, 2, LUA_TTABLE);
  n = luaL_len(L, 2);
  argv = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    argv[i - 1] = (char *)luaL_checkstring(L, -1);
    lua_pop(L, 1); /* still referenced by the table */
  }
  argv[n] = NULL;
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    return om_push_error(L, -errno);
  if (pid == 0) {
    int fd, maxfd;
    setsid();
    fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) {
      dup2(fd, 0);
      close(fd);
    }
    fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      if (fd > 2)
        close(fd);
    }
    maxfd = (int)sysconf(_SC_OPEN_MAX);
    if (maxfd < 0 || maxfd > 65536)
      maxfd = 65536;
    for (fd = 3; fd < maxfd; fd++)
      close(fd);
    signal(SIGPIPE, SIG_DFL);
    execv(file, argv);
    _exit(127);
  }
  lua_pushinteger(L, pid);
  return 1;
}

/* core.waitpid(pid) -> exited?, code_or_signal_name.  Never blocks.  Only
 * for children this process forked itself outside libuv. */
static int sys_waitpid(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int status;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r < 0)
    return om_push_error(L, -errno);
  if (r == 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, 1);
  if (WIFEXITED(status))
    lua_pushinteger(L, WEXITSTATUS(status));
  else
    lua_pushinteger(L, 128 + WTERMSIG(status));
  return 2;
}

/* core.random(n) -> n random bytes from the kernel (no descriptor kept
 * open, unlike a long-lived /dev/urandom handle). */
static int sys_random(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  char buf[256];
  size_t got = 0;
  luaL_argcheck(L, n >= 0 && n <= (lua_Integer)sizeof(buf), 1, "0 to 256");
  while (got < (size_t)n) {
    ssize_t r = getrandom(buf + got, (size_t)n - got, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return om_push_error(L, -errno);
    }
    got += (size_t)r;
  }
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}

static int sys_sleep(lua_State *L) {
  lua_Integer ms = luaL_checkinteger(L, 1);
  struct timespec ts;
  if (ms < 0)
    ms = 0;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
  return 0;
}

/* The environment as a table K -> V. */
static int sys_environ(lua_State *L) {
  lua_newtable(L);
  for (char **e = environ; e != NULL && *e != NULL; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL)
      continue;
    lua_pushlstring(L, *e, (size_t)(eq - *e));
    lua_pushstring(L, eq + 1);
    lua_rawset(L, -3);
  }
  return 1;
}

static int sys_setenv(lua_State *L) {
  const char *k = luaL_checkstring(L, 1);
  int rc;
  if (lua_isnoneornil(L, 2))
    rc = unsetenv(k);
  else
    rc = setenv(k, luaL_checkstring(L, 2), 1);
  if (rc != 0)
    return om_push_error(L, -errno);
  lua_pushboolean(L, 1);
  return 1;
}

/* Raises the soft fd limit to the hard one: a daemon with hundreds of
 * missions holds a few descriptors for each. */
static int sys_raise_nofile(lua_State *L) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  lua_pushinteger(L, (lua_Integer)rl.rlim_cur);
  return 1;
}

static int sys_ignore_sigpipe(lua_State *L) {
  (void)L;
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

void om__open_sys(lua_State *L) {
  static const luaL_Reg funcs[] = {{"getpid", sys_getpid},
                                   {"getuid", sys_getuid},
                                   {"rss", sys_rss},
                                   {"kill", sys_kill},
                                   {"proc_starttime", sys_proc_starttime},
                                   {"exepath", sys_exepath},
                                   {"spawn_detached", sys_spawn_detached},
                                   {"waitpid", sys_waitpid},
                                   {"sleep", sys_sleep},
                                   {"random", sys_random},
                                   {"environ", sys_environ},
                                   {"setenv", sys_setenv},
                                   {"raise_nofile", sys_raise_nofile},
                                   {"ignore_sigpipe", sys_ignore_sigpipe},
                                   {NULL, NULL}};
  luaL_setfuncs(L, funcs, 0);
}
