#!/bin/bash
# test_control.sh - the control socket: every request and its malformed
# variants (each gets a JSON error, the daemon never dies), the socket is
# root only (mode 0600 and the peer's uid), `cidlb` exit codes and JSON,
# `cidlb trace` on the pinned program.
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2
start_daemon

# raw client: the request's bytes as they are, the reply as it came
raw() { printf '%s' "$1" | ctl_raw; }
# reply_is REQUEST OK CODE-OR-FIELD DESC: ok is true/false; for errors the code
reply_err() { # DESC REQUEST CODE PATTERN
	local r got
	r=$(raw "$2")
	got=$(printf '%s' "$r" | jget 'd["ok"], d.get("code"), d.get("error","")' 2>/dev/null)
	case "$got" in
	"False $3 "*"$4"*) ok ;;
	*) bad "$1: reply $r (want code $3, error with '$4')" ;;
	esac
}
reply_ok() { # DESC REQUEST PYTHON-EXPR WANT
	local r got
	r=$(raw "$2")
	got=$(printf '%s' "$r" | jget "d['ok'], $3" 2>/dev/null)
	eq "$1 ($r)" "True $4" "$got"
}

# --- the socket is root only ---------------------------------------------
eq "socket mode" "600 root" "$(stat -c '%a %U' "$T/ctl.sock")"
out=$(on lb setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_override \
	--ambient-caps=+dac_override /usr/bin/python3 "$ROOT/tests/lib/ctl_raw.py" "$T/ctl.sock" <<<'{"cmd":"status"}')
eq "non-root peer (able to open the socket) is refused by its uid" \
	'False denied the control socket is for root only' \
	"$(printf '%s' "$out" | jget 'd["ok"], d["code"], d["error"]')"
grep_in "refusal logged" "refused a client with uid 65534" "$T/daemon.log"
# the user runs a copy of cidlb it can reach (the checkout may sit in a
# directory only root can enter, as a mktemp -d clone does)
NOBODY_BIN=$(mktemp -d /tmp/cidlb-nobody.XXXXXX)
chmod 755 "$NOBODY_BIN" && cp "$CIDLB" "$NOBODY_BIN/cidlb" && chmod 755 "$NOBODY_BIN/cidlb"
on lb setpriv --reuid=65534 --regid=65534 --clear-groups env CIDLB_SOCKET="$T/ctl.sock" \
	CIDLB_CONFIG=/nonexistent "$NOBODY_BIN/cidlb" status >"$T/out" 2>"$T/err"; rc=$?
rm -rf "$NOBODY_BIN"
eq "non-root cidlb status: exit" 3 "$rc"
grep_in "non-root cidlb status: message" "permission denied on $T/ctl.sock: the control socket is for root only" "$T/err"

