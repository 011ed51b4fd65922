#!/bin/bash
# Scenario 4: drain a backend, then remove one, while downloads run.
#
# Drain: six 2 MB downloads run; the backend that serves the one least
# advanced is drained. Asserts: every running download completes
# intact, on the backend its first CID names, the drained one's too (the
# LB keeps sending it CID-routed packets); twelve new connections all go
# to other backends.
#
# Remove: six downloads run again; the backend of the one least advanced
# is removed.
# Asserts: its server IDs are quarantined (the daemon counts them, and
# refuses to give one to a new backend); the LB sends it nothing more;
# every packet its dead connections sent after the removal (the router
# counts them per client tuple) shows up in the fallback counters
# (unroutable_sid, routed by Maglev/LRU to a surviving server) and none is
# dropped; the downloads on the other backends complete intact, the dead
# ones do not; twelve new connections avoid the removed backend.
#
# Timing: each batch is shaped to 4 Mbit/s in all until the drain (the
# removal) is done: 12 MB at 500 kB/s would take 24 s, then 24 Mbit/s.
# The shaper is one FIFO, not fair between flows: one download may be
# done while another has hardly begun. So the test takes what each of
# the affected backend's downloads had received right after the change:
# one with 1 MB or more to come is under way and judged; one complete or
# nearly so (its last data may already be in flight) is only logged. The
# change goes to the backend of the download least advanced, so at least
# that one is under way however slow the test is, or the test says so.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
SIZE=$((2 * 1024 * 1024))
e2e_up 1 plain $SIZE
SLOW=4mbit FAST=24mbit

# start_batch PREFIX N [options]: N downloads, started at once, wait until
# all have data, and until each client's qlog holds the server's transport
# parameters (qlog_backend reads them): gtlsclient writes its qlog through
# a 4 kB stdio buffer, so the file may still be empty when the first data
# has come (the parameters' event ends near octet 2400, the first data's
# near 3100)
start_batch() {
	local i
	e2e_gate
	for ((i = 0; i < $2; i++)); do e2e_client "$1$i" $VIP4 f.bin "${@:3}"; done
	e2e_gate_open
	for ((i = 0; i < $2; i++)); do wait_for 10 "$1$i to receive data" dl_at_least "$1$i" 1; done
	for ((i = 0; i < $2; i++)); do
		wait_for 10 "the server's parameters in $1$i's qlog" qlog_handshaken "$1$i"
	done
}

# unroutable_fallback: lb1's unroutable_sid and fallback routes (Maglev + LRU)
unroutable_fallback() {
	lbc lb1 -j stats | $PY -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(c["unroutable_sid"], c["route_maglev"] + c["route_lru"])'
}

# behind PREFIX: the download of the batch that has received the least
behind() {
	local i n min=-1 name
	for ((i = 0; i < 6; i++)); do
		n=$(dl_size "$1$i")
		[ "$min" -ge 0 ] && [ "$n" -ge "$min" ] && continue
		min=$n name=$1$i
	done
	echo "$name"
}

# new_conns PREFIX N AVOID: N short connections; none may land on AVOID
new_conns() {
	local i b
	for ((i = 0; i < $2; i++)); do e2e_client "$1$i" $VIP4 small.bin; done
	for ((i = 0; i < $2; i++)); do
		e2e_client_wait "$1$i"
		b=$(served_by "$1$i" small.bin)
		[ "$b" = none ] && fail "new connection $1$i failed"
		[ "$b" = "$3" ] && fail "new connection $1$i landed on $3"
	done
	ok "$2 new connections, none on $3"
}

# sizes PREFIX: what each of the batch's 6 downloads has received so far
sizes() { local i; for ((i = 0; i < 6; i++)); do echo "$(dl_size "$1$i")"; done; }

# running PREFIX BACKEND SIZES...: the downloads of the batch on BACKEND
# that had at least 1 MB to come when the SIZES were taken get
# under_way[NAME]=1; fail if none had
declare -A under_way
running() {
	local p=$1 be=$2 i n=0; shift 2
	for ((i = 0; i < 6; i++)); do
		if [ "$(qlog_backend "$p$i")" = "$be" ]; then
			if [ $((SIZE - $1)) -ge 1000000 ]; then
				under_way[$p$i]=1 n=$((n + 1))
			else
				log "download $p$i on $be had $1 of $SIZE octets at the change: not judged"
			fi
		fi
		shift
	done
	[ "$n" -ge 1 ] ||
		fail "no download on $be had 1 MB to come at the change (the test was too slow, not cidlb)"
	log "$n download(s) on $be were under way at the change"
}

# ---- drain -------------------------------------------------------------------
e2e_shape $SLOW
log "six downloads, shaped to $SLOW in all"
start_batch d 6
X=$(qlog_backend "$(behind d)")	# (the backend of a download far from its end)
lbc lb1 backend drain "$X" >/dev/null || fail "cidlb backend drain $X"
at=$(sizes d)
px=$(be_packets lb1 "$X")
log "drained $X while downloads run ($px packets to it so far)"
running d "$X" $at
e2e_shape $FAST
new_conns dn 12 "$X"
on_x=0
for i in 0 1 2 3 4 5; do
	e2e_client_wait "d$i"
	b=$(served_by "d$i"); want=$(qlog_backend "d$i")
	[ "$b" = none ] && fail "download d$i (on $want) missing or corrupt"
	[ "$b" = "$want" ] || fail "download d$i came from $b, its CIDs name $want"
	[ "$b" = "$X" ] && on_x=$((on_x + 1))
