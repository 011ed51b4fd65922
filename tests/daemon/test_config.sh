#!/bin/bash
# test_config.sh - the configuration file: every error names file, line and
# key (a table of broken files, one error each), `cidlb config check` and
# `cidlbd --check` agree, exit codes and JSON, the key file must be
# readable only by root, `cidlb cid encode|decode --config` read the same
# file, examples/cidlb.conf is valid and names every key of `cidlb config
# keys` (and no other). Touches no map and no network.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CIDLB=$BUILD/cidlb
CIDLBD=$BUILD/cidlbd
[ -x "$CIDLB" ] && [ -x "$CIDLBD" ] || { echo "missing $CIDLB or $CIDLBD: run make"; exit 1; }
T=$(mktemp -d /tmp/cidlb-conf.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0; checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }

# A valid base: line numbers below refer to this text plus what a case adds.
base() {
	# (the pin directory and port are never used, only checked: unique
	# to the run all the same)
	cat <<-EOF
	[daemon]
	pin_dir = /sys/fs/bpf/cidlb-conf-test-$$
	metrics = 127.0.0.1:$((20000 + $$ % 20000))

	[lb]
	interfaces = lo
	source4 = 198.18.0.1
	source6 = fd00::1

	[vip web]
	address = 198.18.100.1
	port = 443

	[quic-lb 0]
	server_id_len = 2
	nonce_len = 6

	[backend b1]
	address = 198.18.1.2
	server_id.0 = 0001
	EOF
}
# line 20 is the last line of base

# case LINE 'PATTERN' 'TEXT APPENDED TO THE BASE': exactly one error, on that
# line, whose message contains PATTERN; cidlb exits 1, cidlbd --check too.
case_err() {
	local line=$1 pat=$2 extra=$3 f=$T/case.conf got n
	{ base; printf '%b\n' "$extra"; } >"$f"
	"$CIDLB" config check "$f" --no-system >/dev/null 2>"$T/err"; got=$?
	n=$(grep -c "^$f:[0-9]" "$T/err")
	if [ "$got" != 1 ]; then bad "[$pat] exit $got, want 1: $(cat "$T/err")"
	elif [ "$n" != 1 ]; then bad "[$pat] $n error lines, want 1: $(cat "$T/err")"
	elif ! grep -q "^$f:$line: .*$pat" "$T/err"; then bad "[$pat] want '$f:$line: ...$pat', got: $(head -1 "$T/err")"
	else ok; fi
	"$CIDLBD" -c "$f" --check >/dev/null 2>"$T/err2"; got=$?
	if [ "$got" = 1 ] && grep -q "$f:$line: .*$pat" "$T/err2"; then ok
	else bad "[$pat] cidlbd --check: exit $got: $(head -2 "$T/err2")"; fi
}