# --- malformed requests: a JSON error each, never a crash ------------------
reply_err "not JSON" 'hello' bad_request "the request is not JSON"
reply_err "empty" '' bad_request "the request is not JSON"
reply_err "cut short" '{"cmd": "sta' bad_request "the request is not JSON"
reply_err "binary" "$(printf '\x01\x02\xff\xfe')" bad_request "the request is not JSON"
reply_err "array" '["status"]' bad_request "must be a JSON object"
# a NUL octet after a number: jansson alone would read {"weight":7<NUL>}} as
# {"weight":7} (a mutated request was once accepted so)
r=$(printf '{"cmd":"backend.weight","name":"b1","weight":7\0}}' | ctl_raw)
case "$(printf '%s' "$r" | jget 'd["ok"], d.get("code"), d.get("error","")' 2>/dev/null)" in
"False bad_request "*"holds a NUL octet"*) ok ;;
*) bad "NUL inside the JSON text: reply $r" ;;
esac
reply_err "number" '42' bad_request "must be a JSON object"
reply_err "no cmd" '{"name":"b1"}' bad_request 'needs "cmd": one of status, backend.list'
reply_err "cmd not a string" '{"cmd":7}' bad_request 'needs "cmd"'
reply_err "unknown cmd" '{"cmd":"backend.explode"}' bad_request "unknown cmd 'backend.explode'; one of"
reply_err "unknown field" '{"cmd":"status","verbose":true}' bad_request "unknown field 'verbose' for status; allowed: none"
reply_err "drain: no name" '{"cmd":"backend.drain"}' bad_request 'backend.drain needs "name": a non-empty string'
reply_err "drain: name a number" '{"cmd":"backend.drain","name":1}' bad_request 'needs "name"'
reply_err "drain: typo" '{"cmd":"backend.drain","nmae":"b1"}' bad_request "unknown field 'nmae' for backend.drain; allowed: name"
reply_err "drain: no such backend" '{"cmd":"backend.drain","name":"b9"}' not_found "no backend named 'b9'"
reply_err "weight: string" '{"cmd":"backend.weight","name":"b1","weight":"5"}' bad_request 'needs "weight": a number 0..65535'
reply_err "weight: too big" '{"cmd":"backend.weight","name":"b1","weight":70000}' bad_request 'a number 0..65535'
reply_err "add: no backend" '{"cmd":"backend.add"}' bad_request 'needs "backend": an object'
reply_err "add: no name" '{"cmd":"backend.add","backend":{"address":"198.18.3.2"}}' bad_request '"name" must be a string'
reply_err "add: bad address" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.999"}}' bad_request "address: '198.18.3.999' is not an IPv4 or IPv6 address"
reply_err "add: no address" '{"cmd":"backend.add","backend":{"name":"b3"}}' bad_request "address: missing"
reply_err "add: bad server ID" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.2","server_id":{"0":"zz"}}}' bad_request "server_id.0: server ID 'zz': 'z' at character 1 is not a hex digit"
reply_err "add: server ID with 0x" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.2","server_id":{"0":"0x0003"}}}' bad_request "server_id.0: server ID '0x0003': a '0x' prefix"
reply_err "add: server ID with -" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.2","server_id":{"0":"00-03"}}}' bad_request "server_id.0: server ID '00-03': '-' at character 3 is not a hex digit"
reply_err "add: server ID length" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.2","server_id":{"0":"000003"}}}' bad_request "3 octets, but config 0 has server_id_len = 2"
reply_err "add: server_id not an object" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.2","server_id":"0003"}}' bad_request '"server_id" must be an object'
reply_err "add: unknown key" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.2","colour":"red"}}' bad_request "colour: unknown key"
reply_err "add: bad name" '{"cmd":"backend.add","backend":{"name":"b 3","address":"198.18.3.2"}}' bad_request "backend name 'b 3'"
reply_err "add: exists" '{"cmd":"backend.add","backend":{"name":"b1","address":"198.18.3.2"}}' conflict "backend b1 exists"
reply_err "add: server ID taken" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.2","server_id":{"0":"0001"}}}' conflict 'server_id.0: already the server ID of [backend b1]'
reply_err "retire: no cids" '{"cmd":"cid.retire"}' bad_request "'cids' must be a non-empty array"
reply_err "retire: cids not array" '{"cmd":"cid.retire","cids":"0800"}' bad_request "'cids' must be a non-empty array"
reply_err "retire: bad hex" '{"cmd":"cid.retire","cids":["08000101","xyz"]}' bad_request "cids[1]: CID 'xyz': 'x' at character 1 is not a hex digit"
reply_err "retire: too long" '{"cmd":"cid.retire","cids":["000102030405060708090a0b0c0d0e0f1011121314"]}' bad_request "cids[0]: CID '000102030405060708090a0b0c0d0e0f1011121314': 21 octets, at most 20"
# octet strings: the rule of `cidlb cid` (tests/unit/test_cidlb_cid.sh), nothing else
reply_err "retire: 0x" '{"cmd":"cid.retire","cids":["0x08000101"]}' bad_request "cids[0]: CID '0x08000101': a '0x' prefix"
reply_err "retire: dashes" '{"cmd":"cid.retire","cids":["08-00-01-01"]}' bad_request "cids[0]: CID '08-00-01-01': '-' at character 3 is not a hex digit"
reply_err "retire: trailing colon" '{"cmd":"cid.retire","cids":["08:00:01:01:"]}' bad_request "cids[0]: CID '08:00:01:01:': a colon at the end"
reply_err "retire: odd" '{"cmd":"cid.retire","cids":["08:0"]}' bad_request "cids[0]: CID '08:0': odd number of hex digits"
reply_err "retire: not a string" '{"cmd":"cid.retire","cids":[8]}' bad_request "cids[0]: not a string"
reply_err "retire: ttl 0" '{"cmd":"cid.retire","cids":["0800"],"ttl":0}' bad_request '"ttl" must be a number of seconds'
reply_err "stop: keep not boolean" '{"cmd":"stop","keep":"yes"}' bad_request '"keep" must be true or false'
# larger than 16 MiB: refused, the daemon lives on
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/big"
r=$(ctl_raw <"$T/big")
eq "17 MiB request" "False bad_request" "$(printf '%s' "$r" | jget 'd["ok"], d["code"]')"
# connect and close without a word
on lb /usr/bin/python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('$T/ctl.sock'); s.close()"
kill -0 "$DAEMON_PID" 2>/dev/null && ok || bad "cidlbd died from malformed requests"
eq "a bad request changed nothing: still 2 active" "2 0" "$(lbc -j status | jget 'd["backends"]["active"], d["backends"]["draining"]')"

