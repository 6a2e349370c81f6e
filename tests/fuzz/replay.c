// SPDX-License-Identifier: MIT
// replay.c - the main of a harness in the ordinary builds: runs LLVMFuzzerTestOneInput on
// every file of the directories (or on the files) named on the command line, in name order,
// so that ctest replays each corpus under the build's sanitizers. Fuzzing is libFuzzer's.

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* replay_file runs one input; -1 if it cannot be read. */
static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *p = realloc(buf, cap = cap ? 2 * cap : 4096);
			if (p == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = p;
		}
		len += n = fread(buf + len, 1, cap - len, f);
	} while (n > 0);
	if (ferror(f)) {
		perror(path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* a copy of exactly len bytes, so that ASan sees a read past the input */
	uint8_t *in = malloc(len ? len : 1);
	if (in == NULL) {
		free(buf);
		return -1;
	}
	if (len > 0)
		memcpy(in, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(in, len);
	free(in);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* replay_dir runs every regular file of dir; the number run, or -1. */
static int
replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	int ran = 0;

	if (d == NULL) {
		perror(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*p));
			if (p == NULL)
				break;
			names = p;
		}
		if ((names[n] = strdup(e->d_name)) == NULL)
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (ran >= 0 && replay_file(path) == 0)
			ran++;
		else
			ran = -1;
		free(names[i]);
	}
	free(names);
	return ran;
}

int
main(int argc, char **argv)
{
	int total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int ran;

		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		ran = S_ISDIR(st.st_mode)         ? replay_dir(argv[i])
		      : replay_file(argv[i]) == 0 ? 1
		                                  : -1;
		if (ran <= 0) {
			fprintf(stderr, "%s: %s\n", argv[i],
			        ran == 0 ? "no inputs" : "not replayed");
			return 1;
		}
		total += ran;
	}
	printf("%s: %d inputs replayed\n", argv[0], total);
	return 0;
}
