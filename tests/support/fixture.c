// SPDX-License-Identifier: MIT
// fixture.c - real services for integration tests: fresh databases on the PostgreSQL of
// DOBJ_TEST_DATABASE_URL, dobjd processes on free ports, and running commands.
// Failures fail the current test (Criterion); call these from the test's main thread. Every
// dobjd started here is killed when the test process exits, however the test ends.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "fixture.h"

#define FX_START_TIMEOUT_MS 20000
#define FX_STOP_TIMEOUT_MS 30000
#define FX_RUN_TIMEOUT_MS 120000
#define FX_MAX_CHILDREN 64
#define FX_LOG_TAIL 4096

// The dobjd processes still running, killed by fx_children_reap() at exit.
static pid_t fx_children[FX_MAX_CHILDREN];
static int fx_atexit_done;
static atomic_uint fx_counter;

int64_t
fx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fx_nap_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
fx_children_reap(void)
{
	for (int i = 0; i < FX_MAX_CHILDREN; i++) {
		if (fx_children[i] > 0) {
			kill(fx_children[i], SIGKILL);
			waitpid(fx_children[i], NULL, 0);
			fx_children[i] = 0;
		}
	}
}

static void
fx_children_add(pid_t pid)
{
	if (!fx_atexit_done) {
		atexit(fx_children_reap);
		fx_atexit_done = 1;
	}
	for (int i = 0; i < FX_MAX_CHILDREN; i++) {
		if (fx_children[i] == 0) {
			fx_children[i] = pid;
			return;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_fail("more than %d dobjd processes in one test", FX_MAX_CHILDREN);
}

static void
fx_children_del(pid_t pid)
{
	for (int i = 0; i < FX_MAX_CHILDREN; i++)
		if (fx_children[i] == pid)
			fx_children[i] = 0;
}

// fx_base_dsn is the server every test database is created on.
static const char *
fx_base_dsn(void)
{
	const char *dsn = getenv("DOBJ_TEST_DATABASE_URL");

	cr_assert(
	    dsn != NULL && dsn[0] != '\0',
	    "DOBJ_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, or start a "
	    "PostgreSQL with scripts/pg.sh start DIR and export its DSN");
	return dsn;
}

// fx_dsn_with_db rewrites base (a URI or a key=value string) to name database name.
static void
fx_dsn_with_db(char *out, size_t outlen, const char *base, const char *name)
{
	size_t n;

	if (strncmp(base, "postgresql://", 13) == 0 || strncmp(base, "postgres://", 11) == 0) {
		const char *auth = strstr(base, "://") + 3;
		const char *path = auth + strcspn(auth, "/?");
		const char *query = path + strcspn(path, "?");

		n = (size_t)snprintf(out, outlen, "%.*s/%s%s", (int)(path - base), base, name,
		                     query);
	} else {
		n = (size_t)snprintf(out, outlen, "%s dbname=%s", base, name);
	}
	cr_assert(n < outlen, "DSN too long: %s", base);
}

static PGconn *
fx_connect(const char *dsn)
{
	PGconn *conn = PQconnectdb(dsn);

	if (PQstatus(conn) != CONNECTION_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
		PQfinish(conn);
		cr_assert_fail("could not connect to %s: %s", dsn, msg);
	}
	return conn;
}

// fx_exec runs sql on a new connection to dsn and fails the test on an SQL error.
static void
fx_exec(const char *dsn, const char *sql)
{
	PGconn *conn = fx_connect(dsn);
	PGresult *res = PQexec(conn, sql);
	char msg[512];

	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK) {
		PQclear(res);
		PQfinish(conn);
		return;
	}
	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	cr_assert_fail("%s: %s", sql, msg);
}

void
fx_db_create(fx_db *db, bool migrate)
{
	fx_db_create_with(db, migrate, "");
}

void
fx_db_create_with(fx_db *db, bool migrate, const char *options)
{
	const char *base = fx_base_dsn();
	uint32_t rnd = 0;
	char sql[256];

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)fx_now_ms();
	snprintf(db->name, sizeof(db->name), "dobj_t_%ld_%u_%08x", (long)getpid(),
	         atomic_fetch_add(&fx_counter, 1), rnd);
	fx_dsn_with_db(db->dsn, sizeof(db->dsn), base, db->name);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s %s", db->name, options);
	fx_exec(base, sql);
	if (migrate) {
		const char *argv[] = {fx_bin("dobjd"), "migrate", "--database-url", db->dsn, NULL};
		char out[4096], err[4096];
		int st = fx_run(argv, out, sizeof(out), err, sizeof(err));

		cr_assert(st == 0, "dobjd migrate on %s exited with %d:\n%s%s", db->name, st, out,
		          err);
	}
}

