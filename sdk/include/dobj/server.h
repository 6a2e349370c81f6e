/* SPDX-License-Identifier: MIT */
/*
 * dobj/server.h - running a dobj server: the stock dobjd, or a user's own binary.
 *
 * A server listens on one nng URL, owns N shard threads with one PostgreSQL connection each,
 * a commit thread, an alarm poller and (unless turned off) an HTTP port, each with a
 * connection of its own, and runs the registered classes beside the built-in dobj.Echo.
 * dobj_server_main() is the whole of dobjd's main(): a user's server binary is a main.c that
 * passes its classes to it.
 */
#ifndef DOBJ_SERVER_H
#define DOBJ_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <dobj/err.h>
#include <dobj/object.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dobj_limits: storage limits enforced on every call; zero fields take the defaults. */
typedef struct dobj_limits {
	size_t key_max;   /* bytes per key; default 2048 */
	size_t value_max; /* bytes per value; default 131072 */
	size_t many_max;  /* keys per get_many/put_many/delete_many; default 128 */
} dobj_limits;

#define DOBJ_DEFAULT_KEY_MAX 2048
/* DOBJ_KEY_MAX_LIMIT: the largest key_max a server takes. A key is part of the storage table's
 * primary key, and PostgreSQL's btree refuses index rows over 2704 bytes (class, id and key
 * together) at COMMIT, failing the whole batch the key was written in. */
#define DOBJ_KEY_MAX_LIMIT 2400
#define DOBJ_DEFAULT_VALUE_MAX (128 * 1024)
#define DOBJ_DEFAULT_MANY_MAX 128
/* The largest request a server receives, in bytes on the wire: above the client's 16 MiB, so
 * that the client refuses a request too large before sending it. */
#define DOBJ_REQUEST_MAX_BYTES (17u << 20)
#define DOBJ_DEFAULT_INFLIGHT_BYTES_MAX (256u << 20)

/* dobj_server_opts: zeroed fields take the defaults in brackets. */
typedef struct dobj_server_opts {
	const char *listen_url;   /* tcp://, ipc:// or tls+tcp:// [tcp://127.0.0.1:7700] */
	const char *database_url; /* libpq connection string or URI; required */
	unsigned shards;          /* shard threads [one per core] */
	dobj_limits limits;
	size_t cache_objects;     /* live objects kept per server, split evenly among the
	                           * shards [100000] */
	int idle_timeout_ms;      /* an idle object is evicted after this [300000] */
	size_t load_all_max_keys; /* activation loads all keys of objects up to this size [1000] */
	unsigned max_batch;       /* calls a shard runs per pass; batch size it hands over [512] */
	unsigned contexts;        /* concurrent requests the listener accepts [1024] */
	int64_t clock_offset_ms;  /* the server clock runs this far ahead (tests, drills) [0] */
	int alarm_retry_ms;       /* delay before a failed alarm's first retry, doubling [2000] */
	int alarm_max_retries;    /* retries before a failing alarm is parked [6]; -1: none */
	/* http_listen_url: http://HOST:PORT for /healthz, /readyz and /metrics
	 * [http://127.0.0.1:9700]; "" serves no HTTP. */
	const char *http_listen_url;
	/* drain_timeout_ms: how long dobj_server_drain lets queued and running calls finish
	 * [25000] */
	int drain_timeout_ms;
	/* TLS for a tls+tcp:// listen_url, which requires tls_cert_file (and refuses these fields
	 * with any other URL). PEM files, read by dobj_server_open; a key must not be encrypted.
	 * Changing a file takes a restart. */
	const char *tls_cert_file; /* the server's certificate, followed by its chain */
	const char *tls_key_file;  /* its private key [NULL: in tls_cert_file] */
	/* tls_client_ca_file: if set, a client must present a certificate signed by these CAs
	 * (mutual TLS); if NULL, clients present none. */
	const char *tls_client_ca_file;
	/* inflight_bytes_max: the memory budget for requests, as the bytes on the wire of the
	 * requests received and not yet answered (queued, running or waiting for their commit)
	 * and of the replies being sent.
	 * A request that would pass it is answered DOBJ_RESOURCE_EXHAUSTED at once, without
	 * decoding, so that a burst of large requests cannot hold much more memory than this
	 * (a request's decoded copy is about its size). At least DOBJ_REQUEST_MAX_BYTES, so that
	 * any one request fits [DOBJ_DEFAULT_INFLIGHT_BYTES_MAX: 256 MiB]. */
	size_t inflight_bytes_max;
} dobj_server_opts;

