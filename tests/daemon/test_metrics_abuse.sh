#!/bin/bash
# test_metrics_abuse.sh - the metrics port is open to every local user; what
# one can do there must not stop forwarding or the control socket:
#  1. user nobody binds the metrics address before cidlbd starts: cidlbd
#     starts anyway, logs it, forwards, answers `cidlb status`, and serves
#     metrics once the squatter is gone (the bind is retried);
#  2. user nobody holds 2,000 idle TCP connections to the metrics port of
#     a cidlbd started with the file limit systemd gives by default (soft
#     1024): `cidlb status` answers within 1 s every time, a steady packet
#     stream keeps arriving, cidlbd uses little CPU (no spinning), and
#     metrics are served again once the connections are gone;
#  3. a poll() error in the main loop (the file limit lowered under the
#     running daemon) stops cidlbd as a crash would: exit 1, the program
#     stays attached and the maps pinned.
source "$(dirname "$0")/lib.sh"

NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
net_setup
write_conf 1 2
chmod 711 "$T"; install -d -m 1777 "$T/nb"	# where nobody writes its ready files

# --- 1. squatter on the metrics address --------------------------------------------
on lb $NOBODY /usr/bin/python3 -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 19470)); s.listen(8)
open(sys.argv[1], "w").close()
# until told, or until the test (and its directory) is gone
while not os.path.exists(sys.argv[2]) and os.path.isdir(os.path.dirname(sys.argv[2])):
    time.sleep(0.05)' "$T/nb/squat.ready" "$T/nb/squat.stop" &
SQUAT=$!
for i in $(seq 100); do [ -e "$T/nb/squat.ready" ] && break; sleep 0.1; done
[ -e "$T/nb/squat.ready" ] || bad "the squatter did not bind 127.0.0.1:19470"
start_daemon
expect_rc "squatted metrics: status answers" 0 lbc status
grep_in "squatted metrics: the bind failure logged" \
	"cannot serve metrics on 127.0.0.1:19470: Address already in use" "$T/daemon.log"
grep_in "squatted metrics: forwarding goes on" "forwarding and the control socket go on" "$T/daemon.log"
base=$(lbc -j stats | jget 'd["counters"]["route_cid"]')
send --flow "$(cid_of 1 0a0a0a0a0a0a)@49001" --count 5 >/dev/null
wait_eq "squatted metrics: packets at the backend" 5 decap_v4 s1
eq "squatted metrics: packets through the program" 5 $(( $(lbc -j stats | jget 'd["counters"]["route_cid"]') - base ))
touch "$T/nb/squat.stop"; wait $SQUAT
for i in $(seq 300); do metrics >/dev/null 2>&1 && break; sleep 0.1; done
metrics >"$T/m.txt" 2>&1
grep_in "metrics served once the squatter is gone" "cidlb_route_cid_total 5" "$T/m.txt"
# (cidlbd serves before it logs the retry)
poll 20 grep -qF "(the address is free now)" "$T/daemon.log"
grep_in "the retry logged" "metrics on http://127.0.0.1:19470/metrics (the address is free now)" "$T/daemon.log"
stop_daemon

# --- 2. 2,000 idle connections ------------------------------------------------------
DAEMON_ENV="CIDLB_TEST=1 prlimit --nofile=1024:$(ulimit -Hn) --" start_daemon
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
status_ms() { local a; a=$(date +%s%N); lbc status >/dev/null 2>&1 || return 1; echo $(( ($(date +%s%N) - a) / 1000000 )); }
base_worst=0
for i in $(seq 3); do ms=$(status_ms); [ "${ms:-0}" -gt $base_worst ] && base_worst=$ms; done
echo "cidlb status without idle connections: worst ${base_worst} ms (machine load $(cut -d' ' -f1 /proc/loadavg))"
on lb $NOBODY /usr/bin/python3 "$ROOT/tests/daemon/idle_conns.py" 127.0.0.1 19470 2000 \
	"$T/nb/idle.ready" "$T/nb/idle.stop" &
IDLE=$!
for i in $(seq 300); do [ -e "$T/nb/idle.ready" ] && break; sleep 0.1; done
echo "idle connections from nobody: $(cat "$T/nb/idle.ready" 2>/dev/null)"
rm -f "$T/stop"
send --flow "$(cid_of 2 0b0b0b0b0b0b)@49002" --interval-us 2000 --until-file "$T/stop" >"$T/sent.json" &
SENDER=$!
t0=$(cpu_ticks); w0=$(date +%s.%N)
prev=$(decap_v4 s2); moving=0; slow=0; worst=0
for i in $(seq 5); do
	sleep 1
	ms=$(status_ms) || { bad "status did not answer under 2,000 idle connections"; ms=99999; }
	[ $ms -gt $worst ] && worst=$ms
	[ $ms -lt 1000 ] || slow=$((slow + 1))
	now=$(decap_v4 s2)
	[ "$now" -gt "$prev" ] && moving=$((moving + 1))
	prev=$now
done
t1=$(cpu_ticks); w1=$(date +%s.%N)
cpu=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v a="$w0" -v b="$w1" 'BEGIN { printf "%d", 100 * t / hz / (b - a) }')
echo "under 2,000 idle connections: cidlb status worst ${worst} ms, cidlbd CPU ${cpu} %, forwarding moved in $moving of 5 s"
eq "status answered within 1 s every time" 0 $slow
eq "forwarding never stopped" 5 $moving
[ "$cpu" -lt 25 ] && ok || bad "cidlbd used ${cpu} % CPU under idle connections: spinning?"
touch "$T/nb/idle.stop" "$T/stop"; wait $IDLE; wait $SENDER
sent=$(jget 'd["total"]' <"$T/sent.json")
wait_eq "every packet of the stream arrived" "$sent" decap_v4 s2
for i in $(seq 300); do metrics >/dev/null 2>&1 && break; sleep 0.1; done
expect_rc "metrics served again after the connections are gone" 0 metrics

# --- 3. a poll() error keeps the program ---------------------------------------------
prlimit --pid "$DAEMON_PID" --nofile=3:3
# the loop's 1 s timer wakes it: its next poll() fails (nfds > RLIMIT_NOFILE)
poll 30 daemon_gone
wait "$DAEMON_PID"; rc=$?; DAEMON_PID=
eq "poll error: exit 1" 1 $rc
grep_in "poll error: logged" "poll: Invalid argument: stopping; the program stays attached" "$T/daemon.log"
eq "poll error: still attached" "prog/xdp" "$(on lb ip -d link show l0 | grep -o 'prog/xdp')"
eq "poll error: still pinned" "yes" "$(on lb test -e "$PIN/cidlb_xdp" && echo yes)"
start_daemon
eq "poll error: the next daemon adopts" "True" "$(lbc -j status | jget 'd["adopted"]')"
stop_daemon
finish
