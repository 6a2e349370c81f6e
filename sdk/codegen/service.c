// SPDX-License-Identifier: MIT
// service.c - the service emitter: per service, the client stubs (synchronous over dobj_call,
// asynchronous over dobj_call_async), the handler table, one dispatch function per rpc, the
// dobj_class and its register function. The file's frame is gen.c's; names are names.c's.

#include <stdlib.h>
#include <string.h>

#include "codegen.h"

/* The file-local helpers every generated .c with a service starts with. */
static const char service_helpers[] =
    "\n"
    "/* error_set fills err (NULL is allowed) with code and message. */\n"
    "static void\n"
    "error_set(dobj_error *err, dobj_err code, const char *message)\n"
    "{\n"
    "\tif (err == NULL)\n"
    "\t\treturn;\n"
    "\terr->code = code;\n"
    "\tsnprintf(err->message, sizeof(err->message), \"%s\", message != NULL ? message : \"\");\n"
    "}\n"
    "\n"
    "/* call_sync encodes req, calls method on the stub's object and decodes the reply as a rep\n"
    " * into *out (NULL unless DOBJ_OK). */\n"
    "static dobj_err\n"
    "call_sync(const dobj_stub *s, const char *method, const ProtobufCMessage *req,\n"
    "          const ProtobufCMessageDescriptor *rep, const dobj_call_opts *opts, "
    "ProtobufCMessage **out,\n"
    "          dobj_error *err)\n"
    "{\n"
    "\tsize_t len = protobuf_c_message_get_packed_size(req);\n"
    "\tuint8_t *buf = malloc(len > 0 ? len : 1);\n"
    "\tdobj_reply r;\n"
    "\tdobj_err rc;\n"
    "\n"
    "\t*out = NULL;\n"
    "\tif (buf == NULL) {\n"
    "\t\terror_set(err, DOBJ_RESOURCE_EXHAUSTED, \"out of memory encoding the request\");\n"
    "\t\treturn DOBJ_RESOURCE_EXHAUSTED;\n"
    "\t}\n"
    "\tprotobuf_c_message_pack(req, buf);\n"
    "\trc = dobj_call(s, method, buf, len, opts, &r);\n"
    "\tfree(buf);\n"
    "\tif (rc == DOBJ_OK && (*out = dobj_reply_unpack(&r, rep)) == NULL) {\n"
    "\t\trc = DOBJ_INTERNAL;\n"
    "\t\tif (err != NULL) {\n"
    "\t\t\terr->code = rc;\n"
    "\t\t\tsnprintf(err->message, sizeof(err->message),\n"
    "\t\t\t         \"%s.%s: could not decode the reply as %s\", s->class_name, method,\n"
    "\t\t\t         rep->name);\n"
    "\t\t}\n"
    "\t} else {\n"
    "\t\terror_set(err, rc, rc == DOBJ_OK ? \"\" : r.message);\n"
    "\t}\n"
    "\tdobj_reply_fini(&r);\n"
    "\treturn rc;\n"
    "}\n"
    "\n"
    "/* async_call: one asynchronous call in flight. finish turns the decoded reply back into\n"
    " * the method's type and calls cb, the method's typed callback. */\n"
    "typedef struct async_call {\n"
    "\tchar label[DOBJ_CLASS_NAME_MAX + 64]; /* \"Class.Method\", for messages */\n"
    "\tconst ProtobufCMessageDescriptor *rep;\n"
    "\tvoid (*finish)(const struct async_call *a, dobj_err code, const char *message,\n"
    "\t               ProtobufCMessage *reply);\n"
    "\tvoid (*cb)(void);\n"
    "\tvoid *arg;\n"
    "} async_call;\n"
    "\n"
    "/* async_done completes an async_call: decodes the reply and calls its finish, once. */\n"
    "static void\n"
    "async_done(void *cbarg, dobj_reply *r)\n"
    "{\n"
    "\tasync_call *a = cbarg;\n"
    "\tProtobufCMessage *reply = NULL;\n"
    "\tconst char *message = r->message != NULL ? r->message : \"\";\n"
    "\tdobj_err code = r->status;\n"
    "\tchar buf[sizeof(a->label) + 128];\n"
    "\n"
    "\tif (code == DOBJ_OK && (reply = dobj_reply_unpack(r, a->rep)) == NULL) {\n"
    "\t\tcode = DOBJ_INTERNAL;\n"
    "\t\tsnprintf(buf, sizeof(buf), \"%s: could not decode the reply as %s\", a->label,\n"
    "\t\t         a->rep->name);\n"
    "\t\tmessage = buf;\n"
    "\t}\n"
    "\ta->finish(a, code, message, reply);\n"
    "\tfree(a);\n"
    "}\n"
    "\n"
    "/* call_async encodes req and starts method on the stub's object; finish(cb, arg) runs\n"
    " * exactly once if it returns DOBJ_OK. */\n"
    "static dobj_err\n"
    "call_async(const dobj_stub *s, const char *method, const ProtobufCMessage *req,\n"
    "           const ProtobufCMessageDescriptor *rep,\n"
    "           void (*finish)(const async_call *, dobj_err, const char *, ProtobufCMessage *),\n"
    "           void (*cb)(void), void *arg, const dobj_call_opts *opts)\n"
    "{\n"
    "\tsize_t len = protobuf_c_message_get_packed_size(req);\n"
    "\tuint8_t *buf = malloc(len > 0 ? len : 1);\n"
    "\tasync_call *a = malloc(sizeof(*a));\n"
    "\tdobj_err rc = DOBJ_RESOURCE_EXHAUSTED;\n"
    "\n"
    "\tif (buf != NULL && a != NULL) {\n"
    "\t\tsnprintf(a->label, sizeof(a->label), \"%s.%s\", s->class_name, method);\n"
    "\t\ta->rep = rep;\n"
    "\t\ta->finish = finish;\n"
    "\t\ta->cb = cb;\n"
    "\t\ta->arg = arg;\n"
    "\t\tprotobuf_c_message_pack(req, buf);\n"
    "\t\trc = dobj_call_async(s, method, buf, len, opts, async_done, a);\n"
    "\t}\n"
    "\tfree(buf);\n"
    "\tif (rc != DOBJ_OK)\n"
    "\t\tfree(a);\n"
    "\treturn rc;\n"
    "}\n"
    "\n"
    "/* result_pack encodes rep into the turn's memory as the call's result. */\n"
    "static dobj_err\n"
    "result_pack(dobj_ctx *ctx, const ProtobufCMessage *rep, dobj_bytes *result)\n"
    "{\n"
    "\tsize_t len = protobuf_c_message_get_packed_size(rep);\n"
    "\tuint8_t *buf;\n"
    "\n"
    "\tif (len == 0)\n"
    "\t\treturn DOBJ_OK;\n"
    "\tif ((buf = dobj_ctx_alloc(ctx, len)) == NULL)\n"
    "\t\treturn dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED,\n"
    "\t\t                       \"%s: out of memory encoding the reply\",\n"
    "\t\t                       dobj_ctx_method(ctx));\n"
    "\tprotobuf_c_message_pack(rep, buf);\n"
    "\tresult->data = buf;\n"
    "\tresult->len = len;\n"
    "\treturn DOBJ_OK;\n"
    "}\n";