# --- every request, well formed ----------------------------------------------
reply_ok "status" '{"cmd":"status"}' 'd["vips"], d["backends"]["active"], d["interfaces"][0]["name"], d["interfaces"][0]["attached"], d["adopted"]' \
	"1 2 l0 True False"
reply_ok "backend.list" '{"cmd":"backend.list"}' '[(b["name"], b["index"], b["server_ids"]["0"], b["state"]) for b in d["backends"]]' \
	"[('b1', 0, '0001', 'active'), ('b2', 1, '0002', 'active')]"
reply_ok "backend.add" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.2","server_id":{"0":"0003"},"weight":7}}' \
	'd["backend"]["index"], d["backend"]["weight"], d["changes"]["backends_added"], d["changes"]["server_ids_set"]' "2 7 1 1"
reply_ok "backend.drain" '{"cmd":"backend.drain","name":"b3"}' 'd["backend"]["state"], d["changes"]["backends_changed"]' "draining 1"
reply_ok "backend.activate" '{"cmd":"backend.activate","name":"b3"}' 'd["backend"]["state"]' "active"
reply_ok "backend.weight" '{"cmd":"backend.weight","name":"b3","weight":0}' 'd["backend"]["weight"], "maglev_slots_moved" in d["changes"]' "0 True"
reply_ok "backend.remove" '{"cmd":"backend.remove","name":"b3"}' 'd["changes"]["backends_absent"], d["changes"]["server_ids_removed"], "backend" in d' "1 1 False"
reply_ok "quarantine.list" '{"cmd":"quarantine.list"}' '[(q["config_id"], q["server_id"], q["owner"], 3590 < q["seconds_left"] <= 3600) for q in d["quarantine"]]' \
	"[(0, '0003', 'b3', True)]"
reply_err "add: quarantined server ID to another name" '{"cmd":"backend.add","backend":{"name":"b4","address":"198.18.3.2","server_id":{"0":"0003"}}}' \
	conflict "server ID 0:0003 belonged to removed backend b3 and is quarantined for another"
reply_ok "add: the same name takes it back" '{"cmd":"backend.add","backend":{"name":"b3","address":"198.18.3.2","server_id":{"0":"0003"}}}' \
	'd["backend"]["index"]' "2"
