/*
** sweep.c -- the worker-process pool behind lunet.sweep; see sweep.h.
**
** Invariants: at most `workers` children live at once; every child is
** reaped (waitpid) exactly once, after its pipe reached end of file; a
** child dies with the parent (PR_SET_PDEATHSIG), so killing a sweep never
** leaves trials running on.
*/
#include "sweep.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "services.h"

typedef struct worker {
  pid_t pid;
  int fd;      /* read end of the child's pipe; -1 when the slot is free */
  int trial;
  char *buf;   /* what the child wrote so far */
  size_t len, cap;
} worker;

static int start(const sweep_pool *pool, worker *w, int trial, int single_thread) {
  int p[2];
  if (pipe(p)) {
    services_error("sweep: cannot make a pipe: %s", strerror(errno));
    return -1;
  }
  fflush(NULL); /* no buffered output is written twice */
  pid_t pid = fork();
  if (pid < 0) {
    services_error("sweep: cannot start a worker process: %s", strerror(errno));
    close(p[0]), close(p[1]);
    return -1;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(127); /* the parent is already gone */
    close(p[0]);
    if (single_thread) services_set_threads(1);
    int rc = pool->run(pool->ud, trial, p[1]);
    close(p[1]);
    fflush(NULL);
    _exit(rc);
  }
  close(p[1]);
  *w = (worker){pid, p[0], trial, NULL, 0, 0};
  return 0;
}

/* Reads what is available; 1 at end of file. */
static int drain(worker *w) {
  if (w->cap - w->len < 4096) {
    w->cap = w->cap ? w->cap * 2 : 8192;
    w->buf = realloc(w->buf, w->cap);
  }
  ssize_t n = read(w->fd, w->buf + w->len, w->cap - w->len);
  if (n < 0 && errno == EINTR) return 0;
  if (n <= 0) return 1;
  w->len += (size_t)n;
  return 0;
}

static int finish(const sweep_pool *pool, worker *w) {
  int status = 0;
  close(w->fd);
  while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
  }
  int stop = pool->done(pool->ud, w->trial, status, w->buf ? w->buf : "", w->len);
  free(w->buf);
  *w = (worker){0, -1, -1, NULL, 0, 0};
  return stop;
}

int sweep_run(const sweep_pool *pool, const int *trials, int n, int workers) {
  if (workers < 1) workers = 1;
  worker *ws = calloc((size_t)workers, sizeof *ws);
  struct pollfd *pf = calloc((size_t)workers, sizeof *pf);
  int next = 0, running = 0, stop = 0, rc = 0;
  for (int k = 0; k < workers; k++) ws[k].fd = -1;
  while (running > 0 || (next < n && !stop && rc == 0)) {
    for (int k = 0; k < workers && next < n && !stop && rc == 0; k++)
      if (ws[k].fd < 0) {
        if (start(pool, &ws[k], trials[next], workers > 1)) rc = -1;
        else next++, running++;
      }
    for (int k = 0; k < workers; k++) pf[k] = (struct pollfd){ws[k].fd, POLLIN, 0};
    if (running == 0) break;
    if (poll(pf, (nfds_t)workers, -1) < 0 && errno != EINTR) {
      services_error("sweep: poll failed: %s", strerror(errno));
      rc = -1;
      break;
    }
    for (int k = 0; k < workers; k++)
      if (ws[k].fd >= 0 && (pf[k].revents & (POLLIN | POLLHUP | POLLERR)) && drain(&ws[k])) {
        stop |= finish(pool, &ws[k]);
        running--;
      }
  }
  free(ws);
  free(pf);
  return rc;
}
