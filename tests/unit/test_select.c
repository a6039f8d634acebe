/*
 * test_select.c - unit tests of harness/select.c: the scenario filters
 * (tag, level, id glob, RFC, required keyword; OR within a key, AND across
 * keys), the --rerun-failed id set and --shard auto's environment parsing.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "select.h"

static char *tags_noop[] = { "core", "noop" };
static char *tags_smug[] = { "smuggling", "data", "crlf" };
static char *req_auth[] = { "AUTH=PLAIN" };
static char *req_chunk[] = { "CHUNKING", "PIPELINING" };

static struct scenario noop = {
	.id = "core.noop.basic",
	.level = "MUST",
	.ref = "RFC 5321 4.1.1.9",
	.tags = tags_noop,
	.ntags = 2,
};
static struct scenario smug = {
	.id = "smuggling.lf-dot-lf",
	.level = "SHOULD",
	.ref = "RFC 5321 2.3.8; RFC 53210 1",
	.tags = tags_smug,
	.ntags = 3,
	.requires = req_chunk,
	.nrequires = 2,
};
static struct scenario auth = {
	.id = "auth.plain.ok",
	.level = "MAY",
	.ref = "RFC 4954 4",
	.tags = NULL,
	.ntags = 0,
	.requires = req_auth,
	.nrequires = 1,
};

struct filter_case {
	const char *name;
	enum select_key key1;
	const char *value1;
	enum select_key key2; /* SELECT_KEYS: no second value */
	const char *value2;
	int noop, smug, auth; /* expected matches */
};

static const struct filter_case filter_cases[] = {
	{ "tag", SELECT_TAG, "smuggling", SELECT_KEYS, NULL, 0, 1, 0 },
	{ "tag is case-insensitive", SELECT_TAG, "NOOP", SELECT_KEYS, NULL, 1, 0, 0 },
	{ "two tags: either", SELECT_TAG, "noop", SELECT_TAG, "crlf", 1, 1, 0 },
	{ "level", SELECT_LEVEL, "must", SELECT_KEYS, NULL, 1, 0, 0 },
	{ "id glob", SELECT_ID, "smuggling.*", SELECT_KEYS, NULL, 0, 1, 0 },
	{ "id glob matches whole id", SELECT_ID, "noop", SELECT_KEYS, NULL, 0, 0, 0 },
	{ "id exact", SELECT_ID, "auth.plain.ok", SELECT_KEYS, NULL, 0, 0, 1 },
	{ "rfc number", SELECT_RFC, "5321", SELECT_KEYS, NULL, 1, 1, 0 },
	{ "rfc with prefix", SELECT_RFC, "RFC 4954", SELECT_KEYS, NULL, 0, 0, 1 },
	{ "rfc glued prefix", SELECT_RFC, "rfc4954", SELECT_KEYS, NULL, 0, 0, 1 },
	{ "rfc is not a prefix of a longer number", SELECT_RFC, "532", SELECT_KEYS, NULL, 0, 0, 0 },
	{ "second rfc of a ref", SELECT_RFC, "53210", SELECT_KEYS, NULL, 0, 1, 0 },
	{ "requires keyword", SELECT_REQUIRES, "pipelining", SELECT_KEYS, NULL, 0, 1, 0 },
	{ "requires AUTH matches AUTH=PLAIN", SELECT_REQUIRES, "AUTH", SELECT_KEYS, NULL, 0, 0, 1 },
	{ "requires AUTH=PLAIN exact", SELECT_REQUIRES, "auth=plain", SELECT_KEYS, NULL, 0, 0, 1 },
	{ "requires no prefix match", SELECT_REQUIRES, "CHUNK", SELECT_KEYS, NULL, 0, 0, 0 },
	{ "different keys: all", SELECT_TAG, "smuggling", SELECT_LEVEL, "MUST", 0, 0, 0 },
	{ "different keys: both hold", SELECT_RFC, "5321", SELECT_LEVEL, "SHOULD", 0, 1, 0 },
};

static void test_filters(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(filter_cases) / sizeof(filter_cases[0]); i++) {
		const struct filter_case *c = &filter_cases[i];
		struct select_filter f;
		memset(&f, 0, sizeof(f));
		select_add(&f, c->key1, c->value1);
		if (c->key2 != SELECT_KEYS)
			select_add(&f, c->key2, c->value2);
		print_message("case: %s\n", c->name);
		assert_true(select_active(&f));
		assert_int_equal(select_matches(&f, &noop), c->noop);
		assert_int_equal(select_matches(&f, &smug), c->smug);
		assert_int_equal(select_matches(&f, &auth), c->auth);
		select_free(&f);
	}
}