void
fx_db_drop(fx_db *db)
{
	char sql[128];

	if (db->name[0] == '\0')
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db->name);
	fx_exec(fx_base_dsn(), sql);
	db->name[0] = '\0';
}

char *
fx_db_query1(fx_db *db, const char *sql)
{
	PGconn *conn = fx_connect(db->dsn);
	PGresult *res = PQexec(conn, sql);
	char *val = NULL;
	char msg[512];

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		cr_assert_fail("%s: %s", sql, msg);
	}
	if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
		val = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return val;
}

long
fx_db_query_long(fx_db *db, const char *sql)
{
	char *v = fx_db_query1(db, sql);
	long n = v ? strtol(v, NULL, 10) : -1;

	free(v);
	return n;
}

// fx_free_port finds a free loopback port below the ephemeral range (32768 and up on Linux),
// so that no client connection of a parallel test can take it as its source port between
// this check and dobjd's bind: random ports, each tried with a bind. A port handed out lately
// in this process is not handed out again: nothing holds it until its dobjd binds it, so the
// HTTP port and the RPC port of one server could otherwise come out the same.
static int
fx_free_port(void)
{
	static atomic_ushort given[64];
	static atomic_uint ngiven;

	for (int tries = 0; tries < 200; tries++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		uint16_t r, port;
		int fd;
		bool ok = true;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint16_t)(getpid() + tries);
		port = (uint16_t)(20000 + r % 12000);
		for (size_t i = 0; i < sizeof(given) / sizeof(given[0]) && ok; i++)
			ok = atomic_load(&given[i]) != port;
		if (!ok)
			continue;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		cr_assert(fd >= 0, "socket: %s", strerror(errno));
		sa.sin_port = htons(port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok) {
			atomic_store(&given[atomic_fetch_add(&ngiven, 1) %
			                    (sizeof(given) / sizeof(given[0]))],
			             port);
			return port;
		}
	}
	cr_assert_fail("could not find a free port below 32000");
	return -1;
}

static bool
fx_port_accepts(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

bool
fx_log_contains(const char *path, const char *needle)
{
	static char buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

// fx_log_tail prints the last FX_LOG_TAIL bytes of a dobjd log to stderr.
static void
fx_log_tail(const char *path)
{
	char buf[FX_LOG_TAIL + 1];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return;
	if (fseek(f, -FX_LOG_TAIL, SEEK_END) != 0)
		rewind(f);
	n = fread(buf, 1, FX_LOG_TAIL, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "---- last lines of %s ----\n%s\n---- end of %s ----\n", path, buf, path);
}

// fx_wait_until waits for pid until deadline (ms, monotonic); true and *status if it exited.
static bool
fx_wait_until(pid_t pid, int64_t deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return true;
		if (fx_now_ms() >= deadline)
			return false;
		fx_nap_ms(10);
	}
}

// fx_status_str describes a wait status ("exit status 3", "signal 9").
static const char *
fx_status_str(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "wait status 0x%x", status);
	return buf;
}

static const char *fx_server_binary = "dobjd";

void
fx_server_use(const char *name)
{
	fx_server_binary = name;
}

// fx_spawn forks dobjd serving db on s->port with the extra arguments; its log goes to a new
// s->log_path.
static void
fx_spawn(fx_server *s, fx_db *db, const char *const *extra_args)
{
	static atomic_uint starts;
	const char *argv[64];
	size_t argc = 0;
	pid_t pid;

	snprintf(s->url, sizeof(s->url), "tcp://127.0.0.1:%d", s->port);
	mkdir(DOBJ_BUILD_DIR "/test-logs", 0755);
	if ((size_t)snprintf(s->log_path, sizeof(s->log_path), "%s/test-logs/dobjd-%ld-%u-%d.log",
	                     DOBJ_BUILD_DIR, (long)getpid(), atomic_fetch_add(&starts, 1),
	                     s->port) >= sizeof(s->log_path))
		snprintf(s->log_path, sizeof(s->log_path), "/tmp/dobjd-%ld-%d.log", (long)getpid(),
		         s->port);

	argv[argc++] = fx_bin(fx_server_binary);
	argv[argc++] = "serve";
	argv[argc++] = "--listen";
	argv[argc++] = s->url;
	argv[argc++] = "--database-url";
	argv[argc++] = db->dsn;
	// No HTTP endpoint unless a test asks for one (a later --http-listen wins): parallel
	// dobjd processes must not compete for the default port.
	argv[argc++] = "--http-listen";
	argv[argc++] = "";
	// Readiness is read from the info line "listening on ..." (DOBJ_LOG_LEVEL may say
	// otherwise in the environment; a later --log-level of the test wins).
	argv[argc++] = "--log-level";
	argv[argc++] = "info";
	for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL; i++) {
		cr_assert(argc < sizeof(argv) / sizeof(argv[0]) - 1, "too many dobjd arguments");
		argv[argc++] = extra_args[i];
	}
	argv[argc] = NULL;
	/* a later --listen wins, in dobjd and here: readiness is read from its URL */
	for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
		if (strcmp(extra_args[i], "--listen") == 0 && extra_args[i + 1] != NULL)
			snprintf(s->url, sizeof(s->url), "%s", extra_args[i + 1]);

	fflush(NULL);
	pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);

		// Die with the test, even when it crashes before its atexit handlers run.
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0 || nul < 0)
			_exit(127);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "fixture: could not run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	s->pid = pid;
	fx_children_add(pid);
}

