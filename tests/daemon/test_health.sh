#!/bin/bash
# test_health.sh - health checks: cidlbd probes each backend through its
# tunnel (a QUIC packet of a reserved version to the VIP) and a stand-in
# QUIC server on srv (health_responder.py, one per LB, telling the
# backends apart by the interface the probe was decapsulated on) answers
# with a Version Negotiation packet, or not.
#  1. every backend answers: up; new flows spread over all three
#  2. b2's server stops answering: down within 3 s (the defaults), shown
#     by backend list, metrics and the log; new flows avoid it, its
#     known flows keep going to it; answering again: up, new flows again
#  3. answers with other connection IDs (a spoofer) do not count
#  4. every other probe answered (fall = rise = 2): the state holds; no
#     route to a backend: down
#  5. every backend silent: all down, all kept in the table (fail open)
#  6. health = off for one backend (a reload): off, not probed, in the table
#  7. a backend with mode = direct is probed in a frame to its MAC
source "$(dirname "$0")/lib.sh"

net_setup
# the VIP on srv, where the decapsulated probes go, and the way back to
# the LB's own address (any link: the answers are told apart by their CIDs)
on srv ip addr add 198.18.100.1/32 dev lo
on srv ip route add 198.18.0.0/24 via 198.18.1.1
on srv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
	net.ipv4.conf.s1.rp_filter=0 net.ipv4.conf.s2.rp_filter=0 net.ipv4.conf.s3.rp_filter=0
mkdir -p "$T/hr"
for i in 1 2 3; do echo up >"$T/hr/s$i"; done
on srv /usr/bin/python3 "$ROOT/tests/daemon/health_responder.py" "$T/hr" 198.18.100.1 443 \
	>"$T/responder.log" 2>&1 &
# the responders by their directories ($T is this run's): killing `on`'s
# process would leave the python3 it started running after the test
stop_responders() { pkill -f -- "health_responder.py $T/hr" 2>/dev/null; }
trap 'stop_responders; cleanup' EXIT

write_conf 1 2 3
# health on with the defaults (interval 1000 ms, timeout 500, fall 2, rise 2)
sed -i 's/^seed = 0x5eed$/&\nhealth = on/' "$T/cidlb.conf"
# b1 flaps in part 4: its answers count within a whole interval, so that a
# loaded machine's late answer is not taken for a missing one
sed -i 's/^server_id.0 = 0001$/&\nhealth_timeout = 1000/' "$T/cidlb.conf"
start_daemon