/* svc: one service being emitted, with the names every part of it uses. */
typedef struct svc {
	const PbService *s;
	const char *name;  /* "Store", as written */
	const char *cls;   /* the class name on the wire */
	const char *base;  /* prefix + snake name: "dobj_test_alltypes_store" */
	const char *local; /* snake name for file-local helpers: "store" */
} svc;

/* rpc: one method of a service, with its types. */
typedef struct rpc {
	const PbMethod *m;
	const char *snake; /* "put", "http_get" */
	const char *slot;  /* the handler table member: snake, keyword-safe */
	const dobj__type *req;
	const dobj__type *rep;
} rpc;

static int
service_rpc(dobj__gen *g, const svc *v, size_t i, rpc *out)
{
	const PbMethod *m = v->s->method[i];

	out->m = m;
	out->snake = dobj__names_snake(m->name);
	out->slot = dobj__names_ident(out->snake);
	if ((m->has_client_streaming && m->client_streaming) ||
	    (m->has_server_streaming && m->server_streaming))
		return dobj__gen_fail(g, "service %s, rpc %s: streaming rpcs are not supported",
		                      v->name, m->name);
	if (strcmp(out->slot, "on_alarm") == 0)
		return dobj__gen_fail(
		    g,
		    "service %s, rpc %s: the handler slot on_alarm is reserved for "
		    "alarms; rename the rpc",
		    v->name, m->name);
	out->req = dobj__names_type(m->input_type);
	out->rep = dobj__names_type(m->output_type);
	if (out->req == NULL || out->req->msg == NULL || out->rep == NULL || out->rep->msg == NULL)
		return dobj__gen_fail(g, "service %s, rpc %s: unknown request or reply type",
		                      v->name, m->name);
	return 0;
}

