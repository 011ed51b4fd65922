#!/bin/bash
# test_announce.sh - the VIP routes cidlbd keeps for a routing daemon
# ([daemon] announce_table), and `cidlb daemon drain|undrain`:
#  1. start: one route per VIP address (/32, /128, dev lo, proto 171) in
#     table 100 and nowhere else; status and metrics say announced.
#  2. a route removed by hand comes back; a stale one of ours goes.
#  3. drain: the routes go at once; status, metrics and the state file say
#     drained; with no traffic drain reports safe to stop (exit 0), with
#     packets streaming it times out (exit 1) and says so.
#  4. stop --keep and a new daemon while drained: still drained; the
#     routes never reappear. undrain: back.
#  5. stop --keep and a new daemon while announced: no route is deleted
#     or added in between (ip monitor), the routes are the same.
#  6. every backend drained: withdrawn, "no healthy backend"; back when
#     one is active again. Every backend down by its health checks (the
#     pools fail open): announce_fail_open = keep (default) keeps the
#     routes, not one deleted (ip monitor); withdraw withdraws them, keep
#     again announces them while all are still down.
#  7. announce_table changed by a reload: the old table emptied, our VIP
#     route in a third table removed, the new one filled; 0: emptied, off.
#  8. announce_table changed across a stop --keep and a new daemon (the
#     state file says where the routes were): the old table is emptied,
#     a VIP removed in the same change included, a third one loses our
#     VIPs' routes (each logged), the new one has them; a route of another
#     protocol and a proto 171 route of an address that is no VIP stay;
#     announce_table = 0: every table loses them.
#  9. cidlbd --cleanup after a stop with --keep (also with another table
#     in the file by then), and a plain stop, remove the routes.
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2 3
sed -i 's/^\[daemon\]$/&\nannounce_table = 100/' "$T/cidlb.conf"
printf '\n[vip web6]\naddress = fd00:100::1\nport = 443\n' >>"$T/cidlb.conf"
start_daemon

# routes TABLE: our routes there, "ADDR ADDR" sorted (v4 then v6)
routes() {
	{ on lb ip -4 route show table "$1" proto 171; on lb ip -6 route show table "$1" proto 171; } |
		awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//'
}
announced() { lbc -j status | jget "' '.join('%s=%s' % (v['address'], v['announced']) for v in d['announce']['vips'])"; }
both="198.18.100.1 fd00:100::1"

# --- 1. announced -------------------------------------------------------------------
wait_eq "start: a route per VIP address in table 100" "$both" routes 100
on lb ip -4 route show table 100 >"$T/r4"
grep_in "the v4 route: dev lo, proto 171" "198.18.100.1 dev lo proto 171" "$T/r4"
eq "nothing of ours in the main table" "" "$(routes main)"
eq "status: announced" "198.18.100.1=True fd00:100::1=True" "$(announced)"
eq "status: table" 100 "$(lbc -j status | jget 'd["announce"]["table"]')"
eq "status: not by failing open" False "$(lbc -j status | jget 'd["announce"]["fail_open"]')"
eq "status: not drained" False "$(lbc -j status | jget 'd["drained"]')"
metrics >"$T/m"
eq "metric: vip announced" 1 "$(metric 'cidlb_vip_announced{vip="198.18.100.1"}' <"$T/m")"
eq "metric: vip6 announced" 1 "$(metric 'cidlb_vip_announced{vip="fd00:100::1"}' <"$T/m")"
eq "metric: not drained" 0 "$(metric cidlb_host_drained <"$T/m")"
lbc status >"$T/st"
grep_in "status text: announced" "announced     2 of 2 VIP addresses in table 100" "$T/st"
grep_in "status text: drained" "drained       no" "$T/st"

# --- 2. the table kept as it should be ----------------------------------------------
on lb ip route del 198.18.100.1/32 table 100 proto 171
wait_eq "a route removed by hand comes back" "$both" routes 100
on lb ip route add 198.18.100.9/32 dev lo table 100 proto 171
wait_eq "a stale route of ours goes" "$both" routes 100
on lb ip route add 198.18.100.9/32 dev lo table 100 proto static
poll 3 false
eq "a route of another protocol stays" "198.18.100.9" \
	"$(on lb ip route show table 100 proto static | awk '{ print $1 }')"
on lb ip route del 198.18.100.9/32 table 100 proto static

