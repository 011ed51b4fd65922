#!/bin/bash
# test_upgrade.sh - upgrade in place (docs/operations.md, "Upgrade"):
#  1. cidlbd and cidlb.bpf.o of the previous layout, built from the
#     repository's history (OLD_REV) in the test's directory, forward
#     CID-routed and fallback flows; stopped with --keep while packets
#     stream; this cidlbd starts on its pins: it migrates them into new
#     maps and swaps its program in. Every packet sent arrives, every flow
#     stays on its backend; the 4-tuple entries, a quarantined server ID, a
#     retired CID and the counters are carried; the program attached is
#     another, cidlb_global says the new layout, `cidlb status` works.
#  2. the previous cidlbd on the new pins (a downgrade) is refused,
#     forwarding goes on untouched.
#  3. pins of a layout newer than this cidlbd's: refused, nothing touched;
#     this cidlbd's own layout and program: adopted as they are.
#  4. same layout, another program: replaced on the interface atomically,
#     0 packets lost; the same program again: nothing replaced.
# test-timeout: 400
source "$(dirname "$0")/lib.sh"

OLD_REV=4dd5d79
LAYOUT=$(sed -n 's/^#define CIDLB_LAYOUT \([0-9][0-9]*\)$/\1/p' include/cidlb_maps.h)
OLD=$T/old
if ! git -C "$ROOT" cat-file -e "$OLD_REV^{commit}" 2>/dev/null; then
	echo "FAIL: the repository at $ROOT has no commit $OLD_REV (the previous layout's sources): this test needs the git history"
	exit 1
fi
mkdir -p "$OLD"
git -C "$ROOT" archive "$OLD_REV" | tar -x -C "$OLD" || { echo "FAIL: git archive $OLD_REV"; exit 1; }
t0=$(date +%s)
if ! make -C "$OLD" -j2 BUILD=build build/cidlbd build/cidlb build/cidlb.bpf.o >"$T/old-build.log" 2>&1; then
	echo "FAIL: cannot build cidlbd of $OLD_REV:"; tail -20 "$T/old-build.log"; exit 1
fi
echo "built cidlbd of $OLD_REV in $(($(date +%s) - t0)) s"
NEW_CIDLBD=$CIDLBD NEW_CIDLB=$CIDLB
old_tools() { CIDLBD=$OLD/build/cidlbd CIDLB=$OLD/build/cidlb; }
new_tools() { CIDLBD=$NEW_CIDLBD CIDLB=$NEW_CIDLB; }

net_setup
write_conf 1 2 3

