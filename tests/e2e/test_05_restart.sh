#!/bin/bash
# Scenario 5: the daemon restarts while downloads run: first a keep-mode
# stop and start (`cidlb daemon stop --keep`, then cidlbd adopts the
# pinned program and maps), then a crash (SIGKILL) and start.
#
# Asserts: while no daemon runs the downloads keep moving (the program
# stays attached); the new daemon says it adopted the running program and
# the counters carry on from where they were (same maps); every download
# completes intact on the backend its first CID names; nothing is dropped.
#
# Timing: until both restarts are done the downloads are shaped to
# 4 Mbit/s in all (18 MB at 500 kB/s would take 36 s), so they are still
# running however slow the test is (it checks before each stop); the
# window with no daemon lasts until the downloads have moved 100 kB (up
# to 20 s); then 24 Mbit/s.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
SIZE=$((3 * 1024 * 1024))
e2e_up 1 plain $SIZE
e2e_shape 4mbit

E2E_CLIENT_LIMIT=120		# (slow until both restarts are done)
e2e_gate
for ((i = 0; i < 6; i++)); do e2e_client "k$i" $VIP4 f.bin; done
e2e_gate_open
for ((i = 0; i < 6; i++)); do wait_for 10 "k$i to receive data" dl_at_least "k$i" 1; done

total() { local n=0 i; for ((i = 0; i < 6; i++)); do n=$((n + $(dl_size "k$i"))); done; echo $n; }
daemon_gone() { ! kill -0 "${LBD_PID[lb1]}" 2>/dev/null; }
moved() { [ "$(total)" -ge "$1" ]; }	# moved OCTETS: the downloads have that much in all

# restart HOW: stop the daemon (keep | kill), check the gap, start it again
restart() {
	local rx0 got0 got1 rx1
	rx0=$(lbstat lb1 rx_packets)
	got0=$(total)
	[ $((6 * SIZE - got0)) -gt 2000000 ] ||
		fail "$1: the downloads had $got0 of $((6 * SIZE)) octets before the stop (the test was too slow, not cidlb)"
	if [ "$1" = keep ]; then
		lbc lb1 daemon stop --keep >/dev/null || fail "cidlb daemon stop --keep"
	else
		kill -9 "${LBD_PID[lb1]}"
		wait "${LBD_PID[lb1]}" 2>/dev/null	# (reaps it quietly)
	fi
	wait_for 5 "cidlbd to exit" daemon_gone
	got0=$(total)
	poll 20 moved $((got0 + 100000)) || fail "$1: nothing forwarded while the daemon was down"
	got1=$(total)
	log "$1: with no daemon the downloads moved $((got1 - got0)) octets"
	e2e_daemon lb1
	lbc lb1 -j status | json_get adopted | grep -q True || fail "$1: the new daemon did not adopt"
	rx1=$(lbstat lb1 rx_packets)
	[ "$rx1" -gt "$rx0" ] || fail "$1: counters restarted ($rx0 -> $rx1): maps not adopted"
	ok "$1: cidlbd restarted and adopted the running program (rx_packets $rx0 -> $rx1)"
}

restart keep
restart kill
e2e_shape 24mbit
for ((i = 0; i < 6; i++)); do
	e2e_client_wait "k$i"
	b=$(served_by "k$i"); want=$(qlog_backend "k$i")
	[ "$b" = none ] && fail "download k$i (on $want) missing or corrupt"
	[ "$b" = "$want" ] || fail "download k$i came from $b, its CIDs name $want"
done
ok "6 downloads of 3 MiB intact across two restarts"
for c in drop_no_backend drop_no_route drop_encap drop_retired drop_mtu; do
	[ "$(lbstat lb1 $c)" = 0 ] || fail "$c=$(lbstat lb1 $c)"
done
ok "nothing dropped"
