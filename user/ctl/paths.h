/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * paths.h - where the `cidlb` command finds cidlbd: its control socket,
 * pin directory and state file. First the environment (CIDLB_SOCKET,
 * CIDLB_PIN_DIR, CIDLB_STATE_FILE), then the daemon's configuration file
 * (CIDLB_CONFIG, default /etc/cidlb/cidlb.conf, when readable), then the
 * built-in defaults.
 */
#ifndef CIDLB_CTL_PATHS_H
#define CIDLB_CTL_PATHS_H

struct cidlb_paths {
	char socket[108];
	char pin_dir[256];
	char state_file[256];
	char config[4096]; /* "" when none was read */
};

void cidlb_paths_resolve(struct cidlb_paths *p);

#endif