/* service_claim_rpc claims the C names an rpc defines: its stubs and callback type, its
 * dispatch and finish functions, and its slot in the handler table. */
static int
service_claim_rpc(dobj__gen *g, const svc *v, const rpc *r)
{
	const char *owner = dobj__strf("service %s, rpc %s", v->name, r->m->name);
	const char *fn = dobj__strf("%s_%s", v->base, r->snake);

	if (dobj__gen_claim(g, owner, fn) != 0 ||
	    dobj__gen_claim(g, owner, dobj__strf("%s_async", fn)) != 0 ||
	    dobj__gen_claim(g, owner, dobj__strf("%s_cb", fn)) != 0 ||
	    dobj__gen_claim(g, owner, dobj__strf("dispatch_%s_%s", v->local, r->snake)) != 0 ||
	    dobj__gen_claim(g, owner, dobj__strf("finish_%s_%s", v->local, r->snake)) != 0)
		return -1;
	return dobj__gen_claim(g, owner, dobj__strf("%s_handlers.%s", v->base, r->slot));
}

/* service_claim claims the names of the service itself. */
static int
service_claim(dobj__gen *g, const svc *v)
{
	const char *owner = dobj__strf("service %s", v->name);
	static const char *const suffix[] = {"_stub", "_class", "_register", "_handlers",
	                                     "_handlers.on_alarm"};

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++)
		if (dobj__gen_claim(g, owner, dobj__strf("%s%s", v->base, suffix[i])) != 0)
			return -1;
	if (dobj__gen_claim(g, owner, dobj__strf("dispatch_%s_alarm", v->local)) != 0 ||
	    dobj__gen_claim(g, owner, dobj__strf("%s_methods", v->local)) != 0)
		return -1;
	return dobj__gen_claim(g, owner, dobj__strf("%s_CLASS_NAME", dobj__names_upper(v->base)));
}

