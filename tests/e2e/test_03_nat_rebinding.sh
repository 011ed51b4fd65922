#!/bin/bash
# Scenario 3: a NAT rebinding in the middle of a download. The router
# starts rewriting the client's source port (nftables, stateless, replies
# rewritten back), so the server suddenly sees the connection come from a
# new port; the client itself notices nothing.
#
# Asserts: the download completes with the exact content of one backend;
# the LB sent packets to that backend only; at the rebinding at least 1 MB
# was still to come, and more than 1 MB came through the rebound port
# after it; the server validated the rebound path (the client's qlog has
# a PATH_CHALLENGE received and a PATH_RESPONSE sent).
#
# Timing: until the rebinding is in place the download is shaped to
# 4 Mbit/s, so however slow the test is, most of it is still to come;
# then 24 Mbit/s.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
SIZE=$((4 * 1024 * 1024))
e2e_up 1 plain $SIZE
e2e_shape 4mbit

before=$(be_snapshot)
e2e_client rebind $VIP4 f.bin
wait_for 5 "the client's socket" has_tuple
read -r addr port <<<"$(cl_tuples | head -1)"
new_port=$((port == 40000 ? 40001 : 40000))
wait_for 10 "1 MB downloaded" dl_at_least rebind 1000000
e2e_nat_rebind "$addr" "$port" $new_port
at=$(dl_size rebind)
log "NAT rebinding in place at $at octets or fewer: $addr:$port now leaves the router as $addr:$new_port"
[ $((SIZE - at)) -gt 1500000 ] ||
	fail "rebinding in place only at $at of $SIZE octets (the test was too slow, not cidlb)"
e2e_shape 24mbit
e2e_client_wait rebind
b=$(served_by rebind)
[ "$b" = none ] && fail "download missing or corrupt"
ok "4 MiB intact, served by $b"
after=$(be_snapshot)
log "LB packets per backend: before $before, after $after"
only_to lb1 "$b" || fail "LB sent packets to other backends too"
ok "every packet of the connection went to $b"
up=$(nat_counter up packets); down=$(nat_counter down bytes)
log "after the rebinding: $up packets up, $down octets down through port $new_port"
[ "$up" -gt 10 ] || fail "too few packets through the rebound port"
[ "$down" -gt 1000000 ] || fail "too little data through the rebound port"
ok "rebound mid-transfer"
path_validated rebind || fail "no path validation in the client's qlog"
ok "the server validated the rebound path"
