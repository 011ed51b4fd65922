#!/bin/bash
# Scenario 15: a client comes back from another address and port with
# 0-RTT, and its token takes it to the server that holds its session
# (docs/tokens.md).
#
# The servers (three gtlsserver, CIDs of config 1) put a routable prefix
# first in their tokens (the shim, CIDLB_SHIM_TOKEN_KEY): NEW_TOKEN tokens
# under config 1, Retry tokens under config 5, both with token_prefix =
# yes at cidlb. Each gtlsserver makes its own session ticket key and token
# secret at start (gnutls_session_ticket_key_generate(), a random static
# secret): no server accepts another's ticket, so 0-RTT data is accepted
# only where the first connection was served.
#
# One round: a first connection from 198.18.1.2 stores the TLS session,
# transport parameters and NEW_TOKEN (gtlsclient, with token_file_shim so
# that it reads its token file back); a second from 198.18.1.3 and another
# port resumes with its request in 0-RTT. Asserts, N rounds of N:
#   - both downloads intact from the same backend;
#   - the resumed Initial carried the first connection's token, whose
#     prefix names that backend (cidlb cid decode), and cidlb routed by it
#     (route_token);
#   - early data accepted: that server's qlog of the resumed connection
#     holds 0-RTT packets it received (decrypted: the server had the keys),
#     and the client does not say "Early data was rejected".
# Then the same with address validation (-V): the server answers the
# resumed Initial (routed by its NEW_TOKEN prefix; the token itself was
# for the old address) with a Retry whose token carries its prefix
# (config 5, decoded here) and whose SCID the shim makes unroutable
# (CIDLB_SHIM_RETRY_UNROUTABLE): the client's next Initial, with that SCID
# as its DCID, reaches the server by the Retry token's prefix alone
# (route_token moves twice a round, unroutable_cr7 at least once).
# Control: servers without prefixes, the same rounds; the rate of accepted
# 0-RTT is printed (about 1 in 3 backends: Maglev on a new 4-tuple).
set -u
. "$(dirname "$0")/lib.sh"
N=${E2E_TOKEN_ROUNDS:-5}
NC=${E2E_TOKEN_CONTROL:-12}	# control rounds: enough for a rate
E2E_TOKSHIM=$BUILD/e2e/token_file_shim.so
CL4B=198.18.1.3

e2e_init
e2e_topology 1
e2e_content 200000
for b in "${BACKENDS[@]}"; do e2e_decap "$b"; done

# cidlb: config 1 (the servers' CIDs) also reads tokens; config 5 (Retry
# tokens) the same lengths and key; the prefixes' length bits carry
# ngtcp2's token magic, so neither self-encodes (docs/tokens.md)
token_conf() {
	local f=$E2E_TMP/$1.conf
	$PY - "$f" "$E2E_TMP/$1/qlb1.key" "${BE_SID_AES[be1]}" "${BE_SID_AES[be2]}" \
		"${BE_SID_AES[be3]}" <<'PY' || fail "token configuration"
import re, sys
path, key, *sids = sys.argv[1:]
text = open(path).read()
one = re.search(r"\[quic-lb 1\]\n(.*?)(?=\n\[)", text, re.S)
sec = one.group(1).replace("len_self_encode = yes", "len_self_encode = no")
sec += "\ntoken_prefix = yes\n"
sec += "[quic-lb 5]\nserver_id_len = 2\nnonce_len = 8\nkey_file = %s\ntoken_prefix = yes" % key
text = text[:one.start(1)] + sec + text[one.end(1):]
for i, be in enumerate(("be1", "be2", "be3")):
    text = text.replace("[backend %s]\n" % be, "[backend %s]\nserver_id.5 = %s\n" % (be, sids[i]))
open(path, "w").write(text)
PY
}
e2e_conf lb1
token_conf lb1
e2e_daemon lb1

