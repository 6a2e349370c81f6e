/* SPDX-License-Identifier: MIT */
/*
 * dobj/client.h - calling objects from a client process.
 *
 * A dobj_client is one nng req socket dialled to a dobjd; it is thread-safe and carries any
 * number of concurrent calls (each on its own nng context). A stub names one object
 * (class and id); stubs are plain values, cheap to make and to copy.
 *
 * Calls are never retried blindly: a call whose request may have reached the server and
 * whose reply was lost fails with DOBJ_UNAVAILABLE or DOBJ_DEADLINE_EXCEEDED, and the
 * caller decides. One refusal is sent again by the client itself: a server that is shutting
 * down answers new calls UNAVAILABLE without running them, saying so on the wire, and the
 * client sends such a call again after a backoff (5-10 ms, doubling up to 0.5-1 s) for as
 * long as its deadline allows, so that a restarted or standby server takes it, as after a
 * lost connection. If none does, the call fails UNAVAILABLE with the first refusal's message
 * and their count ("server is shutting down (refusals: N; no server took the call within T
 * ms)").
 */
#ifndef DOBJ_CLIENT_H
#define DOBJ_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <dobj/err.h>
#include <dobj/id.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOBJ_CLASS_NAME_MAX 127 /* bytes, without the NUL */
#define DOBJ_DEFAULT_TIMEOUT_MS 30000

typedef struct dobj_client dobj_client;

/* dobj_client_opts: how to reach the server. Zeroed fields take their defaults.
 *
 * TLS (tls+tcp://host:port only; a TLS field with another URL is DOBJ_INVALID_ARGUMENT): the
 * client verifies the server's certificate against tls_ca_file and its name against
 * tls_server_name, so one of tls_ca_file and tls_insecure_skip_verify is required. Files are
 * PEM, read once by dobj_client_open; keys must not be encrypted. With nng's mbedTLS 2.x a
 * server reached by IP address is matched on DNS names only: its certificate needs the
 * address as a DNS name in its subjectAltName, or give tls_server_name. */
typedef struct dobj_client_opts {
	const char *url;         /* required: tcp://host:port, ipc:///path or tls+tcp://host:port */
	int default_timeout_ms;  /* per-call deadline when a call gives none; 0 = 30000 */
	const char *tls_ca_file; /* CA certificate(s) that signed the server's certificate */
	const char *tls_server_name; /* the name the server's certificate must carry [URL's host] */
	const char *tls_cert_file;   /* a client certificate, for servers that require one
	                              * (dobjd --tls-client-ca: mutual TLS) [none] */
	const char *tls_key_file;    /* its private key [NULL: in tls_cert_file] */
	/* tls_insecure_skip_verify: nonzero accepts any server certificate and name, without a CA
	 * (anyone on the path can read and change the calls). Tests and labs only. */
	int tls_insecure_skip_verify;
} dobj_client_opts;

/* dobj_client_open dials opts->url and returns a client in *out. The dial is asynchronous:
 * a server that is not up yet is retried in the background, and calls made meanwhile wait
 * until their deadline (DEADLINE_EXCEEDED, "request not sent"). A TLS handshake that fails
 * (wrong CA or server name, a client certificate missing or refused, a server without TLS) is
 * retried the same way, but calls without a connection then fail at once with
 * DOBJ_UNAVAILABLE: "no connection to URL: TLS handshake failed: <nng's reason>; request not
 * sent (failed connection attempts: ...)". That is at the first failure on a certificate or the
 * TLS exchange if the client never connected, else after three failed handshakes in a row (a
 * server that restarts may fail one); calls wait again from the next connection on. A TLS
 * client dials on a thread of its own. DOBJ_INVALID_ARGUMENT for a missing or malformed URL, or TLS options that do not
 * fit it (see dobj_client_opts) or files mbedTLS refuses; DOBJ_NOT_FOUND for a TLS file that
 * does not exist. Free with dobj_client_close(). */
DOBJ_API dobj_err dobj_client_open(dobj_client **out, const dobj_client_opts *opts);

/* dobj_client_open_err is dobj_client_open that also says why it failed in errbuf (if not
 * NULL): which option or file, and errno's or mbedTLS's reason. */
DOBJ_API dobj_err dobj_client_open_err(dobj_client **out, const dobj_client_opts *opts,
                                       char *errbuf, size_t errlen);

/* dobj_client_close cancels every call in flight (their callbacks run with DOBJ_CANCELLED),
 * waits for those callbacks to return, and frees c. NULL is allowed. Never call it from a
 * call's callback. nng before 1.8 can hang for good in a socket's close, or in a TLS dial whose
 * connection closes mid-handshake (nng issues 1543 and 1813): close waits for those 1 s and
 * 2 s at most and then leaves them behind, with the socket and, for the dial, c's memory. */
DOBJ_API void dobj_client_close(dobj_client *c);

/* dobj_stub: one object, addressed by class and id. A plain value: copy it freely. The
 * client it names must outlive its use. */
typedef struct dobj_stub {
	dobj_client *client;
	char class_name[DOBJ_CLASS_NAME_MAX + 1];
	dobj_id id;
} dobj_stub;

