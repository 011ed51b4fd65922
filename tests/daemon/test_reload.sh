#!/bin/bash
# test_reload.sh - SIGHUP and `cidlb daemon reload`: a good file is applied
# as live changes (while a connection streams, none of its packets is
# lost), a bad file is logged with its line and the running configuration
# stays; sd_notify READY/RELOADING/STOPPING reach $NOTIFY_SOCKET.
source "$(dirname "$0")/lib.sh"

net_setup
# a stand-in for systemd's notify socket
cat >"$T/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
/usr/bin/python3 "$T/notify.py" "$T/notify.sock" "$T/notify.log" &
NOTIFIER=$!
trap 'kill $NOTIFIER 2>/dev/null; cleanup' EXIT
poll 20 test -S "$T/notify.sock" || bad "the notify socket did not appear"
write_conf 1 2
DAEMON_ENV="NOTIFY_SOCKET=$T/notify.sock" start_daemon
poll 20 grep -q '^READY=1' "$T/notify.log"
grep_in "READY=1 at start" "^READY=1|STATUS=running" "$T/notify.log"

wait_log() { # PATTERN: the daemon logged it (up to 20 s)
	poll 20 grep -q -- "$1" "$T/daemon.log"
}

C1=$(cid_of 1 111111111111)
rm -f "$T/stop"
send --flow "$C1@47001" --interval-us 500 --until-file "$T/stop" >"$T/s.json" &
SENDER=$!
# the connection streams before the first reload
poll 20 prints_above 0 decap_v4 s1 || bad "the stream did not start"

# [lb] new_flow_rate, flow_idle_timeout (in ticks of 2^30 ns) as packets read them
admission() {
	on lb bpftool -j map dump pinned "$PIN/cidlb_global" |
		jget 'd[0]["formatted"]["value"]["new_flow_rate"], d[0]["formatted"]["value"]["flow_idle"]'
}
eq "new-flow admission: the defaults (1000 a second, 30 s = 28 ticks)" "1000 28" "$(admission)"

# --- a good file: b2 leaves, b3 arrives, b1's weight changes, new-flow limits --
cp "$T/cidlb.conf" "$T/good.conf"
write_conf 1 3
sed -i '/^\[backend b1\]/a weight = 50' "$T/cidlb.conf"
sed -i '/^\[lb\]/a new_flow_rate = 5\nflow_idle_timeout = 60' "$T/cidlb.conf"
kill -HUP "$DAEMON_PID"
wait_log "reload applied" && ok || bad "SIGHUP: no 'reload applied' in the log"
eq "after SIGHUP: new_flow_rate 5, flow_idle_timeout 60 s = 56 ticks" "5 56" "$(admission)"
eq "after SIGHUP: the file's backends" "[('b1', 50, 'active'), ('b3', 100, 'active')]" \
	"$(lbc -j backend list | jget '[(b["name"], b["weight"], b["state"]) for b in d]')"
eq "b2's server ID quarantined" "[('0002', 'b2')]" \
	"$(printf '{"cmd":"quarantine.list"}' | ctl_raw |
		jget "[(q['server_id'], q['owner']) for q in d['quarantine']]")"
poll 20 prints 2 grep -c '^READY=1' "$T/notify.log"
grep_in "RELOADING=1 then READY=1" "^RELOADING=1" "$T/notify.log"
[ "$(grep -c '^READY=1' "$T/notify.log")" = 2 ] && ok || bad "READY=1 after the reload: $(cat "$T/notify.log")"
m=$(metrics)
eq "metrics: reload ok" "1 1 0" "$(echo "$m" | metric cidlb_reload_success) $(echo "$m" | metric 'cidlb_reloads_total{result="ok"}') $(echo "$m" | metric 'cidlb_reloads_total{result="error"}')"

# --- a bad file: refused with its line, nothing changes ------------------------
cp "$T/cidlb.conf" "$T/applied.conf"
sed -i 's/^weight = 50$/weight = fifty/' "$T/cidlb.conf"
line=$(grep -n '^weight = fifty' "$T/cidlb.conf" | cut -d: -f1)
kill -HUP "$DAEMON_PID"
wait_log "reload refused" && ok || bad "bad file: no 'reload refused' in the log"
grep_in "the log names file, line and key" "$T/cidlb.conf:$line: \[backend b1\] weight: 'fifty': must be a number 0..65535" "$T/daemon.log"
eq "the running configuration stays" "[('b1', 50), ('b3', 100)]" \
	"$(lbc -j backend list | jget '[(b["name"], b["weight"]) for b in d]')"
eq "status: last reload refused" "False True" \
	"$(lbc -j status | jget 'd["last_reload"]["ok"], "'"$T/cidlb.conf:$line"'" in d["last_reload"]["message"]')"
expect_rc "cidlb daemon reload of the bad file" 3 lbc daemon reload
grep_in "its message" "cidlbd: $T/cidlb.conf has 1 error, the running configuration stays: $T/cidlb.conf:$line:" "$T/err"
m=$(metrics)
eq "metrics: reload refused" "0 1 2" "$(echo "$m" | metric cidlb_reload_success) $(echo "$m" | metric 'cidlb_reloads_total{result="ok"}') $(echo "$m" | metric 'cidlb_reloads_total{result="error"}')"

# --- a valid file the running state refuses: b2's server ID to another name ----
cp "$T/applied.conf" "$T/cidlb.conf"
printf '\n[backend b9]\naddress = 198.18.2.2\nserver_id.0 = 0002\n' >>"$T/cidlb.conf"
expect_rc "reload giving a quarantined server ID away" 3 lbc daemon reload
grep_in "the refusal names it" "server ID 0:0002 belonged to removed backend b2 and is quarantined" "$T/err"
eq "still b1 and b3" "['b1', 'b3']" "$(lbc -j backend list | jget '[b["name"] for b in d]')"

# --- back to a good file through cidlb -----------------------------------------------
cp "$T/good.conf" "$T/cidlb.conf"
sed -i 's/^quarantine = .*/quarantine = 3600/' "$T/cidlb.conf"
expect_rc "reload: b2 back under its own name, b3 leaves" 0 lbc -j daemon reload
eq "its changes" "1 1" "$(jget 'd["changes"]["backends_added"], d["changes"]["backends_absent"]' <"$T/out")"
poll 30 prints_above 400 decap_v4 s1
touch "$T/stop"; wait $SENDER
n=$(jget 'd["total"]' <"$T/s.json")
[ "$n" -gt 300 ] && ok || bad "stream too short: $n"
wait_eq "b1's connection: every packet at b1 through four reloads" "$n" decap_v4 s1

stop_daemon
poll 20 grep -q '^STOPPING=1' "$T/notify.log"
grep_in "STOPPING=1" "^STOPPING=1" "$T/notify.log"
finish
