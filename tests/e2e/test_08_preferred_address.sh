#!/bin/bash
# Scenario 8: the servers advertise a preferred address (QUIC transport
# parameter preferred_address: a second VIP, 198.18.100.2, which cidlb
# also serves, and a CID from the shim). Right after the handshake the
# client moves there; the cidlb host routes the new path by that CID.
#
# Asserts: the download completes intact; the preferred address's CID
# names the backend that served it; most of the download came from the
# preferred VIP; the LB sent packets to that backend only; the client
# validated the new path (PATH_CHALLENGE sent, PATH_RESPONSE received).
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_topology 1
e2e_content $((3 * 1024 * 1024))
for b in "${BACKENDS[@]}"; do e2e_decap "$b"; done
# gtlsserver opens a socket of its own for the preferred address.
for b in "${BACKENDS[@]}"; do
	e2e_server "$b" plain --preferred-ipv4-addr=$VIP4B:$PORT
done
e2e_lbs
e2e_shape 24mbit

e2e_client pref $VIP4 f.bin
e2e_client_wait pref
b=$(served_by pref)
[ "$b" = none ] && fail "download missing or corrupt"
ok "3 MiB intact, served by $b"
pa=$(qlog_server_params pref 'json.dumps(p.get("preferred_address") or {})' | $PY -c '
import json, sys
a = json.load(sys.stdin)
ip = a.get("ip_v4", "?")
if len(ip) == 8:        # ngtcp2 0.12 writes it in hex
    ip = ".".join(str(int(ip[i:i + 2], 16)) for i in range(0, 8, 2))
print(ip, a.get("port_v4", "?"), a.get("connection_id", "?"))' 2>/dev/null)
read -r pa_ip pa_port pa_cid <<<"$pa"
log "server's preferred address: $pa_ip port $pa_port, CID $pa_cid"
[ "$pa_ip" = $VIP4B ] || fail "no preferred address in the server's transport parameters"
[ "$(cid_backend "$pa_cid")" = "$b" ] || fail "the preferred address's CID names $(cid_backend "$pa_cid"), not $b"
from_b=$(vip_bytes $VIP4B); from_a=$(vip_bytes $VIP4)
log "octets to the client: from $VIP4 $from_a, from $VIP4B $from_b"
[ "$from_b" -gt 2500000 ] || fail "the download did not move to the preferred address"
only_to lb1 "$b" || fail "LB sent packets to other backends too"
f=$(qlog_frames pref)
grep -q '^sent path_challenge$' <<<"$f" && grep -q '^received path_response$' <<<"$f" ||
	fail "the client did not validate the preferred address"
ok "the client moved to the preferred address after the handshake and stayed on $b"
