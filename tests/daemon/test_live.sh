#!/bin/bash
# test_live.sh - live changes while packets flow, counted exactly at the
# backends (their decap counters) and in the LB's counters:
#  1. CID-routed connections of b1 and b2 stream while b3 is added, b1 is
#     drained and re-activated, weights change and b3 is removed: every
#     packet reaches its own backend, none is lost or misrouted.
#  2. Fallback flows (unroutable CIDs, opened by a 1200-octet Initial) keep
#     their backend when it drains (LRU), new ones never go to the draining
#     backend.
#  3. A removed backend's CIDs take the fallback route to a survivor; its
#     server ID is quarantined: refused to another backend, given back to
#     the same name.
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2
start_daemon

delta() { # BEFORE AFTER -> per-interface differences
	local -a a=($1) b=($2)
	echo "$((b[0] - a[0])) $((b[1] - a[1])) $((b[2] - a[2]))"
}
sent_of() { jget "d['sent'][$1]" <"$1.json" 2>/dev/null; }
# counts_after BEFORE N: rx3 once N more packets arrived in all (or
# after 20 s: the checks then say what is missing)
counts_after() {
	poll 20 rx_at_least $(($(echo "$1" | awk '{ print $1 + $2 + $3 }') + $2))
	rx3
}

# --- 1. CID-routed connections through every kind of change ----------------
C1=$(cid_of 1 a1a2a3a4a5a6); C2=$(cid_of 2 b1b2b3b4b5b6)
rm -f "$T/stop"
send --flow "$C1@41001" --flow "$C2@41002" --interval-us 500 --until-file "$T/stop" >"$T/s1.json" &
SENDER=$!
flowing 100	# each state of the backends sees traffic
expect_rc "add b3" 0 lbc backend add b3 --address 198.18.3.2 --server-id 0:0003
flowing 100
expect_rc "drain b1" 0 lbc backend drain b1
flowing 100
expect_rc "weight b2 5" 0 lbc backend weight b2 5
flowing 100
expect_rc "activate b1" 0 lbc backend activate b1
flowing 100
expect_rc "remove b3" 0 lbc backend remove b3
flowing 100
expect_rc "weight b2 100" 0 lbc backend weight b2 100
flowing 100
# a stream long enough to mean something, however fast the machine
poll 30 rx_at_least 1200
touch "$T/stop"
wait $SENDER
n1=$(jget 'd["sent"][0]' <"$T/s1.json"); n2=$(jget 'd["sent"][1]' <"$T/s1.json")
[ "$n1" -gt 500 ] && ok || bad "the stream was too short to mean anything: $n1 packets"
wait_eq "every packet of b1's and b2's connections at its own backend, none at b3" "$n1 $n2 0" rx3
eq "the LB counted them as routed by CID" "$((n1 + n2)) 0 0" \
	"$(lbc -j stats | jget 'd["counters"]["route_cid"], d["counters"]["unroutable_sid"], d["counters"]["drop_no_backend"]')"

# --- 2. fallback flows and drain ---------------------------------------------
expect_rc "add b3 again (same name takes its server ID back)" 0 lbc backend add b3 --address 198.18.3.2 --server-id 0:0003
flows() { # FIRST-PORT: 60 flows with unroutable CIDs (config ID 7)
	local i f=
	for i in $(seq 0 59); do f="$f --flow e7$(printf '%016x' $((i + $1)))@$(( $1 + i ))"; done
	echo "$f"
}
# each flow opens with an Initial (only those record a 4-tuple), then
# sends short headers with the unroutable CID
A=$(rx3); send $(flows 42000) --count 1 --initial >/dev/null; B=$(counts_after "$A" 60)
first=$(delta "$A" "$B")
read -r f1 f2 f3 <<<"$first"
eq "60 fallback flows placed" 60 $((f1 + f2 + f3))
[ "$f1" -gt 0 ] && [ "$f2" -gt 0 ] && [ "$f3" -gt 0 ] && ok || bad "Maglev spread 60 flows over 3 backends: $first"
expect_rc "drain b1" 0 lbc backend drain b1
send $(flows 42000) --count 1 >/dev/null; C=$(counts_after "$B" 60)
eq "known flows keep their backend while it drains (LRU)" "$first" "$(delta "$B" "$C")"
send $(flows 43000) --count 1 --initial >/dev/null; D=$(counts_after "$C" 60)
eq "no new fallback flow goes to the draining backend" 0 "$(delta "$C" "$D" | cut -d' ' -f1)"
eq "60 new flows placed" 60 "$(delta "$C" "$D" | awk '{print $1 + $2 + $3}')"
# b1's CID connection still reaches it while draining
send --flow "$C1@41001" --count 10 >/dev/null; E=$(counts_after "$D" 10)
eq "a draining backend keeps its CID-routed connection" "10 0 0" "$(delta "$D" "$E")"

# --- 3. remove: CIDs fall back, server ID quarantined --------------------------
before=$(lbc -j stats | jget 'd["counters"]["unroutable_sid"]')
expect_rc "remove b1" 0 lbc backend remove b1
send --flow "$C1@41001" --count 20 >/dev/null; F=$(counts_after "$E" 20)
eq "a removed backend's CID reaches nobody there" 0 "$(delta "$E" "$F" | cut -d' ' -f1)"
eq "... and goes to a survivor" 20 "$(delta "$E" "$F" | awk '{print $2 + $3}')"
eq "... by the fallback route (unroutable_sid)" $((before + 20)) "$(lbc -j stats | jget 'd["counters"]["unroutable_sid"]')"
expect_rc "b1's server ID refused to another backend" 3 lbc backend add b4 --address 198.18.1.2 --server-id 0:0001
grep_in "the refusal says why" "quarantined for another" "$T/err"
eq "quarantine in status" 1 "$(lbc -j status | jget 'd["quarantined_server_ids"]')"
eq "cidlb backend quarantine lists it" "[(0, '0001', 'b1')]" \
	"$(lbc -j backend quarantine | jget '[(q["config_id"], q["server_id"], q["owner"]) for q in d]')"
lbc backend quarantine >"$T/q"
grep_in "... and in words" "b1" "$T/q"
expect_rc "the same name gets it back" 0 lbc backend add b1 --address 198.18.1.2 --server-id 0:0001
send --flow "$C1@41001" --count 5 >/dev/null; G=$(counts_after "$F" 5)
eq "b1 is back at its CIDs" "5 0 0" "$(delta "$F" "$G")"
eq "its index is the same as before" 0 "$(lbc -j backend list | jget '[b["index"] for b in d if b["name"] == "b1"][0]')"
eq "no packet dropped for lack of a backend" 0 "$(lbc -j stats | jget 'd["counters"]["drop_no_backend"]')"

forwarded() { lbc -j stats | jget 'd["counters"]["tx"] + d["counters"]["redirect"]'; }

# --- 4. stats reset --------------------------------------------------------------
expect_rc "cidlb stats reset" 0 lbc stats reset
eq "forwarded packets and per-backend packets back at 0" "0 0" \
	"$(lbc -j stats | jget '"%d %d" % (d["counters"]["tx"] + d["counters"]["redirect"], sum(b["packets"] for b in d["backends"]))')"
send --flow "$C1@41001" --count 3 >/dev/null
wait_eq "... and counting again" 3 forwarded
expect_rc "stats takes only reset" 2 lbc stats zero
finish
