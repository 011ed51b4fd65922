#!/bin/bash
# Scenario 10: Retry, and a resumed connection with 0-RTT, through cidlb.
#
# Retry: the servers run with address validation (-V): each connection's
# first Initial gets a Retry whose SCID comes from the shim (routable);
# the client's second Initial carries it as DCID and cidlb routes it by
# that CID to the server that made the token. Asserts: 10 downloads
# complete intact; each client's qlog has the Retry, whose CID names the
# backend that served it; the fallback routed only each connection's
# first Initial (the post-Retry Initials went by CID).
#
# 0-RTT: a first connection stores its TLS session, transport parameters
# and NEW_TOKEN; a second one from the same 4-tuple (so the fallback picks
# the same server, which holds the session ticket key) resumes and sends
# its request in 0-RTT. Asserts: both downloads intact from the same
# backend; the client sent 0-RTT packets (its qlog) and the server
# accepted them (no "rejected" from the client).
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_topology 1
e2e_content 500000
for b in "${BACKENDS[@]}"; do e2e_decap "$b"; done
e2e_servers plain -V
e2e_lbs

# ---- Retry ---------------------------------------------------------------------
N=10
for ((i = 0; i < N; i++)); do e2e_client "rt$i" $VIP4 f.bin; done
for ((i = 0; i < N; i++)); do
	e2e_client_wait "rt$i"
	b=$(served_by "rt$i")
	[ "$b" = none ] && fail "download rt$i missing or corrupt"
	rcid=$(qlog_server_params "rt$i" 'p.get("retry_source_connection_id") or ""')
	[ -n "$rcid" ] || fail "rt$i: no Retry"
	[ "$(cid_backend "$rcid")" = "$b" ] || fail "rt$i: Retry CID $rcid names $(cid_backend "$rcid"), content of $b"
done
fb=$(($(lbstat lb1 route_maglev) + $(lbstat lb1 route_lru)))
log "$N connections with Retry; fallback routes: $fb"
[ "$fb" -ge $N ] && [ "$fb" -le $((N + 2)) ] || fail "post-Retry Initials took the fallback ($fb routes)"
ok "$N downloads intact after a Retry with a routable CID, routed by it"

# ---- 0-RTT -------------------------------------------------------------------------
port=$(ecmp_port lb1 $CL4 23000)	# any fixed port: the same 4-tuple twice
cl_port "$port"
state=(--session-file "$E2E_TMP/session" --tp-file "$E2E_TMP/tp" --token-file "$E2E_TMP/token")
e2e_client full $VIP4 f.bin "${state[@]}"
e2e_client_wait full
b1=$(served_by full)
[ "$b1" = none ] && fail "first connection: download missing or corrupt"
[ -s "$E2E_TMP/session" ] && [ -s "$E2E_TMP/tp" ] || fail "no session stored"
z0=$(lbstat lb1 quic_0rtt)
# -q off for this one: gtlsclient says "Early data was rejected" only then
E2E_CLIENT_QUIET=0 e2e_client zrtt $VIP4 f.bin "${state[@]}" --no-quic-dump --no-http-dump
e2e_client_wait zrtt
b2=$(served_by zrtt)
[ "$b2" = none ] && fail "resumed connection: download missing or corrupt"
[ "$b2" = "$b1" ] || fail "resumed connection served by $b2, the first by $b1"
sent0=$(qlog_events zrtt | $PY -c '
import json, sys
print(sum(1 for line in sys.stdin
          if (ev := json.loads(line)).get("name") == "transport:packet_sent"
          and ev.get("data", {}).get("header", {}).get("packet_type") == "0RTT"))')
z1=$(lbstat lb1 quic_0rtt)
# (cidlb classifies a datagram by its first packet: 0-RTT packets coalesced
# behind the Initial count as quic_initial)
log "resumed connection: $sent0 0-RTT packets sent; datagrams led by one at cidlb: $((z1 - z0))"
[ "$sent0" -gt 0 ] || fail "the client sent no 0-RTT packet"
grep -q "Early data was rejected" "$E2E_TMP/dl/zrtt.out" && fail "the server rejected the early data"
ok "0-RTT resumption through cidlb, on $b2 again"