static void
service_decl_client(dobj__gen *g, const svc *v, const rpc *r)
{
	const char *fn = dobj__strf("%s_%s", v->base, r->snake);
	const char *sync_args[] = {"const dobj_stub *s", dobj__strf("const %s *req", r->req->ctype),
	                           "const dobj_call_opts *opts",
	                           dobj__strf("%s **out", r->rep->ctype), "dobj_error *err"};
	const char *cb_args[] = {"void *arg", "dobj_err code", "const char *message",
	                         dobj__strf("%s *reply", r->rep->ctype)};
	const char *async_args[] = {
	    "const dobj_stub *s", dobj__strf("const %s *req", r->req->ctype),
	    "const dobj_call_opts *opts", dobj__strf("%s_cb cb", fn), "void *arg"};

	dobj__text_printf(&g->h, "\n");
	dobj__text_comment(
	    &g->h, 0,
	    "%s calls %s.%s and waits for the reply. On DOBJ_OK *out holds the reply "
	    "(free with %s__free_unpacked(*out, NULL)); otherwise *out is NULL and err "
	    "(NULL is allowed) gets the code and the message.",
	    fn, v->cls, r->m->name, r->rep->lower);
	dobj__text_decl(&g->h, "dobj_err", fn, sync_args, 5);
	dobj__text_printf(&g->h, "\n");
	dobj__text_comment(&g->h, 0,
	                   "%s_cb receives the outcome of %s_async, exactly once, on one of nng's "
	                   "threads: on DOBJ_OK the reply, which the callback owns (free with "
	                   "%s__free_unpacked(reply, NULL)); otherwise NULL, with the code and the "
	                   "message (valid until the callback returns).",
	                   fn, fn, r->rep->lower);
	dobj__text_list(&g->h, 0, dobj__strf("typedef void (*%s_cb)(", fn), cb_args, 4, ");");
	dobj__text_printf(&g->h, "\n");
	dobj__text_comment(&g->h, 0,
	                   "%s_async starts %s.%s and returns at once: DOBJ_OK means that cb will "
	                   "run exactly once, any other code that it will not run.",
	                   fn, v->cls, r->m->name);
	dobj__text_decl(&g->h, "dobj_err", dobj__strf("%s_async", fn), async_args, 5);
}

static void
service_def_client(dobj__gen *g, const svc *v, const rpc *r)
{
	const char *fn = dobj__strf("%s_%s", v->base, r->snake);
	const char *finish = dobj__strf("finish_%s_%s", v->local, r->snake);
	const char *sync_args[] = {"const dobj_stub *s", dobj__strf("const %s *req", r->req->ctype),
	                           "const dobj_call_opts *opts",
	                           dobj__strf("%s **out", r->rep->ctype), "dobj_error *err"};
	const char *call_args[] = {"s",          dobj__strf("\"%s\"", r->m->name),
	                           "&req->base", dobj__strf("&%s__descriptor", r->rep->lower),
	                           "opts",       "&m",
	                           "err"};
	const char *finish_args[] = {"const async_call *a", "dobj_err code", "const char *message",
	                             "ProtobufCMessage *reply"};
	const char *async_args[] = {
	    "const dobj_stub *s", dobj__strf("const %s *req", r->req->ctype),
	    "const dobj_call_opts *opts", dobj__strf("%s_cb cb", fn), "void *arg"};
	const char *start_args[] = {"s",          dobj__strf("\"%s\"", r->m->name),
	                            "&req->base", dobj__strf("&%s__descriptor", r->rep->lower),
	                            finish,       "(void (*)(void))cb",
	                            "arg",        "opts"};

	dobj__text_printf(&g->c, "\ndobj_err\n");
	dobj__text_list(&g->c, 0, dobj__strf("%s(", fn), sync_args, 5, ")");
	dobj__text_printf(&g->c, "{\n\tProtobufCMessage *m;\n\tdobj_err rc;\n\n");
	dobj__text_list(&g->c, 1, "rc = call_sync(", call_args, 7, ");");
	dobj__text_printf(&g->c, "\t*out = (%s *)m;\n\treturn rc;\n}\n", r->rep->ctype);

	dobj__text_printf(&g->c, "\nstatic void\n");
	dobj__text_list(&g->c, 0, dobj__strf("%s(", finish), finish_args, 4, ")");
	dobj__text_printf(&g->c, "{\n\t%s_cb cb = (%s_cb)a->cb;\n\n", fn, fn);
	dobj__text_printf(&g->c, "\tcb(a->arg, code, message, (%s *)reply);\n}\n", r->rep->ctype);

	dobj__text_printf(&g->c, "\ndobj_err\n");
	dobj__text_list(&g->c, 0, dobj__strf("%s_async(", fn), async_args, 5, ")");
	dobj__text_printf(&g->c, "{\n");
	dobj__text_list(&g->c, 1, "return call_async(", start_args, 8, ");");
	dobj__text_printf(&g->c, "}\n");
}