# --- 3. drain -------------------------------------------------------------------------
expect_rc "drain --timeout 0" 0 lbc daemon drain --timeout 0
grep_in "drain says what it did" "drained; table 100: 0 of 2 VIP addresses announced, withdrawn because: drained" "$T/out"
eq "drained: no route left" "" "$(routes 100)"
eq "status: drained" True "$(lbc -j status | jget 'd["drained"]')"
eq "status: withdrawn" "198.18.100.1=False fd00:100::1=False" "$(announced)"
eq "status: why" drained "$(lbc -j status | jget 'd["announce"]["withdrawn_because"]')"
eq "metric: drained" 1 "$(metrics | metric cidlb_host_drained)"
eq "metric: vip withdrawn" 0 "$(metrics | metric 'cidlb_vip_announced{vip="198.18.100.1"}')"
eq "state file: drained_since" True "$(jget '"drained_since" in d' <"$T/state.json")"
lbc status >"$T/st"
grep_in "status text: drained" "drained       yes, since" "$T/st"
expect_rc "drain again: no traffic, safe" 0 lbc daemon drain --timeout 20 --quiet 2
grep_in "drain: already" "drained already;" "$T/out"
grep_in "drain: safe to stop" "safe to stop: no VIP traffic for 2s" "$T/out"
lbc -j daemon drain --timeout 20 --quiet 1 >"$T/dj"
eq "drain -j: safe" True "$(jget 'd["safe"]' <"$T/dj")"
# packets keep coming (the routers have not all withdrawn): not safe
rm -f "$T/stop"
send --flow "$(cid_of 1 010101010101)@45001" --interval-us 20000 --until-file "$T/stop" \
	>/dev/null &
SENDER=$!
expect_rc "drain while packets come: not safe, exit 1" 1 lbc daemon drain --timeout 4 --quiet 2
grep_in "drain: not safe" "NOT safe to stop yet" "$T/out"
touch "$T/stop"; wait $SENDER
expect_rc "drain --quiet 0 refused" 2 lbc daemon drain --quiet 0
expect_rc "drain --bogus refused" 2 lbc daemon drain --bogus

# --- 4. drained across a restart with --keep ------------------------------------------
stop_daemon --keep
start_daemon
eq "restarted: still drained" True "$(lbc -j status | jget 'd["drained"]')"
poll 3 false
eq "restarted drained: no route" "" "$(routes 100)"
expect_rc "undrain" 0 lbc daemon undrain
grep_in "undrain says what it did" "undrained; table 100: 2 of 2 VIP addresses announced" "$T/out"
eq "undrained: routes back" "$both" "$(routes 100)"
eq "state file: no drained_since" False "$(jget '"drained_since" in d' <"$T/state.json")"
expect_rc "undrain again" 0 lbc daemon undrain
grep_in "undrain: already" "undrained already" "$T/out"

# Route changes of table 100 while something happens: monitor_start, then
# monitor_stop leaves their count in $T/n.
monitor_start() {
	on lb ip -o monitor route >"$T/mon" 2>&1 &
	MON=$!
	poll 5 test -e "$T/mon"
	sleep 0.5
}
monitor_stop() {
	kill $MON
	wait $MON 2>/dev/null
	grep -c "table 100" "$T/mon" >"$T/n"
}

# --- 5. restart with --keep while announced: no change in between -------------------
monitor_start
stop_daemon --keep
eq "stopped with --keep: routes stay" "$both" "$(routes 100)"
start_daemon
poll 3 false
monitor_stop
eq "restart with --keep: no route of table 100 deleted or added (ip monitor)" 0 "$(cat "$T/n")"
eq "restart with --keep: the same routes" "$both" "$(routes 100)"
eq "restart: announced" "198.18.100.1=True fd00:100::1=True" "$(announced)"

# --- 6. no healthy backend ------------------------------------------------------------
for b in 1 2 3; do lbc backend drain "b$b" >/dev/null; done
wait_eq "every backend draining: withdrawn" "" routes 100
eq "why" "no healthy backend" "$(lbc -j status | jget 'd["announce"]["withdrawn_because"]')"
lbc backend activate b2 >/dev/null
wait_eq "one backend active: announced" "$both" routes 100
# health on, and nobody answers the probes: every backend goes down and
# the pool fails open (the program forwards to all of them); with
# announce_fail_open = keep, the default, the routes stay as they are
lbc backend activate b1 >/dev/null; lbc backend activate b3 >/dev/null
sed -i 's/^seed = 0x5eed$/&\nhealth = on\nhealth_interval = 200\nhealth_timeout = 100/' \
	"$T/cidlb.conf"
