#!/bin/bash
# Scenario 12: a flood of made-up packets at the VIP while real downloads
# and a migration run through the same cidlb (QUIC-LB config 1, four-pass
# AES). tests/e2e/flood.py, in the router's namespace, sends straight onto
# the segment to cidlb's interface, as fast as it can, from 198.18.200.x
# and the next source port each time: Initials of 1200 octets with random
# DCIDs, short headers and Initials with random CIDs of config 1 (a
# decode, a server ID nobody has), and Initials of 300 octets. The
# backends drop what comes from 198.18.200.0/24 after cidlb (the QUIC
# servers are not under test).
#
# Asserts: every download completes with the exact content of one backend,
# and every CID its server issued names that backend (no connection moved);
# the migrating client validated its new path and finished; cidlb dropped
# the small Initials (drop_small_initial), routed the made-up short
# headers without recording them (lru_no_admit), refused 4-tuples over
# new_flow_rate (lru_rate_limited), and its 4-tuple table holds no more
# than the rate allows; nothing was dropped for want of a backend, route
# or room. Reports the flood's rate, what cidlb did with it and the
# program's own cost per packet meanwhile (the kernel's BPF statistics).
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
SIZE=$((2 * 1024 * 1024))
N=6
RATE_LIMIT=1000		# [lb] new_flow_rate, the default
e2e_up 1 aes $SIZE
e2e_shape 16mbit

for b in "${BACKENDS[@]}"; do
	nsx "$b" nft -f - <<-EON || fail "nftables on $b"
	table inet flood {
		counter seen { }
		chain pre {
			type filter hook prerouting priority -500;
			ip saddr 198.18.200.0/24 counter name seen drop
		}
	}
	EON
