#!/bin/bash
# Scenario 2: the client moves to a new IP address and port in the middle
# of a multi-megabyte download (gtlsclient --change-local-addr, with the
# client's source address changed underneath), in plaintext CID mode
# (QUIC-LB config 0) and in encrypted mode (config 1, four-pass AES).
#
# Asserts, for each mode: the download completes with the exact content
# of one backend; every CID the server issued (its first and those of
# NEW_CONNECTION_ID frames, the ones a migrating client moves to) names
# that backend; the LB sent packets to that backend only; the router
# forwarded a good part of the download to the old 4-tuple AND to the new
# one (the move happened mid-transfer); the server validated the new path
# (the client's qlog has a PATH_CHALLENGE received and a PATH_RESPONSE
# sent); the LB decoded CIDs in the mode under test and routed the new
# path's packets by CID.
#
# Timing: the client moves 1 s after its handshake (the router holds its
# first flight until the new source address is set: lib.sh,
# e2e_migration_start); at 16 Mbit/s no more than about 2 MB can have
# come by then, so the move is mid-transfer on any machine, and the
# client's qlog shows where it happened.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
SIZE=$((4 * 1024 * 1024))
e2e_up 1 plain $SIZE
RATE=16mbit DELAY=1s		# 2.1 s for the download; the move at <= 2 MB
e2e_shape $RATE

# decodes COUNTER[+COUNTER...]: their sum on lb1
decodes() {
	local c n=0
	for c in ${1//+/ }; do n=$((n + $(lbstat lb1 "$c"))); done
	echo $n
}

migrate_once() { # NAME MODE NEW_SRC DECODE-COUNTERS
	local name=$1 mode=$2 new=$3 before after b old_addr old_port
	before=$(be_snapshot)
	local cid0; cid0=$(lbstat lb1 route_cid)
	local dec0; dec0=$(decodes "$4")
	local icmp0; icmp0=$(lbstat lb1 route_icmp_flow)
	e2e_migrating_get "$name" $VIP4 "$new" $DELAY
	read -r old_addr old_port <<<"$OLD_TUPLE"
	log "$mode: download started from $old_addr:$old_port; moves to $new $DELAY after the handshake"
	e2e_client_wait "$name"
	b=$(served_by "$name")
	[ "$b" = none ] && fail "$mode: download missing or corrupt"
	ok "$mode: 4 MiB intact, served by $b"
	check_server_cids "$name" "$b"
	ok "$mode: the $SERVER_CIDS CIDs the server issued all name $b"
	check_mid_transfer "$name" "$mode"
	after=$(be_snapshot)
	log "$mode: LB packets per backend: before $before, after $after"
	local others=0 icmp
	for x in "${BACKENDS[@]}"; do
		local p0 p1
		p0=$(sed -n "s/.*$x=\([0-9]*\).*/\1/p" <<<"$before")
		p1=$(sed -n "s/.*$x=\([0-9]*\).*/\1/p" <<<"$after")
		if [ "$x" = "$b" ]; then
			[ "$p1" -gt "$p0" ] || fail "$mode: LB sent nothing to $b"
		else
			others=$((others + p1 - p0))
		fi
	done
	# ICMP errors routed by flow aside (only_to() in lib.sh says why)
	icmp=$(($(lbstat lb1 route_icmp_flow) - icmp0))
	[ "$others" -le "$icmp" ] ||
		fail "$mode: LB sent $others packets to other backends too ($icmp ICMP errors by flow)"
	ok "$mode: every packet of the connection went to $b"
	local down_old down_new
	down_old=$(acct_bytes down "$old_addr" "$old_port")
	down_new=$(acct down 4 | awk -v a="$new" '$1 == a { n += $4 } END { print n + 0 }')
	log "$mode: downstream octets: old path $down_old, new path $down_new (client tuples seen: $(cl_seen))"
	[ "$down_old" -gt 200000 ] || fail "$mode: the old path carried too little ($down_old)"
	[ "$down_new" -gt 1000000 ] || fail "$mode: the new path carried too little ($down_new)"
	ok "$mode: migrated mid-transfer"
	path_validated "$name" || fail "$mode: no path validation in the client's qlog"
	ok "$mode: the server validated the new path"
	local cid1 dec1
	cid1=$(lbstat lb1 route_cid); dec1=$(decodes "$4")
	[ $((dec1 - dec0)) -gt 100 ] || fail "$mode: $4 moved by $((dec1 - dec0)) only"
	log "$mode: route_cid +$((cid1 - cid0)), $4 +$((dec1 - dec0))"
}

migrate_once mig-plain plaintext 198.18.1.3 cid_plaintext
e2e_servers_stop
e2e_client_src $CL4
e2e_servers aes
# encrypted decodes go through the per-CPU decode cache: count its hits too
migrate_once mig-aes encrypted 198.18.1.4 cid_four_pass+dcache_hit