reply_ok "quarantine emptied" '{"cmd":"quarantine.list"}' 'len(d["quarantine"])' "0"
reply_ok "cid.retire" '{"cmd":"cid.retire","cids":["0800010102030405060708","08000201"],"ttl":60}' 'd["retired"], d["ttl"]' "2 60"
reply_ok "cid.unretire" '{"cmd":"cid.unretire","cids":["0800010102030405060708","0800030102030405060708"]}' 'd["removed"], d["not_found"]' "1 1"
# the same CID with colons and in upper case is the same CID (the key: 9 octets)
reply_ok "cid.retire with colons" '{"cmd":"cid.retire","cids":["08:00:01:01:02:03:04:05:0a:0b"],"ttl":60}' 'd["retired"]' "1"
reply_ok "cid.unretire in upper case" '{"cmd":"cid.unretire","cids":["08000101020304050A0B"]}' 'd["removed"], d["not_found"]' "1 0"
reply_err "add: server ID with colons is the same server ID" '{"cmd":"backend.add","backend":{"name":"b4","address":"198.18.3.2","server_id":{"0":"00:01"}}}' \
	conflict 'server_id.0: already the server ID of [backend b1]'
# a reload makes the running set equal to the file again: b3 was added
# over the socket only, so it goes (and its server ID is quarantined)
reply_ok "reload" '{"cmd":"reload"}' 'd["changes"]["backends_absent"], d["changes"]["server_ids_removed"]' "1 1"

# --- cidlb: exit codes and JSON ------------------------------------------------
expect_rc "status" 0 lbc status
eq "status -j" "True 2 0" "$(lbc -j status | jget 'd["running"], d["backends"]["active"], d["backends"]["draining"]')"
expect_rc "backend drain of no such backend" 1 lbc backend drain nosuch
grep_in "its message" "cidlbd: no backend named 'nosuch'" "$T/err"
expect_rc "backend add with a bad address (the daemon's check)" 2 lbc backend add b9 --address 300.1.1.1
expect_rc "backend add of an existing name" 3 lbc backend add b1 --address 198.18.1.2
expect_rc "backend add: --server-id syntax" 2 lbc backend add b9 --address 198.18.3.9 --server-id 0009
expect_rc "backend add: --server-id not hex" 2 lbc backend add b9 --address 198.18.3.9 --server-id 0:00-09
grep_in "its message" "backend add: --server-id 0:00-09: server ID '00-09': '-' at character 3 is not a hex digit" "$T/err"
expect_rc "backend add: no --address" 2 lbc backend add b9
expect_rc "backend weight: not a number" 2 lbc backend weight b1 heavy
expect_rc "backend: unknown verb" 2 lbc backend explode
expect_rc "backend weight" 0 lbc backend weight b2 30
eq "backend list -j after weight" "[['b1', 100], ['b2', 30]]" \
	"$(lbc -j backend list | jget '[[b["name"], b["weight"]] for b in d]')"
expect_rc "backend drain" 0 lbc backend drain b2
eq "drain shows" "draining" "$(lbc -j backend list | jget '[b["state"] for b in d if b["name"] == "b2"][0]')"
expect_rc "backend activate" 0 lbc backend activate b2
expect_rc "cid retire: bad CID is caught locally" 2 lbc cid retire 08zz
expect_rc "cid retire" 0 lbc cid retire --ttl 30 0800020102030405060708
# keyed as the data path keys it: 1 + server ID + nonce octets of config 0
eq "cid list -j" "[['080002010203040506', True], ['08000201', True]]" \
	"$(lbc -j cid list | jget 'sorted([[c["cid"], 25 <= c["seconds_left"] <= 60] for c in d], key=lambda x: -len(x[0]))')"
expect_rc "cid unretire of a CID not retired" 1 lbc cid unretire 0800990102030405060708
expect_rc "cid unretire" 0 lbc cid unretire 0800020102030405060708
expect_rc "daemon: unknown verb" 2 lbc daemon explode

