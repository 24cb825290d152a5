/*
** command.c -- running sbatch, squeue and scancel; see command.h.
**
** The child's stdout and stderr are read through two pipes together
** (poll), so neither can fill up and block it.
*/
#include "sweep/command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: never returns. */
static void exec_child(char *const argv[], int out, int err) {
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0) dup2(null, 0);
  if (null > 2) close(null); /* the program gets it as 0 only */
  dup2(out, 1);
  dup2(err, 2);
  execvp(argv[0], argv);
  fprintf(stderr, "cannot run %s: %s", argv[0], strerror(errno));
  _exit(127);
}

/* Reads both pipes until both reach end of file. */
static void collect(int fd[2], strbuf *buf[2]) {
  int open_fds = 2;
  while (open_fds > 0) {
    struct pollfd pf[2] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}};
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; k++) {
      if (fd[k] < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[4096];
      ssize_t n = read(fd[k], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) sb_add(buf[k], chunk, (size_t)n);
      else close(fd[k]), fd[k] = -1, open_fds--;
    }
  }
  for (int k = 0; k < 2; k++)
    if (fd[k] >= 0) close(fd[k]);
}

/* A pipe whose ends close on exec (the child's dup2 copies do not). */
static int cloexec_pipe(int p[2]) {
  if (pipe(p) != 0) return -1;
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  fcntl(p[1], F_SETFD, FD_CLOEXEC);
  return 0;
}

int sweep_command(char *const argv[], strbuf *out, strbuf *err) {
  int po[2], pe[2];
  if (cloexec_pipe(po) != 0) goto nopipe;
  if (cloexec_pipe(pe) != 0) {
    close(po[0]), close(po[1]);
    goto nopipe;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) exec_child(argv, po[1], pe[1]);
  close(po[1]), close(pe[1]);
  if (pid < 0) {
    close(po[0]), close(pe[0]);
    goto nopipe;
  }
  int fd[2] = {po[0], pe[0]};
  strbuf *buf[2] = {out, err};
  collect(fd, buf);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  sb_str(out, ""), sb_str(err, ""); /* NUL-terminated even when empty */
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
nopipe:
  sb_str(err, "cannot start a process: ");
  sb_str(err, strerror(errno));
  return 127;
}

void sweep_command_line(char *const argv[], strbuf *line) {
  for (int k = 0; argv[k]; k++) {
    if (k) sb_str(line, " ");
    sb_str(line, argv[k]);
  }
}
