#!/bin/bash
# test_pools.sh - two services on one cidlbd, each a pool of its own: the
# same config ID and server ID in both reach each pool's backend; the
# backend list, `backend add --pool`, the quarantine and the metrics name
# the pool; a reload that moves a VIP to the other pool takes effect for
# the VIP's next packet, while a stream runs, none of its packets lost or
# sent anywhere but the old pool's backend, then the new one's.
source "$(dirname "$0")/lib.sh"

EXTRA_VIPS="198.18.100.2:443" net_setup

# pools api (VIP .1, b1 and b2) and game (VIPs .2 and .3, g3); config 0
# in both, server ID 0001 is b1's in api and g3's in game
write_pools() { # POOL-OF-VIP-.2
	write_conf
	sed -i '/^\[vip web\]/,/^$/d; /^\[quic-lb 0\]/,$d' "$T/cidlb.conf"
	cat >>"$T/cidlb.conf" <<-EOF
	[pool api]
	[pool game]

	[vip web]
	address = 198.18.100.1
	pool = api

	[vip play]
	address = 198.18.100.2
	pool = $1

	[vip play2]
	address = 198.18.100.3
	pool = game

	[quic-lb api 0]
	server_id_len = 2
	nonce_len = 6

	[quic-lb game 0]
	server_id_len = 2
	nonce_len = 6

	[backend b1]
	address = 198.18.1.2
	server_id.0 = 0001
	pool = api

	[backend b2]
	address = 198.18.2.2
	server_id.0 = 0002
	pool = api

	[backend g3]
	address = 198.18.3.2
	server_id.0 = 0001
	pool = game
	EOF
}
write_pools game
expect_rc "config check: two pools" 0 "$CIDLB" -j config check "$T/cidlb.conf" --no-system
eq "config check counts them" "2 3 2" "$(jget 'd["pools"], d["vips"], d["quic_lb_configs"]' <"$T/out")"
start_daemon

send_to() { # VIP ARGS for send.py
	local vip=$1; shift
	on cl $SEND c0 --dst-mac "$L0_MAC" --src 198.18.0.2 --dst "$vip" "$@"
}
C1=$(cid_of 1 111111111111)

# --- the same config ID and server ID, a backend in each pool ----------------------
s1=$(decap_v4 s1) s3=$(decap_v4 s3)
send_to 198.18.100.1 --flow "$C1@47001" --count 20 >/dev/null
send_to 198.18.100.2 --flow "$C1@47002" --count 30 >/dev/null
wait_eq "CID 0001 to api's VIP: b1" 20 decap_since s1 "$s1"
wait_eq "CID 0001 to game's VIP: g3" 30 decap_since s3 "$s3"
eq "backend list: the pools" "[('b1', 'api'), ('b2', 'api'), ('g3', 'game')]" \
	"$(lbc -j backend list | jget '[(b["name"], b["pool"]) for b in d]')"
eq "status: the pools" "['api', 'game']" "$(lbc -j status | jget 'd["pools"]')"
expect_rc "status (text)" 0 lbc status
grep_in "status: a pools line" "^pools  *api game$" "$T/out"
expect_rc "backend list (text)" 0 lbc backend list
grep_in "a POOL column" "^NAME  *POOL  *INDEX" "$T/out"
grep_in "g3 in game" "^g3  *game " "$T/out"
m=$(metrics)
eq "metrics: packets by backend and pool" "20 30" \
	"$(echo "$m" | metric 'cidlb_backend_packets_total{backend="b1",pool="api"}') $(echo "$m" | metric 'cidlb_backend_packets_total{backend="g3",pool="game"}')"
eq "metrics: decodes by config and pool" "20 30" \
	"$(echo "$m" | metric 'cidlb_config_decodes_total{config_id="0",pool="api"}') $(echo "$m" | metric 'cidlb_config_decodes_total{config_id="0",pool="game"}')"

# cidlb trace names the backend's pool (its name from the file)
hex=$(send_to 198.18.100.2 --flow "$C1@47020" --print-hex)
on lb env CIDLB_SOCKET="$T/ctl.sock" CIDLB_PIN_DIR="$PIN" CIDLB_STATE_FILE="$T/state.json" \
	CIDLB_CONFIG="$T/cidlb.conf" "$CIDLB" -j trace "$hex" --ingress l0 >"$T/trace.json" 2>&1