# --- errors: each names its line and key, and says what is allowed --------
case_err 21 '\[backend b1\] weight: .*must be a number 0..65535' 'weight = heavy'
case_err 21 '\[backend b1\] state: .*active.*draining' 'state = sleeping'
case_err 21 '\[backend b1\] mac: .*six hex octets' 'mac = 02:00:00'
case_err 21 '\[backend b1\] mode: .*encap.*direct' 'mode = tunnel'
case_err 21 "\\[backend b1\\] encap: 'vxlan': must be 'ipip' (IPIP/IP6IP6) or 'gue'" 'encap = vxlan'
case_err 21 "\\[backend b1\\] gue_port: '0': must be a UDP port 1..65535" 'gue_port = 0'
case_err 21 "\\[backend b1\\] gue_port: '65536': must be a UDP port 1..65535" 'gue_port = 65536'
case_err 27 '\[backend b2\] encap: .gue. needs mode = encap' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 0002\nmac = 02:00:00:00:00:02\nmode = direct\nencap = gue'
case_err 21 '\[backend b1\] address: given twice (first on line 19)' 'address = 198.18.1.3'
case_err 21 '\[backend b1\] colour: unknown key; a backend allows: address' 'colour = blue'
case_err 24 '\[backend b2\] server_id.0: already the server ID of \[backend b1\] (line 18)' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 0001'
case_err 24 '\[backend b2\] server_id.0: 3 octets, but config 0 has server_id_len = 2' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 000102'
case_err 24 '\[backend b2\] server_id.3: there is no \[quic-lb 3\] section' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.3 = 0002'
# pools: a file that names one names every config's; names that exist
case_err 22 '\[pool api\]: \[quic-lb 0\] (line 14) belongs to no pool' '\n[pool api]'
case_err 22 '\[quic-lb web 1\]: no \[pool web\] above this line' '\n[quic-lb web 1]\nserver_id_len = 2\nnonce_len = 6'
case_err 24 '\[vip v2\] pool: no \[pool api\]: this configuration names no pool' '\n[vip v2]\naddress = 198.18.100.2\npool = api'
case_err 24 '\[backend b2\] pool: no \[pool api\]: this configuration names no pool' '\n[backend b2]\naddress = 198.18.2.2\npool = api'
# octet strings in hex (docs/operations.md): colons or none, nothing else
case_err 24 '\[backend b2\] server_id.0: already the server ID of \[backend b1\] (line 18)' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 00:01'
case_err 24 "\\[backend b2\\] server_id.0: server ID '0x0002': a '0x' prefix" '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 0x0002'
case_err 24 "\\[backend b2\\] server_id.0: server ID '00-02': '-' at character 3 is not a hex digit" '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 00-02'
case_err 24 "\\[backend b2\\] server_id.0: server ID '00:02:': a colon at the end" '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 00:02:'
case_err 24 "\\[backend b2\\] server_id.0: server ID '000102030405060708090a0b0c0d0e0f': 16 octets, at most 15" '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 000102030405060708090a0b0c0d0e0f'
case_err 22 '\[backend b2\] address: missing' '\n[backend b2]\nweight = 3'
case_err 25 '\[backend b2\] mode: .direct. needs the backend.s MAC' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 0002\nmode = direct'
case_err 22 '\[quic-lb 7\]: needs the config ID: \[quic-lb N\], N = 0..6' '\n[quic-lb 7]\nserver_id_len = 2'
case_err 24 '\[quic-lb 1\] nonce_len: invalid QUIC-LB config: ' '\n[quic-lb 1]\nserver_id_len = 15\nnonce_len = 18'
case_err 24 '\[quic-lb 1\] nonce_len: .*must be 4..18' '\n[quic-lb 1]\nserver_id_len = 2\nnonce_len = 3'
case_err 24 '\[quic-lb 1\] key: a key is never written in this file' '\n[quic-lb 1]\nserver_id_len = 2\nkey = 00112233445566778899aabbccddeeff\nnonce_len = 6'
case_err 24 '\[quic-lb 1\] key_file: cannot read' '\n[quic-lb 1]\nserver_id_len = 2\nkey_file = /nonexistent/key\nnonce_len = 6'
case_err 22 '\[nonsense\]: unknown section; allowed: \[daemon\], \[lb\]' '\n[nonsense]\na = b'
case_err 21 'expected .key = value.' 'just some words'
case_err 21 'a section header is .\[name\]. alone on its line' '[backend b9'
case_err 22 '\[vip web\]: section given twice (first on line 10)' '\n[vip web]\naddress = 198.18.100.2'
case_err 22 '\[backend b1\]: section given twice (first on line 18)' '\n[backend  b1]\naddress = 198.18.1.3'
case_err 23 '\[vip web2\] address: same address and port as \[vip web\]' '\n[vip web2]\naddress = 198.18.100.1'
case_err 24 '\[vip v6\] port: .*must be a UDP port 1..65535' '\n[vip v6]\naddress = fd00::100\nport = 70000'
case_err 21 '\[backend b1\] server_id.9: the config ID after .server_id.. must be 0..6' 'server_id.9 = 01'
case_err 22 '\[daemon\]: section given twice' '\n[daemon]\nmetrics = off'
case_err 21 '\[backend b1\] server_id.0: given twice (first on line 20)' 'server_id.0 = 0002'

# whole-file rules that need a key of another section
{ base | sed 's/^source4 = .*/; no source4/'; } >"$T/nosrc.conf"
"$CIDLB" config check "$T/nosrc.conf" --no-system 2>"$T/err" >/dev/null
if [ $? = 1 ] && grep -q "^$T/nosrc.conf:19: \[backend b1\] address: an IPv4 backend needs \[lb\] source4" "$T/err"; then ok
else bad "IPv4 backend without source4: $(cat "$T/err")"; fi
{ base | sed 's/^metrics = .*/metrics = everywhere/'; } >"$T/m.conf"
"$CIDLB" config check "$T/m.conf" --no-system 2>"$T/err" >/dev/null
if [ $? = 1 ] && grep -q "^$T/m.conf:3: \[daemon\] metrics: 'everywhere': must be 'ADDRESS:PORT'" "$T/err"; then ok
else bad "metrics: $(cat "$T/err")"; fi
# [daemon] announce_fail_open: keep or withdraw, nothing else
for v in keep withdraw; do
	{ base | sed "s/^\[daemon\]$/&\nannounce_fail_open = $v/"; } >"$T/fo.conf"
	"$CIDLB" config check "$T/fo.conf" --no-system >/dev/null 2>"$T/err" && ok ||
		bad "announce_fail_open = $v: $(cat "$T/err")"
