// SPDX-License-Identifier: MIT
// main.c - dobj_server_main(): dobjd's command line. Every flag also comes from a DOBJ_*
// environment variable (flags win); `migrate` and `migrate status` manage the schema;
// serving runs until SIGTERM or SIGINT, which drain the server (a second one exits at once).

#define _GNU_SOURCE /* SCHED_BATCH */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <dobj/server.h>
#include <dobj/version.h>

#include "http.h"
#include "log.h"
#include "migrate.h"
#include "pgstore.h"
#include "plugin.h"
#include "server_int.h"

/* OPT_STR_OFF: a string that may be empty ("" turns the feature off), also in the environment. */
enum opt_type { OPT_STR, OPT_STR_OFF, OPT_COUNT, OPT_INT64 };

typedef struct opt {
	const char *flag;
	const char *env;
	enum opt_type type;
	const char *def;
	const char *help;
	const char *value; /* after parsing: flag, else environment, else def (may be NULL) */
} opt;

enum {
	O_LISTEN,
	O_TLS_CERT,
	O_TLS_KEY,
	O_TLS_CLIENT_CA,
	O_DATABASE_URL,
	O_SHARDS,
	O_CACHE_OBJECTS,
	O_IDLE_TIMEOUT_MS,
	O_LOAD_ALL_MAX_KEYS,
	O_MAX_BATCH,
	O_CONTEXTS,
	O_INFLIGHT_BYTES_MAX,
	O_KEY_MAX,
	O_VALUE_MAX,
	O_MANY_MAX,
	O_CLOCK_OFFSET,
	O_LOG_LEVEL,
	O_MIGRATIONS_DIR,
	O_PLUGIN,
	O_HTTP_LISTEN,
	O_ALARM_RETRY_MS,
	O_ALARM_MAX_RETRIES,
	O_DRAIN_TIMEOUT_MS,
	O_LOG_FORMAT,
	O_SCHED,
	O_COUNT
};

