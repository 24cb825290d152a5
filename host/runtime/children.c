/*
** children.c -- the child processes of children.h: a pool of them, and one
** with a deadline.
**
** Pool invariants: at most `workers` children live at once; every child is
** reaped (waitpid) exactly once, after its pipe reached end of file, and
** only then reported through pool->done; a child dies with the parent
** (PR_SET_PDEATHSIG), so killing a sweep, even with kill -9, never leaves
** trials running on. Children ignore SIGINT: Ctrl-C on a terminal reaches
** the whole process group, and a trial interrupted that way must not be
** recorded as "crashed" -- the parent dies, and with it the children, and
** the interrupted trials simply run again when the sweep is resumed.
**
** Limits: with a timeout, each child leads its own process group, so that
** the kill at the timeout also ends whatever the job started; the memory
** limit is an RLIMIT_AS set in the child, above the size it was forked at.
*/
#include "runtime/children.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "runtime/services.h"

typedef struct worker {
  pid_t pid;
  int fd;        /* read end of the child's pipe; -1 when the slot is free */
  int job;
  double t0;     /* when it was started */
  char *buf;     /* what the child wrote so far */
  size_t len, cap;
  int lost;      /* out of memory for the report: it is dropped */
  int timed_out; /* killed at the pool's timeout */
} worker;

static const worker free_slot = {0, -1, -1, 0, NULL, 0, 0, 0, 0};

static int threads_of(const child_pool *pool) { return pool->threads < 1 ? 1 : pool->threads; }

/* The address space of this process, in bytes (0 if unknown). */
static size_t address_space(void) {
  unsigned long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f && fscanf(f, "%lu", &pages) != 1) pages = 0;
  if (f) fclose(f);
  return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Lets the child grow by at most `memory` bytes: past that, malloc and
** mmap fail in the job (in a trial, Lua raises "not enough memory"). */
static void limit_memory(size_t memory) {
  if (memory == 0) return;
  size_t now = address_space();
  struct rlimit r = {(rlim_t)(now + memory), (rlim_t)(now + memory)};
  if (now == 0 || setrlimit(RLIMIT_AS, &r) != 0)
    fprintf(stderr, "warning: cannot limit the memory of a child process: %s\n",
            now ? strerror(errno) : "no /proc");
}

/* In the child, never returns. */
static void child(const child_pool *pool, worker *ws, int workers, int job, int fd, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127); /* the parent died before prctl */
  if (pool->timeout > 0) setpgid(0, 0); /* a group of its own: a timeout kills all it started */
  signal(SIGINT, SIG_IGN);
  limit_memory(pool->memory);
  for (int k = 0; k < workers; k++) /* the other jobs' pipes are not ours */
    if (ws[k].fd >= 0) close(ws[k].fd);
  if (services_threads() != threads_of(pool)) services_set_threads(threads_of(pool));
  int rc = pool->run(pool->ud, job, fd);
  close(fd);
  fflush(NULL);
  _exit(rc);
}

static int start(const child_pool *pool, worker *ws, int workers, int k, int job) {
  int p[2];
  if (pipe(p)) {
    services_error("cannot make a pipe to a child process: %s", strerror(errno));
    return -1;
  }
  pid_t parent = getpid();
  fflush(NULL); /* no buffered output is written twice */
  pid_t pid = fork();
  if (pid < 0) {
    services_error("cannot start a child process: %s", strerror(errno));
    close(p[0]), close(p[1]);
    return -1;
  }
  if (pid == 0) {
    close(p[0]);
    child(pool, ws, workers, job, p[1], parent);
  }
  close(p[1]);
  if (pool->timeout > 0) setpgid(pid, 0); /* also here, so no kill of the group comes before it */
  ws[k] = free_slot;
  ws[k].pid = pid, ws[k].fd = p[0], ws[k].job = job, ws[k].t0 = now_seconds();
  return 0;
}

/* Reads what is available; 1 at end of file. */
static int drain(worker *w) {
  char scratch[4096];
  if (!w->lost && w->cap - w->len < 4096) {
    size_t cap = w->cap ? w->cap * 2 : 8192;
    char *b = realloc(w->buf, cap);
    if (b) w->buf = b, w->cap = cap;
    else w->lost = 1;
  }
  char *to = w->lost ? scratch : w->buf + w->len;
  size_t room = w->lost ? sizeof scratch : w->cap - w->len;
  ssize_t n = read(w->fd, to, room);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return 1;
  if (!w->lost) w->len += (size_t)n;
  return 0;
}