done
{ base | sed 's/^\[daemon\]$/&\nannounce_fail_open = open/'; } >"$T/fo.conf"
"$CIDLB" config check "$T/fo.conf" --no-system 2>"$T/err" >/dev/null
if [ $? = 1 ] && grep -q "^$T/fo.conf:2: \[daemon\] announce_fail_open: 'open': must be 'keep' (the VIP routes stay while the pools fail open) or 'withdraw' (they go)" "$T/err"; then ok
else bad "announce_fail_open = open: $(cat "$T/err")"; fi
"$CIDLBD" -c "$T/fo.conf" --check >/dev/null 2>"$T/err"
if [ $? = 1 ] && grep -q "announce_fail_open: 'open': must be 'keep'" "$T/err"; then ok
else bad "cidlbd --check, announce_fail_open = open: $(cat "$T/err")"; fi
# several errors: all reported, in line order
{ base; printf 'weight = x\nstate = y\n'; } >"$T/two.conf"
"$CIDLB" config check "$T/two.conf" --no-system 2>"$T/err" >/dev/null
if [ $? = 1 ] && [ "$(grep -c "^$T/two.conf:[0-9]" "$T/err")" = 2 ] &&
   [ "$(grep "^$T/two.conf:[0-9]" "$T/err" | cut -d: -f2 | tr '\n' ' ')" = "21 22 " ]; then ok
else bad "two errors: $(cat "$T/err")"; fi
# the host check: an interface that does not exist here
{ base | sed 's/^interfaces = .*/interfaces = lo nosuchdev0/'; } >"$T/if.conf"
"$CIDLB" config check "$T/if.conf" 2>"$T/err" >/dev/null
if [ $? = 1 ] && grep -q "^$T/if.conf:6: \[lb\] interfaces: no interface 'nosuchdev0' on this host" "$T/err"; then ok
else bad "missing interface: $(cat "$T/err")"; fi
"$CIDLB" config check "$T/if.conf" --no-system >/dev/null 2>&1 && ok || bad "--no-system skips the interface check"

# --- valid files, JSON, exit codes -----------------------------------------
base >"$T/good.conf"
out=$("$CIDLB" config check "$T/good.conf" 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = "$T/good.conf: valid: 1 interface, 1 VIP, 1 QUIC-LB config, 1 backend" ] && ok ||
	bad "valid file: exit $rc: $out"
out=$("$CIDLB" -j config check "$T/good.conf" 2>/dev/null)
[ "$out" = "{\"file\":\"$T/good.conf\",\"valid\":true,\"errors\":[],\"interfaces\":1,\"vips\":1,\"quic_lb_configs\":1,\"backends\":1}" ] && ok ||
	bad "valid JSON: $out"
out=$("$CIDLB" -j config check "$T/two.conf" 2>/dev/null); rc=$?
got=$(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["valid"], len(d["errors"]), d["errors"][0].split(":")[1])')
[ $rc = 1 ] && [ "$got" = "False 2 21" ] && ok || bad "invalid JSON: exit $rc, $got"
"$CIDLB" config check /nonexistent/cidlb.conf >/dev/null 2>&1; rc=$?
[ $rc = 3 ] && ok || bad "unreadable file: exit $rc, want 3"
"$CIDLB" config check >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "missing FILE: exit $rc, want 2"
"$CIDLB" config frobnicate x >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "unknown verb: exit $rc, want 2"
"$CIDLBD" -c "$T/good.conf" --check >/dev/null 2>&1 && ok || bad "cidlbd --check of a valid file"