static void
service_decl_server(dobj__gen *g, const svc *v, const rpc *rpcs)
{
	const char *h = dobj__strf("%s_handlers", v->base);

	dobj__text_printf(&g->h, "\n");
	dobj__text_comment(
	    &g->h, 0,
	    "%s: the methods of class %s, one per rpc of service %s. Each gets the "
	    "turn's context, the decoded request and a reply initialised to its INIT "
	    "value; the strings, bytes and messages it puts into rep must live until it "
	    "returns (dobj_ctx_alloc() memory, or static). An error return fails the "
	    "call and discards the turn's writes. A NULL slot answers "
	    "DOBJ_UNIMPLEMENTED.",
	    h, v->cls, v->name);
	dobj__text_printf(&g->h, "typedef struct %s {\n", h);
	for (size_t i = 0; i < v->s->n_method; i++) {
		const rpc *r = &rpcs[i];
		const char *args[] = {"dobj_ctx *ctx", dobj__strf("const %s *req", r->req->ctype),
		                      dobj__strf("%s *rep", r->rep->ctype)};

		dobj__text_comment(&g->h, 1, "%s handles %s.%s.", r->slot, v->cls, r->m->name);
		dobj__text_list(&g->h, 1, dobj__strf("dobj_err (*%s)(", r->slot), args, 3, ");");
	}
	dobj__text_comment(&g->h, 1,
	                   "on_alarm runs when the object's alarm is due (dobj/alarm.h); NULL: "
	                   "the class has no alarms.");
	dobj__text_printf(&g->h, "\tdobj_err (*on_alarm)(dobj_ctx *ctx);\n");
	dobj__text_printf(&g->h, "} %s;\n\n", h);
	dobj__text_comment(
	    &g->h, 0,
	    "%s_class returns class %s over the handlers h, for "
	    "dobj_server_register() or dobj_server_main(); h must outlive the server.",
	    v->base, v->cls);
	dobj__text_printf(&g->h, "dobj_class %s_class(const %s *h);\n\n", v->base, h);
	dobj__text_comment(
	    &g->h, 0,
	    "%s_register makes class %s callable on srv, over the handlers h; h must "
	    "outlive srv.",
	    v->base, v->cls);
	dobj__text_decl(&g->h, "dobj_err", dobj__strf("%s_register", v->base),
	                (const char *const[]){"dobj_server *srv", dobj__strf("const %s *h", h)}, 2);
}

/* class_name_ok: the class name is pasted into C string literals and comments. */
static bool
class_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 127 || strpbrk(name, "\"\\%") != NULL || strstr(name, "*/") != NULL ||
	    strstr(name, "??") != NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e)
			return false;
	return true;
}

