#!/bin/bash
# test_rollback.sh - a reload whose map writes fail part way is rolled
# back: the maps, the backend list and the packets' routes are the running
# configuration's again, and the refusal says which write failed and that
# the maps were put back. A map frozen with bpftool (no more writes from
# user space) makes the write fail:
#  A. cidlb_vips frozen, the reload adds b3 and removes a VIP: everything
#     up to the last step (b3's entry and server ID, the Maglev table with
#     b3) is written before the VIP cannot be deleted; all of it is undone.
#  B. cidlb_sids frozen, the reload adds b3: its entry is written, its
#     server ID cannot be; the entry is undone.
# The default quarantine: a server ID that the rollback deletes was never
# in effect, so it is not quarantined (a retry of the change is not refused).
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2
printf '\n[vip two]\naddress = 198.18.100.2\nport = 443\n' >>"$T/cidlb.conf"
cp "$T/cidlb.conf" "$T/base.conf"
start_daemon

names() { lbc -j backend list | jget '[b["name"] for b in d]'; }
# live entries of cidlb_backends: "INDEX:ADDRESS ..." (state not absent)
live_backends() {
	on lb bpftool -j map dump pinned "$PIN/cidlb_backends" | /usr/bin/python3 -c '
import json, sys
out = []
for e in json.load(sys.stdin):
    v = e["formatted"]["value"]
    if v["state"]:
        out.append("%d:%s" % (e["formatted"]["key"], ".".join(str(x) for x in v["addr"][:4])))
print(" ".join(sorted(out)))'
}
# server IDs in cidlb_sids (config 0, 2 octets): "SID>INDEX ..."
sids() {
	on lb bpftool -j map dump pinned "$PIN/cidlb_sids" | /usr/bin/python3 -c '
import json, sys
print(" ".join(sorted("%s>%d" % ("".join("%02x" % x for x in e["formatted"]["key"]["sid"][:2]),
                                  e["formatted"]["value"]) for e in json.load(sys.stdin))))'
}
vips() { on lb bpftool -j map dump pinned "$PIN/cidlb_vips" | jget 'len(d)'; }

# routes_are_b1_b2 WHAT PORT: a CID of each backend and 30 fallback flows
# (CIDs of no server ID in short headers: Maglev places every packet, none
# is recorded), new ones from PORT on, 5 packets each: all reach
# b1 and b2, none b3 (with b3 in the Maglev table, a third would)
routes_are_b1_b2() {
	local what=$1 port=$2 flows="" before s3 i
	for i in $(seq 0 29); do flows="$flows --flow e7$(printf '%016x' $i)@$((port + i))"; done
	before=$(total_rx)
	s3=$(decap_v4 s3)
	send $flows --flow "$(cid_of 1 0a0a0a0a0a0a)@$((port + 30))" \
		--flow "$(cid_of 2 0b0b0b0b0b0b)@$((port + 31))" \
		--flow "$(cid_of 3 0c0c0c0c0c0c)@$((port + 32))" --count 5 >/dev/null
	poll 20 prints_above $((before + 164)) total_rx
	eq "$what: all 165 packets delivered" 165 $(($(total_rx) - before))
	eq "$what: none at b3" 0 $(($(decap_v4 s3) - s3))
}

before_backends=$(live_backends)
before_sids=$(sids)
eq "two live backends at the start" 2 "$(wc -w <<<"$before_backends")"
eq "two server IDs at the start" 2 "$(wc -w <<<"$before_sids")"
eq "two VIPs at the start" 2 "$(vips)"
routes_are_b1_b2 "at the start" 40000

# --- A. the last step fails: every step before it is undone ----------------------
on lb bpftool map freeze pinned "$PIN/cidlb_vips" || bad "bpftool map freeze cidlb_vips"
write_conf 1 2 3
expect_rc "A: the reload is refused" 3 lbc daemon reload
grep_in "A: the refusal names the write and the rollback" \
	"writing the VIPs failed: Operation not permitted; the maps were put back as they were" "$T/err"
grep_in "A: b3 was written before (the rollback undid it)" "backend b3: index" "$T/daemon.log"
grep_in "A: the Maglev table with b3 was published before" "Maglev table published: 3 backends" \
	"$T/daemon.log"
eq "A: the backend list" "['b1', 'b2']" "$(names)"
eq "A: live entries of cidlb_backends" "$before_backends" "$(live_backends)"
eq "A: cidlb_sids" "$before_sids" "$(sids)"
eq "A: both VIPs" 2 "$(vips)"
eq "A: nothing quarantined" "[]" "$(lbc -j backend quarantine | jget 'd')"
grep_in "A: b3's server ID deleted without quarantine" \
	"server ID 0:0003 removed (written by the change that failed; no quarantine)" "$T/daemon.log"
eq "A: status says refused" "False" "$(lbc -j status | jget 'd["last_reload"]["ok"]')"
routes_are_b1_b2 "A, after the rollback" 41000

# --- B. a write of step 2 fails: the backend entry written before is undone --------
cp "$T/base.conf" "$T/cidlb.conf"
expect_rc "B: the base file applies (nothing to write)" 0 lbc daemon reload
on lb bpftool map freeze pinned "$PIN/cidlb_sids" || bad "bpftool map freeze cidlb_sids"
write_conf 1 2 3
printf '\n[vip two]\naddress = 198.18.100.2\nport = 443\n' >>"$T/cidlb.conf"
expect_rc "B: the reload is refused" 3 lbc daemon reload
grep_in "B: the refusal names the write and the rollback" \
	"writing the server IDs failed: Operation not permitted; the maps were put back as they were" \
	"$T/err"
eq "B: the backend list" "['b1', 'b2']" "$(names)"
eq "B: live entries of cidlb_backends" "$before_backends" "$(live_backends)"
eq "B: cidlb_sids" "$before_sids" "$(sids)"
routes_are_b1_b2 "B, after the rollback" 42000

stop_daemon
finish