# --- the key file: root only; encode/decode read the config ------------------
printf '00112233445566778899aabbccddeeff\n' >"$T/k1"
chmod 644 "$T/k1"
{ base; printf '\n[quic-lb 1]\nserver_id_len = 3\nnonce_len = 13\nkey_file = %s\n' "$T/k1"; } >"$T/key.conf"
"$CIDLB" config check "$T/key.conf" --no-system 2>"$T/err" >/dev/null
if [ $? = 1 ] && grep -q "^$T/key.conf:25: \[quic-lb 1\] key_file: .* mode 0644: .*readable only by root (chown root .*; chmod 600" "$T/err"; then ok
else bad "key file 0644: $(cat "$T/err")"; fi
chmod 600 "$T/k1"
"$CIDLB" config check "$T/key.conf" --no-system >/dev/null 2>&1 && ok || bad "key file 0600 accepted"
# the key in colons and upper case is the same key; other forms are refused
# with what is wrong, never with the file's text
printf '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\n' >"$T/k2"
chmod 600 "$T/k2"
sed "s|$T/k1|$T/k2|" "$T/key.conf" >"$T/key2.conf"
"$CIDLB" config check "$T/key2.conf" --no-system >/dev/null 2>&1 && ok || bad "key file with colons accepted"
for kf in '0x00112233445566778899aabbccddeeff|a .0x. prefix: write the hex digits only' \
	  '00112233445566778899aabbccddee|15 octets, must be 16' \
	  '00-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-ee-ff|.-. at character 3 is not a hex digit'; do
	printf '%s\n' "${kf%%|*}" >"$T/k3"
	chmod 600 "$T/k3"
	sed "s|$T/k1|$T/k3|" "$T/key.conf" >"$T/key3.conf"
	"$CIDLB" config check "$T/key3.conf" --no-system >/dev/null 2>"$T/err"
	if [ $? = 1 ] && grep -q "^$T/key3.conf:25: \[quic-lb 1\] key_file: .*must hold the AES-128 key as 32 hex digits (one line): ${kf#*|}\$" "$T/err" &&
		! grep -q "00112233\|00-11-22" "$T/err"; then ok
	else bad "key file '${kf%%|*}': $(cat "$T/err")"; fi