static void
service_def_dispatch(dobj__gen *g, const svc *v, const rpc *r)
{
	const char *label = dobj__strf("%s.%s", v->cls, r->m->name);
	const char *unimpl[] = {"ctx", "DOBJ_UNIMPLEMENTED",
	                        dobj__strf("\"%s is not implemented\"", label)};
	const char *undecodable[] = {
	    "ctx", "DOBJ_INVALID_ARGUMENT",
	    dobj__strf("\"%s: could not decode %s\"", label, r->req->full)};
	const char *unpack[] = {"ctx", dobj__strf("&%s__descriptor", r->req->lower), "arg->len",
	                        "arg->data"};

	dobj__text_printf(&g->c, "\nstatic dobj_err\n");
	dobj__text_printf(
	    &g->c, "dispatch_%s_%s(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result)\n",
	    v->local, r->snake);
	dobj__text_printf(&g->c, "{\n\tconst %s_handlers *h = dobj_ctx_class_impl(ctx);\n",
	                  v->base);
	dobj__text_printf(&g->c, "\t%s *req;\n", r->req->ctype);
	dobj__text_printf(&g->c, "\t%s rep = %s__INIT;\n", r->rep->ctype, r->rep->upper);
	dobj__text_printf(&g->c, "\tdobj_err rc;\n\n");
	dobj__text_printf(&g->c, "\tif (h == NULL || h->%s == NULL)\n", r->slot);
	dobj__text_list(&g->c, 2, "return dobj_ctx_errorf(", unimpl, 3, ");");
	/* bounded: a method's argument comes from the network */
	dobj__text_list(&g->c, 1, dobj__strf("req = (%s *)dobj_ctx_unpack(", r->req->ctype), unpack,
	                4, ");");
	dobj__text_printf(&g->c, "\tif (req == NULL)\n");
	dobj__text_list(&g->c, 2, "return dobj_ctx_errorf(", undecodable, 3, ");");
	dobj__text_printf(&g->c, "\tif ((rc = h->%s(ctx, req, &rep)) != DOBJ_OK)\n\t\treturn rc;\n",
	                  r->slot);
	dobj__text_printf(&g->c, "\treturn result_pack(ctx, &rep.base, result);\n}\n");
}

static void
service_def_server(dobj__gen *g, const svc *v, const rpc *rpcs)
{
	const char *h = dobj__strf("%s_handlers", v->base);

	for (size_t i = 0; i < v->s->n_method; i++)
		service_def_dispatch(g, v, &rpcs[i]);
	dobj__text_printf(&g->c, "\nstatic dobj_err\ndispatch_%s_alarm(dobj_ctx *ctx)\n{\n",
	                  v->local);
	dobj__text_printf(&g->c, "\tconst %s_handlers *h = dobj_ctx_class_impl(ctx);\n\n", v->base);
	dobj__text_printf(&g->c, "\treturn h->on_alarm(ctx);\n}\n");
	dobj__text_printf(&g->c, "\n/* The methods of class %s, by their names on the wire. */\n",
	                  v->cls);
	dobj__text_printf(&g->c, "static const dobj_method %s_methods[] = {\n", v->local);
	for (size_t i = 0; i < v->s->n_method; i++)
		dobj__text_printf(&g->c, "    {.name = \"%s\", .fn = dispatch_%s_%s},\n",
		                  rpcs[i].m->name, v->local, rpcs[i].snake);
	dobj__text_printf(&g->c, "};\n");

	dobj__text_printf(&g->c, "\ndobj_class\n%s_class(const %s *h)\n{\n", v->base, h);
	dobj__text_printf(&g->c, "\treturn (dobj_class){\n");
	dobj__text_printf(&g->c, "\t    .name = %s_CLASS_NAME,\n", dobj__names_upper(v->base));
	dobj__text_printf(&g->c, "\t    .methods = %s_methods,\n", v->local);
	dobj__text_printf(&g->c, "\t    .nmethods = sizeof(%s_methods) / sizeof(%s_methods[0]),\n",
	                  v->local, v->local);
	dobj__text_printf(&g->c, "\t    .impl = h,\n");
	dobj__text_printf(
	    &g->c, "\t    .alarm = h != NULL && h->on_alarm != NULL ? dispatch_%s_alarm : NULL,\n",
	    v->local);
	dobj__text_printf(&g->c, "\t};\n}\n");

	dobj__text_printf(&g->c, "\ndobj_err\n");
	dobj__text_list(&g->c, 0, dobj__strf("%s_register(", v->base),
	                (const char *const[]){"dobj_server *srv", dobj__strf("const %s *h", h)}, 2,
	                ")");
	dobj__text_printf(&g->c, "{\n\tdobj_class cls = %s_class(h);\n\n", v->base);
	dobj__text_printf(&g->c, "\treturn dobj_server_register(srv, &cls);\n}\n");
}