typedef struct dobj_server dobj_server;

/* dobj_server_open checks the options (a database URL; key_max at most DOBJ_KEY_MAX_LIMIT),
 * connects each shard to PostgreSQL, verifies that the database is UTF8 or SQL_ASCII and that
 * the schema is current, and returns a server that is not yet listening. On failure *out is
 * NULL and errbuf (if not NULL) holds the reason. Free with dobj_server_close(). */
DOBJ_API dobj_err dobj_server_open(dobj_server **out, const dobj_server_opts *opts, char *errbuf,
                                   size_t errlen);

/* dobj_server_register makes class cls callable; the server copies *cls (see dobj_class for
 * what must stay valid).
 * DOBJ_ALREADY_EXISTS if a class of that name is registered; DOBJ_INVALID_ARGUMENT for a
 * class name that is empty, over DOBJ_CLASS_NAME_MAX bytes or not UTF-8, a method without a
 * function, or method names that are empty, repeated or not UTF-8; only before
 * dobj_server_start. */
DOBJ_API dobj_err dobj_server_register(dobj_server *s, const dobj_class *cls);

/* dobj_server_start takes the database's writer lock, then starts the shards and the listener.
 * One server writes a database at a time: while another holds the lock (a session-level
 * PostgreSQL advisory lock on its commit connection), this call waits, trying again every
 * second, with the HTTP port (if any) up and /readyz answering 503 with the holder. Should the
 * lock be lost later (the commit connection was re-made and another session had taken the
 * lock, or written, meanwhile), every commit fails from then on: drain and close the server,
 * and start a new one. */
DOBJ_API dobj_err dobj_server_start(dobj_server *s, char *errbuf, size_t errlen);

/* dobj_server_drain is the graceful shutdown: at once, readiness (/readyz) turns 503 and new
 * calls are answered UNAVAILABLE ("server is shutting down"); the calls already queued or
 * running finish, commit and are answered; then the threads stop. It takes at most
 * opts.drain_timeout_ms: calls still queued then are answered UNAVAILABLE without running.
 * DOBJ_OK when every call was served; DOBJ_DEADLINE_EXCEEDED when the timeout passed, with
 * errbuf saying what was cut short. If a turn or commit was still running after the timeout
 * (plus one second), the server is left running and dobj_server_close() will not free it:
 * exit the process. Idempotent; never call it from a handler. */
DOBJ_API dobj_err dobj_server_drain(dobj_server *s, char *errbuf, size_t errlen);

/* dobj_server_stop is dobj_server_drain, ignoring its outcome. */
DOBJ_API void dobj_server_stop(dobj_server *s);

/* dobj_server_close stops the server if needed and frees it. NULL is allowed. */
DOBJ_API void dobj_server_close(dobj_server *s);

/* dobj_server_advance_clock moves the server clock (dobj_ctx_now_ms, alarm due times) forward
 * by delta_ms and looks for due alarms at once. For tests and drills: an alarm due in a day
 * fires without waiting a day. The clock is process-wide. */
DOBJ_API void dobj_server_advance_clock(dobj_server *s, int64_t delta_ms);

/* dobj_server_main is a complete dobjd: it parses argv (`dobjd --help` lists the flags;
 * `dobjd migrate [status]` manages the schema), registers the n classes, serves until
 * SIGTERM or SIGINT, and returns the process exit status. */
DOBJ_API int dobj_server_main(int argc, char **argv, const dobj_class *const *classes, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_SERVER_H */