static opt opts[O_COUNT] = {
    [O_LISTEN] = {"--listen", "DOBJ_LISTEN", OPT_STR, "tcp://127.0.0.1:7700",
                  "nng URL to serve on (tcp://, ipc://, tls+tcp://)"},
    [O_TLS_CERT] = {"--tls-cert", "DOBJ_TLS_CERT", OPT_STR, NULL,
                    "tls+tcp://: PEM file of the server's certificate and its chain (required "
                    "there; read at start)"},
    [O_TLS_KEY] = {"--tls-key", "DOBJ_TLS_KEY", OPT_STR, NULL,
                   "tls+tcp://: PEM file of its private key, unencrypted (default: in the "
                   "--tls-cert file)"},
    [O_TLS_CLIENT_CA] = {"--tls-client-ca", "DOBJ_TLS_CLIENT_CA", OPT_STR, NULL,
                         "tls+tcp://: clients must present a certificate signed by the CAs "
                         "of this PEM file (mutual TLS)"},
    [O_DATABASE_URL] = {"--database-url", "DOBJ_DATABASE_URL", OPT_STR, NULL,
                        "PostgreSQL connection string or URI (required)"},
    [O_SHARDS] = {"--shards", "DOBJ_SHARDS", OPT_COUNT, "0", "shard threads; 0 = one per core"},
    [O_CACHE_OBJECTS] = {"--cache-objects", "DOBJ_CACHE_OBJECTS", OPT_COUNT, "100000",
                         "live objects kept in memory"},
    [O_IDLE_TIMEOUT_MS] = {"--idle-timeout-ms", "DOBJ_IDLE_TIMEOUT_MS", OPT_COUNT, "300000",
                           "evict an object idle for this long"},
    [O_LOAD_ALL_MAX_KEYS] = {"--load-all-max-keys", "DOBJ_LOAD_ALL_MAX_KEYS", OPT_COUNT, "1000",
                             "activation loads every key of objects up to this many keys"},
    [O_MAX_BATCH] = {"--max-batch", "DOBJ_MAX_BATCH", OPT_COUNT, "512",
                     "calls a shard runs per pass; it hands its open batch to the "
                     "commit thread once the batch holds this many"},
    [O_CONTEXTS] = {"--contexts", "DOBJ_CONTEXTS", OPT_COUNT, "1024",
                    "requests received concurrently"},
    [O_INFLIGHT_BYTES_MAX] =
        {"--inflight-bytes-max", "DOBJ_INFLIGHT_BYTES_MAX", OPT_COUNT, "268435456",
         "bytes of requests received and not yet answered, and of replies being sent; a "
         "request past it is answered RESOURCE_EXHAUSTED at once (at least 17825792, the "
         "largest request)"},
    [O_KEY_MAX] =
        {"--key-max", "DOBJ_KEY_MAX", OPT_COUNT, "2048",
         "largest key, bytes (at most 2400: the storage table's primary key holds no more)"},
    [O_VALUE_MAX] = {"--value-max", "DOBJ_VALUE_MAX", OPT_COUNT, "131072", "largest value, bytes"},
    [O_MANY_MAX] = {"--many-max", "DOBJ_MANY_MAX", OPT_COUNT, "128",
                    "keys per get_many/put_many/delete_many"},
    [O_CLOCK_OFFSET] = {"--clock-offset", "DOBJ_CLOCK_OFFSET", OPT_INT64, "0",
                        "run the server clock this many seconds ahead (tests and drills only)"},
    [O_LOG_LEVEL] = {"--log-level", "DOBJ_LOG_LEVEL", OPT_STR, "info",
                     "debug, info, warn or error"},
    [O_MIGRATIONS_DIR] = {"--migrations-dir", "DOBJ_MIGRATIONS_DIR", OPT_STR, NULL,
                          "migrate: read NNNN_*.sql from here instead of the built-in set"},
    [O_PLUGIN] = {"--plugin", "DOBJ_PLUGINS", OPT_STR, NULL,
                  "load classes from this shared object; repeatable (env: PATH:PATH)"},
    [O_HTTP_LISTEN] = {"--http-listen", "DOBJ_HTTP_LISTEN", OPT_STR_OFF, "http://127.0.0.1:9700",
                       "http://HOST:PORT for /healthz, /readyz, /metrics; \"\" = off"},
    [O_ALARM_RETRY_MS] = {"--alarm-retry-ms", "DOBJ_ALARM_RETRY_MS", OPT_COUNT, "2000",
                          "delay before a failed alarm's first retry; doubles each retry"},
    [O_ALARM_MAX_RETRIES] = {"--alarm-max-retries", "DOBJ_ALARM_MAX_RETRIES", OPT_COUNT, "6",
                             "retries of a failing alarm before it is parked (0: parked at once)"},
    [O_DRAIN_TIMEOUT_MS] = {"--drain-timeout-ms", "DOBJ_DRAIN_TIMEOUT_MS", OPT_COUNT, "25000",
                            "on SIGTERM/SIGINT, let queued calls finish this long at most"},
    [O_LOG_FORMAT] = {"--log-format", "DOBJ_LOG_FORMAT", OPT_STR, "plain",
                      "plain or json (one JSON object per line)"},
    [O_SCHED] = {"--sched", "DOBJ_SCHED", OPT_STR, "batch",
                 "CPU scheduling of dobjd's threads: batch (Linux SCHED_BATCH) or normal; the "
                 "commit thread always asks for normal and a short slice"},
};

#define MAX_PLUGINS 32

/* The --plugin values in order: DOBJ_PLUGINS' entries first, then each flag. */
static const char *plugins[MAX_PLUGINS];
static int nplugins;

static int
add_plugin(const char *path)
{
	if (nplugins == MAX_PLUGINS) {
		fprintf(stderr, "dobjd: more than %d plugins\n", MAX_PLUGINS);
		return -1;
	}
	plugins[nplugins++] = path;
	return 0;
}

/* add_plugin_list splits DOBJ_PLUGINS (PATH:PATH...); the copy lives until exit. */
static int
add_plugin_list(const char *list)
{
	char *copy = strdup(list), *save = NULL;

	if (copy == NULL)
		return -1;
	for (char *p = strtok_r(copy, ":", &save); p != NULL; p = strtok_r(NULL, ":", &save))
		if (add_plugin(p) != 0)
			return -1;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: dobjd [serve] [flags]       serve the built-in classes\n"
	           "       dobjd migrate [flags]       apply pending schema migrations\n"
	           "       dobjd migrate status [flags] list migrations and their state\n"
	           "       dobjd --version | --help\n\nflags (each also from its environment "
	           "variable):\n");
	for (int i = 0; i < O_COUNT; i++)
		fprintf(f, "  %-22s %-24s %s%s%s%s\n", opts[i].flag, opts[i].env, opts[i].help,
		        opts[i].def ? " [default: " : "", opts[i].def ? opts[i].def : "",
		        opts[i].def ? "]" : "");
}

