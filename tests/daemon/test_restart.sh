#!/bin/bash
# test_restart.sh - forwarding never depends on the daemon:
#  1. stop --keep while packets stream, start a new daemon that adopts the
#     pinned program and maps: every packet sent arrives (counted at the
#     backends), backend indexes are the same.
#  2. kill -9 while packets stream: every packet arrives; `cidlb stats`
#     works without the daemon; a new daemon adopts.
#  3. adoption without the state file: indexes recovered from the maps.
#  4. `cidlbd --cleanup` removes what a kept daemon left.
#  5. a plain stop detaches and unpins.
# Also: the MTU floor (cidlb_global.mtu_floor) is the attached interface's
# MTU, follows a change of it, and is 0 (the kernel asked about every
# packet) while a kept program runs without a daemon.
# Also: bpftool shows the pinned maps with field names (BTF).
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2 3
start_daemon

stream_flows

# --- BTF: bpftool prints field names -------------------------------------------
on lb bpftool map dump pinned "$PIN/cidlb_backends" >"$T/bt" 2>&1
grep_in "bpftool: backend fields" '"fwd_mode": 0' "$T/bt"
on lb bpftool map dump pinned "$PIN/cidlb_counters" >"$T/bt" 2>&1
grep_in "bpftool: counter fields" '"route_cid":' "$T/bt"
on lb bpftool prog show pinned "$PIN/cidlb_xdp" >"$T/bt" 2>&1
grep_in "bpftool: the pinned program" "name cidlb_xdp" "$T/bt"

# --- the MTU floor ----------------------------------------------------------------
mtu_floor() {
	on lb bpftool -j map lookup pinned "$PIN/cidlb_global" key 0 0 0 0 |
		/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["formatted"]["value"]["mtu_floor"])'
}
status_mtu() { lbc -j status | jget '[i["mtu"] for i in d["interfaces"] if i["name"] == "l0"][0]'; }
wait_eq "the MTU floor is l0's MTU" 1500 mtu_floor
eq "status shows l0's MTU" 1500 "$(status_mtu)"
on lb ip link set l0 mtu 1400
wait_eq "the floor follows l0's MTU down" 1400 mtu_floor
wait_eq "and status with it" 1400 status_mtu
grep_in "the change is logged" "l0: MTU 1500 -> 1400" "$T/daemon.log"
on lb ip link set l0 mtu 1500
wait_eq "and back up" 1500 mtu_floor

# --- 1. restart with keep --------------------------------------------------------
idx_before=$(lbc -j backend list | jget '[(b["name"], b["index"]) for b in d]')
base=$(total_rx)
stream_start
flowing
t0=$(date +%s.%N)
stop_daemon --keep
grep_in "the stop says what stays" "the program stays attached and the maps pinned" "$T/daemon.log"
eq "no daemon follows the MTU: the kernel is asked" 0 "$(mtu_floor)"
eq "still attached while no daemon runs" "prog/xdp" "$(on lb ip -d link show l0 | grep -o 'prog/xdp')"
flowing	# with no daemon
start_daemon
t1=$(date +%s.%N)
flowing
poll 30 rx_at_least $((base + 1500))	# enough to mean something
stream_lost "restart with keep" "$base" "$t0" "$t1"
[ "$sent" -gt 1000 ] && ok || bad "too few packets to mean anything: $sent"
eq "the new daemon adopted" "True" "$(lbc -j status | jget 'd["adopted"]')"
wait_eq "the adopting daemon sets the floor again" 1500 mtu_floor
grep_in "adoption logged" "adopting the program and maps pinned under $PIN" "$T/daemon.log"
grep_in "attachment adopted" "l0: cidlb already attached" "$T/daemon.log"
eq "same backend indexes" "$idx_before" "$(lbc -j backend list | jget '[(b["name"], b["index"]) for b in d]')"

# --- 2. crash --------------------------------------------------------------------
base=$(total_rx)
stream_start
flowing
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
flowing	# with no daemon
expect_rc "status while crashed: not running" 1 lbc status
grep_in "status says it still forwards" "pinned: it keeps forwarding" "$T/out"
expect_rc "stats without the daemon" 0 lbc -j stats
stream_lost crash "$base"
start_daemon
eq "a daemon after a crash adopts" "True 3" "$(lbc -j status | jget 'd["adopted"], d["backends"]["active"]')"

# --- 3. adoption without the state file ----------------------------------------------
stop_daemon --keep
eq "the adopting daemons still know cidlbd turned forwarding on for l0" 1 \
	"$(jget '[i["forwarding_set"] for i in d["interfaces"] if i["name"] == "l0"][0]' <"$T/state.json")"
rm -f "$T/state.json"
start_daemon
grep_in "the missing state file is explained" "no state file $T/state.json: backend indexes are recovered" "$T/daemon.log"
eq "indexes recovered from the server-ID map" "$idx_before" "$(lbc -j backend list | jget '[(b["name"], b["index"]) for b in d]')"
base=$(total_rx)
send $FLOWS --count 50 >"$T/sent.json"
rx_since() { echo $(($(total_rx) - $1)); }
wait_eq "forwarding after recovery" "$(jget 'd["total"]' <"$T/sent.json")" rx_since "$base"

# --- 4. --cleanup removes what a kept (or crashed) daemon left -------------------------
stop_daemon --keep
eq "a kept program keeps forwarding on l0" 1 "$(on lb cat /proc/sys/net/ipv4/conf/l0/forwarding)"
on lb "$CIDLBD" -c "$T/cidlb.conf" --cleanup >>"$T/daemon.log" 2>&1
eq "--cleanup: no XDP program on l0" "" "$(on lb ip -d link show l0 | grep -o 'prog/xdp')"
eq "--cleanup: forwarding left on (no state file says cidlbd turned it on: deleted in 3)" 1 \
	"$(on lb cat /proc/sys/net/ipv4/conf/l0/forwarding)"
eq "--cleanup: pins removed" "no" "$(on lb sh -c "[ -e $PIN ] && echo yes || echo no")"
start_daemon
eq "a fresh start after --cleanup" "False" "$(lbc -j status | jget 'd["adopted"]')"

# --- 5. plain stop: detached and unpinned ----------------------------------------------
stop_daemon
eq "no XDP program on l0" "" "$(on lb ip -d link show l0 | grep -o 'prog/xdp')"
eq "pin directory removed" "no" "$(on lb sh -c "[ -e $PIN ] && echo yes || echo no")"
eq "state file removed" "no" "$([ -e "$T/state.json" ] && echo yes || echo no)"
base=$(total_rx)
send $FLOWS --count 5 >/dev/null
# a barrier: a ping of the LB host, sent after them through the same
# link, is answered once the host handled what came before (an echo
# reply, not rate-limited as the unreachables those packets caused)
on cl ping -c 1 -W 20 198.18.0.1 >/dev/null || bad "no ping reply from the LB host"
eq "nothing forwarded after a plain stop" 0 $(( $(total_rx) - base ))
finish