# servers PREFIX [gtlsserver options]: (re)start the three, each with its
# own qlog directory; PREFIX yes: tokens with a prefix
servers() {
	local p=$1 b; shift
	e2e_servers_stop
	for b in "${BACKENDS[@]}"; do
		mkdir -p "$E2E_TMP/sq/$b"
		if [ "$p" = yes ]; then
			CIDLB_SHIM_TOKEN_KEY=$QLB_KEY e2e_server "$b" aes --qlog-dir "$E2E_TMP/sq/$b" "$@"
		else
			e2e_server "$b" aes --qlog-dir "$E2E_TMP/sq/$b" "$@"
		fi
	done
}

# zrtt_accepted BE: connections of BE's qlogs in which the server received
# 0-RTT packets (it decrypted them: it accepted the early data)
zrtt_accepted() {
	$PY - "$E2E_TMP/sq/$1" <<'PY'
import glob, json, os, sys
n = 0
for f in glob.glob(os.path.join(sys.argv[1], "*.sqlog")):
    for rec in open(f, "rb").read().split(b"\x1e"):
        try:
            ev = json.loads(rec)
        except ValueError:
            continue
        if ev.get("name") == "transport:packet_received" and \
           ev.get("data", {}).get("header", {}).get("packet_type") == "0RTT":
            n += 1
            break
print(n)
PY
}

# qlog_tokens NAME: the tokens of the client's Initials ("sent HEX"), and
# of the Retry packets it received ("retry HEX"), one a line
qlog_tokens() {
	qlog_events "$1" | $PY -c '
import json, sys
for line in sys.stdin:
    ev = json.loads(line)
    d = ev.get("data", {})
    h = d.get("header", {})
    t = (d.get("token") or h.get("token") or {}).get("data")
    if not t:
        continue
    if ev.get("name") == "transport:packet_sent" and h.get("packet_type") == "initial":
        print("sent", t)
    elif ev.get("name") == "transport:packet_received" and h.get("packet_type") == "retry":
        print("retry", t)'
}

# token_sid CONFIG_ID HEX: the server ID a token's prefix holds, by cidlb's
# own decoder for that config of the LB's file
token_sid() {
	local c=$1 t=$2
	lbc lb1 -j cid decode --config "$E2E_TMP/lb1.conf" --config-id "$c" "${t:0:22}" |
		json_get server_id
}

declare -A SID_BE=([${BE_SID_AES[be1]}]=be1 [${BE_SID_AES[be2]}]=be2 [${BE_SID_AES[be3]}]=be3)

# round TAG I: one first connection and one resumed from elsewhere; sets
# R_B1, R_B2 (backends), R_ACC (1: the resumed one's early data accepted,
# on R_B2), R_TOK (its Initial's token), R_RETRY (the token of a Retry, if any)
round() {
	local tag=$1 i=$2 st=$E2E_TMP/state/$1.$2 b a0 a1 out
	mkdir -p "$st"
	local state=(--session-file "$st/session" --tp-file "$st/tp" --token-file "$st/token")
	e2e_client_src $CL4
	cl_port $((21000 + 37 * i))	# (spread over the backends)
	e2e_client "$tag$i-a" $VIP4 f.bin "${state[@]}"
	e2e_client_wait "$tag$i-a"
	R_B1=$(served_by "$tag$i-a")
	[ "$R_B1" = none ] && fail "$tag$i: first download missing or corrupt"
	[ -s "$st/session" ] && [ -s "$st/token" ] || fail "$tag$i: no session or token stored"
	declare -A before
	for b in "${BACKENDS[@]}"; do before[$b]=$(zrtt_accepted "$b"); done
	e2e_client_src $CL4B
	cl_port $((22000 + 37 * i))
	CIDLB_TOKEN_FILE=$st/token LD_PRELOAD=$E2E_TOKSHIM E2E_CLIENT_QUIET=0 \
		e2e_client "$tag$i-b" $VIP4 f.bin "${state[@]}" --no-quic-dump --no-http-dump
	e2e_client_wait "$tag$i-b"
	e2e_client_src $CL4
	R_B2=$(served_by "$tag$i-b")
	[ "$R_B2" = none ] && fail "$tag$i: resumed download missing or corrupt"
	out=$E2E_TMP/dl/$tag$i-b.out
	grep -q "Could not read token" "$out" && fail "$tag$i: the client did not read its token"
	R_ACC=0
	a0=${before[$R_B2]}
	a1=$(zrtt_accepted "$R_B2")
	if [ "$a1" -gt "$a0" ]; then
		grep -q "Early data was rejected" "$out" &&
			fail "$tag$i: $R_B2 received 0-RTT, yet the client says rejected"
		R_ACC=1
	fi
	R_TOK=$(qlog_tokens "$tag$i-b" | awk '$1 == "sent" { print $2; exit }')
	# the Retry's token: as the client received it, or as it sent it back
	R_RETRY=$(qlog_tokens "$tag$i-b" |
		awk '$1 == "retry" || ($1 == "sent" && substr($2, 1, 2) == "b6") { print $2; exit }')
	[ -n "$R_TOK" ] || fail "$tag$i: the resumed connection sent no token"
}

