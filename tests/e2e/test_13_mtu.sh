#!/bin/bash
# Scenario 13: the path MTU shrinks, both ways.
#
# Upstream, under live downloads: the LB's route to the backends gets MTU
# 1300, so a client's datagram over 1280 octets no longer fits with the
# 20 octets of the tunnel. Downstream, then: the router's route to the
# clients gets MTU 1280 (the segment stays at 1600): a server's datagram
# of up to 1452 octets (ngtcp2's path MTU discovery probes that far) no
# longer passes, and the router sends ICMP fragmentation needed / ICMPv6
# Packet Too Big to its source, the VIP, i.e. to the LB.
#
# Asserts: the IPv4 and IPv6 downloads under way complete with the exact
# content of one backend; new connections complete, and the LB answered
# the too-big datagrams of those that reached a tunnelled backend with
# Packet Too Big (tx_too_big), none dropped without a reply but over the
# rate, and the client's kernel took the MTU (1300 less 20) from them;
# after the router's change, new connections complete, the LB routed the
# router's errors (route_icmp_cid, route_icmp_flow) and they reached the
# backends that sent the datagrams and only them (those hold the path MTU
# 1280 toward the client in their kernel, the others none).
#
# Not asserted: a download under way across the router's change. ngtcp2
# 0.12 (Debian 12) has no black-hole detection: once its datagrams of
# 1452 octets stop passing, its connection idles out, whether the router's
# error is lost (cidlb before it routed ICMP: the datagrams vanish) or
# reaches the server (its sendmsg() then fails with EMSGSIZE).
#
# Timing: downloads of 3 MB at 4 Mbit/s (6 s); the LB's change is made
# once 200 kB have come, then the rate goes up to 24 Mbit/s.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
SIZE=3000000
e2e_up 1 plain $SIZE
e2e_shape 4mbit

# pmtu_of BE FAMILY ADDR: the path MTU BE's kernel holds toward ADDR (""
# when none was learnt: the route has no exception)
pmtu_of() {
	nsx "$1" ip -"$2" route get "$3" | sed -n 's/.* mtu \([0-9]*\).*/\1/p' | head -1
}

e2e_client c4 $VIP4 f.bin
e2e_client c6 $VIP6 f.bin
wait_for 20 "both downloads under way" sh -c \
	"[ \$(stat -c %s $E2E_TMP/dl/c4/f.bin 2>/dev/null || echo 0) -ge 200000 ] &&
	 [ \$(stat -c %s $E2E_TMP/dl/c6/f.bin 2>/dev/null || echo 0) -ge 200000 ]"
log "downloads under way: c4 $(dl_size c4), c6 $(dl_size c6) octets"
# the LB's route to the backends: MTU 1300
nsx lb1 ip route replace 198.18.10.0/24 dev eth0 src ${LB_ADDR4[lb1]} mtu lock 1300 ||
	fail "route MTU on the LB"
log "path MTU from the LB to the backends now 1300"
e2e_shape 24mbit
e2e_client_wait c4
e2e_client_wait c6
b4=$(served_by c4)
b6=$(served_by c6)
[ "$b4" = none ] && fail "IPv4 download missing or corrupt ($(dl_size c4) octets)"
[ "$b6" = none ] && fail "IPv6 download missing or corrupt ($(dl_size c6) octets)"
ok "both downloads intact across the change: IPv4 from $b4, IPv6 from $b6"

# new connections: their path MTU discovery probes (up to 1452 octets of
# UDP payload) no longer fit into the tunnel
e2e_shape 100mbit
for i in 0 1 2 3 4 5; do
	a=$VIP4; [ $((i % 2)) = 1 ] && a=$VIP6
	e2e_client "n$i" "$a" small.bin
done
for i in 0 1 2 3 4 5; do
	e2e_client_wait "n$i"
	[ "$(served_by "n$i" small.bin)" = none ] && fail "connection n$i after the change failed"
done
ok "6 new connections complete after the change"
tb=$(lbstat lb1 tx_too_big)
lim=$(lbstat lb1 too_big_limited)
mtu=$(lbstat lb1 drop_mtu)
log "LB: tx_too_big=$tb too_big_limited=$lim drop_mtu=$mtu"
[ "$tb" -gt 0 ] || fail "no Packet Too Big sent to a client"
[ "$mtu" = "$lim" ] || fail "drop_mtu=$mtu: too-big datagrams dropped without a reply"
c4=$(pmtu_of cl 4 $VIP4)
c6=$(pmtu_of cl 6 $VIP6)
log "the client's path MTU toward the VIPs: IPv4 ${c4:-none}, IPv6 ${c6:-none}"
[ "$c4" = 1280 ] || [ "$c6" = 1280 ] || fail "the client's kernel learnt no path MTU from them"
ok "the LB told clients the MTU to use ($tb replies), and their kernels took it"

# downstream: the router's route to the clients, MTU 1280 (its devices
# stay as they are)
nsx rt ip route replace 198.18.1.0/24 dev cl src $RT_CL4 mtu lock 1280 ||
	fail "route MTU on the router"
nsx rt ip -6 route replace fd00:1::/64 dev cl proto kernel metric 256 mtu 1280 ||
	fail "IPv6 route MTU on the router"
log "path MTU from the router to the clients now 1280"
for b in "${BACKENDS[@]}"; do
	[ -z "$(pmtu_of "$b" 4 $CL4)$(pmtu_of "$b" 6 $CL6)" ] ||
		fail "$b holds a path MTU toward the client before the change"
done
e2e_client m4 $VIP4 f.bin
e2e_client_wait m4
e2e_client m6 $VIP6 f.bin
e2e_client_wait m6
b4=$(served_by m4)
b6=$(served_by m6)
[ "$b4" = none ] && fail "IPv4 download after the router's change missing or corrupt"
[ "$b6" = none ] && fail "IPv6 download after the router's change missing or corrupt"
ok "downloads after the router's change intact: IPv4 from $b4, IPv6 from $b6"
icid=$(lbstat lb1 route_icmp_cid)
iflow=$(lbstat lb1 route_icmp_flow)
ipass=$(lbstat lb1 pass_icmp)
log "LB: route_icmp_cid=$icid route_icmp_flow=$iflow pass_icmp=$ipass"
[ $((icid + iflow)) -gt 0 ] || fail "the LB routed none of the router's ICMP errors"
for b in "${BACKENDS[@]}"; do
	m4=$(pmtu_of "$b" 4 $CL4)
	m6=$(pmtu_of "$b" 6 $CL6)
	log "$b: path MTU toward the client: IPv4 ${m4:-none}, IPv6 ${m6:-none}"
	if [ "$b" = "$b4" ]; then
		[ "$m4" = 1280 ] || fail "$b served the IPv4 download but learnt no path MTU"
	else
		[ -z "$m4" ] || fail "$b got an ICMP error about a flow it does not serve"
	fi
	if [ "$b" = "$b6" ]; then
		[ "$m6" = 1280 ] || fail "$b served the IPv6 download but learnt no path MTU"
	else
		[ -z "$m6" ] || fail "$b got an ICMPv6 error about a flow it does not serve"
	fi
done
ok "the router's errors reached the backends that sent the datagrams, and only them"