/* parse_count parses a non-negative decimal that fits in max. */
static int
parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	/* digits, maybe after a minus: strtoll would also take spaces and a plus */
	if (s == NULL ||
	    !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* flag_index returns the option whose flag is the first len bytes of arg, or -1. */
static int
flag_index(const char *arg, size_t len)
{
	for (int i = 0; i < O_COUNT; i++)
		if (strlen(opts[i].flag) == len && strncmp(opts[i].flag, arg, len) == 0)
			return i;
	return -1;
}

enum { ASK_NOTHING, ASK_HELP, ASK_VERSION };

/* info_asked finds --help, -h or --version where a flag stands, not where it is another
 * flag's value (`--database-url --help` is a value, refused or not by what takes it). */
static int
info_asked(int argc, char **argv)
{
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return ASK_HELP;
		if (strcmp(arg, "--version") == 0)
			return ASK_VERSION;
		if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') == NULL &&
		    flag_index(arg, strlen(arg)) >= 0)
			a++; /* its value */
	}
	return ASK_NOTHING;
}

/* parse_args fills opts[].value and returns the index of the first positional argument
 * word in words[] (command words), or -1 after printing an error. */
static int
parse_args(int argc, char **argv, const char **words, int maxwords, int *nwords)
{
	*nwords = 0;
	for (int i = 0; i < O_COUNT; i++) {
		const char *e = getenv(opts[i].env);
		opts[i].value = e && (*e || opts[i].type == OPT_STR_OFF) ? e : opts[i].def;
	}
	if (opts[O_PLUGIN].value != NULL && add_plugin_list(opts[O_PLUGIN].value) != 0)
		return -1;
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a], *eq = strchr(arg, '=');
		size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
		int i;

		if (strncmp(arg, "--", 2) != 0) {
			if (*nwords == maxwords) {
				fprintf(stderr, "dobjd: unexpected argument \"%s\"\n", arg);
				return -1;
			}
			words[(*nwords)++] = arg;
			continue;
		}
		if ((i = flag_index(arg, flen)) < 0) {
			fprintf(stderr, "dobjd: unknown flag \"%s\" (see dobjd --help)\n", arg);
			return -1;
		}
		if (eq) {
			opts[i].value = eq + 1;
		} else if (a + 1 < argc) {
			opts[i].value = argv[++a];
		} else {
			fprintf(stderr, "dobjd: %s needs a value\n", opts[i].flag);
			return -1;
		}
		if (i == O_PLUGIN && add_plugin(opts[i].value) != 0)
			return -1;
	}
	return 0;
}

/* count_opt parses option i as an integer from min to max, or says which flag is wrong. */
static int
count_opt(int i, unsigned long long min, unsigned long long max, unsigned long long *out)
{
	if (parse_count(opts[i].value, max, out) != 0 || *out < min) {
		fprintf(stderr,
		        "dobjd: invalid value for %s: \"%s\" (expected an integer from %llu to "
		        "%llu)\n",
		        opts[i].flag, opts[i].value ? opts[i].value : "", min, max);
		return -1;
	}
	return 0;
}

/* apply_log_opts sets the log's level and format from the options: 0, or -1 (said why). */
static int
apply_log_opts(void)
{
	int level, format;

	if ((level = dobj__log_parse_level(opts[O_LOG_LEVEL].value)) < 0) {
		fprintf(stderr, "dobjd: invalid value for --log-level: \"%s\"\n",
		        opts[O_LOG_LEVEL].value);
		return -1;
	}
	if ((format = dobj__log_parse_format(opts[O_LOG_FORMAT].value)) < 0) {
		fprintf(stderr,
		        "dobjd: invalid value for --log-format: \"%s\" (expected plain or json)\n",
		        opts[O_LOG_FORMAT].value);
		return -1;
	}
	dobj__log_set_level((dobj__log_level)level);
	dobj__log_set_format((dobj__log_format)format);
	return 0;
}

static bool
opt_given(int i)
{
	return opts[i].value != NULL && opts[i].value[0] != '\0';
}

/* check_tls_opts refuses a tls+tcp:// --listen URL without a certificate, and TLS flags with
 * any other URL (the files themselves are read by dobj_server_open). */