/* dobj_stub_from_id makes a stub for (class_name, *id). DOBJ_INVALID_ARGUMENT if the class
 * name is empty or longer than DOBJ_CLASS_NAME_MAX. */
DOBJ_API dobj_err dobj_stub_from_id(dobj_client *c, const char *class_name, const dobj_id *id,
                                    dobj_stub *out);

/* dobj_stub_from_name makes a stub for the object named `name` (idFromName). */
DOBJ_API dobj_err dobj_stub_from_name(dobj_client *c, const char *class_name, const char *name,
                                      dobj_stub *out);

/* dobj_singleton is dobj_stub_from_name under the seed's name: the same name always
 * reaches the same object. */
DOBJ_API dobj_err dobj_singleton(dobj_client *c, const char *class_name, const char *name,
                                 dobj_stub *out);

/* dobj_stub_unique makes a stub for a new object with a random id (newUniqueId). */
DOBJ_API dobj_err dobj_stub_unique(dobj_client *c, const char *class_name, dobj_stub *out);

/* dobj_stub_from_string makes a stub from a 64-character hex id (idFromString); bad hex is
 * DOBJ_INVALID_ARGUMENT. */
DOBJ_API dobj_err dobj_stub_from_string(dobj_client *c, const char *class_name, const char *hex,
                                        dobj_stub *out);

/* dobj_reply: the outcome of one call. On DOBJ_OK, data/len hold the method's encoded result
 * (possibly empty); otherwise message says what went wrong (never NULL). */
typedef struct dobj_reply {
	dobj_err status;
	char *message;
	uint8_t *data;
	size_t len;
} dobj_reply;

/* dobj_reply_fini frees what r holds (not r itself) and zeroes it. NULL is allowed. */
DOBJ_API void dobj_reply_fini(dobj_reply *r);

struct ProtobufCMessage;
struct ProtobufCMessageDescriptor;

/* dobj_reply_unpack decodes the result of r (an OK reply) as a `type` message, or returns NULL:
 * bytes that are not such a message, or that would take more than 4 times their size plus
 * 64 MiB (4 * DOBJ_MESSAGE_MAX) to decode (a great many tiny or unknown fields, from a broken
 * or hostile server), or out of memory. Free the message with
 * protobuf_c_message_free_unpacked(m, NULL). The generated stubs decode their results with it. */
DOBJ_API struct ProtobufCMessage *dobj_reply_unpack(const dobj_reply *r,
                                                    const struct ProtobufCMessageDescriptor *type);

/* dobj_error: a failed call's code and message, as the typed stubs generated by protoc-gen-dobj
 * report it. A stub sets code to DOBJ_OK and message to "" on success; a longer message is
 * truncated. A plain value: embed it, no cleanup. */
typedef struct dobj_error {
	dobj_err code;
	char message[256];
} dobj_error;

/* dobj_call_opts: per-call settings; NULL means the client's defaults. The server counts the
 * timeout again from when the request reaches it, and does not start a call still queued past
 * it; a call made while the client has no connection waits for one (up to its deadline, or
 * until a TLS client gives up on its handshakes) and then carries only the time it has left. */
typedef struct dobj_call_opts {
	int timeout_ms; /* deadline from now, carried to the server; 0 = client default */
} dobj_call_opts;

/* dobj_call calls `method` on the stub's object with the encoded argument arg[0..len) and
 * waits for the reply. Returns reply->status; *reply is always filled and must be released
 * with dobj_reply_fini(). An argument over DOBJ_MESSAGE_MAX - 4096 bytes, an empty method or
 * a negative timeout is DOBJ_INVALID_ARGUMENT, and nothing is sent. Transport failures are
 * reported as DOBJ_UNAVAILABLE (could not send, or the connection was lost after sending: the
 * call may have run; or a TLS client's handshakes keep failing, "request not sent", see
 * dobj_client_open), DOBJ_DEADLINE_EXCEEDED (no connection in time, "request not sent"; or no
 * reply in time) or DOBJ_CANCELLED (client closed). */
DOBJ_API dobj_err dobj_call(const dobj_stub *s, const char *method, const void *arg, size_t len,
                            const dobj_call_opts *opts, dobj_reply *reply);

/* dobj_call_cb: runs exactly once per started asynchronous call, on one of nng's threads.
 * `reply` is owned by the library and valid until the callback returns; the callback may
 * take reply->data by setting the field to NULL, and should copy reply->message rather than
 * take it (out of memory, it is the library's static text). It must not block for
 * long and must not call dobj_client_close(). */
typedef void (*dobj_call_cb)(void *cbarg, dobj_reply *reply);

/* dobj_call_async starts a call and returns at once, arg already copied into the request.
 * DOBJ_OK means cb will run exactly once; any other return means the call was not started and
 * cb will not run. */
DOBJ_API dobj_err dobj_call_async(const dobj_stub *s, const char *method, const void *arg,
                                  size_t len, const dobj_call_opts *opts, dobj_call_cb cb,
                                  void *cbarg);

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_CLIENT_H */
