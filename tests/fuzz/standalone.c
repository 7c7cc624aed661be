/* Runs a fuzz target over files and folders of inputs (its corpus), so that the corpus is part of
 * the normal test suite on any compiler. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf;
  long n;
  if (!f) {
    perror(path);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc(n > 0 ? (size_t)n : 1);
  if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
    fprintf(stderr, "%s: cannot read\n", path);
    fclose(f);
    free(buf);
    return 1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t)n);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  int i, runs = 0, errors = 0;
  for (i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (S_ISDIR(st.st_mode)) {
      struct dirent **names;
      int n = scandir(argv[i], &names, NULL, alphasort), j;
      for (j = 0; j < n; j++) {
        char path[4096];
        if (names[j]->d_name[0] != '.') {
          snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]->d_name);
          errors += run_file(path);
          runs++;
        }
        free(names[j]);
      }
      free(names);
    } else {
      errors += run_file(argv[i]);
      runs++;
    }
  }
  printf("%d inputs run, %d unreadable\n", runs, errors);
  return runs > 0 && errors == 0 ? 0 : 1;
}