stream_flows
# the backend (s1..s3) each flow's packets reach, one flow at a time
where() {
	local f out="" a b i
	for f in $FLOWS; do
		[ "$f" = --flow ] && continue
		a=($(rx3))
		send --flow "$f" --count 4 >/dev/null
		poll 20 rx_at_least $((a[0] + a[1] + a[2] + 4))
		b=($(rx3))
		for i in 0 1 2; do [ $(( b[i] - a[i] )) -ge 4 ] && out="$out ${f#*@}:s$((i + 1))"; done
	done
	echo "$out"
}
counters_below() { # OLD.json NEW.json: "name old new" of each counter of OLD lower in NEW
	/usr/bin/python3 -c 'import json, sys
old, new = (json.load(open(f))["counters"] for f in sys.argv[1:3])
print(" ".join("%s %s %s" % (k, v, new.get(k)) for k, v in old.items() if not new.get(k, -1) >= v))' "$@"
}
prog_id() { on lb ip -d link show l0 | grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$'; }
lru_dump() { # the 4-tuple entries as "sport backend", sorted
	on lb bpftool -j map dump pinned "$PIN/cidlb_lru" |
		/usr/bin/python3 -c 'import json, sys
for e in json.load(sys.stdin):
    f = e["formatted"]
    print(f["key"]["sport"], f["value"]["backend"])' | sort
}
layout() {
	on lb bpftool -j map dump pinned "$PIN/cidlb_global" |
		jget 'd[0]["formatted"]["value"].get("layout", "none")'
}
daemon_fails() { # DESC PATTERN: this cidlbd ($CIDLBD) refuses to start
	: >"$T/daemon.log"
	expect_rc "$1: refused" 1 on lb timeout 60 "$CIDLBD" -c "$T/cidlb.conf" "${@:3}"
	grep_in "$1: says why" "$2" "$T/err"
}

# --- 1. upgrade from the previous layout under traffic --------------------------
sids_dump() { # server ID -> index, and the state and flags of each index named
	on lb bpftool -j map dump pinned "$PIN/cidlb_sids" >"$T/sids.json"
	on lb bpftool -j map dump pinned "$PIN/cidlb_backends" >"$T/be.json"
	/usr/bin/python3 -c 'import json, sys
be = {e["formatted"]["key"]: e["formatted"]["value"] for e in json.load(open(sys.argv[2]))}
for e in sorted(json.load(open(sys.argv[1])), key=lambda e: str(e["formatted"]["key"])):
    k, i = e["formatted"]["key"], e["formatted"]["value"]
    print(k["config_id"], k["sid"][:k["len"]], i, be[i]["state"], be[i]["flags"])' "$T/sids.json" "$T/be.json"
}
old_tools
start_daemon --object "$OLD/build/cidlb.bpf.o"
eq "the previous cidlbd's pins carry no layout" none "$(layout)"
# b3 removed: its server ID quarantined, in the map for the old index
write_conf 1 2
expect_rc "b3 removed" 0 lbc daemon reload
eq "b3's server ID quarantined" "[('0003', 'b3')]" \
	"$(printf '{"cmd":"quarantine.list"}' | ctl_raw | jget "[(q['server_id'], q['owner']) for q in d['quarantine']]")"
sids_before=$(sids_dump)
RETIRED=$(cid_of 1 0a0a0a0a0a0a)
expect_rc "a CID retired" 0 lbc cid retire --ttl 3600 "$RETIRED"
grep -q "^0 \[0, 3\] 2 0 1$" <<<"$sids_before" && ok || bad "quarantined server ID not in the map as expected: $sids_before"
send $FALLBACK --initial --count 1 >/dev/null	# 4-tuple entries for the fallback flows
lru_count() { on lb bpftool -j map dump pinned "$PIN/cidlb_lru" | jget 'len(d)'; }
poll 20 prints_above 9 lru_count || bad "no 4-tuple entries made: $(lru_count)"
lru_before=$(lru_dump)
where_before=$(where)
prog_before=$(prog_id)
base=$(total_rx)
stream_start
flowing
lbc -j stats >"$T/stats-old.json"	# the previous cidlbd's counters, a lower bound
stop_daemon --keep
new_tools
: >"$T/daemon.log"
t0=$(date +%s.%N)
start_daemon
t1=$(date +%s.%N)
flowing
poll 30 rx_at_least $((base + 1500))
stream_lost upgrade "$base" "$t0" "$t1"
[ "$sent" -gt 1000 ] && ok || bad "too few packets to mean anything: $sent"
grep_in "upgrade: announced" "have layout 1, this cidlbd's is $LAYOUT: upgrading in place" "$T/daemon.log"
grep_in "upgrade: swapped on l0" "l0: the new program took the place of the older one" "$T/daemon.log"
grep_in "upgrade: done" "upgraded the maps pinned under $PIN from layout 1 to $LAYOUT on 1 interface" "$T/daemon.log"
prog_after=$(prog_id)
[ -n "$prog_after" ] && [ "$prog_after" != "$prog_before" ] && ok ||
	bad "upgrade: program id $prog_before before, $prog_after after"
eq "upgrade: the attached program is the pinned one" "$prog_after" \
	"$(on lb bpftool -j prog show pinned "$PIN/cidlb_xdp" | jget 'd["id"]')"
eq "upgrade: the pins carry the new layout" "$LAYOUT" "$(layout)"
eq "upgrade: no side directory left" no "$(on lb sh -c "[ -e $PIN-upgrade ] && echo yes || echo no")"
eq "upgrade: 4-tuple entries carried" "$lru_before" "$(lru_dump)"
eq "upgrade: server IDs, the quarantined one too" "$sids_before" "$(sids_dump)"
eq "upgrade: the quarantine listed" "[('0003', 'b3')]" \
	"$(printf '{"cmd":"quarantine.list"}' | ctl_raw | jget "[(q['server_id'], q['owner']) for q in d['quarantine']]")"
eq "upgrade: every flow on its backend" "$where_before" "$(where)"
drop_retired() { lbc -j stats | jget 'd["counters"]["drop_retired"]'; }
dr=$(drop_retired)
s1=$(decap_v4 s1)
send --flow "$RETIRED@47000" --count 5 >/dev/null
wait_eq "upgrade: the retired CID carried: its packets dropped" $((dr + 5)) drop_retired
eq "upgrade: none reached b1" "$s1" "$(decap_v4 s1)"
expect_rc "upgrade: cidlb status" 0 lbc status
eq "upgrade: status" "True 2" "$(lbc -j status | jget 'd["adopted"], d["backends"]["active"]')"
# every packet of this test went through rx_packets, the old program's
# part too: 10 Initials, 13 x 4 to find the backends, the stream
rx=$(lbc -j stats | jget 'd["counters"]["rx_packets"]')
[ "$rx" -ge $((sent + 62)) ] && ok || bad "upgrade: counters not carried: rx_packets $rx, sent $((sent + 62))"
# every counter of the previous layout carried under its own name (the
# old counts are added in by position: tests/unit/test_maps.c keeps the
# order): none below its count before, and quic_initial, which nothing
# since moved (the 10 Initials), exactly its count
lbc -j stats >"$T/stats-new.json"
eq "upgrade: the previous cidlbd's counters read" 54 "$(jget 'len(d["counters"])' <"$T/stats-old.json")"
eq "upgrade: every counter at least its count before" "" "$(counters_below "$T/stats-old.json" "$T/stats-new.json")"
eq "upgrade: quic_initial carried as it was" "$(jget 'd["counters"]["quic_initial"]' <"$T/stats-old.json")" \
	"$(jget 'd["counters"]["quic_initial"]' <"$T/stats-new.json")"

# --- 2. downgrade: the previous cidlbd on the new pins ----------------------------------
stop_daemon --keep
old_tools
base=$(total_rx)
stream_start
# the first map whose size changed is named: cidlb_global, or one before it
# (cidlb_configs: more entries, one pair of tables per pool)
daemon_fails "downgrade" "pinned map cidlb_[a-z_]* at $PIN/cidlb_[a-z_]* has \(value size\|max_entries\) [0-9]*, this cidlbd ($OLD/build/cidlb.bpf.o) expects [0-9]*: the pins come from another version" \
	--object "$OLD/build/cidlb.bpf.o"
grep_in "downgrade: nothing changed" "the pinned program keeps forwarding as it is" "$T/err"
flowing
stream_lost "downgrade, meanwhile" "$base"
eq "downgrade: the program stays" "$prog_after" "$(prog_id)"
new_tools

# --- 3. pins of a newer layout than this cidlbd's ---------------------------------------
on lb bpftool -j map dump pinned "$PIN/cidlb_global" >"$T/g.json"
on lb bpftool -j btf dump map pinned "$PIN/cidlb_global" value >"$T/g-btf.json"
# cidlb_global's raw value with layout set to $1
global_with() {
	/usr/bin/python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))[0]["value"]
