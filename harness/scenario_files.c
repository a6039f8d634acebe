/*
 * scenario_files.c - where scenario files are: @include lookup, path
 * helpers, the walk of directory arguments, ids derived from paths, and the
 * rebasing of paths for reports.
 *
 * Owns the bundled suite's directory (scenario_set_library) and its _lib/
 * fallback. Does not read or parse a file (scenario_parse.c does).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "scenario.h"
#include "scenario_internal.h"
#include "util.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static char *path_join(const char *dir, const char *name)
{
	if (strcmp(dir, ".") == 0)
		return xstrdup(name);
	if (ends_with(dir, "/"))
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

/* The directory part of a path as given: "a/b.smtp" -> "a", "b.smtp" -> ".". */
static char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static int is_regular_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The bundled suite's directory (scenario_set_library), or NULL. */
static char *library_dir;

void scenario_set_library(const char *dir)
{
	free(library_dir);
	library_dir = dir ? xstrdup(dir) : NULL;
}

/* _lib/NAME of the bundled suite, the last place @include looks; or NULL. */
static char *include_find_bundled(const char *name)
{
	if (!library_dir)
		return NULL;
	char *lib = path_join(library_dir, "_lib");
	char *candidate = path_join(lib, name);
	free(lib);
	if (is_regular_file(candidate))
		return candidate;
	free(candidate);
	return NULL;
}

/*
 * @include NAME: NAME beside the including file, then _lib/NAME in that
 * directory and in each parent up to the filesystem root, then in the bundled
 * suite's _lib/. Returns the path found (malloc'd) or NULL.
 */
static char *include_search(const char *from, const char *name)
{
	if (name[0] == '/')
		return is_regular_file(name) ? xstrdup(name) : NULL;
	char *dir = path_dir(from);
	char *found = path_join(dir, name);
	if (is_regular_file(found))
		goto out;
	free(found);
	found = NULL;
	for (;;) {
		char *lib = path_join(dir, "_lib");
		char *candidate = path_join(lib, name);
		free(lib);
		if (is_regular_file(candidate)) {
			found = candidate;
			goto out;
		}
		free(candidate);
		if (strcmp(dir, "/") == 0)
			break;
		const char *last = path_base(dir);
		char *parent;
		if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0 || *last == '\0') {
			/* No parent in the path as given: continue from the real path. */
			char *real = realpath(dir, NULL);
			if (!real)
				break;
			parent = path_dir(real);
			free(real);
		} else if (strchr(dir, '/')) {
			parent = path_dir(dir);
		} else {
			parent = xstrdup(".");
		}
		free(dir);
		dir = parent;
	}
out:
	free(dir);
	return found ? found : include_find_bundled(name);
}

char *scenario_include_find(const char *from, const char *name, char *msg, size_t msglen)
{
	char *found = include_search(from, name);
	if (!found) {
		char *dir = path_dir(from);
		snprintf(
		    msg, msglen,
		    "cannot include %s: not found in %s/ nor in _lib/ there or in any directory "
		    "above%s%s%s",
		    name, dir, library_dir ? " nor in " : "", library_dir ? library_dir : "",
		    library_dir ? "/_lib/" : "");
		free(dir);
	}
	return found;
}

/* "scenarios/core/noop.smtp" under "scenarios" -> "core.noop". */
char *scenario_id_from_path(const char *path, const char *root)
{
	const char *rel = NULL;
	char *real_root = NULL, *real_path = NULL;
	if (root) {
		size_t n = strlen(root);
		while (n > 1 && root[n - 1] == '/')
			n--;
		if (strncmp(path, root, n) == 0 && path[n] == '/')
			rel = path + n + 1;
		if (!rel) {
			real_root = realpath(root, NULL);
			real_path = realpath(path, NULL);
			n = real_root ? strlen(real_root) : 0;
			if (real_root && real_path && strncmp(real_path, real_root, n) == 0 &&
			    real_path[n] == '/')
				rel = real_path + n + 1;
		}
	}
	if (!rel)
		rel = path_base(path);

	struct buf id = { 0 };
	char *copy = xstrdup(rel);
	if (ends_with(copy, ".smtp") && strlen(copy) > strlen(".smtp"))
		copy[strlen(copy) - strlen(".smtp")] = '\0';
	char *save = NULL;
	for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (id.len)
			buf_puts(&id, ".");
		buf_puts(&id, part);
	}
	free(copy);
	free(real_root);
	free(real_path);
	if (id.len == 0)
		buf_puts(&id, path_base(path));
	return buf_steal(&id);
}

/* ---- discovery ---- */

