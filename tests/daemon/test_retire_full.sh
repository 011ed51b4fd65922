#!/bin/bash
# test_retire_full.sh - the retired-CID map full (262,144 entries, the
# default retired_size): cidlbd stays idle (< 5 % of a core) and answers
# `cidlb status` within 1 s; CIDs with a short TTL stop being dropped at
# their TTL by the data path alone (the daemon stopped with SIGSTOP), and
# once the daemon runs again the sweep removes them, which makes room in
# the full map.
source "$(dirname "$0")/lib.sh"

FULL=262144	# [lb] retired_size, default
SHORT=2000	# of them with a short TTL
TTL=4

net_setup
write_conf 1 2
start_daemon

ms() { date +%s%3N; }
counter() { lbc -j stats | jget "d['counters']['$1']"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
status_ms() { # the slowest of three `cidlb status`
	local i t0 worst=0 d
	for i in 1 2 3; do
		t0=$(ms)
		lbc status >/dev/null 2>&1 || { echo 99999; return; }
		d=$(( $(ms) - t0 ))
		[ $d -gt $worst ] && worst=$d
	done
	echo $worst
}
# wait_for DESC WANT SECONDS CMD...: poll CMD until it prints WANT
wait_for() {
	local desc=$1 want=$2 secs=$3 got; shift 3
	local end=$((SECONDS + secs))
	while :; do
		got=$("$@" 2>/dev/null)
		[ "$got" = "$want" ] && { ok; return 0; }
		[ $SECONDS -ge $end ] && { bad "$desc: want '$want', got '$got' after $secs s"; return 1; }
		sleep 0.3
	done
}
retired_cids() { lbc -j status | jget 'd["retired_cids"]'; }

# --- fill the map: FULL - SHORT CIDs for 600 s -------------------------------------
/usr/bin/python3 -c '
import sys
for i in range(int(sys.argv[1])):
    print("0800ff%012x" % i)' $((FULL - SHORT)) >"$T/long.txt"
t0=$(ms)
expect_rc "retire $((FULL - SHORT)) CIDs" 0 lbc cid retire --ttl 600 --file "$T/long.txt"
echo "$((FULL - SHORT)) CIDs retired in $(( $(ms) - t0 )) ms"
eq "retire output" "retired $((FULL - SHORT)) CIDs for 600 s" "$(cat "$T/out")"

# --- idle with the map nearly full: CPU and status ------------------------------------
wait_for "status counts them" $((FULL - SHORT)) 30 retired_cids
sleep 1	# past the sweep that follows the batch
c0=$(cpu_ticks); t0=$(ms)
sleep 4
c1=$(cpu_ticks); t1=$(ms)
hz=$(getconf CLK_TCK)
pct=$(( (c1 - c0) * 100000 / hz / (t1 - t0) ))
echo "cidlbd idle with $((FULL - SHORT)) retired CIDs: $pct % of a core"
[ "$pct" -lt 5 ] && ok || bad "cidlbd idle CPU $pct % of a core, want < 5 %"
st=$(status_ms)
echo "cidlb status: $st ms"
[ "$st" -lt 1000 ] && ok || bad "cidlb status took $st ms, want < 1000"

# --- SHORT CIDs for TTL seconds, b1's among them: now the map is full ------------------
C1=$(cid_of 1 c1c2c3c4c5c6)
{ echo "$C1"; /usr/bin/python3 -c '
import sys
for i in range(int(sys.argv[1])):
    print("0800fe%012x" % i)' $((SHORT - 1)); } >"$T/short.txt"
t_ret=$(ms)
expect_rc "retire $SHORT CIDs for $TTL s" 0 lbc cid retire --ttl $TTL --file "$T/short.txt"
lbc cid retire --ttl 600 0800fd000000000001 >"$T/out" 2>"$T/err"; rc=$?
send --flow "$C1@48001" --count 3 >/dev/null
if [ $(( $(ms) - t_ret )) -lt $((TTL * 1000)) ]; then
	# (past the TTL, the daemon deletes the expired ones to make room)
	eq "the map is full: one more is refused" 3 $rc
	grep_in "the refusal says what to do" "raise \[lb\] retired_size" "$T/err"
	wait_for "within its TTL: dropped" 3 10 counter drop_retired
	eq "within its TTL: none arrived" 0 "$(decap_v4 s1)"
else
	echo "(the machine is too slow to check the drop within $TTL s)"
fi
st=$(status_ms)
echo "cidlb status, map full: $st ms"
[ "$st" -lt 1000 ] && ok || bad "cidlb status with the map full took $st ms, want < 1000"

# --- the TTL ends while the daemon is stopped: the data path lets them through ----------
kill -STOP "$DAEMON_PID"
while [ $(( $(ms) - t_ret )) -lt $(( (TTL + 1) * 1000 )) ]; do sleep 0.2; done
drops=$(counter drop_retired)
send --flow "$C1@48001" --count 4 >/dev/null
arrived() { echo $(( $(decap_v4 s1) )); }
wait_for "past its TTL, daemon stopped: arrives" 4 10 arrived
eq "not counted as dropped" "$drops" "$(counter drop_retired)"
eq "counted as past its TTL" 4 "$(counter retired_past_ttl)"
kill -CONT "$DAEMON_PID"

# --- the sweep gives the room back ---------------------------------------------------------
t0=$(ms)
wait_for "swept: status counts the long ones" $((FULL - SHORT)) 30 retired_cids
echo "$SHORT expired CIDs swept within $(( $(ms) - t0 )) ms of the daemon's resumption"
eq "metrics: $SHORT expired" $SHORT "$(metrics | metric cidlb_retired_cids_expired_total)"
expect_rc "room again: one more is retired" 0 lbc cid retire --ttl 600 0800fd000000000001

# --- the whole map expires at once: status still answers within 1 s ----------------------
expect_rc "the long ones again, for 2 s" 0 lbc cid retire --ttl 2 --file "$T/long.txt"
t_last=$(( $(ms) + 2000 ))	# the last of them expires by then
worst=0
end=$((SECONDS + 60))
while [ "$(retired_cids)" != 1 ] && [ $SECONDS -lt $end ]; do
	st=$(status_ms)
	[ "$st" -gt "$worst" ] && worst=$st
done
eq "all expired ones swept" 1 "$(retired_cids)"
echo "$((FULL - SHORT)) expired CIDs swept; the last within $(( $(ms) - t_last )) ms of its expiry; slowest status meanwhile $worst ms"
[ "$worst" -lt 1000 ] && ok || bad "cidlb status during the sweep took $worst ms, want < 1000"
finish
