#!/bin/bash
# test_resets.sh - a removed backend's quarantined server ID, with a reset
# key: its server ID stays in cidlb_sids, naming the removed (absent,
# down-flagged) index, and its CIDs get a stateless reset from the LB (none
# reaches a backend); when the quarantine is over, the server ID leaves the
# map and its CIDs take the fallback route to a survivor.
source "$(dirname "$0")/lib.sh"

net_setup
QUARANTINE=4 write_conf 1 2
(umask 077; echo 00112233445566778899aabbccddeeff >"$T/reset.key")
sed -i "s|^nonce_len = 6$|&\nreset_key_file = $T/reset.key|" "$T/cidlb.conf"
start_daemon

counts() { echo "$(decap_v4 s1) $(decap_v4 s2)"; }
counter() { lbc -j stats | jget "d['counters']['$1']"; }
# sid_index SID: the index cidlb_sids names for config 0's server ID, or none
sid_index() {
	on lb bpftool -j map dump pinned "$PIN/cidlb_sids" | /usr/bin/python3 -c '
import json, sys
want = bytes.fromhex(sys.argv[1])
for e in json.load(sys.stdin):
    k = bytes(int(x, 16) for x in e["key"])
    v = bytes(int(x, 16) for x in e["value"])
    if k[0] == 0 and k[1] == len(want) and k[2:2 + len(want)] == want:
        print(int.from_bytes(v[:4], "little")); sys.exit(0)
print("none")' "$1"
}
rx_total() { counts | awk '{ print $1 + $2 }'; }
rx_at_least() { [ "$(rx_total)" -ge "$1" ]; }

C1=$(cid_of 1 a1a2a3a4a5a6)
B=$(counts)
send --flow "$C1@41001" --count 10 >/dev/null
poll 20 rx_at_least $(($(echo "$B" | awk '{ print $1 + $2 }') + 10))
eq "b1's CID reaches b1" "$(echo "$B" | awk '{ print $1 + 10, $2 }')" "$(counts)"

expect_rc "remove b1" 0 lbc backend remove b1
eq "its server ID stays in the map, naming its old index" 0 "$(sid_index 0001)"
B=$(counts); R=$(counter reset_sent); U=$(counter unroutable_sid)
send --flow "$C1@41001" --count 10 >/dev/null
wait_eq "its CIDs get stateless resets from the LB" $((R + 10)) counter reset_sent
eq "... and reach no backend" "$B" "$(counts)"
eq "... not the fallback route" "$U" "$(counter unroutable_sid)"

quarantine_over() { [ "$(lbc -j backend quarantine | jget 'len(d)')" = 0 ]; }
poll 20 quarantine_over || bad "the quarantine of b1's server ID is not over after 20 s"
wait_eq "then its server ID leaves the map" none sid_index 0001
B=$(counts); R=$(counter reset_sent)
send --flow "$C1@41001" --count 10 >/dev/null
poll 20 rx_at_least $(($(echo "$B" | awk '{ print $1 + $2 }') + 10))
eq "and its CIDs take the fallback route to b2" "$(echo "$B" | awk '{ print $1, $2 + 10 }')" "$(counts)"
eq "... without a reset" "$R" "$(counter reset_sent)"
grep_in "the quarantine says resets" "quarantined for 4 s: its CIDs get stateless resets" "$T/daemon.log"
finish
