// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* paths.c - the daemon's paths as the cidlb command sees them (paths.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/config.h"
#include "ctl/paths.h"

void cidlb_paths_resolve(struct cidlb_paths *p)
{
	const char *cfg = getenv("CIDLB_CONFIG"), *e;
	struct cidlb_conf *c = NULL;

	memset(p, 0, sizeof(*p));
	snprintf(p->socket, sizeof(p->socket), "%s", CIDLB_DEFAULT_SOCKET);
	snprintf(p->pin_dir, sizeof(p->pin_dir), "%s", CIDLB_DEFAULT_PIN_DIR);
	snprintf(p->state_file, sizeof(p->state_file), "%s", CIDLB_DEFAULT_STATE);
	if (!cfg)
		cfg = CIDLB_DEFAULT_CONFIG;
	if (!access(cfg, R_OK)) {
		/* paths are read even when another part of the file is wrong */
		cidlb_conf_load(cfg, 0, &c);
		if (c) {
			snprintf(p->socket, sizeof(p->socket), "%s", c->socket);
			snprintf(p->pin_dir, sizeof(p->pin_dir), "%s", c->pin_dir);
			snprintf(p->state_file, sizeof(p->state_file), "%s", c->state_file);
			snprintf(p->config, sizeof(p->config), "%s", cfg);
			cidlb_conf_free(c);
		}
	}
	if ((e = getenv("CIDLB_SOCKET")) && *e)
		snprintf(p->socket, sizeof(p->socket), "%s", e);
	if ((e = getenv("CIDLB_PIN_DIR")) && *e)
		snprintf(p->pin_dir, sizeof(p->pin_dir), "%s", e);
	if ((e = getenv("CIDLB_STATE_FILE")) && *e)
		snprintf(p->state_file, sizeof(p->state_file), "%s", e);
}
