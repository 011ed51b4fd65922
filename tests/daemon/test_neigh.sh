#!/bin/bash
# test_neigh.sh - backends routed through the kernel's FIB (no MAC in the
# configuration) and no neighbour entries on the LB: cidlbd makes the
# kernel resolve each backend's next hop (neigh.c), so its packets are
# forwarded instead of dropped as drop_no_neigh; a backend added later is
# resolved before the add returns. cidlbd's copy of each next hop
# (cidlb_neigh) carries packets while the kernel has no entry; a next hop
# that does not answer ARP is counted as drop_no_neigh.
DYNAMIC_NEIGH=1
source "$(dirname "$0")/lib.sh"

net_setup
eq "no neighbour entry before the daemon" "" "$(on lb ip neigh show 198.18.1.2 dev l1 | grep lladdr)"
write_conf 1 2
start_daemon

resolved() { # ADDR DEV: wait up to 30 s for a usable entry
	poll 30 has_lladdr "$@"
}
has_lladdr() { on lb ip neigh show "$1" dev "$2" | grep -q lladdr; }
resolved 198.18.1.2 l1 && ok || bad "b1's next hop not resolved: $(on lb ip neigh show dev l1)"
resolved 198.18.2.2 l2 && ok || bad "b2's next hop not resolved: $(on lb ip neigh show dev l2)"

before=$(decap_v4 s1)
send --flow "$(cid_of 1 a1a2a3a4a5a6)@42001" --count 20 >/dev/null
wait_eq "all 20 packets of b1 delivered" 20 decap_since s1 "$before"
eq "none dropped for want of a next hop" 0 "$(lbc -j stats | jget 'd["counters"]["drop_no_neigh"]')"

neigh_copies() { # next hops copied into cidlb_neigh: "ADDR@IFINDEX ..." (sorted)
	on lb bpftool -j map dump pinned "$PIN/cidlb_neigh" | /usr/bin/python3 -c '
import json, sys
print(" ".join(sorted("%s@%d" % (".".join(str(int(x, 16)) for x in e["key"][8:12]),
                               int.from_bytes(bytes(int(x, 16) for x in e["key"][0:4]), "little"))
                      for e in json.load(sys.stdin))))'
}
wait_count() { # "CMD" WANT: poll CMD (up to 20 s) until it says WANT or more; print it
	poll 20 says_at_least "$1" "$2"
	eval "$1"
}
says_at_least() { local v; v=$(eval "$1"); [ "$v" -ge "$2" ] 2>/dev/null; }
counter() { lbc -j stats | jget "d[\"counters\"][\"$1\"]"; }
L1=$(on lb cat /sys/class/net/l1/ifindex)
L2=$(on lb cat /sys/class/net/l2/ifindex)
L3=$(on lb cat /sys/class/net/l3/ifindex)
# (the copies come from cidlbd's 1 s timer, the delivery above from the kernel's entries)
wait_eq "both next hops copied into cidlb_neigh" "198.18.1.2@$L1 198.18.2.2@$L2" neigh_copies

# A backend added at run time while its packets already flow (to the
# fallback until it is live): its next hop is resolved before the add
# makes it live, so not one packet is dropped for want of it (before the
# fix: the kernel resolved it only after the timer's probe, up to a second
# later, and every packet meanwhile was drop_no_route).
eq "no entry for b3's next hop yet" "" "$(on lb ip neigh show 198.18.3.2 dev l3 | grep lladdr)"
rx0=$(counter rx_packets)
send --flow "$(cid_of 3 c1c2c3c4c5c6)@42003" --until-file "$T/b3.stop" >/dev/null &
SENDER=$!
wait_count "counter rx_packets" $((rx0 + 100)) >/dev/null
expect_rc "add b3" 0 lbc backend add b3 --address 198.18.3.2 --server-id 0:0003
eq "b3's next hop resolved when the add returns" 1 \
	"$(on lb ip neigh show 198.18.3.2 dev l3 | grep -c lladdr)"
before=$(decap_v4 s3)
wait_count "decap_v4 s3" $((before + 100)) >/dev/null
touch "$T/b3.stop"
wait "$SENDER"
eq "b3 gets its packets" 1 $(($(decap_v4 s3) > 100))
eq "none dropped for want of a next hop (no_route no_neigh no_port)" "0 0 0" \
	"$(counter drop_no_route) $(counter drop_no_neigh) $(counter drop_no_port)"
wait_eq "b3's next hop copied" "198.18.1.2@$L1 198.18.2.2@$L2 198.18.3.2@$L3" neigh_copies

# The kernel loses b1's entry and cannot get it back (s1 ignores ARP):
# packets go on with cidlbd's copy (nh_cached), as they do while the
# kernel's lookup misses an entry; once the kernel's entry FAILED, the
# copy goes and the drops say why (drop_no_neigh); ARP back, entry back.
# srv must not ARP for the LB either: the LB's kernel learns the sender of
# an ARP request addressed to it, which would give b1's entry back (seen
# under load: the 20 packets then went by the kernel's entry, nh_cached 0)
on srv ip neigh replace 198.18.1.1 lladdr "$(mac_of lb l1)" dev s1 nud permanent
on srv sysctl -qw net.ipv4.conf.s1.arp_ignore=8
on lb ip neigh del 198.18.1.2 dev l1
eq "the kernel has no usable entry for b1 (copy only)" "" \
	"$(on lb ip neigh show 198.18.1.2 dev l1 | grep -E 'REACHABLE|STALE|DELAY|PROBE|PERMANENT')"
before=$(decap_v4 s1)
send --flow "$(cid_of 1 b1b2b3b4b5b6)@42011" --count 20 >/dev/null
eq "20 packets of b1 delivered with the copy" 20 $(($(wait_count "decap_v4 s1" $((before + 20))) - before))
eq "... counted in nh_cached" 20 "$(counter nh_cached)"
# the kernel gives up after 3 probes (~3 s), cidlbd's timer sees it
WAIT_S=30 wait_eq "the copy removed once the kernel's entry FAILED" "198.18.2.2@$L2 198.18.3.2@$L3" \
	neigh_copies
send --flow "$(cid_of 1 b1b2b3b4b5b6)@42011" --count 5 >/dev/null
wait_eq "then b1's packets count as drop_no_neigh" 5 counter drop_no_neigh
on srv sysctl -qw net.ipv4.conf.s1.arp_ignore=0
WAIT_S=30 wait_eq "ARP answered again: resolved and copied" \
	"198.18.1.2@$L1 198.18.2.2@$L2 198.18.3.2@$L3" neigh_copies

# a removed backend's copy goes
expect_rc "remove b3" 0 lbc backend remove b3
wait_eq "b3's copy removed with it" "198.18.1.2@$L1 198.18.2.2@$L2" neigh_copies
eq "no drop but the 5 above" "0 5 0" \
	"$(counter drop_no_route) $(counter drop_no_neigh) $(counter drop_no_port)"
finish