done
[ "$on_x" -ge 1 ] || fail "no download on the drained backend"
[ "$(be_packets lb1 "$X")" -gt "$px" ] || fail "the LB stopped sending to draining $X"
ok "6 downloads intact, $on_x of them finished on draining $X"
lbc lb1 backend activate "$X" >/dev/null || fail "cidlb backend activate $X"

# ---- remove --------------------------------------------------------------------
# The dead connections' client gives up after 15 s of silence. Not
# less: the live ones share one FIFO shaper and, on a loaded machine, one
# may hear nothing for several seconds (lost packets, growing probe
# timeouts); with 6 s one gave up beside stress-ng.
q0=$(lbc lb1 -j status | json_get quarantined_server_ids)
e2e_shape $SLOW
log "six downloads, shaped to $SLOW in all"
start_batch r 6 --timeout=15s
Y=$(qlog_backend "$(behind r)")
read -r un0 fb0 <<<"$(unroutable_fallback)"
lbc lb1 backend remove "$Y" >/dev/null || fail "cidlb backend remove $Y"
at=$(sizes r)
up0=$(acct up 4)	# packets per client tuple, up to the removal
declare -A tuple	# (a client whose download ended has none: not on $Y)
for i in 0 1 2 3 4 5; do tuple[r$i]=$(cl_tuple "r$i"); done
py=$(be_packets lb1 "$Y")
running r "$Y" $at
e2e_shape $FAST
q1=$(lbc lb1 -j status | json_get quarantined_server_ids)
log "removed $Y; quarantined server IDs: $q0 -> $q1"
[ $((q1 - q0)) = 2 ] || fail "expected $Y's 2 server IDs (configs 0 and 1) in quarantine"
lbc lb1 backend add intruder --address 198.18.10.99 --server-id "0:${BE_SID[$Y]}" >/dev/null 2>&1
rc=$?
[ $rc = 3 ] || fail "a new backend took quarantined server ID ${BE_SID[$Y]} (exit $rc, want 3)"
ok "$Y's server IDs are quarantined: a new backend may not take them"
new_conns rn 12 "$Y"
dead=0 dead_up=0
# sent_since NAME: packets client NAME sent through the router since up0
sent_since() {
	local t=${tuple[$1]} a b
	a=$(awk -v t="$t" '$1 " " $2 == t { print $3 }' <<<"$up0")
	b=$(acct up 4 | awk -v t="$t" '$1 " " $2 == t { print $3 }')
	echo $((${b:-0} - ${a:-0}))
}
for i in 0 1 2 3 4 5; do
	e2e_client_wait "r$i"
	b=$(served_by "r$i"); want=$(qlog_backend "r$i")
	if [ "$want" = "$Y" ] && [ "$b" != none ] && [ -z "${under_way[r$i]:-}" ]; then
		log "r$i completed on $Y: it was (nearly) complete at the removal"
	elif [ "$want" = "$Y" ]; then
		[ "$b" = none ] || fail "download r$i completed although $Y was removed"
		[ -n "${tuple[r$i]}" ] || fail "no socket found for client r$i"
		n=$(sent_since "r$i")
		log "r$i (${tuple[r$i]}) died with $Y; it sent $n packets after the removal"
		dead=$((dead + 1)) dead_up=$((dead_up + n))
	else
		[ "$b" = "$want" ] || fail "download r$i (on $want) missing or corrupt"
	fi
done
[ "$(be_packets lb1 "$Y")" = "$py" ] || fail "the LB still sent packets to removed $Y"
# the router counted the dead connections' packets on their way to lb1:
# its count may be ahead of lb1's for a moment
caught_up() { read -r un1 fb1 <<<"$(unroutable_fallback)"; [ $((un1 - un0)) -ge "$1" ]; }
poll 10 caught_up "$dead_up"
read -r un1 fb1 <<<"$(unroutable_fallback)"
log "$dead connections died with $Y, sending $dead_up packets after the removal; unroutable_sid +$((un1 - un0)), fallback routes +$((fb1 - fb0))"
[ "$dead" -ge 1 ] || fail "no connection on $Y"
# (one alone may send nothing more: stalled in loss recovery, it gets
# nothing to acknowledge before it gives up)
[ "$dead_up" -ge 1 ] || fail "the dead connections sent nothing after the removal: nothing to check"
[ $((un1 - un0)) -ge "$dead_up" ] ||
	fail "the dead connections sent $dead_up packets, unroutable_sid moved by $((un1 - un0)) only"
[ $((fb1 - fb0)) -ge $((un1 - un0)) ] || fail "unroutable packets were not routed by the fallback"
for c in drop_no_backend drop_no_route drop_encap drop_retired; do
	[ "$(lbstat lb1 $c)" = 0 ] || fail "$c=$(lbstat lb1 $c)"
done
ok "packets of $Y's dead connections took the fallback; nothing dropped"
