#!/bin/bash
# test_transit.sh - the LB is no router: cidlbd turns forwarding on for
# its interface (the FIB next-hop lookup needs it), yet what the XDP
# program passes and the kernel would route out again (TCP or UDP to a VIP
# address outside the VIP ports, packets for the backend network) is
# dropped and counted (drop_not_local), while VIP traffic is forwarded and
# packets to the LB's own address reach it. IPv6 Router Advertisements
# stay accepted (accept_ra 1 -> 2 while forwarding, 1 again after).
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1
# an IPv6 backend: cidlbd turns IPv6 forwarding on too
sed -i 's/^source4 = .*/&\nsource6 = fd00:18::1/' "$T/cidlb.conf"
printf '\n[backend b9]\naddress = fd00:19::2\nserver_id.0 = 0009\n' >>"$T/cidlb.conf"

# the router (cl) routes the VIP and the backend network to the LB; the
# LB's default route is the router: what it routes back is a loop
on cl ip route add 198.18.100.0/24 via 198.18.0.1
on cl ip route add 198.18.1.0/24 via 198.18.0.1
on lb ip route add default via 198.18.0.2 dev l0
on srv ip route add 198.18.0.0/24 via 198.18.1.1
on lb sysctl -qw net.ipv6.conf.l0.accept_ra=1
# counters: what comes back to the router for the VIP address, what
# reaches the backend host from the router, what the LB host receives
nft_count() { # HOST HOOK MATCH
	on "$1" nft -f - <<-EOF2
	table inet cidlbt {
		chain c {
			type filter hook $2 priority -300;
			$3 counter
		}
	}
	EOF2
}
nft_read() { # HOST -> packets of its counter
	on "$1" nft list chain inet cidlbt c | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
nft_count cl prerouting "ip daddr 198.18.100.1"
nft_count srv prerouting "ip saddr 198.18.0.2"
nft_count lb input "ip daddr 198.18.0.1 udp dport 7779"

start_daemon
eq "forwarding on l0 while running" "1 1" \
	"$(on lb cat /proc/sys/net/ipv4/conf/l0/forwarding /proc/sys/net/ipv6/conf/l0/forwarding | xargs)"
eq "accept_ra 2 on l0 while it forwards (RAs still accepted)" 2 \
	"$(on lb cat /proc/sys/net/ipv6/conf/l0/accept_ra)"

# from the router's own stack: 5 UDP to the VIP address on port 53, a TCP
# SYN to the VIP, 5 UDP to the backend host, 5 UDP to the LB's address
on cl /usr/bin/python3 - <<'EOF2'
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5):
    u.sendto(b"x" * 20, ("198.18.100.1", 53))
    u.sendto(b"x" * 20, ("198.18.1.2", 7778))
    u.sendto(b"x" * 20, ("198.18.0.1", 7779))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setblocking(False)
try:
    t.connect(("198.18.100.1", 443))
except BlockingIOError:
    pass
import time
time.sleep(0.2)
EOF2
drops() { metrics | metric cidlb_drop_not_local_total; }
for _ in $(seq 100); do
	[ "$(drops)" -ge 11 ] 2>/dev/null && [ "$(nft_read lb)" -ge 5 ] && break
	sleep 0.2
done
eq "UDP to the LB's own address delivered" 5 "$(nft_read lb)"
d=$(drops)
[ "${d:-0}" -ge 11 ] && ok || bad "drop_not_local: want >= 11 (5 UDP + 1 SYN + 5 UDP), got '$d'"
eq "nothing came back to the router for the VIP address" 0 "$(nft_read cl)"
eq "nothing reached the backend host from the router" 0 "$(nft_read srv)"
on cl ping -c1 -W5 198.18.0.1 >/dev/null && ok || bad "ping to the LB's own address got no answer"

# VIP traffic is forwarded as ever
send --flow "$(cid_of 1 a1a2a3a4a5a6)@40000" --count 5 >/dev/null
wait_eq "VIP packets decapsulated on s1" 5 decap_v4 s1

stop_daemon
eq "forwarding back off after a plain stop" "0 0" \
	"$(on lb cat /proc/sys/net/ipv4/conf/l0/forwarding /proc/sys/net/ipv6/conf/l0/forwarding | xargs)"
eq "accept_ra back to 1" 1 "$(on lb cat /proc/sys/net/ipv6/conf/l0/accept_ra)"
finish
