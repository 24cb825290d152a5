/*
** gnuplot.c -- what `lunet plot`'s figures (lines in plot.c, heatmaps in
** heatmap.c) share: quoting strings for gnuplot, the terminal for a .png or
** .svg name, and running gnuplot on a script fed to its standard input.
**
** gnuplot writes to FIG.png.part, renamed to FIG.png once it has succeeded:
** a reader never sees half a figure, and a failure leaves no empty file.
** For PNG the script itself picks pngcairo when the gnuplot build has it,
** else the libgd png terminal.
*/
#include "report/gnuplot.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void gnuplot_string(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++) {
    if (*s == '\'') fputs("''", f);
    else fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
  }
  fputc('\'', f);
}

static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

int gnuplot_figure_type(const char *out) {
  if (has_suffix(out, ".svg")) return 1;
  return has_suffix(out, ".png") ? 0 : -1;
}

void gnuplot_terminal(FILE *f, const char *out, const char *part, int width, int height) {
  if (gnuplot_figure_type(out) == 1) {
    fprintf(f, "set terminal svg size %d,%d dynamic font 'Sans,12' noenhanced "
            "background rgb 'white'\n", width, height);
  } else {
    fprintf(f, "if (strstrt(' '.GPVAL_TERMINALS.' ', ' pngcairo ') > 0) {\n"
            "  set terminal pngcairo size %d,%d font 'Sans,11' noenhanced\n"
            "} else {\n"
            "  set terminal png size %d,%d noenhanced\n"
            "}\n", width, height, width, height);
  }
  fputs("set output ", f);
  gnuplot_string(f, part);
  fputc('\n', f);
}

char *gnuplot_part_name(const char *out) {
  size_t n = strlen(out) + 6;
  char *part = malloc(n);
  if (part) snprintf(part, n, "%s.part", out);
  return part;
}

/* The path of the executable NAME on $PATH, or NULL. */
static char *find_program(const char *name) {
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/bin:/bin";
  for (;;) {
    size_t n = strcspn(path, ":");
    size_t size = n + strlen(name) + 3;
    char *full = malloc(size);
    struct stat st;
    if (!full) return NULL;
    if (n) snprintf(full, size, "%.*s/%s", (int)n, path, name);
    else snprintf(full, size, "./%s", name); /* an empty entry is "." */
    if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
      return full;
    free(full);
    if (!path[n]) return NULL;
    path += n + 1;
  }
}

/* sh -c command running PROGRAM, quoted for the shell. */
static char *shell_command(const char *program) {
  size_t n = 3;
  for (const char *s = program; *s; s++) n += *s == '\'' ? 4 : 1;
  char *cmd = malloc(n), *o = cmd;
  if (!cmd) return NULL;
  *o++ = '\'';
  for (const char *s = program; *s; s++) {
    if (*s == '\'') { memcpy(o, "'\\''", 4); o += 4; }
    else *o++ = *s;
  }
  *o++ = '\'';
  *o = '\0';
  return cmd;
}

/* Feeds SCRIPT to gnuplot; returns its wait status, or -1. SIGPIPE is held
** off so a gnuplot that dies early cannot take lunet down with it. */
static int run_gnuplot(const char *gnuplot, const char *script, size_t len) {
  char *cmd = shell_command(gnuplot);
  if (!cmd) return -1;
  struct sigaction ignore, old;
  memset(&ignore, 0, sizeof ignore);
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &old);
  fflush(NULL);
  FILE *pipe = popen(cmd, "w");
  int status = -1;
  if (pipe) {
    fwrite(script, 1, len, pipe);
    status = pclose(pipe);
  }
  sigaction(SIGPIPE, &old, NULL);
  free(cmd);
  return status;
}

/* Keeps a failed script next to the figure, for the user to look at. */
static void keep_script(const char *who, const char *out, const char *script, size_t len) {
  size_t n = strlen(out) + 4;
  char *name = malloc(n);
  if (!name) return;
  snprintf(name, n, "%s.gp", out);
  FILE *f = fopen(name, "w");
  if (f && fwrite(script, 1, len, f) == len && fclose(f) == 0)
    fprintf(stderr, "%s: the gnuplot script is in %s\n", who, name);
  else if (f)
    fclose(f);
  free(name);
}

static int check_writable(const char *who, const char *out, const char *part) {
  FILE *f = fopen(part, "w");
  if (!f) {
    fprintf(stderr, "%s: cannot write %s: %s (hint: does its directory exist?)\n",
            who, out, strerror(errno));
    return -1;
  }
  fclose(f);
  return 0;
}

/* 0 if gnuplot exited cleanly and wrote PART, else -1 with the reason. */
static int check_run(const char *who, const char *gnuplot, int status, const char *out,
                     const char *part) {
  struct stat st;
  if (status == -1) {
    fprintf(stderr, "%s: cannot run %s: %s\n", who, gnuplot, strerror(errno));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    fprintf(stderr, "%s: gnuplot not found: apt-get install gnuplot-nox\n", who);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    fprintf(stderr, "%s: gnuplot failed (exit status %d)\n", who, WEXITSTATUS(status));
  } else if (!WIFEXITED(status)) {
    fprintf(stderr, "%s: gnuplot was killed by signal %d\n", who, WTERMSIG(status));
  } else if (stat(part, &st) != 0 || st.st_size == 0) {
    fprintf(stderr, "%s: gnuplot wrote no figure to %s\n", who, out);
  } else {
    return 0;
  }
  return -1;
}

int gnuplot_draw(const char *who, const char *out, const char *part, const char *script, size_t len) {
  char *gnuplot = find_program("gnuplot");
  if (!gnuplot) {
    fprintf(stderr, "%s: gnuplot not found: apt-get install gnuplot-nox\n", who);
    return -1;
  }
  int rc = -1;
  if (check_writable(who, out, part) == 0) {
    int status = run_gnuplot(gnuplot, script, len);
    rc = check_run(who, gnuplot, status, out, part);
    if (rc != 0 && status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 127))
      keep_script(who, out, script, len);
    if (rc == 0 && rename(part, out) != 0) {
      fprintf(stderr, "%s: cannot rename %s to %s: %s\n", who, part, out, strerror(errno));
      rc = -1;
    }
    if (rc != 0) unlink(part);
  }
  free(gnuplot);
  return rc;
}