health() { lbc -j backend list | jget "' '.join(b['health'] for b in d)"; }
eq "before health: every backend active, health off" "off off off" "$(health)"
monitor_start
lbc daemon reload >/dev/null
wait_eq "every backend down by its health checks" "down down down" health
poll 3 false
monitor_stop
eq "failing open, keep: no route of table 100 deleted or added (ip monitor)" 0 "$(cat "$T/n")"
eq "failing open, keep: the routes stay" "$both" "$(routes 100)"
eq "failing open, keep: status announced" "198.18.100.1=True fd00:100::1=True" "$(announced)"
eq "failing open, keep: no reason to withdraw" "" \
	"$(lbc -j status | jget 'd["announce"]["withdrawn_because"]')"
eq "metric: failing open" 1 "$(metrics | metric cidlb_health_fail_open)"
eq "status: announced by failing open" True "$(lbc -j status | jget 'd["announce"]["fail_open"]')"
lbc status >"$T/st"
grep_in "status text: failing open" "while every backend is down by its health checks: the pools fail open" "$T/st"
grep_in "the log says the routes stay" \
	"every backend is down by its health checks; the pools fail open and the VIPs stay announced (announce_fail_open = keep)" \
	"$T/daemon.log"
# announce_fail_open = withdraw: the host withdraws while failing open
sed -i 's/^announce_table = 100$/&\nannounce_fail_open = withdraw/' "$T/cidlb.conf"
expect_rc "reload: announce_fail_open = withdraw" 0 lbc daemon reload
wait_eq "failing open, withdraw: withdrawn" "" routes 100
eq "why (health)" "no healthy backend" "$(lbc -j status | jget 'd["announce"]["withdrawn_because"]')"
eq "failing open, withdraw: status" "198.18.100.1=False fd00:100::1=False" "$(announced)"
eq "withdrawn, still failing open" 1 "$(metrics | metric cidlb_health_fail_open)"
eq "status: withdrawn, not announced by failing open" False \
	"$(lbc -j status | jget 'd["announce"]["fail_open"]')"
# keep again: announced while every backend is still down
sed -i 's/^announce_fail_open = withdraw$/announce_fail_open = keep/' "$T/cidlb.conf"
expect_rc "reload: announce_fail_open = keep" 0 lbc daemon reload
wait_eq "failing open, keep again: announced" "$both" routes 100
eq "failing open, keep again: still all down" "down down down" "$(health)"
sed -i '/^health = on$/d; /^announce_fail_open = keep$/d' "$T/cidlb.conf"
lbc daemon reload >/dev/null
wait_eq "health checks off again: announced" "$both" routes 100
fail_open() { metrics | metric cidlb_health_fail_open; }
wait_eq "metric: no longer failing open" 0 fail_open

# --- 7. the table changed by a reload ---------------------------------------------
# a route of ours for a VIP in a third table (left by an older
# configuration): the reload that changes the table removes it too
on lb ip route add 198.18.100.1/32 dev lo table 102 proto 171
sed -i 's/^announce_table = 100$/announce_table = 101/' "$T/cidlb.conf"
lbc daemon reload >/dev/null
wait_eq "reload to table 101: filled" "$both" routes 101
eq "reload to table 101: table 100 emptied" "" "$(routes 100)"
eq "reload to table 101: our VIP route in table 102 removed" "" "$(routes 102)"
grep_in "the log says which" "removed the route of 198.18.100.1 from table 102: announce_table is 101" \
	"$T/daemon.log"
sed -i 's/^announce_table = 101$/announce_table = 0/' "$T/cidlb.conf"
lbc daemon reload >/dev/null
wait_eq "announce_table = 0: table 101 emptied" "" routes 101
lbc status >"$T/st"
grep_in "status text: off" "announced     off (announce_table = 0)" "$T/st"
sed -i 's/^announce_table = 0$/announce_table = 100/' "$T/cidlb.conf"
lbc daemon reload >/dev/null
wait_eq "announce_table = 100 again" "$both" routes 100

