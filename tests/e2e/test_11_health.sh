#!/bin/bash
# Scenario 11: health checks against real QUIC servers (Debian's ngtcp2
# gtlsserver, which answers an unknown version with Version Negotiation).
#
# cidlbd runs with [lb] health = on and the defaults (interval 1000 ms,
# timeout 500, fall 2, rise 2): be1 and be2 are probed through their
# IPIP tunnel, be3 (mode = direct) in a frame to its MAC.
# Asserts: all three up; be2's server killed (kill -9): be2 down within
# 3 s; twelve new connections all succeed, none on be2; be2's server
# started again: up, and new connections reach it again.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_topology 1
e2e_content 20000
for b in "${BACKENDS[@]}"; do e2e_decap "$b"; done
e2e_servers plain
e2e_conf lb1
sed -i 's/^seed = .*/&\nhealth = on/' "$E2E_TMP/lb1.conf"
e2e_daemon lb1

health() {
	lbc lb1 -j backend list | $PY -c '
import json, sys
print(" ".join(b["name"] + "=" + b["health"] for b in json.load(sys.stdin)))'
}
health_is() { [ "$(health)" = "$1" ]; }
now_ms() { echo $((${EPOCHREALTIME//[.,]/} / 1000)); }

# new_conns PREFIX N: N short connections, all must succeed; prints the
# backends that served them
new_conns() {
	local i b out=
	for ((i = 0; i < $2; i++)); do e2e_client "$1$i" $VIP4 small.bin; done
	for ((i = 0; i < $2; i++)); do
		e2e_client_wait "$1$i"
		b=$(served_by "$1$i" small.bin)
		[ "$b" = none ] && fail "new connection $1$i failed"
		out="$out $b"
	done
	echo "$out"
}

wait_for 5 "every backend up" health_is "be1=up be2=up be3=up"
ok "every gtlsserver answers the probes (be1, be2 tunnelled, be3 direct): $(health)"

kill -9 "${SRV_PID[be2]}"
t0=$(now_ms)
wait "${SRV_PID[be2]}" 2>/dev/null
while ! health_is "be1=up be2=down be3=up" && [ $(($(now_ms) - t0)) -lt 10000 ]; do :; done
t1=$(now_ms)
check health_is "be1=up be2=down be3=up"
[ $((t1 - t0)) -le 3000 ] || fail "be2 down after $((t1 - t0)) ms, not within 3 s"
ok "be2's server killed: down after $((t1 - t0)) ms"

got=$(new_conns a 12)
case " $got " in *" be2 "*) fail "a new connection went to the down be2: $got" ;; esac
ok "12 new connections succeed, none on be2:$got"

e2e_server be2 plain
wait_for 5 "be2 up again" health_is "be1=up be2=up be3=up"
ok "be2's server back: up"
got=$(new_conns b 24)
case " $got " in *" be2 "*) ;; *) fail "no new connection reached be2 again: $got" ;; esac
ok "24 new connections succeed, some on be2 again:$got"
grep -q "backend be2: health down" "$E2E_TMP/log/lb1.cidlbd" || fail "be2's down not logged"
