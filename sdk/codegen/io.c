// SPDX-License-Identifier: MIT
// io.c - protoc's side of the conversation: the encoded CodeGeneratorRequest arrives on stdin,
// the encoded CodeGeneratorResponse leaves on stdout. What is in them is gen.c's business.

#include <stdio.h>
#include <stdlib.h>

#include "codegen.h"

/* A request holds every file's descriptors; 64 MiB is far beyond any real one. */
#define IO_REQUEST_MAX (64u << 20)

int
dobj__io_read_request(PbRequest **out)
{
	size_t len = 0, cap = 1 << 16;
	uint8_t *buf = malloc(cap);
	size_t n;

	*out = NULL;
	if (buf == NULL)
		dobj__fatal("out of memory");
	while ((n = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *more;

			if (cap >= IO_REQUEST_MAX) {
				free(buf);
				fprintf(stderr, "protoc-gen-dobj: request larger than %u bytes\n",
				        IO_REQUEST_MAX);
				return -1;
			}
			if ((more = realloc(buf, cap * 2)) == NULL)
				dobj__fatal("out of memory");
			buf = more;
			cap *= 2;
		}
	}
	if (ferror(stdin)) {
		free(buf);
		fprintf(stderr, "protoc-gen-dobj: could not read the request from stdin\n");
		return -1;
	}
	*out = google__protobuf__compiler__code_generator_request__unpack(NULL, len, buf);
	free(buf);
	if (*out == NULL) {
		fprintf(stderr,
		        "protoc-gen-dobj: stdin does not hold a CodeGeneratorRequest (%zu "
		        "bytes); run me from protoc\n",
		        len);
		return -1;
	}
	return 0;
}

int
dobj__io_write_response(const PbResponse *resp)
{
	size_t len = google__protobuf__compiler__code_generator_response__get_packed_size(resp);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	int rc = 0;

	if (buf == NULL)
		dobj__fatal("out of memory");
	google__protobuf__compiler__code_generator_response__pack(resp, buf);
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
		fprintf(stderr, "protoc-gen-dobj: could not write the response to stdout\n");
		rc = -1;
	}
	free(buf);
	return rc;
}