static int
check_tls_opts(void)
{
	const char *url = opts[O_LISTEN].value;
	bool tls = strncmp(url, "tls+", 4) == 0;

	if (tls && !opt_given(O_TLS_CERT)) {
		fprintf(stderr,
		        "dobjd: --listen %s needs a certificate and its key: give --tls-cert FILE "
		        "and --tls-key FILE (or DOBJ_TLS_CERT and DOBJ_TLS_KEY; the key may be in "
		        "the certificate's file)\n",
		        url);
		return -1;
	}
	if (!tls && (opt_given(O_TLS_CERT) || opt_given(O_TLS_KEY) || opt_given(O_TLS_CLIENT_CA))) {
		fprintf(
		    stderr,
		    "dobjd: --tls-cert, --tls-key and --tls-client-ca (DOBJ_TLS_CERT, "
		    "DOBJ_TLS_KEY, DOBJ_TLS_CLIENT_CA) need a tls+tcp:// --listen URL; %s is not "
		    "one\n",
		    url);
		return -1;
	}
	return 0;
}

static int
build_server_opts(dobj_server_opts *so)
{
	/* The counts and their ranges. The key limit is what PostgreSQL's primary key index
	 * holds; an alarm retry delay of 0 would double to 0 and retry at once, forever. */
	static const struct {
		int opt;
		unsigned long long min, max;
	} counts[] = {
	    {O_SHARDS, 0, 1024},
	    {O_CACHE_OBJECTS, 1, INT_MAX},
	    {O_IDLE_TIMEOUT_MS, 1, INT_MAX},
	    {O_LOAD_ALL_MAX_KEYS, 1, INT_MAX},
	    {O_MAX_BATCH, 1, INT_MAX},
	    {O_CONTEXTS, 1, 65536},
	    {O_INFLIGHT_BYTES_MAX, DOBJ_REQUEST_MAX_BYTES, 1ULL << 40},
	    {O_KEY_MAX, 1, DOBJ_KEY_MAX_LIMIT},
	    {O_VALUE_MAX, 1, INT_MAX},
	    {O_MANY_MAX, 1, INT_MAX},
	    {O_ALARM_RETRY_MS, 1, INT_MAX},
	    {O_ALARM_MAX_RETRIES, 0, INT_MAX},
	    {O_DRAIN_TIMEOUT_MS, 1, INT_MAX},
	};
	unsigned long long v[O_COUNT] = {0};
	int64_t offset_s;

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (count_opt(counts[i].opt, counts[i].min, counts[i].max, &v[counts[i].opt]) != 0)
			return -1;
	if (parse_int64(opts[O_CLOCK_OFFSET].value, &offset_s) != 0 ||
	    offset_s > 100LL * 365 * 86400 || offset_s < -100LL * 365 * 86400) {
		fprintf(stderr,
		        "dobjd: invalid value for --clock-offset: \"%s\" (expected seconds)\n",
		        opts[O_CLOCK_OFFSET].value);
		return -1;
	}
	if (apply_log_opts() != 0)
		return -1;
	if (opts[O_HTTP_LISTEN].value[0] != '\0') {
		char msg[512];

		if (dobj__http_url_check(opts[O_HTTP_LISTEN].value, msg, sizeof(msg)) != DOBJ_OK) {
			fprintf(stderr, "dobjd: --http-listen: %s\n", msg);
			return -1;
		}
	}
	if (check_tls_opts() != 0)
		return -1;
	memset(so, 0, sizeof(*so));
	so->listen_url = opts[O_LISTEN].value;
	so->database_url = opts[O_DATABASE_URL].value;
	so->shards = (unsigned)v[O_SHARDS];
	so->cache_objects = v[O_CACHE_OBJECTS];
	so->idle_timeout_ms = (int)v[O_IDLE_TIMEOUT_MS];
	so->load_all_max_keys = v[O_LOAD_ALL_MAX_KEYS];
	so->max_batch = (unsigned)v[O_MAX_BATCH];
	so->contexts = (unsigned)v[O_CONTEXTS];
	so->inflight_bytes_max = v[O_INFLIGHT_BYTES_MAX];
	so->limits.key_max = v[O_KEY_MAX];
	so->limits.value_max = v[O_VALUE_MAX];
	so->limits.many_max = v[O_MANY_MAX];
	so->clock_offset_ms = offset_s * 1000;
	so->alarm_retry_ms = (int)v[O_ALARM_RETRY_MS];
	/* 0 retries: parked at the first failure (in the options, 0 means the default) */
	so->alarm_max_retries = v[O_ALARM_MAX_RETRIES] == 0 ? -1 : (int)v[O_ALARM_MAX_RETRIES];
	so->http_listen_url = opts[O_HTTP_LISTEN].value;
	so->drain_timeout_ms = (int)v[O_DRAIN_TIMEOUT_MS];
	so->tls_cert_file = opts[O_TLS_CERT].value;
	so->tls_key_file = opts[O_TLS_KEY].value;
	so->tls_client_ca_file = opts[O_TLS_CLIENT_CA].value;
	return 0;
}