done
flood_at_backends() {
	local b n=0 v
	for b in "${BACKENDS[@]}"; do
		v=$(nsx "$b" nft -j list counter inet flood seen | json_get nftables 1 counter packets)
		n=$((n + v))
	done
	echo $n
}
lru_entries() {
	nsx lb1 bpftool -j map dump pinned /sys/fs/bpf/cidlb/cidlb_lru | $PY -c '
import json, sys
print(len(json.load(sys.stdin)))'
}
counters() { lbc lb1 -j stats | $PY -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(" ".join(str(c[k]) for k in sys.argv[1:]))' "$@"; }

K=(rx_packets drop_small_initial lru_no_admit lru_rate_limited route_maglev route_lru route_cid
   unroutable_sid dcache_miss drop_no_backend drop_no_route drop_encap drop_mtu drop_no_neigh)
read -r -a c0 <<<"$(counters "${K[@]}")"
lru0=$(lru_entries)

# the program's own time per packet while the flood runs: the kernel's BPF
# statistics (kernel.bpf_stats_enabled, machine-wide: on for this test only,
# put back as it was on every exit)
STATS0=$(sysctl -n kernel.bpf_stats_enabled)
E2E_ON_EXIT+=("sysctl -qw kernel.bpf_stats_enabled=$STATS0")
sysctl -qw kernel.bpf_stats_enabled=1
prog_stats() { # "RUN_TIME_NS RUN_CNT" of the program attached to lb1's eth0
	local id
	id=$(nsx lb1 bpftool -j net show dev eth0 | $PY -c '
import json, sys
print(json.load(sys.stdin)[0]["xdp"][0]["id"])')
	nsx lb1 bpftool -j prog show id "$id" | $PY -c '
import json, sys
p = json.load(sys.stdin)
print(p.get("run_time_ns", 0), p.get("run_cnt", 0))'
}
read -r rt0 rc0 <<<"$(prog_stats)"

STOP=$E2E_TMP/flood.stop
T0=$SECONDS	# (the 4-tuple table may fill from the flood's first packet on)
nsbg rt "$PY" "$E2E_REPO/tests/e2e/flood.py" sw --dst-mac "$(mac_of lb1 eth0)" --dst $VIP4 \
	--src-net 198.18.200 --cid-len 18 --until-file "$STOP" >"$E2E_TMP/flood.json"
FLOOD=$BG_PID
flooding() { [ "$(lbstat lb1 drop_small_initial)" -gt 100 ]; }
wait_for 10 "the flood at cidlb" flooding
log "flood under way; $N downloads and a migration"

e2e_migrating_get m $VIP4 198.18.1.3 1s
e2e_gate
for ((i = 0; i < N; i++)); do e2e_client "c$i" $VIP4 f.bin; done
e2e_gate_open
for ((i = 0; i < N; i++)); do e2e_client_wait "c$i"; done
e2e_client_wait m
touch "$STOP"
wait "$FLOOD"
T=$((SECONDS - T0))
read -r rt1 rc1 <<<"$(prog_stats)"
sysctl -qw kernel.bpf_stats_enabled="$STATS0"
read -r -a c1 <<<"$(counters "${K[@]}")"
lru1=$(lru_entries)
declare -A d
for ((k = 0; k < ${#K[@]}; k++)); do d[${K[$k]}]=$((c1[k] - c0[k])); done

for name in m $(for ((i = 0; i < N; i++)); do echo "c$i"; done); do
	b=$(served_by "$name")
	[ "$b" = none ] && fail "$name: download missing or corrupt under the flood"
	check_server_cids "$name" "$b"
done
ok "$((N + 1)) downloads intact under the flood, each served by one backend that every CID names"
path_validated m || fail "the migrating client has no path validation in its qlog"
check_mid_transfer m "migration under the flood"
ok "the migrating client moved mid-download, validated its new path and finished"

sent=$(json_get sent <"$E2E_TMP/flood.json")
secs=$(json_get seconds <"$E2E_TMP/flood.json")
seen=$(flood_at_backends)
log "flood: $sent frames in $secs s ($($PY -c "print(round($sent / $secs))") a second), $seen reached the backends"
[ $((rc1 - rc0)) -gt 0 ] || fail "no run of cidlb_xdp counted by the kernel's BPF statistics"
log "cidlb_xdp under the flood: $((rc1 - rc0)) packets at $(((rt1 - rt0) / (rc1 - rc0))) ns each (kernel BPF statistics, all packets, flood and downloads)"
log "cidlb: rx ${d[rx_packets]}, drop_small_initial ${d[drop_small_initial]}, lru_no_admit ${d[lru_no_admit]}, lru_rate_limited ${d[lru_rate_limited]}, route_maglev ${d[route_maglev]}, route_lru ${d[route_lru]}, route_cid ${d[route_cid]}, unroutable_sid ${d[unroutable_sid]}, dcache_miss ${d[dcache_miss]}"
[ "${d[drop_small_initial]}" -gt 0 ] || fail "no Initial under 1200 octets dropped"
[ "${d[lru_no_admit]}" -gt 0 ] || fail "no made-up short header routed without an entry"
[ "${d[lru_rate_limited]}" -gt 0 ] || fail "no 4-tuple refused over new_flow_rate"
[ "${d[unroutable_sid]}" -gt 0 ] || fail "no made-up config-1 CID decoded to nobody's server ID"
for c in drop_no_backend drop_no_route drop_encap drop_mtu drop_no_neigh; do
	[ "${d[$c]}" = 0 ] || fail "$c moved by ${d[$c]} under the flood"
done
ok "small Initials dropped, made-up CIDs routed without entries, inserts held to the rate"
# at most RATE_LIMIT a second per CPU, plus a second's burst, plus the
# clients' own (and what was there)
cpus=$(nproc)
max=$((cpus * RATE_LIMIT * (T + 2) + lru0 + 2 * (N + 1)))
log "cidlb_lru: $lru0 entries before, $lru1 after $T s (at most $max by the rate)"
[ "$lru1" -le "$max" ] || fail "cidlb_lru holds $lru1 entries, more than the rate allows ($max)"
ok "cidlb_lru grew no faster than $RATE_LIMIT a second per CPU"
