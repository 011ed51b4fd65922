#!/bin/bash
# Scenario 1: many connections spread over every backend by the fallback
# (their first Initial carries a client-chosen DCID: Maglev on the
# 4-tuple), then stay on their backend for their whole life (every later
# packet carries the backend's server ID in its DCID).
#
# Asserts: 30 downloads complete with the exact content of one backend
# (each backend serves its own random file, so the SHA-256 names the
# backend, and a connection that moved would have failed); every CID the
# server issued (its first and those of NEW_CONNECTION_ID frames, from the
# client's qlog) names the backend that served it; every backend served
# some; the LB used the fallback once or twice per connection (its
# first Initial) and routed everything else by CID; per-backend packet counts are non-zero
# exactly for the backends that served connections.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_up 1 plain 300000
N=30

log "$N connections to $VIP4:$PORT, 10 at a time"
for ((i = 0; i < N; i++)); do
	e2e_client "c$i" $VIP4 f.bin
	if (((i + 1) % 10 == 0)); then
		for ((j = i - 9; j <= i; j++)); do e2e_client_wait "c$j"; done
	fi
done
declare -A served=([be1]=0 [be2]=0 [be3]=0)
ncids=0
for ((i = 0; i < N; i++)); do
	b=$(served_by "c$i")
	[ "$b" = none ] && fail "connection c$i: download missing or corrupt"
	served[$b]=$((served[$b] + 1))
	check_server_cids "c$i" "$b"
	ncids=$((ncids + SERVER_CIDS))
done
log "connections per backend: be1=${served[be1]} be2=${served[be2]} be3=${served[be3]}"
for b in "${BACKENDS[@]}"; do
	[ "${served[$b]}" -gt 0 ] || fail "backend $b served no connection"
done
ok "$N downloads intact, spread over all backends"
ok "all $ncids CIDs the servers issued (first and NEW_CONNECTION_ID) name the backend that served"

snap=$(be_snapshot)
log "LB packets per backend: $snap"
for b in "${BACKENDS[@]}"; do
	[ "$(be_packets lb1 "$b")" -gt $((served[$b] * 10)) ] ||
		fail "backend $b: too few packets for ${served[$b]} connections"
done
maglev=$(lbstat lb1 route_maglev); lru=$(lbstat lb1 route_lru); cid=$(lbstat lb1 route_cid)
unk=$(lbstat lb1 unroutable_sid)
log "route_cid=$cid route_maglev=$maglev route_lru=$lru unroutable_sid=$unk"
# A connection's first Initial (client-chosen DCID, and any resend of it)
# is the only packet routed by the 4-tuple. A random DCID whose first
# octet says "config 0" (1 in 8) decodes to an unknown server ID: that is
# the only way unroutable_sid may move.
[ $((maglev + lru)) -ge $N ] || fail "fewer fallback routes than connections"
[ $((maglev + lru)) -le $((N * 2)) ] || fail "too much traffic by the fallback: $((maglev + lru))"
[ "$unk" -le $((maglev + lru)) ] || fail "unroutable_sid=$unk beyond the first flights"
[ "$cid" -gt $((N * 20)) ] || fail "too little traffic routed by CID: $cid"
for c in drop_no_backend drop_no_route drop_encap drop_mtu drop_retired; do
	[ "$(lbstat lb1 $c)" = 0 ] || fail "$c=$(lbstat lb1 $c)"
done
ok "fallback only for first flights, CID routing for the rest"