eq "trace: g3, pool 1, game" "g3 1 game" \
	"$(jget 'd["backend"]["name"], d["backend"]["pool"], d["backend"]["pool_name"]' <"$T/trace.json")"
lbc trace "$hex" --ingress l0 >"$T/trace.txt" 2>&1
grep_in "trace (text): the pool, named from the state file" "^pool     game (index 1)$" "$T/trace.txt"

# cidlb cid decode --config FILE --pool POOL
expect_rc "cid decode --pool game" 0 "$CIDLB" -j cid decode --config "$T/cidlb.conf" --pool game "$C1"
eq "its server ID" "0001" "$(jget 'd["server_id"]' <"$T/out")"
expect_rc "cid decode --pool nosuch" 2 "$CIDLB" cid decode --config "$T/cidlb.conf" --pool nosuch "$C1"
grep_in "names it" "has no \[pool nosuch\]" "$T/err"

# --- backend add --pool ----------------------------------------------------------------
expect_rc "backend add --pool nosuch" 2 lbc backend add x --pool nosuch --address 198.18.2.2
grep_in "names the missing pool" "no \[pool nosuch\]" "$T/err"
expect_rc "backend add without a pool, pools named" 2 lbc backend add x --address 198.18.2.2
grep_in "asks for the pool" "name this backend's" "$T/err"
expect_rc "backend add g2 --pool game, server ID 0002 (b2's in api)" 0 \
	lbc -j backend add g2 --pool game --address 198.18.2.2 --server-id 0:0002
eq "its pool in the reply" "game" "$(jget 'd["backend"]["pool"]' <"$T/out")"
s2=$(decap_v4 s2)
send_to 198.18.100.2 --flow "$(cid_of 2 222222222222)@47003" --count 10 >/dev/null
wait_eq "CID 0002 to game's VIP: g2" 10 decap_since s2 "$s2"
expect_rc "backend remove g2" 0 lbc backend remove g2
eq "its server ID quarantined in game" "[('game', 0, '0002', 'g2')]" \
	"$(printf '{"cmd":"quarantine.list"}' | ctl_raw |
		jget "[(q['pool'], q['config_id'], q['server_id'], q['owner']) for q in d['quarantine']]")"

# --- a reload moves VIP play from game to api under a stream -----------------------------
s1=$(decap_v4 s1) s3=$(decap_v4 s3)
rm -f "$T/stop"
send_to 198.18.100.2 --flow "$C1@47010" --interval-us 500 --until-file "$T/stop" >"$T/s.json" &
SENDER=$!
poll 20 prints_above 20 decap_since s3 "$s3" || bad "the stream did not reach g3"
write_pools api
expect_rc "reload moving play to api" 0 lbc -j daemon reload
eq "the change: one VIP set" "1" "$(jget 'd["changes"]["vips_set"]' <"$T/out")"
at1=$(decap_since s1 "$s1")
poll 20 prints_above $((at1 + 20)) decap_since s1 "$s1" || bad "after the move, play's packets do not reach b1"
touch "$T/stop"; wait $SENDER
n=$(jget 'd["total"]' <"$T/s.json")
sum() { echo $(( $(decap_since s1 "$s1") + $(decap_since s3 "$s3") )); }
wait_eq "every packet at g3 before the move or b1 after it" "$n" sum
g3=$(decap_since s3 "$s3")
s3=$(decap_v4 s3) b1=$(decap_v4 s1)
send_to 198.18.100.2 --flow "$C1@47011" --count 10 >/dev/null
wait_eq "play's next packets at b1" 10 decap_since s1 "$b1"
eq "g3 gets no more of play's packets" 0 "$(decap_since s3 "$s3")"
[ "$g3" -gt 20 ] && ok || bad "g3 had only $g3 packets before the move"
eq "the VIPs' pools in the map (api 0, game 1)" "[(1, 0), (2, 0), (3, 1)]" \
	"$(on lb bpftool -j map dump pinned "$PIN/cidlb_vips" |
		jget 'sorted((e["formatted"]["key"]["addr"][3], e["formatted"]["value"]["pool"]) for e in d)')"