# --- 8. the table changed across a restart with --keep ----------------------------
# a third VIP, removed in the same change; in the old table beside ours, a
# route of another protocol to a VIP address; in a third table a route of
# ours left by an older configuration, and a proto 171 route of an
# address that is no VIP
printf '\n[vip web2]\naddress = 198.18.100.2\nport = 443\n' >>"$T/cidlb.conf"
lbc daemon reload >/dev/null
wait_eq "a third VIP: announced" "198.18.100.1 198.18.100.2 fd00:100::1" routes 100
eq "the state file says the table" 100 "$(jget 'd["announce_table"]' <"$T/state.json")"
on lb ip route add 198.18.100.1/32 dev lo table 100 proto static metric 10
on lb ip -6 route add fd00:100::1/128 dev lo table 100 proto static metric 10
on lb ip -6 route add fd00:100::1/128 dev lo table 102 proto 171
on lb ip route add 198.18.100.9/32 dev lo table 102 proto 171
static() { # TABLE: its proto static routes
	{ on lb ip -4 route show table "$1" proto static; on lb ip -6 route show table "$1" proto static; } |
		awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//'
}
stop_daemon --keep
eq "kept stop: the routes stay in table 100" "198.18.100.1 198.18.100.2 fd00:100::1" \
	"$(routes 100)"
sed -i 's/^announce_table = 100$/announce_table = 101/; /^\[vip web2\]$/,$d' "$T/cidlb.conf"
start_daemon
wait_eq "restarted with table 101: filled" "$both" routes 101
eq "restarted with table 101: table 100 emptied (the VIP that left too)" "" "$(routes 100)"
eq "restarted with table 101: our VIP's route gone from table 102, no VIP's stays" \
	"198.18.100.9" "$(routes 102)"
eq "restarted with table 101: routes of other protocols stay in table 100" \
	"198.18.100.1 fd00:100::1" "$(static 100)"
for a in 198.18.100.1 198.18.100.2 fd00:100::1; do
	grep_in "the log names $a in table 100" \
		"removed the route of $a from table 100: announce_table is 101" "$T/daemon.log"
done
grep_in "the log names table 102" \
	"removed the route of fd00:100::1 from table 102: announce_table is 101" "$T/daemon.log"
# off (announce_table = 0) across a restart with --keep: gone everywhere
on lb ip route add 198.18.100.1/32 dev lo table 103 proto 171
stop_daemon --keep
sed -i 's/^announce_table = 101$/announce_table = 0/' "$T/cidlb.conf"
start_daemon
poll 3 false
eq "restarted with announce_table = 0: table 101 emptied" "" "$(routes 101)"
eq "restarted with announce_table = 0: our VIP's route gone from table 103" "" "$(routes 103)"
grep_in "the log says so" "removed the route of fd00:100::1 from table 101: announce_table is 0 (off)" \
	"$T/daemon.log"
grep_in "the log says so (103)" \
	"removed the route of 198.18.100.1 from table 103: announce_table is 0 (off)" "$T/daemon.log"
eq "announce_table = 0: routes of other protocols stay" "198.18.100.1 fd00:100::1" "$(static 100)"
eq "announce_table = 0: the proto 171 route of no VIP stays" "198.18.100.9" "$(routes 102)"
eq "the state file: no table" False "$(jget '"announce_table" in d' <"$T/state.json")"
on lb ip route del 198.18.100.1/32 table 100 proto static
on lb ip -6 route del fd00:100::1/128 table 100 proto static
on lb ip route del 198.18.100.9/32 table 102 proto 171
stop_daemon --keep
sed -i 's/^announce_table = 0$/announce_table = 100/' "$T/cidlb.conf"
start_daemon
wait_eq "restarted with table 100 again: filled" "$both" routes 100

# --- 9. cidlbd --cleanup after a kept stop, and a plain stop, withdraw ---------------
stop_daemon --keep
eq "kept stop: routes stay" "$both" "$(routes 100)"
on lb "$CIDLBD" -c "$T/cidlb.conf" --cleanup >>"$T/daemon.log" 2>&1
eq "cidlbd --cleanup: no route left" "" "$(routes 100)"
start_daemon
wait_eq "started again: announced" "$both" routes 100
# the file names another table by the time of the cleanup: the one in
# the state file is emptied too
stop_daemon --keep
sed -i 's/^announce_table = 100$/announce_table = 101/' "$T/cidlb.conf"
on lb "$CIDLBD" -c "$T/cidlb.conf" --cleanup >>"$T/daemon.log" 2>&1
eq "cidlbd --cleanup, table changed in the file: no route left in table 100" "" "$(routes 100)"
sed -i 's/^announce_table = 101$/announce_table = 100/' "$T/cidlb.conf"
start_daemon
wait_eq "started again: announced" "$both" routes 100
stop_daemon
eq "plain stop: no route left" "" "$(routes 100)"
grep_in "the stop says so" "VIP routes withdrawn from table 100" "$T/daemon.log"

finish
