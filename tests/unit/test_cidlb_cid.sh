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
usage_err "CID 'zz': must be hex, 1..20 octets" -- cid decode $PT zz
usage_err "must be hex, 1..20 octets" -- cid decode $PT 000102030405060708090a0b0c0d0e0f1011121314
usage_err "unexpected argument '08'" -- cid decode $PT 07 08
usage_err "unknown option '--bogus'" -- cid decode $PT --bogus 07
usage_err "--nonce-len needs a value" -- cid decode --server-id-len 3 --nonce-len

# ---- help ----------------------------------------------------------------------
out=$("$CIDLB" help); rc=$?
[ $rc = 0 ] && grep -q '^  cid ' <<<"$out" && ok || bad "cidlb help: exit $rc, no 'cid' row"
out=$("$CIDLB" cid help); rc=$?
[ $rc = 0 ] && grep -q 'cid decode CONFIG CID' <<<"$out" && ok || bad "cidlb cid help: exit $rc"

echo "$((n - fails))/$n checks passed"
[ $fails = 0 ]
