#!/bin/bash
# Scenario 7: the same over IPv6. The client reaches VIP fd00:100::1; the
# cidlb hosts tunnel to the backends' IPv6 addresses (IP6IP6), be3 in
# direct mode; two cidlb hosts behind an IPv6 ECMP route (L4 hash).
#
# Asserts: 30 connections spread over all backends by the fallback and
# complete intact on the backend their first CID names, through IP6IP6
# tunnels (the backends' decap counters); a migration to a
# new IPv6 address and port mid-download moves the connection from lb1 to
# lb2, which route it by CID to the same backend, the server validating
# the new path; a NAT rebinding of the client's IPv6 source port
# mid-download completes on the same backend with path validation.
#
# Timing: the migration as in test_06 (held first flight, a move 1 s
# after the handshake at 16 Mbit/s); the rebinding happens at 1 MB while
# the download is shaped to 4 Mbit/s (so a slow test cannot let it end
# first), then the rate goes up.
set -u
. "$(dirname "$0")/lib.sh"
E2E_BE_FAMILY=6
e2e_init
e2e_up 2 plain $((4 * 1024 * 1024))
e2e_route_vips lb1 lb2

# ---- spread --------------------------------------------------------------------
declare -A served=([be1]=0 [be2]=0 [be3]=0)
for ((i = 0; i < 30; i++)); do
	e2e_client "s$i" $VIP6 small.bin
	(((i + 1) % 10)) || for ((j = i - 9; j <= i; j++)); do e2e_client_wait "s$j"; done
done
for ((i = 0; i < 30; i++)); do
	b=$(served_by "s$i" small.bin); want=$(qlog_backend "s$i")
	[ "$b" = none ] && fail "connection s$i: download missing or corrupt"
	[ "$b" = "$want" ] || fail "connection s$i came from $b, its CIDs name $want"
	served[$b]=$((served[$b] + 1))
done
log "connections per backend: be1=${served[be1]} be2=${served[be2]} be3=${served[be3]}"
for b in "${BACKENDS[@]}"; do [ "${served[$b]}" -gt 0 ] || fail "$b served nothing"; done
[ "$(lbstat all drop_no_route)" = 0 ] || fail "drop_no_route=$(lbstat all drop_no_route)"
v6=$(($(decap_counter be1 decap_v6) + $(decap_counter be2 decap_v6)))
v4=$(($(decap_counter be1 decap_v4) + $(decap_counter be2 decap_v4)))
log "be1+be2 decapsulated $v6 IP6IP6 packets, $v4 IPv4-outer"
[ "$v6" -gt 0 ] && [ "$v4" = 0 ] || fail "the tunnels were not IPv6 outside"
ok "30 IPv6 connections intact, spread over all backends"

# ---- migration across cidlb hosts ------------------------------------------------
e2e_shape 16mbit
p1=$(ecmp_port lb1 fd00:1::2); p2=$(ecmp_port lb2 fd00:1::3 $((p1 + 1)))
log "fd00:1::2 port $p1 hashes to lb1, fd00:1::3 port $p2 to lb2"
l1=$(be_snapshot); cid2=$(lbstat lb2 route_cid); icmp1=$(lbstat all route_icmp_flow)
cl_port "$p1"
e2e_migration_start mig6 $VIP6 fd00:1::3 "$p2" 1s
e2e_client_wait mig6
b=$(served_by mig6)
[ "$b" = none ] && fail "migration: download missing or corrupt"
check_mid_transfer mig6 migration
others=0
for x in "${BACKENDS[@]}"; do
	[ "$x" = "$b" ] && continue
	p0=$(sed -n "s/.*$x=\([0-9]*\).*/\1/p" <<<"$l1")
	others=$((others + $(be_packets all "$x") - p0))
done
# ICMPv6 errors routed by flow aside (only_to() in lib.sh says why)
[ "$others" -le $(($(lbstat all route_icmp_flow) - icmp1)) ] ||
	fail "migration: $others packets went to other backends than $b too"
[ $(($(lbstat lb2 route_cid) - cid2)) -gt 100 ] || fail "lb2 routed too little by CID"
down_new=$(acct down 6 | awk '$1 == "fd00:1::3" { n += $4 } END { print n + 0 }')
[ "$down_new" -gt 1000000 ] ||
	fail "the new path carried too little ($down_new; client tuples seen: $(cl_seen))"
path_validated mig6 || fail "migration: no path validation"
ok "IPv6 migration mid-download, lb1 -> lb2, stayed on $b; path validated"

# ---- NAT rebinding -----------------------------------------------------------------
nsx cl sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
e2e_client_src fd00:1::2
e2e_shape 4mbit
e2e_client nat6 $VIP6 f.bin
wait_for 5 "the client's socket" has_tuple
read -r addr port <<<"$(cl_tuples | head -1)"
wait_for 10 "1 MB downloaded" dl_at_least nat6 1000000
e2e_nat_rebind "$addr" "$port" 40000
at=$(dl_size nat6)
log "rebinding: in place at $at octets or fewer"
[ $((4 * 1024 * 1024 - at)) -gt 1500000 ] ||
	fail "rebinding: in place only at $at octets (the test was too slow, not cidlb)"
e2e_shape 24mbit
e2e_client_wait nat6
b=$(served_by nat6); want=$(qlog_backend nat6)
[ "$b" = none ] && fail "rebinding: download missing or corrupt"
[ "$b" = "$want" ] || fail "rebinding: content of $b, CIDs of $want"
[ "$(nat_counter down bytes)" -gt 1000000 ] || fail "rebinding: too little through the new port"
path_validated nat6 || fail "rebinding: no path validation"
ok "IPv6 NAT rebinding mid-download, stayed on $b; path validated"