t = [t for t in json.load(open(sys.argv[2]))["types"] if t.get("name") == "cidlb_global"][0]
off = [m for m in t["members"] if m["name"] == "layout"][0]["bits_offset"] // 8
v[off:off + 4] = ["0x%02x" % b for b in int(sys.argv[3]).to_bytes(4, "little")]
print(" ".join(v))' "$T/g.json" "$T/g-btf.json" "$1"
}
newer=$(global_with 99)
on lb bpftool map update pinned "$PIN/cidlb_global" key 0 0 0 0 value $newer || bad "bpftool map update"
eq "newer layout written" 99 "$(layout)"
daemon_fails "newer layout" "the maps pinned under $PIN have layout 99, newer than this cidlbd's $LAYOUT: a downgrade in place is not done"
eq "newer layout: the program stays" "$prog_after" "$(prog_id)"
eq "newer layout: the pins untouched" 99 "$(layout)"
base=$(total_rx)
send $FLOWS --count 20 >"$T/sent.json"
poll 20 rx_at_least $((base + 260)) && ok || bad "newer layout: forwarding stopped"
on lb bpftool map update pinned "$PIN/cidlb_global" key 0 0 0 0 value $(global_with "$LAYOUT") ||
	bad "bpftool map update"
# the pins a start of this cidlbd loaded, adopted: the program stays
: >"$T/daemon.log"
start_daemon
eq "same layout, same program: adopted as it is" "$prog_after" "$(prog_id)"
grep -q "is not the one of" "$T/daemon.log" && bad "same program: replaced all the same" || ok
stop_daemon --keep

# --- 4. same layout, another program ----------------------------------------------------
# the same sources compiled with another instruction schedule: same maps,
# other code
clang -g -O2 -target bpf -fno-strict-aliasing -Wno-unused-parameter -Iinclude -Ibpf \
	-I/usr/include/"$(gcc -dumpmachine)" -mcpu=v3 -c bpf/cidlb.bpf.c -o "$T/variant.bpf.o" ||
	bad "cannot build the variant object"
chmod 644 "$T/variant.bpf.o"
: >"$T/daemon.log"
start_daemon --object "$T/variant.bpf.o"
prog_v=$(prog_id)
base=$(total_rx)
stream_start
flowing
stop_daemon --keep
: >"$T/daemon.log"
start_daemon
flowing
stream_lost "program replace" "$base"
grep_in "replace: noticed" "the pinned program is not the one of $ROOT/$BUILD/cidlb.bpf.o (same maps)" "$T/daemon.log"
grep_in "replace: on l0" "l0: program $prog_v replaced by the one of $ROOT/$BUILD/cidlb.bpf.o" "$T/daemon.log"
prog_r=$(prog_id)
[ -n "$prog_r" ] && [ "$prog_r" != "$prog_v" ] && ok || bad "replace: program id $prog_v before, $prog_r after"
eq "replace: the pinned program is the attached one" "$prog_r" \
	"$(on lb bpftool -j prog show pinned "$PIN/cidlb_xdp" | jget 'd["id"]')"
eq "replace: the layout stays" "$LAYOUT" "$(layout)"
stop_daemon --keep
: >"$T/daemon.log"
start_daemon
eq "same program: nothing replaced" "$prog_r" "$(prog_id)"
grep -q "is not the one of" "$T/daemon.log" && bad "same program: replaced all the same" || ok
stop_daemon
eq "a plain stop after all that detaches" "" "$(on lb ip -d link show l0 | grep -o 'prog/xdp')"
eq "and unpins" no "$(on lb sh -c "[ -e $PIN ] && echo yes || echo no")"
finish