// fx_serving says whether s serves: its own log says it listens (another test's dobjd may
// hold the port meanwhile) and the port accepts.
static bool
fx_serving(fx_server *s)
{
	char ready[FX_URL_MAX + 32];

	snprintf(ready, sizeof(ready), "listening on %s ", s->url);
	return fx_port_accepts(s->port) && fx_log_contains(s->log_path, ready);
}

void
fx_server_start(fx_server *s, fx_db *db, int port, const char *const *extra_args)
{
	char desc[64];
	int tries = 0;
	int64_t deadline;
	int status;

	memset(s, 0, sizeof(*s));
	s->port = port > 0 ? port : fx_free_port();
again:
	fx_spawn(s, db, extra_args);
	deadline = fx_now_ms() + FX_START_TIMEOUT_MS;
	for (;;) {
		if (fx_serving(s))
			return;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fx_children_del(s->pid);
			s->pid = 0;
			if (port == 0 && tries < 3 &&
			    fx_log_contains(s->log_path, "Address in use")) {
				/* a parallel test took the port between the check and the bind */
				tries++;
				s->port = fx_free_port();
				goto again;
			}
			fx_log_tail(s->log_path);
			cr_assert_fail("dobjd exited during start (%s); log in %s",
			               fx_status_str(status, desc, sizeof(desc)), s->log_path);
		}
		if (fx_now_ms() >= deadline) {
			fx_server_kill(s, SIGKILL);
			fx_log_tail(s->log_path);
			cr_assert_fail(
			    "dobjd did not accept connections on %s within %d ms; log in %s",
			    s->url, FX_START_TIMEOUT_MS, s->log_path);
		}
		fx_nap_ms(20);
	}
}

void
fx_server_spawn(fx_server *s, fx_db *db, int port, const char *const *extra_args)
{
	memset(s, 0, sizeof(*s));
	s->port = port > 0 ? port : fx_free_port();
	fx_spawn(s, db, extra_args);
}

bool
fx_server_serving(fx_server *s)
{
	return s->pid > 0 && fx_serving(s);
}

void
fx_server_await(fx_server *s, int timeout_ms)
{
	int64_t deadline = fx_now_ms() + timeout_ms;
	char desc[64];
	int status;

	while (!fx_serving(s)) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fx_children_del(s->pid);
			s->pid = 0;
			fx_log_tail(s->log_path);
			cr_assert_fail("dobjd exited before it served (%s); log in %s",
			               fx_status_str(status, desc, sizeof(desc)), s->log_path);
		}
		if (fx_now_ms() >= deadline) {
			fx_log_tail(s->log_path);
			cr_assert_fail("dobjd did not serve on %s within %d ms; log in %s", s->url,
			               timeout_ms, s->log_path);
		}
		fx_nap_ms(20);
	}
}

bool
fx_server_exited(fx_server *s, int timeout_ms, int *status)
{
	if (s->pid <= 0)
		return true;
	if (!fx_wait_until(s->pid, fx_now_ms() + timeout_ms, status))
		return false;
	fx_children_del(s->pid);
	s->pid = 0;
	return true;
}

int
fx_server_kill(fx_server *s, int sig)
{
	int status = 0;
	pid_t pid = s->pid;

	if (pid <= 0)
		return 0;
	kill(pid, sig);
	if (!fx_wait_until(pid, fx_now_ms() + FX_STOP_TIMEOUT_MS, &status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fx_children_del(pid);
		s->pid = 0;
		fx_log_tail(s->log_path);
		cr_assert_fail("dobjd did not exit within %d ms of signal %d; killed it",
		               FX_STOP_TIMEOUT_MS, sig);
	}
	fx_children_del(pid);
	s->pid = 0;
	return status;
}

void
fx_server_stop(fx_server *s)
{
	int status = fx_server_kill(s, SIGTERM);
	char desc[64];

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fx_log_tail(s->log_path);
		cr_assert_fail("dobjd did not exit cleanly on SIGTERM (%s); log in %s",
		               fx_status_str(status, desc, sizeof(desc)), s->log_path);
	}
}

