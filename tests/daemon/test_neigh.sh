#!/bin/bash
# test_neigh.sh - backends routed through the kernel's FIB (no MAC in the
# configuration) and no neighbour entries on the LB: cidlbd makes the
# kernel resolve each backend's next hop (neigh.c), so its packets are
# forwarded instead of dropped as drop_no_route; a backend added later is
# resolved within a couple of seconds too.
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
eq "none dropped for want of a next hop" 0 "$(lbc -j stats | jget 'd["counters"]["drop_no_route"]')"

# a backend added at run time
expect_rc "add b3" 0 lbc backend add b3 --address 198.18.3.2 --server-id 0:0003
resolved 198.18.3.2 l3 && ok || bad "b3's next hop not resolved after backend add"
before=$(decap_v4 s3)
send --flow "$(cid_of 3 c1c2c3c4c5c6)@42003" --count 10 >/dev/null
wait_eq "all 10 packets of b3 delivered" 10 decap_since s3 "$before"
finish