# ---- control: tokens without a prefix -------------------------------------------
servers no
acc=0
for ((i = 0; i < NC; i++)); do
	round ctl $i
	acc=$((acc + R_ACC))
	log "control $i: first on $R_B1, resumed on $R_B2, 0-RTT $([ $R_ACC = 1 ] && echo accepted || echo rejected)"
done
log "control, without prefixes: 0-RTT accepted in $acc of $NC resumptions from another address and port"

# ---- NEW_TOKEN prefixes -------------------------------------------------------------
servers yes
for ((i = 0; i < N; i++)); do
	t0=$(lbstat lb1 route_token)
	round tok $i
	t1=$(lbstat lb1 route_token)
	[ "${R_TOK:0:2}" = 36 ] || fail "tok$i: token $R_TOK is not a prefixed NEW_TOKEN token"
	sid=$(token_sid 1 "$R_TOK")
	[ "${SID_BE[$sid]:-?}" = "$R_B1" ] ||
		fail "tok$i: the token's prefix names server ID $sid, the first connection was on $R_B1"
	[ "$R_B2" = "$R_B1" ] || fail "tok$i: resumed on $R_B2, the first connection on $R_B1"
	[ $((t1 - t0)) -ge 1 ] || fail "tok$i: cidlb did not route by the token (route_token $t0 -> $t1)"
	[ "$R_ACC" = 1 ] || fail "tok$i: early data not accepted by $R_B2"
	log "tok $i: first on $R_B1, resumed on $R_B2 by its token (server ID $sid), 0-RTT accepted"
done
ok "$N of $N resumptions from another address and port reached their server by the token, early data accepted (control: $acc of $NC)"

# ---- with Retry: address validation ------------------------------------------------
CIDLB_SHIM_RETRY_UNROUTABLE=1 servers yes -V
for ((i = 0; i < N; i++)); do
	t0=$(lbstat lb1 route_token)
	u0=$(lbstat lb1 unroutable_cr7)
	round rt $i
	t1=$(lbstat lb1 route_token)
	u1=$(lbstat lb1 unroutable_cr7)
	[ $((t1 - t0)) -ge 2 ] && [ $((u1 - u0)) -ge 1 ] ||
		fail "rt$i: the post-Retry Initial did not go by its token (route_token +$((t1 - t0)), unroutable_cr7 +$((u1 - u0)))"
	[ "$R_B2" = "$R_B1" ] || fail "rt$i: resumed on $R_B2, the first connection on $R_B1"
	[ -n "$R_RETRY" ] || fail "rt$i: the resumed connection got no Retry"
	[ "${R_RETRY:0:2}" = b6 ] || fail "rt$i: Retry token $R_RETRY has no prefix"
	sid=$(token_sid 5 "$R_RETRY")
	[ "${SID_BE[$sid]:-?}" = "$R_B1" ] || fail "rt$i: the Retry token names $sid, not $R_B1"
	[ "$R_ACC" = 1 ] || fail "rt$i: early data not accepted by $R_B2 after the Retry"
	log "rt $i: resumed on $R_B2 through a Retry, routed by its token (route_token +$((t1 - t0))), 0-RTT accepted"
done
ok "$N of $N with address validation: the Initial after the Retry routed by the Retry token's prefix, same server, early data accepted"
log "cidlb: route_token $(lbstat lb1 route_token), token_unroutable $(lbstat lb1 token_unroutable)"