/* set_sched applies --sched to the calling thread; the threads it starts inherit it, but for
 * the commit thread, which asks for the normal policy and a short slice (thread.h). With
 * SCHED_BATCH a thread that is woken does not preempt the one running: a shard releasing a
 * commit's replies, or an nng thread, keeps its core until it blocks, instead of being
 * switched out at each wake-up it causes (docs/performance.md has the numbers). */
static int
sched_policy(int *policy)
{
	const char *v = opts[O_SCHED].value;

	if (strcmp(v, "normal") == 0)
		*policy = SCHED_OTHER;
	else if (strcmp(v, "batch") == 0)
		*policy = SCHED_BATCH;
	else {
		fprintf(stderr,
		        "dobjd: invalid value for --sched: \"%s\" (expected batch or normal)\n", v);
		return -1;
	}
	return 0;
}

static int
set_sched(void)
{
	const char *v = opts[O_SCHED].value;
	struct sched_param sp = {0};
	int policy;

	if (sched_policy(&policy) != 0)
		return -1;
	if ((errno = pthread_setschedparam(pthread_self(), policy, &sp)) != 0)
		dobj__log_warn("could not set the %s scheduling policy: %s", v, strerror(errno));
	return 0;
}

static int
run_migrate(bool status)
{
	const char *dsn = opts[O_DATABASE_URL].value;
	char err[1024];
	dobj_server_opts so;
	PGconn *conn;
	int policy;
	dobj_err rc;

	/* Every flag is checked, as serving would: a migration job that shares the server's
	 * environment fails on a bad value before it touches the database, not after. This
	 * also applies --log-level and --log-format, for PostgreSQL's notices. */
	if (build_server_opts(&so) != 0 || sched_policy(&policy) != 0)
		return 2;
	if (dsn == NULL || dsn[0] == '\0') { /* "" would be libpq's defaults: some other database */
		fprintf(stderr,
		        "dobjd: no database URL: give --database-url or DOBJ_DATABASE_URL\n");
		return 2;
	}
	dobj__log_hide_dsn(dsn);
	conn = dobj__pg_connect(dsn);
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, sizeof(err), "%s", PQerrorMessage(conn));
		dobj__log_redact(err, sizeof(err));
		fprintf(stderr, "dobjd: could not connect to PostgreSQL: %s", err);
		PQfinish(conn);
		return 1;
	}
	PQsetNoticeProcessor(conn, dobj__log_pg_notice, (void *)"migrate");
	if (status)
		rc = dobj__migrate_status(conn, opts[O_MIGRATIONS_DIR].value, stdout, err,
		                          sizeof(err));
	else
		rc = dobj__migrate_up(conn, opts[O_MIGRATIONS_DIR].value, stdout, err, sizeof(err));
	PQfinish(conn);
	if (rc != DOBJ_OK) {
		dobj__log_redact(err, sizeof(err));
		fprintf(stderr, "dobjd: migrate: %s\n", err);
		return 1;
	}
	if (!status && opts[O_MIGRATIONS_DIR].value != NULL && opts[O_MIGRATIONS_DIR].value[0])
		printf("schema is current (the migrations of %s)\n", opts[O_MIGRATIONS_DIR].value);
	else if (!status)
		printf("schema is current (%zu migrations)\n", dobj__builtin_migrations_count);
	return 0;
}

static const char *
signal_name(int sig)
{
	return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
}

/* second_signal waits, during the drain, for another stop signal and then exits at once. */
static void *
second_signal(void *arg)
{
	const sigset_t *set = arg;
	int sig = 0;

	sigwait(set, &sig);
	dobj__log_error("received %s while draining: exiting at once; calls under way get no reply",
	                signal_name(sig));
	_exit(1);
	return NULL;
}

