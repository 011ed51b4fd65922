#!/bin/bash
# test_cidlb_cid.sh - `cidlb cid encode|decode`: exact output, JSON, and the
# exit codes (0 ok, 1 unroutable, 2 bad arguments). Vectors from
# draft-21 Appendix B (docs/quic-lb.md). Run by tests/run with BUILD set.
set -u
cd "$(dirname "$0")/../.."
CIDLB=${BUILD:-build}/cidlb
[ -x "$CIDLB" ] || { echo "missing $CIDLB: run make"; exit 1; }

fails=0; n=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }

# expect RC STDOUT -- ARGS...: exit code and exact stdout, stderr empty
expect() {
	local rc=$1 want=$2; shift 3
	local out err got
	err=$(mktemp)
	out=$("$CIDLB" "$@" 2>"$err"); got=$?
	if [ "$got" != "$rc" ]; then bad "cidlb $*: exit $got, want $rc"
	elif [ "$out" != "$want" ]; then bad "cidlb $*: stdout"$'\n'"$out"$'\n'"want"$'\n'"$want"
	elif [ -s "$err" ]; then bad "cidlb $*: unexpected stderr: $(cat "$err")"
	else ok; fi
	rm -f "$err"
}

# usage_err PATTERN -- ARGS...: exit 2, one stderr line matching PATTERN,
# nothing on stdout
usage_err() {
	local pat=$1; shift 2
	local out err got lines
	err=$(mktemp)
	out=$("$CIDLB" "$@" 2>"$err"); got=$?
	lines=$(wc -l <"$err")
	if [ "$got" != 2 ]; then bad "cidlb $*: exit $got, want 2"
	elif [ "$lines" != 1 ]; then bad "cidlb $*: $lines stderr lines, want 1: $(cat "$err")"
	elif ! grep -q -- "$pat" "$err"; then bad "cidlb $*: stderr '$(cat "$err")' lacks '$pat'"
	elif [ -n "$out" ]; then bad "cidlb $*: stdout not empty: $out"
	else ok; fi
	rm -f "$err"
}

# json_eq EXPR WANT -- ARGS...: stdout parses as JSON and EXPR (python, on d) == WANT
json_eq() {
	local expr=$1 want=$2; shift 3
	local got
	got=$("$CIDLB" "$@" | python3 -c "import json,sys; d=json.load(sys.stdin); print(repr(($expr)))")
	if [ "$got" = "$want" ]; then ok; else bad "cidlb $*: json $expr = '$got', want '$want'"; fi
}

PT="--server-id-len 3 --nonce-len 4 --len-self-encode"
K4=fdf726a9893ec05c0632d3956680baf0
K1=8f95f09245765f80256934e50c66207f
SP="--config-id 2 --server-id-len 8 --nonce-len 8 --len-self-encode --key $K1"

# ---- encode: the three vectors ---------------------------------------------
expect 0 "cid:        07c4605e4504cc4f (8 octets)
config id:  0
algorithm:  plaintext
server id:  c4605e
nonce:      4504cc4f" -- cid encode $PT --server-id c4605e --nonce 4504cc4f

expect 0 "cid:        504dd2d05a7b0de9b2b9907afb5ecf8cc3 (17 octets)
config id:  2
algorithm:  single-pass
server id:  ed793a51d49b8f5f
nonce:      ee080dbf48c0d1e5" -- cid encode $SP --server-id ed793a51d49b8f5f --nonce ee080dbf48c0d1e5

expect 0 "cid:        0767947d29be054a (8 octets)
config id:  0
algorithm:  four-pass
server id:  31441a
nonce:      9c69c275" -- cid encode $PT --key $K4 --server-id 31441a --nonce 9c69c275

# ---- decode: the same, back ------------------------------------------------
expect 0 "cid:        0767947d29be054a (8 octets)
config id:  0
algorithm:  four-pass
server id:  31441a
nonce:      9c69c275" -- cid decode $PT --key $K4 0767947d29be054a

