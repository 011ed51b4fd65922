#!/bin/bash
# test_inputs.sh - what cidlbd reads at a start and must not trust:
#  1. a damaged state file (a quarantine index of 4000000000, which made
#     the daemon index a stack array with it and die of SIGSEGV, over and
#     over under Restart=on-failure): the daemon starts, says which file
#     and field it ignores, and forwards;
#  2. pins of another version (cidlb_global with a larger value size): the
#     daemon refuses to adopt them, names the map, its path and both sizes,
#     changes nothing (the pinned program keeps forwarding); `cidlb stats`
#     refuses them too; `cidlbd --cleanup` still removes them;
#  3. a BPF object that someone other than root could change (mode 0666,
#     or owned by nobody): refused before it is loaded, like a key file.
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2
start_daemon

# --- 1. damaged state file ---------------------------------------------------------
stop_daemon --keep
cat >"$T/state.json" <<-'EOF2'
{"version": 1, "backends": [{"name": "b1", "index": 0}, {"name": "b2", "index": 1}],
 "quarantine": [{"config_id": 0, "server_id": "0007", "owner": "b7", "index": 4000000000,
                 "until_boottime_ns": 9000000000000000000}],
 "interfaces": [{"name": "l0", "mode": "native", "forwarding_set": 0}]}
EOF2
start_daemon
grep_in "damaged state file: file and field named" \
	"ignoring the state file: $T/state.json: quarantine\[0\].index: 4000000000 is out of range 0..16383" \
	"$T/daemon.log"
base=$(decap_v4 s1)
send --flow "$(cid_of 1 0a0a0a0a0a0a)@49001" --count 5 >/dev/null
wait_eq "damaged state file: forwards" 5 decap_since s1 "$base"
eq "damaged state file: adopted" "True" "$(lbc -j status | jget 'd["adopted"]')"
# other damage: each refused with its field, the daemon never dies
for bad_state in \
	'{"version": 1, "backends": [{"name": "b1", "index": "0"}]}|backends\[0\].index: must be an integer' \
	'{"version": 1, "backends": [{"name": "b1", "index": 0}, {"name": "b2", "index": 0}]}|backends\[1\].index: 0 is also backend' \
	'{"version": 1, "interfaces": [{"name": "averyveryverylongname", "mode": "native", "forwarding_set": 0}]}|interfaces\[0\].name: must be 1..15 characters' \
	'{"version": 1, "quarantine": {"a": 1}}|quarantine: must be an array' \
	'[1, 2]|not a JSON object'; do
	stop_daemon --keep
	printf '%s\n' "${bad_state%%|*}" >"$T/state.json"
	: >"$T/daemon.log"
	start_daemon
	grep_in "damaged state file: ${bad_state##*|}" "ignoring the state file: $T/state.json: .*${bad_state##*|}" "$T/daemon.log"
done

# --- 2. pins of another version ------------------------------------------------------
stop_daemon --keep
vsize=$(on lb bpftool -j map show pinned "$PIN/cidlb_global" | jget 'd["bytes_value"]')
on lb rm "$PIN/cidlb_global"
on lb bpftool map create "$PIN/cidlb_global" type array key 4 value $((vsize + 8)) entries 1 name cidlb_global ||
	bad "bpftool map create"
: >"$T/daemon.log"
expect_rc "pins of another version: refused" 1 on lb timeout 30 "$CIDLBD" -c "$T/cidlb.conf"
grep_in "pins: the map, its path, both sizes" \
	"pinned map cidlb_global at $PIN/cidlb_global has value size $((vsize + 8)), this cidlbd ($ROOT/$BUILD/cidlb.bpf.o) expects $vsize: the pins come from another version" \
	"$T/err"
grep_in "pins: what to do" "run 'cidlbd --cleanup'" "$T/err"
eq "pins: the program still attached" "prog/xdp" "$(on lb ip -d link show l0 | grep -o 'prog/xdp')"
base=$(decap_v4 s2)
send --flow "$(cid_of 2 0b0b0b0b0b0b)@49002" --count 3 >/dev/null
wait_eq "pins: the pinned program keeps forwarding" 3 decap_since s2 "$base"
expect_rc "pins: cidlb stats refuses them" 3 lbc stats
grep_in "pins: cidlb stats names the map and sizes" \
	"pinned map cidlb_global at $PIN/cidlb_global has value size $((vsize + 8)), this cidlb expects $vsize" "$T/err"
expect_rc "pins: --cleanup removes them" 0 on lb "$CIDLBD" -c "$T/cidlb.conf" --cleanup
eq "pins: gone after --cleanup" "" "$(on lb ls "$PIN" 2>/dev/null)"

# --- 3. the BPF object ----------------------------------------------------------------
cp "$ROOT/$BUILD/cidlb.bpf.o" "$T/obj.bpf.o"
chmod 0666 "$T/obj.bpf.o"
expect_rc "object writable by others: refused" 1 on lb timeout 30 "$CIDLBD" -c "$T/cidlb.conf" --object "$T/obj.bpf.o"
grep_in "object mode named" "'$T/obj.bpf.o' is owned by uid 0 with mode 0666: the BPF object must be owned by root and writable only by root" "$T/err"
chmod 0644 "$T/obj.bpf.o"
chown nobody "$T/obj.bpf.o"
expect_rc "object owned by nobody: refused" 1 on lb timeout 30 "$CIDLBD" -c "$T/cidlb.conf" --object "$T/obj.bpf.o"
grep_in "object owner named" "owned by uid $(id -u nobody) with mode 0644" "$T/err"
eq "nothing loaded or pinned" "" "$(on lb ls "$PIN" 2>/dev/null)"
chown root "$T/obj.bpf.o"
start_daemon --object "$T/obj.bpf.o"
grep_in "a root-owned 0644 object loads" "loaded $T/obj.bpf.o" "$T/daemon.log"
stop_daemon
finish