done
# plaintext and encrypted configs: separate server-ID allocations (one check,
# the shorter server ID against the start of the longer)
sid_case() { # DESC WANT-LINE PATTERN ('' = valid) BACKEND-LINES
	{ cat "$T/key.conf"; printf '%b\n' "$4"; } >"$T/sid.conf"
	"$CIDLB" config check "$T/sid.conf" --no-system >/dev/null 2>"$T/err"; rc=$?
	if [ -z "$3" ]; then
		[ $rc = 0 ] && ok || bad "$1: exit $rc: $(cat "$T/err")"
	elif [ $rc = 1 ] && [ "$(grep -c "^$T/sid.conf:[0-9]" "$T/err")" = 1 ] &&
		grep -q "^$T/sid.conf:$2: $3" "$T/err"; then ok
	else bad "$1: exit $rc, want '$T/sid.conf:$2: $3': $(cat "$T/err")"; fi
}
sid_case "encrypted SID starting with a plaintext one" 29 '\[backend b2\] server_id.1: 000102 clashes with server_id.0 of \[backend b1\] (line 18) under plaintext config 0, and config 1 is encrypted: QUIC-LB requires separate server-ID allocations' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.1 = 000102'
sid_case "a backend's own plaintext and encrypted SIDs" 30 '\[backend b2\] server_id.1: 0002ff clashes with server_id.0 of this backend under plaintext config 0' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 0002\nserver_id.1 = 0002ff'
sid_case "plaintext SID after an encrypted one, same length" 35 '\[backend b3\] server_id.2: 0a0b clashes with server_id.1 of \[backend b2\] (line 27) under encrypted config 1, and config 2 is plaintext' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.1 = 0a0b0c\n[quic-lb 2]\nserver_id_len = 2\nnonce_len = 6\n[backend b3]\naddress = 198.18.3.2\nserver_id.2 = 0a0b'
sid_case "disjoint allocations are valid" 0 '' '\n[backend b2]\naddress = 198.18.2.2\nserver_id.0 = 0002\nserver_id.1 = 000302'
# single-pass config (3 + 13 = 16): encode with the file, decode with flags
cid=$("$CIDLB" -j cid encode --config "$T/key.conf" --config-id 1 --server-id 0a0b0c --nonce 00000000000000000000000001 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
got=$("$CIDLB" -j cid decode --server-id-len 3 --nonce-len 13 --config-id 1 --key 00112233445566778899aabbccddeeff "$cid" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["algorithm"], d["server_id"], d["nonce"])')
[ "$got" = "single-pass 0a0b0c 00000000000000000000000001" ] && ok || bad "encode --config / decode: $cid -> $got"
got=$("$CIDLB" -j cid decode --config "$T/key.conf" --config-id 1 "$cid" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["server_id"])')
[ "$got" = 0a0b0c ] && ok || bad "decode --config: $got"
got=$("$CIDLB" -j cid decode --config "$T/key2.conf" --config-id 1 "$cid" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["server_id"])')
[ "$got" = 0a0b0c ] && ok || bad "decode --config with the key in colons: $got"
"$CIDLB" cid decode --config "$T/key.conf" --config-id 2 "$cid" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "has no \[quic-lb 2\] section" "$T/err" && ok || bad "missing config id: exit $rc $(cat "$T/err")"
"$CIDLB" cid decode --config "$T/key.conf" --server-id-len 3 "$cid" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "not both" "$T/err" && ok || bad "--config with flags: exit $rc"
"$CIDLB" cid decode --config "$T/two.conf" 0800010203 >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "$T/two.conf:21:" "$T/err" && ok || bad "--config invalid file: exit $rc $(cat "$T/err")"
# plaintext config 0 of the base file
got=$("$CIDLB" -j cid decode --config "$T/good.conf" 0800070102030405060708 | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["server_id"], d["nonce"])')
[ "$got" = "0007 010203040506" ] && ok || bad "plaintext decode --config: $got"
# without --config-id, decode takes the config the CID names (here 1, keyed)
got=$("$CIDLB" -j cid decode --config "$T/key.conf" "$cid" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["config_id"], d["server_id"])')
[ "$got" = "1 0a0b0c" ] && ok || bad "decode by the CID's own config ID: $got"
# a config ID the file does not hold: unroutable, exit 1
"$CIDLB" cid decode --config "$T/key.conf" 4800070102030405060708 >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "config ID 2 not held" "$T/out" && ok || bad "CID of a config not in the file: exit $rc $(cat "$T/out")"

# --- the annotated example is valid ------------------------------------------
"$CIDLB" config check examples/cidlb.conf --no-system >"$T/out" 2>&1 && ok ||
	bad "examples/cidlb.conf: $(cat "$T/out")"

# --- the table of keys and the example document the same keys -------------
# Every key of `cidlb config keys` is in examples/cidlb.conf under its
# section (commented out or not), every "key = value" line of the example,
# commented out or not, is a key of that section in the table, and the
# example's [daemon] and [lb] values are the table's defaults.
"$CIDLB" -j config keys >"$T/keys.json" 2>"$T/err" || bad "config keys -j: $(cat "$T/err")"
"$CIDLB" config keys >"$T/keys.txt" 2>"$T/err" || bad "config keys: $(cat "$T/err")"
out=$(/usr/bin/python3 - "$T/keys.json" "$T/keys.txt" examples/cidlb.conf <<'PY'
import json, re, sys
keys = json.load(open(sys.argv[1]))["keys"]
table = {(k["section"], k["key"]) for k in keys}
text = {re.match(r"^(\[[^]]*\])\s+(\S+)", l).groups()
        for l in open(sys.argv[2]).read().splitlines()[1:]}
defaults = {(k["section"], k["key"]): k["default"] for k in keys}
named = {"vip": "vip NAME", "backend": "backend NAME", "quic-lb": "quic-lb N"}
example, sec, probs = set(), None, []
for line in open(sys.argv[3]):
    m = re.match(r"^[;#]?\s*\[([a-z-]+)", line)
    if m:
        sec = named.get(m.group(1), m.group(1))
        continue
    m = re.match(r"^[;#]?\s*([a-z][a-z0-9_.]*)\s*=", line)
    if m and sec:
        key = (sec, re.sub(r"\.[0-9]$", ".N", m.group(1)))
        example.add(key)
        # [daemon] and [lb] are written out with their defaults
        val = line.split("=", 1)[1].split(" ;")[0].strip()
        if sec in ("daemon", "lb") and defaults.get(key) not in (None, val):
            probs.append("[%s] %s = %s, but the default is %s" % (sec, key[1], val, defaults[key]))
probs += ["not in the example: [%s] %s" % k for k in sorted(table - example)]
probs += ["not in the table: [%s] %s" % k for k in sorted(example - table)]
if len(keys) < 30 or len(table) != len(keys):
    probs.append("%d keys, %d distinct: want 30 or more, no duplicates" % (len(keys), len(table)))
if text != {("[%s]" % s, k) for s, k in table}:
    probs.append("the table and -j list different keys")
print("\n".join(probs) if probs else "ok")
PY
)
[ "$out" = ok ] && ok || bad "config keys vs examples/cidlb.conf: $out"

[ $fails = 0 ] && { echo "$checks/$checks checks passed"; exit 0; }
echo "$fails of $checks checks failed"; exit 1