expect 0 "cid:        504dd2d05a7b0de9b2b9907afb5ecf8cc3 (17 octets)
config id:  2
algorithm:  single-pass
server id:  ed793a51d49b8f5f
nonce:      ee080dbf48c0d1e5" -- cid decode $SP 504dd2d05a7b0de9b2b9907afb5ecf8cc3

# errata row (spec 6.15), plaintext, config 1; longer CIDs are fine
expect 0 "cid:        2a350d28b42003487d970bffff (13 octets)
config id:  1
algorithm:  plaintext
server id:  350d28b420
nonce:      03487d970b" -- cid decode --config-id 1 --server-id-len 5 --nonce-len 5 2a350d28b42003487d970bffff

# ---- decode: unroutable, exit 1 ----------------------------------------------
expect 1 "unroutable: config ID 7 (reserved for unroutable CIDs)" -- cid decode $PT e767947d29be054a
expect 1 "unroutable: config ID 7 (reserved for unroutable CIDs)" -- cid decode $PT ff
expect 1 "unroutable: config ID 3 not held (this config is 0)" -- cid decode $PT 6767947d29be054a
expect 1 "unroutable: too short: 7 octets, config 0 needs at least 8" -- cid decode $PT 0767947d29be05

# ---- JSON ----------------------------------------------------------------------
json_eq 'd["cid"], d["length"], d["routable"], d["config_id"], d["algorithm"], d["server_id"], d["nonce"]' \
	"('0767947d29be054a', 8, True, 0, 'four-pass', '31441a', '9c69c275')" -- \
	-j cid encode $PT --key $K4 --server-id 31441a --nonce 9c69c275
json_eq 'd["server_id"], d["nonce"], d["algorithm"]' \
	"('ed793a51d49b8f5f', 'ee080dbf48c0d1e5', 'single-pass')" -- \
	-j cid decode $SP 504dd2d05a7b0de9b2b9907afb5ecf8cc3
json_eq 'd["routable"], d["config_id"], d["reason"]' \
	"(False, 7, 'config ID 7 (reserved for unroutable CIDs)')" -- \
	-j cid decode $PT e767947d29be054a
json_eq 'sorted(d)' "['algorithm', 'cid', 'config_id', 'length', 'nonce', 'routable', 'server_id']" -- \
	--json cid encode $PT --server-id 010203
"$CIDLB" -j cid decode $PT 6767947d29be054a >/dev/null
[ $? = 1 ] && ok || bad "json unroutable decode: exit not 1"

