#!/bin/bash
# Scenario 16: two services on one cidlb host, each a pool of its own
# (lib.sh, e2e_conf LB pools): "web" (VIP .1, be1; be2 at weight 0) and
# "game" (VIP .2, be3). Both use QUIC-LB config 0, and be3 issues CIDs
# with be1's server ID: the pools' configs and server IDs never meet.
#
# Asserts, for each service: a client downloads 4 MiB and moves to a new
# address mid-transfer; the download is the exact content of its own
# pool's backend (be1 for web, be3 for game); every CID the server issued
# carries server ID 0a01; the LB sent the connection's packets to that
# backend only; the server validated the new path; the LB routed the new
# path by CID. Then `cidlb backend list` names each backend's pool.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init
SIZE=$((4 * 1024 * 1024))
BE_SID[be3]=${BE_SID[be1]} # the same server ID, in the other pool
e2e_topology 1
e2e_content $SIZE
for b in "${BACKENDS[@]}"; do e2e_decap "$b"; done
e2e_servers plain
e2e_conf lb1 pools
e2e_daemon lb1
RATE=16mbit DELAY=1s
e2e_shape $RATE

# server_cids_sid NAME: the server IDs of every CID the server issued
# (qlog), decoded under config 0 of the file (the same in both pools)
server_cids_sid() {
	local c
	while read -r c; do
		[ -n "$c" ] || continue
		lbc lb1 -j cid decode --config "$E2E_TMP/lb1.conf" --config-id 0 "$c" |
			json_get server_id
	done < <(qlog_server_cids "$1") | sort | uniq -c | awk '{ print $2 "x" $1 }'
}

service() { # NAME VIP WANT-BACKEND NEW_SRC
	local name=$1 vip=$2 want=$3 new=$4 b before after x p0 p1 others=0 cid0 icmp0 sids
	before=$(be_snapshot)
	cid0=$(lbstat lb1 route_cid)
	icmp0=$(lbstat lb1 route_icmp_flow)
	e2e_migrating_get "$name" "$vip" "$new" $DELAY
	e2e_client_wait "$name"
	b=$(served_by "$name")
	[ "$b" = "$want" ] || fail "$name: served by $b, want $want (its pool's backend)"
	ok "$name: 4 MiB intact, served by $b"
	sids=$(server_cids_sid "$name")
	case $sids in
	"${BE_SID[be1]}x"[2-9]* | "${BE_SID[be1]}x"[1-9][0-9]*) ;;
	*) fail "$name: the server's CIDs carry server IDs '$sids', want ${BE_SID[be1]} only (2 or more)" ;;
	esac
	ok "$name: every CID the server issued carries server ID ${BE_SID[be1]} ($sids)"
	check_mid_transfer "$name" "$name"
	after=$(be_snapshot)
	for x in "${BACKENDS[@]}"; do
		p0=$(sed -n "s/.*$x=\([0-9]*\).*/\1/p" <<<"$before")
		p1=$(sed -n "s/.*$x=\([0-9]*\).*/\1/p" <<<"$after")
		if [ "$x" = "$b" ]; then
			[ "$p1" -gt "$p0" ] || fail "$name: LB sent nothing to $b"
		else
			others=$((others + p1 - p0))
		fi
	done
	[ "$others" -le $(($(lbstat lb1 route_icmp_flow) - icmp0)) ] ||
		fail "$name: LB sent $others packets to other backends too"
	ok "$name: every packet of the connection went to $b"
	path_validated "$name" || fail "$name: no path validation in the client's qlog"
	ok "$name: the server validated the new path"
	[ $(($(lbstat lb1 route_cid) - cid0)) -gt 100 ] || fail "$name: few packets routed by CID"
	ok "$name: route_cid +$(($(lbstat lb1 route_cid) - cid0))"
}

service pool-game $VIP4B be3 198.18.1.3
e2e_client_src $CL4
service pool-web $VIP4 be1 198.18.1.4

pools=$(lbc lb1 -j backend list | $PY -c '
import json, sys
print(" ".join("%s:%s" % (b["name"], b["pool"]) for b in json.load(sys.stdin)))')
[ "$pools" = "be1:web be2:web be3:game" ] || fail "backend list: '$pools'"
ok "backend list: $pools"