static int reap(worker *w) {
  int status = 0;
  close(w->fd);
  while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

static int finish(const child_pool *pool, worker *w) {
  int status = reap(w);
  double seconds = now_seconds() - w->t0;
  /* A job that ended on its own just before the timeout's kill reached it
  ** did not time out: only the kill's SIGKILL counts. */
  int timed_out = w->timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  int stop = pool->done(pool->ud, w->job, status, seconds, timed_out, w->buf && !w->lost ? w->buf : "",
                        w->lost ? 0 : w->len);
  free(w->buf);
  *w = free_slot;
  return stop;
}

/* The child and every process of its group. */
static void kill_job(const worker *w) {
  kill(-w->pid, SIGKILL);
  kill(w->pid, SIGKILL);
}

/* After a failure of the pool itself: no child outlives it. */
static void kill_all(worker *ws, int workers) {
  for (int k = 0; k < workers; k++)
    if (ws[k].fd >= 0) {
      kill_job(&ws[k]);
      reap(&ws[k]);
      free(ws[k].buf);
      ws[k] = free_slot;
    }
}

/* Kills the jobs past the timeout; they end (their pipes close) and are
** reported as timed out. Returns the milliseconds until the next one is due,
** or `wait` if sooner (-1: forever). */
static int enforce_timeout(const child_pool *pool, worker *ws, int workers, int wait) {
  if (pool->timeout <= 0) return wait;
  double now = now_seconds();
  for (int k = 0; k < workers; k++) {
    if (ws[k].fd < 0 || ws[k].timed_out) continue;
    double left = ws[k].t0 + pool->timeout - now;
    if (left <= 0) {
      kill_job(&ws[k]);
      ws[k].timed_out = 1;
      continue;
    }
    int ms = left < 1e6 ? (int)(left * 1000) + 1 : 1000000000; /* an int; poll again after that */
    if (wait < 0 || ms < wait) wait = ms;
  }
  return wait;
}

int child_pool_run(const child_pool *pool, const int *jobs, int n, int workers) {
  if (workers < 1) workers = 1;
  worker *ws = malloc(sizeof *ws * (size_t)workers);
  struct pollfd *pf = malloc(sizeof *pf * (size_t)workers);
  if (!ws || !pf) {
    free(ws), free(pf);
    services_error("out of memory for the child processes");
    return -1;
  }
  int next = 0, running = 0, stop = 0, rc = 0;
  for (int k = 0; k < workers; k++) ws[k] = free_slot;
  /* The thread count is set here, not in each child: OpenBLAS shuts its
  ** thread pool down at fork, and a child that sets the count rebuilds the
  ** pool, whose idle threads then spin (sched_yield) on the cores the other
  ** workers need -- a 2-worker sweep ran 1.7x, not 2x, faster than 1. */
  int caller_threads = services_threads();
  if (caller_threads != threads_of(pool)) services_set_threads(threads_of(pool));
  for (;;) {
    for (int k = 0; k < workers && next < n && !stop && rc == 0; k++)
      if (ws[k].fd < 0) {
        if (start(pool, ws, workers, k, jobs[next])) rc = -1;
        else next++, running++;
      }
    if (running == 0) break;
    for (int k = 0; k < workers; k++) pf[k] = (struct pollfd){ws[k].fd, POLLIN, 0};
    int got = poll(pf, (nfds_t)workers, enforce_timeout(pool, ws, workers, pool->tick ? 1000 : -1));
    if (got < 0 && errno != EINTR) {
      services_error("poll on the child processes failed: %s", strerror(errno));
      kill_all(ws, workers);
      rc = -1;
      break;
    }
    if (got == 0 && pool->tick) pool->tick(pool->ud);
    for (int k = 0; got > 0 && k < workers; k++)
      if (ws[k].fd >= 0 && (pf[k].revents & (POLLIN | POLLHUP | POLLERR)) && drain(&ws[k])) {
        stop |= finish(pool, &ws[k]);
        running--;
      }
  }
  if (services_threads() != caller_threads) services_set_threads(caller_threads);
  free(ws);
  free(pf);
  return rc;
}

static const char *signal_abbrev(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGABRT: return "SIGABRT";
  case SIGBUS: return "SIGBUS";
  case SIGFPE: return "SIGFPE";
  case SIGILL: return "SIGILL";
  case SIGKILL: return "SIGKILL";
  case SIGTERM: return "SIGTERM";
  case SIGINT: return "SIGINT";
  case SIGPIPE: return "SIGPIPE";
  case SIGXCPU: return "SIGXCPU";
  case SIGTRAP: return "SIGTRAP";
  default: return "signal";
  }
}

int child_describe_exit(int wstatus, char *msg, size_t sz) {
  msg[0] = '\0';
  if (WIFSIGNALED(wstatus)) {
    int sig = WTERMSIG(wstatus);
    snprintf(msg, sz, "killed by signal %d (%s: %s)%s", sig, signal_abbrev(sig), strsignal(sig),
             sig == SIGKILL ? "; out of memory? the kernel's OOM killer sends SIGKILL" : "");
    return 1;
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) {
    snprintf(msg, sz, "the worker exited with status %d", WEXITSTATUS(wstatus));
    return 1;
  }
  return 0;
}

/* ---- one job with a deadline ---------------------------------------------- */

typedef struct one_job {
  int (*run)(void *ud, int fd);
  void *ud;
  child_result *r;
} one_job;

static int one_run(void *ud, int i, int fd) {
  one_job *j = ud;
  (void)i;
  return j->run(j->ud, fd);
}

static int one_done(void *ud, int i, int wstatus, double seconds, int timed_out, const char *out,
                    size_t len) {
  child_result *r = ((one_job *)ud)->r;
  (void)i, (void)seconds;
  r->wstatus = wstatus;
  r->timed_out = timed_out;
  r->len = len < sizeof r->out ? len : sizeof r->out;
  memcpy(r->out, out, r->len);
  return 0;
}

int child_run(int (*run)(void *ud, int fd), void *ud, double timeout, child_result *r) {
  one_job j = {run, ud, r};
  child_pool pool = {&j, one_run, one_done, NULL, services_threads(), timeout, 0};
  static const int job = 0;
  memset(r, 0, sizeof *r);
  return child_pool_run(&pool, &job, 1, 1);
}

void child_describe_end(const child_result *r, double timeout, char *msg, size_t sz) {
  if (r->timed_out) snprintf(msg, sz, "timed out after %g s", timeout);
  else if (!child_describe_exit(r->wstatus, msg, sz))
    snprintf(msg, sz, "exited with status 0 before it was done");
}
