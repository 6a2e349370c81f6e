/* SPDX-License-Identifier: MIT */
/* visits.h - the Page class's handlers, shared by visits-server and the plugin. */
#ifndef VISITS_H
#define VISITS_H

#include "visits.dobj.h"

/* page_impl: the handler table of class "Page". */
extern const page_handlers page_impl;

#endif /* VISITS_H */