# ---- library-chosen nonce: encode, then decode gives the same server ID ----------
out=$("$CIDLB" -j cid encode --config-id 5 --server-id-len 4 --nonce-len 11 --key $K4 --extra 2 --server-id a1b2c3d4)
cid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cid"])' "$out")
[ ${#cid} = 36 ] && ok || bad "encode with --extra 2: CID '$cid' is not 18 octets"
json_eq 'd["server_id"], d["config_id"], d["algorithm"]' "('a1b2c3d4', 5, 'four-pass')" -- \
	-j cid decode --config-id 5 --server-id-len 4 --nonce-len 11 --key $K4 --extra 2 "$cid"
# without self-encoding, octet 0 still carries the config ID in its top bits
out=$("$CIDLB" -j cid encode --config-id 6 --server-id-len 2 --nonce-len 6 --server-id beef)
python3 -c 'import json,sys; c=json.loads(sys.argv[1])["cid"]; sys.exit(not (int(c[:2],16)>>5==6 and c[2:6]=="beef"))' "$out" \
	&& ok || bad "plaintext encode without self-encoding: $out"

# ---- bad arguments: exit 2, one line naming the argument -------------------------
usage_err "unknown object 'bogus'" -- bogus
usage_err "missing OBJECT" --
usage_err "unknown option '-x'" -- -x cid
usage_err "cid: missing VERB" -- cid
usage_err "unknown verb 'frob'" -- cid frob
usage_err "server-id-len is required" -- cid decode --nonce-len 4 07c4605e4504cc4f
usage_err "nonce-len is required" -- cid decode --server-id-len 3 07c4605e4504cc4f
usage_err "--config-id '7': must be a number 0..6" -- cid decode $PT --config-id 7 07
usage_err "--server-id-len '0': must be a number 1..15" -- cid decode --server-id-len 0 --nonce-len 4 07
usage_err "--server-id-len '16': must be a number 1..15" -- cid decode --server-id-len 16 --nonce-len 4 07
usage_err "--nonce-len '3': must be a number 4..18" -- cid decode --server-id-len 3 --nonce-len 3 07
usage_err "--nonce-len '19': must be a number 4..18" -- cid decode --server-id-len 1 --nonce-len 19 07
usage_err "--nonce-len 'x4': must be a number 4..18" -- cid decode --server-id-len 1 --nonce-len x4 07
usage_err "the sum must be at most 19" -- cid decode --server-id-len 15 --nonce-len 5 07
usage_err "--extra 13: .*at most 12 extra" -- cid decode $PT --extra 13 07
usage_err "--key: must be 32 hex digits" -- cid decode $PT --key 0011 07
usage_err "--key: must be 32 hex digits" -- cid decode $PT --key ${K4%?}g 07
usage_err "--server-id is required" -- cid encode $PT
usage_err "--server-id 'c460': must be 3 octets" -- cid encode $PT --server-id c460
usage_err "--nonce '45': must be 4 octets" -- cid encode $PT --server-id c4605e --nonce 45
usage_err "--server-id is only for 'cid encode'" -- cid decode $PT --server-id c4605e 07
usage_err "missing CID" -- cid decode $PT
usage_err "cid decode: CID 'zz': 'z' at character 1 is not a hex digit" -- cid decode $PT zz
usage_err "CID '000102030405060708090a0b0c0d0e0f1011121314': 21 octets, at most 20" -- \
	cid decode $PT 000102030405060708090a0b0c0d0e0f1011121314
usage_err "unexpected argument '08'" -- cid decode $PT 07 08
usage_err "unknown option '--bogus'" -- cid decode $PT --bogus 07
usage_err "--nonce-len needs a value" -- cid decode --server-id-len 3 --nonce-len

# ---- octet strings in hex: one rule for every verb that takes a CID ---------------
# (docs/operations.md, "Octet strings in hex"). decode, retire and unretire
# accept the same forms and refuse the same forms, with the same words; a
# stand-in for cidlbd on CIDLB_SOCKET records what retire sends (the CID as
# given: cidlbd reads it by the same rule, tests/daemon/test_control.sh).
SOCK_DIR=$(mktemp -d)
export CIDLB_SOCKET=$SOCK_DIR/ctl.sock
python3 - "$CIDLB_SOCKET" "$SOCK_DIR/sent" <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\n"):
        d = c.recv(65536)
        if not d:
            break
        buf += d
    req = json.loads(buf)
    with open(sys.argv[2], "a") as f:
        f.write("%s %s\n" % (req["cmd"], " ".join(req["cids"])))
    n = len(req["cids"])
    rep = {"ok": True, "retired": n, "ttl": 60} if req["cmd"] == "cid.retire" else \
          {"ok": True, "removed": n, "not_found": 0}
    c.sendall((json.dumps(rep) + "\n").encode())
    c.close()
PY
fake=$!
trap 'kill $fake 2>/dev/null; rm -rf "$SOCK_DIR"' EXIT
for i in $(seq 50); do [ -S "$CIDLB_SOCKET" ] && break; sleep 0.1; done

# the same CID, 0767947d29be054a, in every accepted form
for form in 0767947d29be054a 0767947D29BE054A 07:67:94:7d:29:be:05:4a 07:67:94:7D:29:BE:05:4A; do
	expect 0 "cid:        0767947d29be054a (8 octets)
config id:  0
algorithm:  four-pass
server id:  31441a
nonce:      9c69c275" -- cid decode $PT --key $K4 "$form"
	: >"$SOCK_DIR/sent"
	expect 0 "retired 1 CID for 60 s" -- cid retire "$form"
	expect 0 "unretired 1 CID (0 not retired)" -- cid unretire "$form"
	printf '# a comment\n%s\n' "$form" >"$SOCK_DIR/cids.txt"
	expect 0 "retired 1 CID for 60 s" -- cid retire --file "$SOCK_DIR/cids.txt"
	want="cid.retire $form"$'\n'"cid.unretire $form"$'\n'"cid.retire $form"
	[ "$(cat "$SOCK_DIR/sent")" = "$want" ] && ok ||
		bad "cid retire/unretire '$form': sent '$(cat "$SOCK_DIR/sent")', want '$want'"
done
# 1 and 20 octets: the ends of the CID length
expect 1 "unroutable: config ID 7 (reserved for unroutable CIDs)" -- cid decode $PT FF
expect 0 "retired 1 CID for 60 s" -- cid retire 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13

# every refused form: exit 2, the same words from each verb, nothing sent
: >"$SOCK_DIR/sent"
while IFS='|' read -r form why; do
	usage_err "cid decode: CID '$form': $why" -- cid decode $PT "$form"
	usage_err "cid retire: CID '$form': $why" -- cid retire "$form"
	usage_err "cid unretire: CID '$form': $why" -- cid unretire "$form"
	printf '%s\n' "$form" >"$SOCK_DIR/cids.txt"
	usage_err "cid retire: $SOCK_DIR/cids.txt line 1: CID '$form': $why" -- \
		cid retire --file "$SOCK_DIR/cids.txt"
done <<'FORMS'
0x0767947d29be054a|a '0x' prefix: write the hex digits only
07-67-94-7d-29-be-05-4a|'-' at character 3 is not a hex digit
07:0|odd number of hex digits (3)
0767947d29be054|odd number of hex digits (15)
:07:67|a colon at the start
07:67:|a colon at the end
07::67|two colons in a row
0767:947d|colons, but not between every two digits
7:67:94:0|colons, but not between every two digits
07 67|a space at character 3
07g7|'g' at character 3 is not a hex digit
000102030405060708090a0b0c0d0e0f1011121314|21 octets, at most 20
00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14|21 octets, at most 20
FORMS
usage_err "cid decode: CID '': empty" -- cid decode $PT ""
usage_err "cid retire: CID '': empty" -- cid retire ""
[ ! -s "$SOCK_DIR/sent" ] && ok || bad "refused CIDs were sent: $(cat "$SOCK_DIR/sent")"
# keys, server IDs and nonces by the same rule (a key is never echoed)
expect 0 "cid:        0767947d29be054a (8 octets)
config id:  0
algorithm:  four-pass
server id:  31441a
nonce:      9c69c275" -- cid encode $PT --key fd:f7:26:a9:89:3e:c0:5c:06:32:d3:95:66:80:ba:f0 \
	--server-id 31:44:1A --nonce 9C69C275
usage_err "cid encode: --server-id '0x31441a': a '0x' prefix" -- cid encode $PT --server-id 0x31441a
usage_err "cid encode: --nonce '9c:69c275': colons, but not" -- \
	cid encode $PT --server-id 31441a --nonce 9c:69c275
usage_err "cid decode: --key: must be 32 hex digits (a 16-octet AES-128 key): a colon at the end$" -- \
	cid decode $PT --key fd:f7:26:a9:89:3e:c0:5c:06:32:d3:95:66:80:ba:f0: 07
unset CIDLB_SOCKET

# ---- help ----------------------------------------------------------------------
out=$("$CIDLB" help); rc=$?
[ $rc = 0 ] && grep -q '^  cid ' <<<"$out" && ok || bad "cidlb help: exit $rc, no 'cid' row"
out=$("$CIDLB" cid help); rc=$?
[ $rc = 0 ] && grep -q 'cid decode CONFIG CID' <<<"$out" && ok || bad "cidlb cid help: exit $rc"

echo "$((n - fails))/$n checks passed"
[ $fails = 0 ]
