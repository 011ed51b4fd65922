#!/bin/bash
# test_retire.sh - retired CIDs: packets carrying one are dropped (counted
# as drop_retired, never at the backend) until the entry expires, and the
# daemon's sweep removes it, also one a restarted daemon adopted; CIDs are
# keyed as the data path keys them (extra octets ignored under a config the
# LB holds, self-encoded length otherwise); batches of thousands from a
# file and from stdin.
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2
start_daemon

C1=$(cid_of 1 c1c2c3c4c5c6)
retired() { lbc -j stats | jget 'd["counters"]["drop_retired"]'; }
s1_retired() { echo "$(decap_v4 s1) $(retired)"; }
cids() { lbc -j cid list | jget '[c["cid"] for c in d]'; }
status_retired() { lbc -j status | jget 'd["retired_cids"]'; }

send --flow "$C1@48001" --count 5 >/dev/null
wait_eq "before: b1's connection arrives" 5 decap_v4 s1

# the operator gives the CID with 4 extra octets: they are ignored
# (10 s: long enough for the checks below on a loaded machine)
expect_rc "retire for 10 s" 0 lbc cid retire --ttl 10 "${C1}deadbeef"
eq "retire output" "retired 1 CID for 10 s" "$(cat "$T/out")"
eq "listed under its 9 significant octets" "['$C1']" "$(lbc -j cid list | jget '[c["cid"] for c in d]')"
send --flow "$C1@48001" --count 10 >/dev/null
wait_eq "while retired: dropped, counted" "5 10" s1_retired
# a longer DCID with the same significant octets is the same CID
send --flow "${C1}0102@48001" --count 3 >/dev/null
wait_eq "extra octets in the packet ignored too" "5 13" s1_retired
# another nonce of the same server: not retired
send --flow "$(cid_of 1 c1c2c3c4c5c7)@48001" --count 2 >/dev/null
wait_eq "another CID of b1 still arrives" 7 decap_v4 s1
# the TTL runs out, the next sweep (every second) removes it
WAIT_S=40 wait_eq "expired and swept from the map" "[]" cids
send --flow "$C1@48001" --count 4 >/dev/null
wait_eq "after expiry: arrives again" "11 13" s1_retired
eq "metrics: one expired" 1 "$(metrics | metric cidlb_retired_cids_expired_total)"

# a config the LB does not hold (config 3): self-encoded length (0x63 & 0x1f) + 1 = 4
expect_rc "retire a CID of an unknown config" 0 lbc cid retire --ttl 60 6303aabbccddeeff
eq "keyed by its self-encoded length" "['6303aabb']" "$(lbc -j cid list | jget '[c["cid"] for c in d]')"
send --flow "6303aabb99999999@48002" --count 3 >/dev/null
wait_eq "its packets are dropped" 16 retired
expect_rc "unretire it" 0 lbc cid unretire 6303aabb

# --- thousands at once -------------------------------------------------------------
/usr/bin/python3 -c '
import sys
for i in range(5000):
    print("08%04x%012x" % (i % 3, i))
print("# a comment line, and an empty one")
print("")' >"$T/cids.txt"
t0=$(date +%s%N)
expect_rc "retire 5000 from a file" 0 lbc cid retire --ttl 60 --file "$T/cids.txt"
echo "5000 CIDs retired in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
eq "its output" "retired 5000 CIDs for 60 s" "$(cat "$T/out")"
/usr/bin/python3 -c '
for i in range(5000, 6000):
    print("08%04x%012x" % (i % 3, i))' | lbc cid retire --ttl 60 - >"$T/out"
eq "1000 more from stdin" "retired 1000 CIDs for 60 s" "$(cat "$T/out")"
eq "all in the map" 6000 "$(lbc -j cid list | jget 'len(d)')"
wait_eq "status counts them" 6000 status_retired
eq "metrics count them" 6000 "$(metrics | metric cidlb_retired_cids)"
# one of them, in a packet: dropped
send --flow "08$(printf '%04x%012x' $((4242 % 3)) 4242)@48003" --count 2 >/dev/null
wait_eq "a batch-retired CID is dropped" 18 retired
printf '08000000000000000000\nzz\n' >"$T/bad.txt"
expect_rc "a bad line: nothing sent" 2 lbc cid retire --file "$T/bad.txt"
grep_in "names the line" "bad.txt line 2: CID 'zz': 'z' at character 1 is not a hex digit" "$T/err"
expect_rc "unretire the file" 0 lbc -j cid unretire --file "$T/cids.txt"
eq "unretire output" "5000 0" "$(jget 'd["removed"], d["not_found"]' <"$T/out")"
eq "1000 left" 1000 "$(lbc -j cid list | jget 'len(d)')"

# --- a daemon that adopts the map expires what it holds ---------------------------
# (10 s: the stop, the start and the first status must come before its
# expiry, or the new daemon's first sweep takes it; on a loaded machine 3 s
# may not be enough)
expect_rc "retire one for 10 s" 0 lbc cid retire --ttl 10 "$C1"
stop_daemon --keep
start_daemon
eq "adopted: status counts the map's entries" 1001 "$(lbc -j status | jget 'd["retired_cids"]')"
WAIT_S=40 wait_eq "the adopted entry expires: status" 1000 status_retired
eq "the adopted entry expired and was swept" 1000 "$(lbc -j cid list | jget 'len(d)')"
eq "metrics: one expired by this daemon" 1 "$(metrics | metric cidlb_retired_cids_expired_total)"
finish