// fx_buf_read appends what fd has to buf (keeping at most cap-1 bytes); false at EOF.
static bool
fx_buf_read(int fd, char *buf, size_t cap, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (buf != NULL && cap > 0 && *len < cap - 1) {
		size_t k = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;

		memcpy(buf + *len, tmp, k);
		*len += k;
		buf[*len] = '\0';
	}
	return true;
}

int
fx_run(const char *const *argv, char *out, size_t outlen, char *err, size_t errlen)
{
	int po[2], pe[2], status = 0;
	size_t olen = 0, elen = 0;
	bool o_open = true, e_open = true;
	int64_t deadline = fx_now_ms() + FX_RUN_TIMEOUT_MS;
	pid_t pid;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	cr_assert(pipe(po) == 0 && pipe(pe) == 0, "pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fcntl(po[i], F_SETFD, FD_CLOEXEC);
		fcntl(pe[i], F_SETFD, FD_CLOEXEC);
	}
	fflush(NULL);
	pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "fixture: could not run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while (o_open || e_open) {
		struct pollfd pf[2] = {{.fd = o_open ? po[0] : -1, .events = POLLIN},
		                       {.fd = e_open ? pe[0] : -1, .events = POLLIN}};
		int64_t left = deadline - fx_now_ms();

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pf, 2, (int)(left < 1000 ? left : 1000)) < 0 && errno != EINTR)
			break;
		if (o_open && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			o_open = fx_buf_read(po[0], out, outlen, &olen);
		if (e_open && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
			e_open = fx_buf_read(pe[0], err, errlen, &elen);
	}
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

const char *
fx_bin(const char *name)
{
	static const char *const dirs[] = {
	    "server",           "examples",    "tools", "tools/dobjctl",
	    "tools/dobj-bench", "sdk/codegen", "tests", ""};
	static char path[512];

	if (strcmp(name, "dobjd") == 0)
		return DOBJD_PATH;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", DOBJ_BUILD_DIR, dirs[i], name);
		struct stat st;

		/* a file: tools/dobj-bench is also the directory that holds dobj-bench */
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
			return path;
	}
	cr_assert_fail("no built binary %s under %s", name, DOBJ_BUILD_DIR);
	return NULL;
}

int
fx_port(void)
{
	return fx_free_port();
}

// fx_pg_sh runs scripts/pg.sh with cmd on pg's directory (and port), stdout into out.
static void
fx_pg_sh(fx_pg *pg, const char *cmd, bool with_port, char *out, size_t outlen)
{
	const char *argv[] = {DOBJ_SOURCE_DIR "/scripts/pg.sh", cmd, pg->dir,
	                      with_port ? pg->port : NULL, NULL};
	char err[4096];
	int st = fx_run(argv, out, outlen, err, sizeof(err));

	cr_assert(st == 0, "pg.sh %s %s failed (%d): %s", cmd, pg->dir, st, err);
}

void
fx_pg_private(fx_pg *pg)
{
	char dsn[FX_DSN_MAX];
	size_t n;

	snprintf(pg->dir, sizeof(pg->dir), "/tmp/dobj-fxpg-%ld-%u", (long)getpid(),
	         atomic_fetch_add(&fx_counter, 1));
	snprintf(pg->port, sizeof(pg->port), "%d", fx_free_port());
	fx_pg_sh(pg, "start", true, dsn, sizeof(dsn));
	n = strlen(dsn);
	while (n > 0 && dsn[n - 1] == '\n')
		dsn[--n] = '\0';
	cr_assert(n > 0, "pg.sh start printed no DSN");
	setenv("DOBJ_TEST_DATABASE_URL", dsn, 1);
}

void
fx_pg_stop(fx_pg *pg)
{
	fx_pg_sh(pg, "stop", false, NULL, 0);
}

void
fx_pg_start(fx_pg *pg)
{
	char dsn[FX_DSN_MAX];

	fx_pg_sh(pg, "start", true, dsn, sizeof(dsn));
}

void
fx_pg_destroy(fx_pg *pg)
{
	const char *argv[] = {"/bin/rm", "-rf", pg->dir, NULL};

	if (pg->dir[0] == '\0')
		return;
	fx_pg_stop(pg);
	fx_run(argv, NULL, 0, NULL, 0);
	pg->dir[0] = '\0';
}