static void test_empty_filter_matches_all(void **state)
{
	(void)state;
	struct select_filter f;
	memset(&f, 0, sizeof(f));
	assert_false(select_active(&f));
	assert_true(select_matches(&f, &noop));
	assert_true(select_matches(&f, &smug));
	select_free(&f);
}

static void test_rerun_failed_ids(void **state)
{
	(void)state;
	char path[] = "/tmp/test_select_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	fputs("{\"tool\": {\"name\": \"smtpconform\", \"version\": \"0\"}, \"target\": \"t\","
	      " \"scenarios\": ["
	      "{\"id\": \"core.noop.basic\", \"verdict\": \"fail\"},"
	      "{\"id\": \"auth.plain.ok\", \"verdict\": \"pass\"},"
	      "{\"id\": \"smuggling.lf-dot-lf\", \"verdict\": \"error\"}]}\n",
	      fp);
	fclose(fp);
	struct select_filter f;
	memset(&f, 0, sizeof(f));
	char err[512] = "";
	int n = select_load_failed(&f, path, err, sizeof(err));
	print_message("%s\n", err);
	assert_int_equal(n, 2);
	assert_true(select_active(&f));
	assert_true(select_matches(&f, &noop));
	assert_true(select_matches(&f, &smug));
	assert_false(select_matches(&f, &auth));
	select_free(&f);
	unlink(path);
	memset(&f, 0, sizeof(f));
	assert_int_equal(select_load_failed(&f, "/nonexistent/run.json", err, sizeof(err)), -1);
	select_free(&f);
}

/* --------------------------------------------------------- --shard auto */

static const char *const shard_vars[] = {
	"SMTPCONFORM_SHARD_INDEX", "SMTPCONFORM_SHARD_TOTAL", "CI_NODE_INDEX",
	"CI_NODE_TOTAL",           "JOB_COMPLETION_INDEX",    "JOB_COMPLETIONS",
};

struct shard_case {
	const char *name;
	const char *env[6]; /* values of shard_vars, NULL: unset */
	int rc, k, n;
	const char *err_has;
};

static const struct shard_case shard_cases[] = {
	{ "no CI: everything", { NULL }, 0, 1, 1, NULL },
	{ "gitlab 1-based", { NULL, NULL, "3", "4" }, 0, 3, 4, NULL },
	{ "gitlab last node", { NULL, NULL, "4", "4" }, 0, 4, 4, NULL },
	{ "gitlab index 0 is bad", { NULL, NULL, "0", "4" }, -1, 0, 0, "CI_NODE_INDEX=0" },
	{ "gitlab index past total", { NULL, NULL, "5", "4" }, -1, 0, 0, "CI_NODE_INDEX=5" },
	{ "gitlab total missing", { NULL, NULL, "2", NULL }, -1, 0, 0, "CI_NODE_TOTAL=(unset)" },
	{ "gitlab garbage", { NULL, NULL, "2x", "4" }, -1, 0, 0, "CI_NODE_INDEX=2x" },
	{ "kubernetes 0-based", { NULL, NULL, NULL, NULL, "0", "3" }, 0, 1, 3, NULL },
	{ "kubernetes last", { NULL, NULL, NULL, NULL, "2", "3" }, 0, 3, 3, NULL },
	{ "kubernetes index = total is bad",
	  { NULL, NULL, NULL, NULL, "3", "3" },
	  -1,
	  0,
	  0,
	  "JOB_COMPLETION_INDEX=3" },
	{ "kubernetes without total",
	  { NULL, NULL, NULL, NULL, "1", NULL },
	  -1,
	  0,
	  0,
	  "JOB_COMPLETIONS=(unset)" },
	{ "explicit wins over gitlab", { "2", "2", "1", "4" }, 0, 2, 2, NULL },
	{ "total too large", { NULL, NULL, "1", "100000" }, -1, 0, 0, "CI_NODE_TOTAL" },
};

static void test_shard_from_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(shard_cases) / sizeof(shard_cases[0]); i++) {
		const struct shard_case *c = &shard_cases[i];
		for (size_t v = 0; v < 6; v++) {
			if (c->env[v])
				setenv(shard_vars[v], c->env[v], 1);
			else
				unsetenv(shard_vars[v]);
		}
		int k = 0, n = 0;
		char err[256] = "";
		print_message("case: %s\n", c->name);
		int rc = select_shard_from_env(&k, &n, err, sizeof(err));
		assert_int_equal(rc, c->rc);
		if (rc == 0) {
			assert_int_equal(k, c->k);
			assert_int_equal(n, c->n);
		} else {
			assert_non_null(strstr(err, c->err_has));
		}
	}
	for (size_t v = 0; v < 6; v++)
		unsetenv(shard_vars[v]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_empty_filter_matches_all),
		cmocka_unit_test(test_rerun_failed_ids),
		cmocka_unit_test(test_shard_from_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
