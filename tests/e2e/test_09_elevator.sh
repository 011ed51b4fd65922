#!/bin/bash
# Scenario 9: the elevator. In the middle of a download the client's link
# goes dead for 3 seconds (the access router drops everything from and to
# it); when it comes back, the access network has a new public address and
# port for it (the router NATs it from 198.18.1.2:P to 198.18.1.50:40000
# from then on). From the server's and the LB's view the connection comes
# back from a new address after seconds of silence.
#
# (The outage is at the router, not `ip link set down` on the client:
# with its own device down, gtlsclient's sendmsg fails with ENETUNREACH,
# and it gives the connection up when that happens to its next packet.)
#
# (Why the address changes in the access network and not on the client:
# gtlsclient only migrates on its --change-local-addr timer and then
# sends nothing until a packet arrives, which never happens when the old
# address is gone; the server's probes go to the old public address, which
# here still reaches the client and elicits its ACKs from the new one.)
#
# Asserts: nothing arrived while the link was down; the download then
# completes intact, on the backend its first CID names, the rest of it
# through the new address; the LB sent packets to that backend only; the
# server validated the new path.
#
# Timing: until the link is back the download is shaped to 4 Mbit/s, so
# however slow the test is, most of it comes after the outage; then
# 24 Mbit/s.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
SIZE=$((4 * 1024 * 1024))
e2e_up 1 plain $SIZE
e2e_shape 4mbit
NEW=198.18.1.50

e2e_client lift $VIP4 f.bin
wait_for 5 "the client's socket" has_tuple
read -r addr port <<<"$(cl_tuples | head -1)"
wait_for 10 "1 MB downloaded" dl_at_least lift 1000000
nsx rt nft -f - <<EON || fail "nftables outage on the router"
table inet e2e_outage {
	chain pre {
		type filter hook prerouting priority -400;
		ip saddr $addr drop
		ip daddr $addr drop
	}
}
EON
down_at=$(dl_size lift)
log "link dead at $down_at octets"
[ $((SIZE - down_at)) -gt 1500000 ] ||
	fail "the outage began only at $down_at of $SIZE octets (the test was too slow, not cidlb)"
sleep 3		# the outage itself: a fixed 3 s on purpose
stalled=$(dl_size lift)
e2e_nat_rebind "$addr" "$port" 40000 $NEW
nsx rt nft delete table inet e2e_outage || fail "end of the outage"
log "link back after 3 s; $addr:$port now reaches the servers as $NEW:40000 ($stalled octets so far)"
e2e_shape 24mbit
[ $((stalled - down_at)) -lt 100000 ] || fail "data arrived while the link was down"
e2e_client_wait lift
b=$(served_by lift); want=$(qlog_backend lift)
[ "$b" = none ] && fail "download missing or corrupt"
[ "$b" = "$want" ] || fail "content of $b, CIDs of $want"
ok "4 MiB intact after the outage, served by $b"
only_to lb1 "$b" || fail "LB sent packets to other backends too"
down=$(nat_counter down bytes); up=$(nat_counter up packets)
log "through the new address: $up packets up, $down octets down"
[ "$down" -gt $((SIZE - stalled - 300000)) ] || fail "the rest did not come through the new address"
path_validated lift || fail "no path validation in the client's qlog"
ok "the connection continued from the new address on $b; path validated"
