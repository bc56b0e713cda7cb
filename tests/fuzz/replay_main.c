/* replay_main.c - a main() for fuzz targets built without libFuzzer: runs
 * LLVMFuzzerTestOneInput once over each file named on the command line
 * (a directory: over each regular file in it), without fuzzing.  Used by
 * tests/fuzz/regressions.t so the replay needs no clang; a crash aborts
 * under ASan/UBSan like it would under libFuzzer. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  if (buf == NULL)
    abort();
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      if (buf == NULL)
        abort();
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    if (r == 0)
      break;
    n += r;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    fprintf(stderr, "replay: %s: read error\n", path);
    free(buf);
    return -1;
  }
  /* an exact-size copy, so ASan sees overreads past the input */
  uint8_t *exact = malloc(n ? n : 1);
  if (exact == NULL)
    abort();
  if (n)
    memcpy(exact, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

static int cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
  int files = 0, errors = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      errors++;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      errors += replay_file(argv[i]) != 0;
      files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (d == NULL) {
      errors++;
      continue;
    }
    char **names = NULL;
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      names = realloc(names, (nn + 1) * sizeof *names);
      if (names == NULL)
        abort();
      size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
      names[nn] = malloc(len);
      if (names[nn] == NULL)
        abort();
      snprintf(names[nn], len, "%s/%s", argv[i], e->d_name);
      nn++;
    }
    closedir(d);
    if (nn)
      qsort(names, nn, sizeof *names, cmp);
    for (size_t k = 0; k < nn; k++) {
      if (stat(names[k], &st) == 0 && S_ISREG(st.st_mode)) {
        errors += replay_file(names[k]) != 0;
        files++;
      }
      free(names[k]);
    }
    free(names);
  }
  fprintf(stderr, "replay: %d input(s), %d error(s)\n", files, errors);
  return errors ? 1 : 0;
}