# trace: a packet for b2's server ID goes to b2 by its CID
frame=$(on cl $SEND c0 --dst-mac "$L0_MAC" --src 198.18.0.2 --dst 198.18.100.1 --flow "$(cid_of 2 0a0b0c0d0e0f)@40000" --print-hex)
lbc -j trace "$frame" >"$T/trace.json"
eq "trace: action, backend, reason" "XDP_REDIRECT b2 1 True True True" \
	"$(jget 'd["action"], d["backend"]["name"], d["backend"]["index"], "route_cid" in d["counters"], "redirect" in d["counters"], "quic_short" in d["counters"]' <"$T/trace.json")"
lbc trace "$frame" >"$T/trace.txt"
grep_in "trace: human output" "^backend  b2 (index 1)" "$T/trace.txt"
expect_rc "trace: not hex" 2 lbc trace nothex
# the same frame as packet 2 of a pcap file
/usr/bin/python3 - "$T/t.pcap" "$frame" <<'PY'
import struct, sys
f = bytes.fromhex(sys.argv[2])
with open(sys.argv[1], "wb") as o:
    o.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for p in (bytes(60), f):
        o.write(struct.pack("<IIII", 0, 0, len(p), len(p)) + p)
PY
eq "trace --pcap --packet 2" "XDP_REDIRECT b2" "$(lbc -j trace --pcap "$T/t.pcap" --packet 2 | jget 'd["action"], d["backend"]["name"]')"
expect_rc "trace --pcap: no packet 3" 2 lbc trace --pcap "$T/t.pcap" --packet 3
# a frame to no VIP: passed
frame=$(on cl $SEND c0 --dst-mac "$L0_MAC" --src 198.18.0.2 --dst 198.18.100.9 --flow "$(cid_of 2 0a0b0c0d0e0f)@40000" --print-hex)
eq "trace: not a VIP" "XDP_PASS ['pass_not_vip'] None" "$(lbc -j trace "$frame" | jget 'd["action"], d["counters"], d["backend"]')"
# stats: the two traced packets to b2 and the passed one
eq "stats -j after three traces" "3 3 1" "$(lbc -j stats | jget 'd["counters"]["route_cid"], [b["packets"] for b in d["backends"] if b["name"] == "b2"][0], d["counters"]["pass_not_vip"]')"

# --- clients that stall hold up nobody -------------------------------------------
# three clients connect and send nothing for 8 s (each is dropped after
# 5 s); a request meanwhile is answered at once (under 4 s, however
# loaded the machine: behind a stalled client it would wait 5 s), and the
# daemon still stops cleanly
cat >"$T/stall.py" <<'EOF'
import socket, sys, time
ss = []
for _ in range(3):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    ss.append(s)
print("connected", flush=True)
time.sleep(float(sys.argv[2]))
EOF
on lb /usr/bin/python3 "$T/stall.py" "$T/ctl.sock" 8 >"$T/stall.out" &
stall=$!
poll 20 grep -q connected "$T/stall.out" || bad "the stalling clients did not connect"
t0=$(date +%s%N)
reply_ok "status while three clients stall" '{"cmd":"status"}' 'd["pid"] > 0' "True"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 4000 ] && ok || bad "a request waited ${ms} ms behind stalled clients"
wait "$stall"

# --- stop over the socket: a plain stop detaches and unpins -----------------------
eq "forwarding on l0 while running (cidlbd turned it on for the FIB lookup)" 1 \
	"$(on lb cat /proc/sys/net/ipv4/conf/l0/forwarding)"
stop_daemon
eq "... and back off after a plain stop" 0 "$(on lb cat /proc/sys/net/ipv4/conf/l0/forwarding)"
expect_rc "status after stop" 1 lbc status
grep_in "status says not running" "cidlbd        not running" "$T/out"
eq "no XDP program on l0" "" "$(on lb ip -d link show l0 | grep -o 'prog/xdp')"
eq "pins gone" "no" "$(on lb sh -c "[ -e $PIN ] && echo yes || echo no")"
expect_rc "stats without pins" 3 lbc stats
finish