struct walk {
	struct scenario_list *list;
	const char *root;
	struct file_identity *dirs; /* directories on the current path */
	size_t ndirs;
	char *err;
	size_t errlen;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_add(struct scenario_list *l, const char *path, const char *root)
{
	l->paths = xrealloc(l->paths, (l->n + 1) * sizeof(*l->paths));
	l->roots = xrealloc(l->roots, (l->n + 1) * sizeof(*l->roots));
	l->paths[l->n] = xstrdup(path);
	l->roots[l->n] = root ? xstrdup(root) : NULL;
	l->n++;
}

static int walk_dir(struct walk *w, const char *dir, const struct stat *dir_st)
{
	for (size_t i = 0; i < w->ndirs; i++)
		if (w->dirs[i].dev == dir_st->st_dev && w->dirs[i].ino == dir_st->st_ino)
			return 0; /* a symbolic link back up: already being walked */
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(w->err, w->errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	for (struct dirent *de = readdir(d); de; de = readdir(d))
		if (de->d_name[0] != '_' && de->d_name[0] != '.')
			list_push(&names, &n, xstrdup(de->d_name));
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);

	int rc = 0;
	w->dirs = xrealloc(w->dirs, (w->ndirs + 1) * sizeof(*w->dirs));
	w->dirs[w->ndirs].dev = dir_st->st_dev;
	w->dirs[w->ndirs].ino = dir_st->st_ino;
	w->ndirs++;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *path = path_join(dir, names[i]);
		struct stat st;
		if (stat(path, &st) < 0) {
			if (ends_with(names[i], ".smtp")) {
				snprintf(w->err, w->errlen, "%s: %s", path, strerror(errno));
				rc = -1;
			}
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(w, path, &st);
		} else if (S_ISREG(st.st_mode) && ends_with(names[i], ".smtp")) {
			list_add(w->list, path, w->root);
		}
		free(path);
	}
	w->ndirs--;
	list_free(names, n);
	return rc;
}

int scenario_collect(char *const *args, size_t nargs, struct scenario_list *out, char *err,
                     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	for (size_t i = 0; i < nargs; i++) {
		struct stat st;
		if (stat(args[i], &st) < 0) {
			snprintf(err, errlen, "%s: %s", args[i], strerror(errno));
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			struct walk w = {
				.list = out, .root = args[i], .err = err, .errlen = errlen
			};
			int rc = walk_dir(&w, args[i], &st);
			free(w.dirs);
			if (rc < 0)
				goto fail;
		} else if (S_ISREG(st.st_mode)) {
			list_add(out, args[i], NULL);
		} else {
			snprintf(err, errlen, "%s: not a file or directory", args[i]);
			goto fail;
		}
	}
	return 0;
fail:
	scenario_list_free(out);
	text_sanitize(err, errlen);
	return -1;
}

void scenario_list_free(struct scenario_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->paths[i]);
		free(l->roots[i]);
	}
	free(l->paths);
	free(l->roots);
	memset(l, 0, sizeof(*l));
}

/* from + "/" + rest -> to + "/" + rest, or NULL when path is not under from. */
static char *rebased(const char *path, const char *from, const char *to)
{
	size_t n = strlen(from);
	if (strncmp(path, from, n) != 0 || path[n] != '/')
		return NULL;
	return xasprintf("%s%s", to, path + n);
}

void scenario_rebase_paths(struct scenario *s, const char *from, const char *to)
{
	char *p = rebased(s->path, from, to);
	if (p) {
		free(s->path);
		s->path = p;
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		char *f = rebased(s->files[i], from, to);
		if (!f)
			continue;
		for (size_t k = 0; k < s->nsteps; k++)
			if (s->steps[k].file == s->files[i])
				s->steps[k].file = f;
		free(s->files[i]);
		s->files[i] = f;
	}
}

int scenario_load_all(char *const *args, size_t nargs, const struct vars *vars,
                      struct scenario ***out, size_t *n_out)
{
	char err[1024];
	struct scenario_list list;
	if (scenario_collect(args, nargs, &list, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (list.n == 0) {
		fprintf(stderr, "smtpconform: no scenario files (*.smtp) found\n");
		scenario_list_free(&list);
		return -1;
	}
	struct scenario **scs = xcalloc(list.n, sizeof(*scs));
	size_t n = 0;
	int bad = 0;
	for (size_t i = 0; i < list.n; i++) {
		struct scenario *sc = NULL;
		if (scenario_load(list.paths[i], list.roots[i], &sc, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
			continue;
		}
		if (vars && scenario_check_vars(sc, vars, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
			scenario_free(sc);
			continue;
		}
		scs[n++] = sc;
	}
	/* Two files with one id would make reports ambiguous. */
	for (size_t i = 0; i < n && !bad; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(scs[i]->id, scs[j]->id) == 0) {
				fprintf(stderr, "%s: id '%s' is also used by %s\n", scs[j]->path,
				        scs[j]->id, scs[i]->path);
				bad = 1;
			}
	scenario_list_free(&list);
	if (bad) {
		for (size_t i = 0; i < n; i++)
			scenario_free(scs[i]);
		free(scs);
		return -1;
	}
	*out = scs;
	*n_out = n;
	return 0;
}