# --- and back ---------------------------------------------------------------------------------
write_pools game
expect_rc "reload moving play back to game" 0 lbc daemon reload
s3=$(decap_v4 s3)
send_to 198.18.100.2 --flow "$C1@47012" --count 10 >/dev/null
wait_eq "play's packets at g3 again" 10 decap_since s3 "$s3"

# --- a pool added before the others: they keep their numbers, across a restart too ---
vip_pools() {
	on lb bpftool -j map dump pinned "$PIN/cidlb_vips" |
		jget 'sorted((e["formatted"]["key"]["addr"][3], e["formatted"]["value"]["pool"]) for e in d)'
}
write_pools game
sed -i 's/^\[pool api\]$/[pool first]\n[pool api]/' "$T/cidlb.conf"
printf '\n[vip first]\naddress = 198.18.100.4\npool = first\n' >>"$T/cidlb.conf"
expect_rc "reload: pool first before api and game" 0 lbc -j daemon reload
eq "no config rewritten" 0 "$(jget 'd["changes"].get("configs_changed", 0)' <"$T/out")"
eq "api and game keep 0 and 1, first takes 2" "[(1, 0), (2, 1), (3, 1), (4, 2)]" "$(vip_pools)"
eq "the state file keeps the numbers" "['api', 'game', 'first']" "$(jget 'd["pools"]' <"$T/state.json")"
s3=$(decap_v4 s3)
send_to 198.18.100.2 --flow "$C1@47013" --count 10 >/dev/null
wait_eq "play's packets at g3 still" 10 decap_since s3 "$s3"
stop_daemon --keep
start_daemon
eq "after a restart: the same numbers" "[(1, 0), (2, 1), (3, 1), (4, 2)]" "$(vip_pools)"
eq "backend list after the restart" "[('b1', 'api'), ('b2', 'api'), ('g3', 'game')]" \
	"$(lbc -j backend list | jget '[(b["name"], b["pool"]) for b in d]')"
s3=$(decap_v4 s3)
send_to 198.18.100.2 --flow "$C1@47014" --count 10 >/dev/null
wait_eq "play's packets at g3 after the restart" 10 decap_since s3 "$s3"

# --- pool api leaves: game and first keep their numbers, 0 stays unused ----------------
with_first() { # POOL-OF-VIP-.2: write_pools and pool first
	write_pools "$1"
	sed -i 's/^\[pool api\]$/[pool first]\n[pool api]/' "$T/cidlb.conf"
	printf '\n[vip first]\naddress = 198.18.100.4\npool = first\n' >>"$T/cidlb.conf"
}
with_first game
sed -i '/^\[pool api\]$/d; /^\[vip web\]/,/^$/d; /^\[quic-lb api 0\]/,/^$/d; /^\[backend b[12]\]/,/^$/d' "$T/cidlb.conf"
expect_rc "reload: pool api leaves" 0 lbc daemon reload
eq "game and first keep 1 and 2" "[(2, 1), (3, 1), (4, 2)]" "$(vip_pools)"
eq "the state file: 0 unused" "['', 'game', 'first']" "$(jget 'd["pools"]' <"$T/state.json")"
s3=$(decap_v4 s3)
send_to 198.18.100.2 --flow "$C1@47015" --count 10 >/dev/null
wait_eq "play's packets at g3" 10 decap_since s3 "$s3"
with_first game
expect_rc "reload: api back, at 0 again" 0 lbc daemon reload
eq "api 0 again" "[(1, 0), (2, 1), (3, 1), (4, 2)]" "$(vip_pools)"
s1=$(decap_v4 s1)
send_to 198.18.100.1 --flow "$C1@47016" --count 10 >/dev/null
wait_eq "web's CID 0001 at b1 again" 10 decap_since s1 "$s1"

# --- refused: a VIP of an unknown pool, a pool no VIP names ------------------------------
sed -i '/^\[vip play\]/,/^$/s/^pool = game$/pool = gmae/' "$T/cidlb.conf"
expect_rc "reload: unknown pool" 3 lbc daemon reload
grep_in "names it" "\[vip play\] pool: no \[pool gmae\] in this file" "$T/err"
write_pools api
sed -i '/^\[vip play2\]/,/^$/d' "$T/cidlb.conf"
expect_rc "reload: a pool no VIP names" 3 lbc daemon reload
grep_in "says so" "\[pool game\]: no \[vip\] names this pool" "$T/err"

stop_daemon
finish