health() { lbc -j backend list | jget "' '.join(b['health'] for b in d)"; }
packets() { lbc -j backend list | jget "' '.join(str(b['packets']) for b in d)"; }
delta() { # BEFORE AFTER -> per-backend differences
	local -a a=($1) b=($2)
	echo "$((b[0] - a[0])) $((b[1] - a[1])) $((b[2] - a[2]))"
}
total_at_least() { [ "$(packets | awk '{ print $1 + $2 + $3 }')" -ge "$1" ]; }
# flows FIRST-PORT: 60 new flows with unroutable CIDs (config ID 7): each
# is placed by the Maglev table; the per-backend packets after they arrived
flows() {
	local i f= before
	before=$(packets)
	for i in $(seq 0 59); do f="$f --flow e7$(printf '%016x' $((i + $1)))@$(($1 + i))"; done
	# each opens with an Initial: only those record the 4-tuple
	send $f --count 1 --initial >/dev/null
	poll 20 total_at_least $(($(echo "$before" | awk '{ print $1 + $2 + $3 }') + 60))
	delta "$before" "$(packets)"
}
now_ms() { echo $((${EPOCHREALTIME//[.,]/} / 1000)); }
up_metric() { metrics | metric "cidlb_backend_up{backend=\"b$1\",state=\"active\"}"; }
transitions() { metrics | metric "cidlb_backend_health_transitions_total{backend=\"b$1\"}"; }

# --- 1. all up ---------------------------------------------------------------
wait_eq "every backend answers: up" "up up up" health
read -r f1 f2 f3 <<<"$(flows 42000)"
eq "60 flows placed" 60 $((f1 + f2 + f3))
[ "$f1" -gt 0 ] && [ "$f2" -gt 0 ] && [ "$f3" -gt 0 ] && ok ||
	bad "new flows spread over the three backends: $f1 $f2 $f3"
n=$(cat "$T/hr/s2.probes" 2>/dev/null || echo 0)
[ "$n" -ge 1 ] && ok || bad "probes reached b2 through its tunnel: $n"
eq "up: cidlb_backend_up 1" 1 "$(up_metric 2)"
expect_rc "backend list (text) has a HEALTH column" 0 lbc backend list
grep_in "backend list: HEALTH column" "HEALTH" "$T/out"
grep_in "backend list: b2 up" "^b2 .* active *up " "$T/out"

# --- 2. b2 dies, comes back --------------------------------------------------
tr0=$(transitions 2)
rm "$T/hr/s2"
t0=$(now_ms)
# no sleep between looks, and no python in them (its start-up on a loaded
# machine took a good part of the 3 s): t1 - t0 bounds the detection time
# from above
b2_down() { lbc backend list 2>/dev/null | grep -qE '^b2 .* active +down '; }
while ! b2_down && [ $(($(now_ms) - t0)) -lt 10000 ]; do :; done
t1=$(now_ms)
echo "b2 seen down $((t1 - t0)) ms after its server stopped answering"
eq "b2 silent: down" "up down up" "$(health)"
[ $((t1 - t0)) -le 3000 ] && ok || bad "b2 down within 3 s: took $((t1 - t0)) ms"
eq "down: cidlb_backend_up 0" 0 "$(up_metric 2)"
eq "one transition (up -> down)" $((tr0 + 1)) "$(transitions 2)"
grep_in "the change is logged" "backend b2: health down" "$T/daemon.log"
read -r g1 g2 g3 <<<"$(flows 43000)"
eq "no new flow goes to the down backend" 0 "$g2"
eq "60 new flows placed on the others" 60 $((g1 + g2 + g3))
before=$(packets)
send $(for i in $(seq 0 59); do printf ' --flow e7%016x@%d' $((42000 + i)) $((42000 + i)); done) \
	--count 1 >/dev/null
poll 20 total_at_least $(($(echo "$before" | awk '{ print $1 + $2 + $3 }') + 60))
eq "known flows keep their backend while it is down (LRU)" "$f1 $f2 $f3" \
	"$(delta "$before" "$(packets)")"
echo up >"$T/hr/s2"
wait_eq "b2 answers again: up" "up up up" health
eq "up again: cidlb_backend_up 1" 1 "$(up_metric 2)"
eq "two transitions (down, up)" $((tr0 + 2)) "$(transitions 2)"
read -r h1 h2 h3 <<<"$(flows 44000)"
[ "$h2" -gt 0 ] && ok || bad "new flows reach b2 again: $h1 $h2 $h3"

# --- 3. a spoofer's answers do not count -------------------------------------
echo spoof >"$T/hr/s3"
wait_eq "answers with other CIDs: b3 down" "up up down" health
n=$(cat "$T/hr/s3.probes")
poll 10 prints_above $((n + 2)) cat "$T/hr/s3.probes"
eq "b3 stays down while only spoofed answers come" "up up down" "$(health)"
echo up >"$T/hr/s3"
wait_eq "b3 answers again: up" "up up up" health

# --- 4. flapping: every other probe answered ----------------------------------
tr0=$(transitions 1)
echo flap >"$T/hr/s1"
n=$(cat "$T/hr/s1.probes")
poll 20 prints_above $((n + 6)) cat "$T/hr/s1.probes" || bad "b1 probed 6 more times"
eq "every other probe answered: b1 stays up (fall 2, rise 2)" "up up up" "$(health)"
eq "no transition while flapping" "$tr0" "$(transitions 1)"
echo up >"$T/hr/s1"

# --- 4b. no route to a backend: its probes fail without waiting --------------
on lb ip route add unreachable 198.18.3.2/32
wait_eq "no route to b3: down (its server still answers)" "up up down" health
grep_in "the send error is logged" "backend b3: cannot send a health probe" "$T/daemon.log"
on lb ip route del unreachable 198.18.3.2/32
wait_eq "the route back: b3 up" "up up up" health

# --- 5. all down: fail open --------------------------------------------------
rm "$T/hr/s1" "$T/hr/s2" "$T/hr/s3"
wait_eq "every backend silent: all down" "down down down" health
eq "fail open in the metrics" 1 "$(metrics | metric cidlb_health_fail_open)"
grep_in "fail open is logged loudly" "FAILING OPEN" "$T/daemon.log"
read -r k1 k2 k3 <<<"$(flows 45000)"
eq "60 flows placed while all are down" 60 $((k1 + k2 + k3))
[ "$k1" -gt 0 ] && [ "$k2" -gt 0 ] && [ "$k3" -gt 0 ] && ok ||
	bad "all down: every backend kept (fail open): $k1 $k2 $k3"
echo up >"$T/hr/s1"
wait_eq "b1 back: no longer failing open" "0" eval 'metrics | metric cidlb_health_fail_open'
read -r m1 m2 m3 <<<"$(flows 46000)"
eq "only b1 takes new flows" "60 0 0" "$m1 $m2 $m3"

# --- 6. health = off for one backend (reload): not probed, back in the table -
# b1 up, b2 and b3 silent (down)
sed -i 's/^server_id.0 = 0002$/&\nhealth = off/' "$T/cidlb.conf"
kill -HUP "$DAEMON_PID"
wait_eq "b2 not checked: off" "up off down" health
eq "off: cidlb_backend_up 1" 1 "$(up_metric 2)"
read -r o1 o2 o3 <<<"$(flows 47000)"
[ "$o2" -gt 0 ] && ok || bad "b2 (health off) takes new flows again: $o1 $o2 $o3"
eq "b3 (down) still takes none" 0 "$o3"
n=$(cat "$T/hr/s2.probes"); m=$(cat "$T/hr/s3.probes")
poll 10 prints_above $((m + 2)) cat "$T/hr/s3.probes"
eq "b2 is not probed any more" "$n" "$(cat "$T/hr/s2.probes")"

# --- 7. mode = direct: the probe goes in a frame to the backend's MAC ----------
# the client host plays a direct backend on l0's segment
mkdir -p "$T/hrc"; echo up >"$T/hrc/c0"
on cl ip addr add 198.18.100.1/32 dev lo
on cl /usr/bin/python3 "$ROOT/tests/daemon/health_responder.py" "$T/hrc" 198.18.100.1 443 \
	>"$T/responder_cl.log" 2>&1 &
expect_rc "backend add: a bad --health-fall is refused" 2 lbc backend add b4 \
	--address 198.18.0.2 --health-fall 0
grep_in "the refusal names the key" "health_fall" "$T/err"
expect_rc "add a direct backend" 0 lbc backend add b4 --address 198.18.0.2 --mode direct \
	--mac "$(mac_of cl c0)" --server-id 0:0004 --health on --health-interval 500 --health-rise 1
wait_eq "the direct backend answers: up" "up off down up" health
rm "$T/hrc/c0"
wait_eq "the direct backend silent: down" "up off down down" health
stop_daemon
finish