static int
run_serve(const dobj_class *const *classes, size_t n)
{
	dobj_server_opts so;
	dobj_server *srv;
	char err[1024];
	static sigset_t set; /* read by the second_signal thread */
	pthread_t watcher;
	dobj_err rc;
	int sig = 0;
	bool wait, lost = false;

	if (build_server_opts(&so) != 0 || set_sched() != 0)
		return 2;
	/* Block the stop signals before any thread starts, so that only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (dobj_server_open(&srv, &so, err, sizeof(err)) != DOBJ_OK) {
		dobj__log_error("%s", err);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		rc = dobj_server_register(srv, classes[i]);
		if (rc != DOBJ_OK) {
			dobj__log_error("could not register class %s: %s",
			                classes[i] && classes[i]->name ? classes[i]->name
			                                               : "(null)",
			                dobj_err_str(rc));
			dobj_server_close(srv);
			return 1;
		}
	}
	for (int i = 0; i < nplugins; i++) {
		if (dobj__plugin_load(srv, plugins[i], err, sizeof(err)) != DOBJ_OK) {
			dobj__log_error("%s", err);
			dobj_server_close(srv);
			return 1;
		}
	}
	/* A standby while another dobjd holds the database's writer lock: nothing serves, and a
	 * stop signal ends the wait (the server logs why it waits). */
	while ((rc = dobj__server_take_writer(srv, &wait, err, sizeof(err))) != DOBJ_OK) {
		struct timespec second = {1, 0};

		if (!wait) {
			dobj__log_error("%s", err);
			dobj_server_close(srv);
			return 1;
		}
		if ((sig = sigtimedwait(&set, NULL, &second)) > 0) {
			dobj__log_info("received %s while standing by for the writer lock: exiting "
			               "without having served",
			               signal_name(sig));
			dobj_server_close(srv);
			return 0;
		}
	}
	if (dobj_server_start(srv, err, sizeof(err)) != DOBJ_OK) {
		dobj__log_error("%s", err);
		dobj_server_close(srv);
		return 1;
	}
	/* Serve until a stop signal, or until the commit thread finds the writer lock lost (it
	 * then commits nothing more; a fresh start is a standby with empty caches). */
	for (;;) {
		struct timespec tick = {0, 200 * 1000000L};

		if ((sig = sigtimedwait(&set, NULL, &tick)) > 0)
			break;
		if ((lost = dobj__server_lost(srv, err, sizeof(err))))
			break;
	}
	if (lost)
		dobj__log_error(
		    "lost the writer lock of this database (%s): draining (queued calls "
		    "fail), then exiting with status 1",
		    err);
	else
		dobj__log_info("received %s: draining (new calls are refused; queued calls finish "
		               "within %d ms), then exiting",
		               signal_name(sig), so.drain_timeout_ms);
	if (pthread_create(&watcher, NULL, second_signal, &set) != 0)
		dobj__log_warn("could not watch for a second signal; draining anyway");
	rc = dobj_server_drain(srv, err, sizeof(err));
	if (rc != DOBJ_OK) {
		dobj__log_error("%s; exiting with status 1", err);
		return 1; /* not closed: a wedged server must not be freed, and exit frees all */
	}
	dobj_server_close(srv);
	dobj__log_info("stopped: %s%s", err, lost ? "; exiting with status 1" : "");
	return lost ? 1 : 0;
}

int
dobj_server_main(int argc, char **argv, const dobj_class *const *classes, size_t n)
{
	const char *words[2];
	int nwords;

	switch (info_asked(argc, argv)) {
	case ASK_HELP:
		usage(stdout);
		return 0;
	case ASK_VERSION:
		printf("dobjd %s\n", DOBJ_VERSION_STRING);
		return 0;
	}
	if (parse_args(argc, argv, words, 2, &nwords) != 0)
		return 2;
	if (nwords == 0 || (nwords == 1 && strcmp(words[0], "serve") == 0))
		return run_serve(classes, n);
	if (strcmp(words[0], "migrate") == 0) {
		if (nwords == 1)
			return run_migrate(false);
		if (strcmp(words[1], "status") == 0)
			return run_migrate(true);
	}
	fprintf(stderr, "dobjd: unknown command \"%s%s%s\" (see dobjd --help)\n", words[0],
	        nwords > 1 ? " " : "", nwords > 1 ? words[1] : "");
	return 2;
}