static int
service_emit_one(dobj__gen *g, const PbService *s)
{
	const char *opt =
	    dobj__options_string((const ProtobufCMessage *)s->options, DOBJ__OPT_CLASS_NAME);
	svc v = {.s = s, .name = s->name, .cls = opt != NULL ? opt : s->name};
	rpc *rpcs;

	v.local = dobj__names_snake(s->name);
	v.base = dobj__strf("%s%s", g->prefix, v.local);
	if (!class_name_ok(v.cls))
		return dobj__gen_fail(
		    g,
		    "service %s: class name \"%s\" must have 1 to 127 printable "
		    "ASCII bytes, without \", \\, %%, \"*/\" or \"??\" (it goes into "
		    "C strings and comments)",
		    s->name, v.cls);
	if (s->n_method == 0)
		return dobj__gen_fail(g, "service %s: a service needs at least one rpc", s->name);
	if ((rpcs = calloc(s->n_method, sizeof(*rpcs))) == NULL)
		dobj__fatal("out of memory");
	for (size_t i = 0; i < s->n_method; i++) {
		if (service_rpc(g, &v, i, &rpcs[i]) != 0 ||
		    service_claim_rpc(g, &v, &rpcs[i]) != 0) {
			free(rpcs);
			return -1;
		}
	}
	if (service_claim(g, &v) != 0) {
		free(rpcs);
		return -1;
	}

	dobj__text_printf(&g->h, "\n");
	dobj__text_comment(&g->h, 0, "%s_CLASS_NAME is the class name of service %s on the wire.",
	                   dobj__names_upper(v.base), s->name);
	dobj__text_printf(&g->h, "#define %s_CLASS_NAME \"%s\"\n\n", dobj__names_upper(v.base),
	                  v.cls);
	dobj__text_comment(
	    &g->h, 0,
	    "%s_stub makes in *out a stub for the %s object called name (the same name "
	    "always reaches the same object).",
	    v.base, v.cls);
	dobj__text_decl(
	    &g->h, "dobj_err", dobj__strf("%s_stub", v.base),
	    (const char *const[]){"dobj_client *c", "const char *name", "dobj_stub *out"}, 3);
	dobj__text_printf(&g->c, "\ndobj_err\n");
	dobj__text_list(
	    &g->c, 0, dobj__strf("%s_stub(", v.base),
	    (const char *const[]){"dobj_client *c", "const char *name", "dobj_stub *out"}, 3, ")");
	dobj__text_printf(&g->c, "{\n\treturn dobj_singleton(c, %s_CLASS_NAME, name, out);\n}\n",
	                  dobj__names_upper(v.base));
	for (size_t i = 0; i < s->n_method; i++) {
		service_decl_client(g, &v, &rpcs[i]);
		service_def_client(g, &v, &rpcs[i]);
	}
	service_decl_server(g, &v, rpcs);
	service_def_server(g, &v, rpcs);
	free(rpcs);
	return 0;
}

/* The file-scope names service_helpers defines. */
static const char *const service_helper_names[] = {"error_set",  "call_sync",  "async_call",
                                                   "async_done", "call_async", "result_pack"};

int
dobj__service_emit(dobj__gen *g)
{
	if (g->file->n_service > 0) {
		for (size_t i = 0;
		     i < sizeof(service_helper_names) / sizeof(service_helper_names[0]); i++)
			if (dobj__gen_claim(g, "protoc-gen-dobj's file-local helper",
			                    service_helper_names[i]) != 0)
				return -1;
		dobj__text_printf(&g->c, "%s", service_helpers);
	}
	for (size_t i = 0; i < g->file->n_service; i++)
		if (service_emit_one(g, g->file->service[i]) != 0)
			return -1;
	return 0;
}
