#!/bin/bash
# Scenario 6: two cidlb hosts behind a router that spreads the VIPs over
# them with an ECMP route hashed on the 4-tuple (fib_multipath_hash_policy
# 1). The client's migration moves its connection from one cidlb host to
# the other: both decode its CIDs alike and send it to the same backend.
# The test picks the client's ports so that the old 4-tuple hashes to lb1
# and the new one to lb2 (asking the router's FIB, which computes the same
# hash as when it forwards). Plaintext and encrypted CIDs.
#
# Asserts: the download completes intact; lb1 and lb2 both sent packets of
# the connection, each to the same backend and to no other; lb2 routed
# every packet it got by CID (it never saw the Initial: no fallback); the
# server validated the new path; the client moved mid-transfer (its qlog).
#
# Timing as in test_02: the router holds the client's first flight until
# its next source address and port are set; it moves 1 s after the
# handshake, when at 16 Mbit/s at most about 2 MB of the 4 MiB are in.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_up 2 plain $((4 * 1024 * 1024))
e2e_route_vips lb1 lb2
RATE=16mbit DELAY=1s
e2e_shape $RATE

# across NAME MODE OLD_SRC NEW_SRC
across() {
	local name=$1 mode=$2 old=$3 new=$4 p1 p2 b l x
	p1=$(ecmp_port lb1 "$old"); p2=$(ecmp_port lb2 "$new" $((p1 + 1)))
	log "$mode: $old:$p1 hashes to lb1, $new:$p2 to lb2"
	declare -A s0
	for l in lb1 lb2; do
		for x in "${BACKENDS[@]}"; do s0[$l.$x]=$(be_packets $l $x); done
		s0[$l.icmp]=$(lbstat $l route_icmp_flow)
	done
	local fb0; fb0=$(($(lbstat lb2 route_maglev) + $(lbstat lb2 route_lru)))
	e2e_client_src "$old"
	cl_port "$p1"
	e2e_migration_start "$name" $VIP4 "$new" "$p2" $DELAY
	[ "$OLD_TUPLE" = "$old $p1" ] || fail "$mode: the client took $OLD_TUPLE, not $old $p1"
	e2e_client_wait "$name"
	b=$(served_by "$name")
	[ "$b" = none ] && fail "$mode: download missing or corrupt"
	ok "$mode: 4 MiB intact, served by $b"
	check_mid_transfer "$name" "$mode"
	log "$mode: client tuples seen by the router: $(cl_seen)"
	for l in lb1 lb2; do
		local others=0 icmp
		for x in "${BACKENDS[@]}"; do
			local d=$(($(be_packets $l $x) - s0[$l.$x]))
			if [ "$x" = "$b" ]; then
				log "$mode: $l sent $d packets to $b"
				[ "$d" -gt 10 ] || fail "$mode: $l sent too few packets to $b"
			else
				others=$((others + d))
			fi
		done
		# ICMP errors routed by flow aside (only_to() in lib.sh says why)
		icmp=$(($(lbstat $l route_icmp_flow) - s0[$l.icmp]))
		[ "$others" -le "$icmp" ] ||
			fail "$mode: $l sent $others packets to other backends ($icmp ICMP errors by flow)"
	done
	[ $(($(lbstat lb2 route_maglev) + $(lbstat lb2 route_lru))) = "$fb0" ] ||
		fail "$mode: lb2 used its fallback: it could not route by CID"
	path_validated "$name" || fail "$mode: no path validation in the client's qlog"
	ok "$mode: the connection moved from lb1 to lb2 and stayed on $b; path validated"
}

across ecmp-plain plaintext 198.18.1.2 198.18.1.3
e2e_servers_stop
e2e_servers aes
across ecmp-aes encrypted 198.18.1.3 198.18.1.4
