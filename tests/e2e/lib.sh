# shellcheck shell=bash
# lib.sh - the end-to-end topology: real QUIC clients and servers (Debian's
# ngtcp2 examples) talking through cidlb across network namespaces.
# Sourced by tests/e2e/test_*.sh and tools/demo.
#
#   client ns "cl"             router ns "rt"                 switch ns "sw"
#   eth0 198.18.1.2/24 ----- cl 198.18.1.1/24                   bridge br0
#        fd00:1::2/64           fd00:1::1/64                       |
#   (migrations add .3, .4   sw 198.18.10.1/24  ------------------ + rt
#    and fd00:1::3, ::4)        fd00:10::1/64                      |
#                            routes: VIPs via lb1 (or ECMP        + lb1 --- lb1 ns: eth0 .11 / ::11
#                            over lb1+lb2, L4 hash); HTB on       + lb2 --- lb2 ns: eth0 .12 / ::12
#                            "cl" to shape the download;          + be1 --- be1 ns: eth0 .21 / ::21
#                            nftables for NAT rebinding           + be2 --- be2 ns: eth0 .22 / ::22
#                                                                 + be3 --- be3 ns: eth0 .23 / ::23
#
# VIPs 198.18.100.1 and .2, fd00:100::1 and ::2, UDP 443, live on every
# backend's lo (arp_ignore). Client packets: router -> a cidlb host (XDP,
# one interface: encapsulate or rewrite MACs, XDP_TX back onto the segment)
# -> backend (cidlb_decap.bpf.o strips the outer header) -> gtlsserver.
# Replies go from the backend to the router and the client directly.
# The 198.18.10.0/24 segment has MTU 1600, so a 1500-octet client packet
# still fits after IPv6-in-IPv6 encapsulation.
#
# Every name is prefixed with a per-run tag, so runs never collide, and
# e2e_cleanup (trap on EXIT) kills what this run started, by PID, and
# deletes every namespace, mount and file it made.

E2E_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$E2E_REPO/$BUILD ;; esac
E2E_SHIM=$BUILD/e2e/cid_shim.so
E2E_PASS=$BUILD/e2e/xdp_pass.bpf.o
E2E_DECAP=$BUILD/cidlb_decap.bpf.o
CIDLBD=$BUILD/cidlbd
CIDLB=$BUILD/cidlb
PY=/usr/bin/python3		# Debian's, not a pyenv shim
GTLSSERVER=/usr/sbin/gtlsserver
GTLSCLIENT=gtlsclient

VIP4=198.18.100.1
VIP4B=198.18.100.2		# the preferred address (scenario 8)
VIP6=fd00:100::1
VIP6B=fd00:100::2
PORT=443
CL4=198.18.1.2
CL6=fd00:1::2
RT_CL4=198.18.1.1
RT_CL6=fd00:1::1
RT_SW4=198.18.10.1
RT_SW6=fd00:10::1
SEED=0x5eed
BACKENDS=(be1 be2 be3)
declare -A BE_ADDR4=([be1]=198.18.10.21 [be2]=198.18.10.22 [be3]=198.18.10.23)
declare -A BE_ADDR6=([be1]=fd00:10::21 [be2]=fd00:10::22 [be3]=fd00:10::23)
declare -A BE_SID=([be1]=0a01 [be2]=0a02 [be3]=0a03)	# server IDs, config 0
# config 1 (encrypted): another allocation, as QUIC-LB requires (cidlb
# refuses a server ID of a plaintext config under an encrypted one)
declare -A BE_SID_AES=([be1]=0b01 [be2]=0b02 [be3]=0b03)
declare -A LB_ADDR4=([lb1]=198.18.10.11 [lb2]=198.18.10.12 [lb3]=198.18.10.13)
declare -A LB_ADDR6=([lb1]=fd00:10::11 [lb2]=fd00:10::12 [lb3]=fd00:10::13)
# QUIC-LB config 0: 2-octet server ID, 18-octet CIDs (gtlsserver's length).
# Plaintext: nonce 15. Encrypted (four-pass AES-128): nonce 8 + 7 extra.
QLB_SID_LEN=2
QLB_KEY=4d8a1b5e2f7c9d0e3a6b8c1d2e4f5a6b

E2E_TAG=${E2E_TAG:-ce$$}
PFX=$E2E_TAG			# the hosts' namespaces: tests/lib/hosts.sh
E2E_TMP=
E2E_PIDS=()
E2E_NS=()
E2E_VERBOSE=${E2E_VERBOSE:-0}
E2E_T0=$SECONDS

# ---- output ------------------------------------------------------------------
log() { printf '[%3ss] %s\n' $((SECONDS - E2E_T0)) "$*"; }
fail() { log "FAIL: $*"; e2e_dump; exit 1; }
ok() { log "ok: $*"; }
# check COND-COMMAND... : fail with the command's text when it is false
check() { "$@" || fail "check failed: $*"; }

# ---- hosts: a network namespace + a holder process with its own bpffs --------
# (tests/lib/hosts.sh) `ip netns exec` gives each command a new mount
# namespace with /sys remounted, so pins made by one command would be gone
# for the next. A holder process mounts bpffs on /sys/fs/bpf once and
# sleeps; `nsx HOST` enters its network AND mount namespaces, so the
# daemon's pins (default /sys/fs/bpf/cidlb) and `cidlb decap`'s
# (/sys/fs/bpf/cidlb_decap/DEV) persist per host and never touch the root
# namespace's bpffs.
source "$E2E_REPO/tests/lib/hosts.sh"
# nsx HOST CMD...: run in HOST
nsx() { on "$@"; }
# nsbg HOST CMD...: start in the background, remember the PID; sets BG_PID
# (nsenter execs CMD, so BG_PID is the command's own PID)
nsbg() {
	local h=$1; shift
	nsenter -t "${HOLDER[$h]}" -m -n -- "$@" &
	BG_PID=$!
	E2E_PIDS+=("$BG_PID")
}

ns_add() {
	E2E_NS+=("$1")		# (e2e_cleanup removes it, also if host_add fails)
	host_add "$1"
	E2E_PIDS+=("${HOLDER[$1]}")
	nsx "$1" mountpoint -q /sys/fs/bpf || fail "host $1: bpffs not mounted"
	nsx "$1" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.default.keep_addr_on_down=1
}

# link NS1 IF1 NS2 IF2: a veth pair between two namespaces
link() {
	ip -n "$E2E_TAG-$1" link add "$2" type veth peer name "$4" netns "$E2E_TAG-$3" ||
		fail "veth $1/$2 - $3/$4"
	ip -n "$E2E_TAG-$1" link set "$2" up
	ip -n "$E2E_TAG-$3" link set "$4" up
}

# tx_csum_off HOST DEV: the sender fills in UDP checksums itself. A veth
# hands the next hop CHECKSUM_PARTIAL packets, whose checksum no XDP
# program finishes: after cidlb's encapsulation the backend would drop
# them (UdpInCsumErrors). A real NIC never delivers such packets.
tx_csum_off() {
	nsx "$1" $PY - "$2" <<'PY' || fail "tx checksum offload off on $1/$2"
import array, fcntl, socket, struct, sys
cmd = array.array("I", [0x17, 0])      # ETHTOOL_STXCSUM, off (no ethtool here)
ifr = struct.pack("16sP", sys.argv[1].encode(), cmd.buffer_info()[0])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fcntl.ioctl(s.fileno(), 0x8946, ifr)   # SIOCETHTOOL
PY
}

mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }

# wait_for SECONDS WHAT CMD...: poll CMD every 0.1 s until it succeeds;
# SECONDS is what a quiet machine needs: the wait lasts up to 4 times as
# long, and at least 20 s, so that a loaded machine passes too
wait_for() {
	local t=$(($1 * 4)) what=$2; shift 2
	[ $t -ge 20 ] || t=20
	poll $t "$@" || fail "timed out after ${t}s waiting for $what"
}

e2e_need() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: end-to-end tests need root"; exit 77; }
	local f
	for f in "$E2E_SHIM" "$E2E_PASS" "$E2E_DECAP" "$BUILD/e2e/mkcert" "$CIDLBD" "$CIDLB"; do
		[ -e "$f" ] || { echo "missing $f: run make tests"; exit 1; }
	done
	for f in "$GTLSSERVER" "$(command -v $GTLSCLIENT)" "$(command -v nft)" \
		"$(command -v tc)" "$(command -v nsenter)" "$PY"; do
		[ -x "$f" ] || { echo "missing tool ${f:-?}: run tools/install-deps"; exit 1; }
	done
}

# ---- cleanup --------------------------------------------------------------------
E2E_ON_EXIT=()	# commands e2e_cleanup runs first (a test's own undo)
e2e_cleanup() {
	local rc=$? p n i
	trap - EXIT INT TERM
	for p in "${E2E_ON_EXIT[@]}"; do eval "$p"; done
	for p in "${E2E_PIDS[@]}" "${HOLDER[@]}"; do kill "$p" 2>/dev/null; done
	# processes started inside our namespaces (children of the above)
	for n in "${E2E_NS[@]}"; do
		for p in $(ip netns pids "$E2E_TAG-$n" 2>/dev/null); do kill "$p" 2>/dev/null; done
	done
	poll 10 e2e_ns_empty
	for n in "${E2E_NS[@]}"; do
		for p in $(ip netns pids "$E2E_TAG-$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for n in "${E2E_NS[@]}"; do ip netns del "$E2E_TAG-$n" 2>/dev/null; done
	if [ -n "$E2E_TMP" ]; then
		[ "${E2E_KEEP_TMP:-0}" = 1 ] && echo "kept $E2E_TMP" || rm -rf "$E2E_TMP"
	fi
	exit $rc
}

# e2e_ns_empty: no process left in the run's namespaces
e2e_ns_empty() {
	local n
	for n in "${E2E_NS[@]}"; do
		[ -z "$(ip netns pids "$E2E_TAG-$n" 2>/dev/null)" ] || return 1
	done
}

e2e_init() {
	e2e_need
	E2E_TMP=$(mktemp -d /tmp/cidlb-e2e.XXXXXX)
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$E2E_TMP/dl" "$E2E_TMP/log"
	"$BUILD/e2e/mkcert" "$E2E_TMP/key.pem" "$E2E_TMP/cert.pem" || fail mkcert
}

# ---- topology -------------------------------------------------------------------
E2E_LBS=()

# e2e_topology [N_LBS]: namespaces, links, addresses, routes (1 to 3 cidlb hosts)
e2e_topology() {
	local nlb=${1:-1} i b l
	for ((i = 1; i <= nlb; i++)); do E2E_LBS+=("lb$i"); done
	for n in cl rt sw "${E2E_LBS[@]}" "${BACKENDS[@]}"; do ns_add "$n"; done

	# client -- router
	link cl eth0 rt cl
	nsx cl ip addr add $CL4/24 dev eth0
	nsx cl ip addr add $CL6/64 dev eth0 nodad
	# addresses to migrate to; the default routes name the source, so a
	# new socket takes the address that e2e_client_src sets (and removing
	# the first address keeps the others)
	nsx cl sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1
	for i in 3 4; do
		nsx cl ip addr add "198.18.1.$i/24" dev eth0
		nsx cl ip addr add "fd00:1::$i/64" dev eth0 nodad
	done
	nsx cl ip route add default via $RT_CL4 src $CL4
	nsx cl ip -6 route add default via $RT_CL6 src $CL6
	tx_csum_off cl eth0
	nsx rt ip addr add $RT_CL4/24 dev cl
	nsx rt ip addr add $RT_CL6/64 dev cl nodad
	nsx rt sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1

	# the segment: a bridge in "sw", MTU 1600
	nsx sw ip link add br0 type bridge
	nsx sw ip link set br0 mtu 1600 up
	for n in rt "${E2E_LBS[@]}" "${BACKENDS[@]}"; do
		local dev=eth0; [ "$n" = rt ] && dev=sw
		link "$n" "$dev" sw "$n"
		nsx "$n" ip link set "$dev" mtu 1600
		nsx sw ip link set "$n" mtu 1600 master br0
	done
	nsx rt ip addr add $RT_SW4/24 dev sw
	nsx rt ip addr add $RT_SW6/64 dev sw nodad

	for l in "${E2E_LBS[@]}"; do
		nsx "$l" ip addr add "${LB_ADDR4[$l]}/24" dev eth0
		nsx "$l" ip addr add "${LB_ADDR6[$l]}/64" dev eth0 nodad
		nsx "$l" ip route add default via $RT_SW4
		nsx "$l" ip -6 route add default via $RT_SW6
		# cidlb sends frames back out with XDP_TX: the veth peer must
		# run an XDP program to receive them
		nsx sw ip link set dev "$l" xdp obj "$E2E_PASS" sec xdp ||
			fail "XDP pass program on sw/$l"
	done
	for b in "${BACKENDS[@]}"; do
		nsx "$b" ip addr add "${BE_ADDR4[$b]}/24" dev eth0
		nsx "$b" ip addr add "${BE_ADDR6[$b]}/64" dev eth0 nodad
		nsx "$b" ip addr add $VIP4/32 dev lo
		nsx "$b" ip addr add $VIP4B/32 dev lo
		nsx "$b" ip addr add $VIP6/128 dev lo nodad
		nsx "$b" ip addr add $VIP6B/128 dev lo nodad
		nsx "$b" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
		nsx "$b" ip route add default via $RT_SW4
		nsx "$b" ip -6 route add default via $RT_SW6
	done
	# cidlb's FIB next hop needs the backends' neighbour entries: make
	# them static so the first packet never meets an unresolved neighbour
	for l in "${E2E_LBS[@]}"; do
		for b in "${BACKENDS[@]}"; do
			local mac; mac=$(mac_of "$b" eth0)
			nsx "$l" ip neigh replace "${BE_ADDR4[$b]}" lladdr "$mac" dev eth0 nud permanent
			nsx "$l" ip neigh replace "${BE_ADDR6[$b]}" lladdr "$mac" dev eth0 nud permanent
		done
	done
	e2e_route_vips lb1
	e2e_accounting
}

# e2e_accounting: the router counts packets and octets per client address
# and port, in each direction, and per VIP toward the client (nftables
# sets with counters)
e2e_accounting() {
	nsx rt nft -f - <<-'EON' || fail "nftables accounting on the router"
	table inet e2e_acct {
		set down4 { type ipv4_addr . inet_service; flags dynamic; counter; }
		set up4 { type ipv4_addr . inet_service; flags dynamic; counter; }
		set down6 { type ipv6_addr . inet_service; flags dynamic; counter; }
		set up6 { type ipv6_addr . inet_service; flags dynamic; counter; }
		set vip4 { type ipv4_addr; flags dynamic; counter; }
		set vip6 { type ipv6_addr; flags dynamic; counter; }
		chain acct {
			type filter hook forward priority 0;
			ip saddr 198.18.100.0/24 udp sport 443 update @down4 { ip daddr . udp dport }
			ip daddr 198.18.100.0/24 udp dport 443 update @up4 { ip saddr . udp sport }
			ip6 saddr fd00:100::/64 udp sport 443 update @down6 { ip6 daddr . udp dport }
			ip6 daddr fd00:100::/64 udp dport 443 update @up6 { ip6 saddr . udp sport }
			ip saddr 198.18.100.0/24 udp sport 443 update @vip4 { ip saddr }
			ip6 saddr fd00:100::/64 udp sport 443 update @vip6 { ip6 saddr }
		}
	}
	EON
}

# acct down|up 4|6: "ADDR PORT PACKETS BYTES" per client tuple seen
acct() {
	nsx rt nft -j list set inet e2e_acct "$1$2" | $PY -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        e = e["elem"]
        a, p = e["val"]["concat"]
        c = e.get("counter", {})
        print(a, p, c.get("packets", 0), c.get("bytes", 0))'
}

# vip_bytes VIP: octets the router forwarded from VIP to the client
vip_bytes() {
	local fam=4; case $1 in *:*) fam=6 ;; esac
	nsx rt nft -j list set inet e2e_acct "vip$fam" | $PY -c '
import json, sys
n = 0
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        e = e["elem"]
        if e["val"] == sys.argv[1]:
            n += e.get("counter", {}).get("bytes", 0)
print(n)' "$1"
}

# acct_bytes down|up ADDR PORT: octets the router forwarded for one tuple
acct_bytes() {
	local fam=4; case $2 in *:*) fam=6 ;; esac
	acct "$1" $fam | awk -v a="$2" -v p="$3" '$1 == a && $2 == p { n += $4 } END { print n + 0 }'
}

# e2e_client_src ADDR: new client sockets take source ADDR (the next
# migration moves there)
e2e_client_src() {
	case $1 in
	*:*) nsx cl ip -6 route replace default via $RT_CL6 src "$1" ;;
	*) nsx cl ip route replace default via $RT_CL4 src "$1" ;;
	esac || fail "client source $1"
}

# cl_tuples: "ADDR PORT" of the client's UDP sockets (gtlsclient binds
# them to the local address a connect() would pick, and does not connect)
cl_tuples() {
	nsx cl ss -Huan |
		awk '{ a = $4; sub(/:[0-9]+$/, "", a); gsub(/[][]/, "", a); p = $4; sub(/.*:/, "", p); print a, p }'
}

# cl_tuple NAME: "ADDR PORT" of client NAME's socket (its gtlsclient is
# the child of the process e2e_client started, timeout)
cl_tuple() {
	local p; p=$(pgrep -P "${CL_PID[$1]}" -x "$GTLSCLIENT") || return 1
	nsx cl ss -Huanp | awk -v p="pid=$p," 'index($0, p) {
		a = $4; sub(/:[0-9]+$/, "", a); gsub(/[][]/, "", a)
		q = $4; sub(/.*:/, "", q); print a, q; exit }'
}

# e2e_route_vips LB...: the router sends the VIPs to these cidlb hosts
# (several: ECMP, hashed on the 4-tuple)
e2e_route_vips() {
	local nh4=() nh6=() l
	for l in "$@"; do
		nh4+=(nexthop via "${LB_ADDR4[$l]}" dev sw)
		nh6+=(nexthop via "${LB_ADDR6[$l]}" dev sw)
	done
	nsx rt ip route replace 198.18.100.0/24 "${nh4[@]}" || fail "route VIPs"
	nsx rt ip -6 route replace fd00:100::/64 "${nh6[@]}" || fail "route VIPs (v6)"
}

# e2e_ecmp_pick DST SRC SPORT: which cidlb host the router picks for a
# client 4-tuple (the kernel computes the same L4 hash as when forwarding)
e2e_ecmp_pick() {
	local via l
	via=$(nsx rt ip route get "$1" from "$2" iif cl ipproto udp sport "$3" dport $PORT |
		sed -n 's/.* via \([^ ]*\) .*/\1/p')
	for l in "${E2E_LBS[@]}"; do
		[ "$via" = "${LB_ADDR4[$l]}" ] || [ "$via" = "${LB_ADDR6[$l]}" ] && echo "$l"
	done
}

# e2e_shape RATE: shape the router's downstream to the client to RATE (an
# HTB class, bursts of 32 kB, over a 50 kB FIFO), so that no more than
# RATE * t + 32 kB reach the client in t seconds however fast the machine;
# a later call changes the rate in place, keeping what is queued (a
# changed tbf would drop it: a loss burst every connection has to recover
# from, seconds of silence on a loaded machine)
e2e_shape() {
	local r=(rate "$1" ceil "$1" burst 32kb cburst 32kb quantum 30000)
	if nsx rt tc class show dev cl | grep -q '^class htb 1:1 '; then
		nsx rt tc class change dev cl parent 1: classid 1:1 htb "${r[@]}"
	else
		nsx rt tc qdisc replace dev cl root handle 1: htb default 1 &&
			nsx rt tc class add dev cl parent 1: classid 1:1 htb "${r[@]}" &&
			nsx rt tc qdisc add dev cl parent 1:1 handle 10: bfifo limit 50kb
	fi || fail "shaping the client's downstream to $1"
}

# e2e_shape_up RATE: shape the client's upstream (its eth0) to RATE, as
# e2e_shape does the downstream: a client that uploads keeps sending, so it
# has packets in flight when its server dies
e2e_shape_up() {
	local r=(rate "$1" ceil "$1" burst 32kb cburst 32kb quantum 30000)
	nsx cl tc qdisc replace dev eth0 root handle 1: htb default 1 &&
		nsx cl tc class replace dev eth0 parent 1: classid 1:1 htb "${r[@]}" &&
		nsx cl tc qdisc replace dev eth0 parent 1:1 handle 10: bfifo limit 50kb ||
		fail "shaping the client's upstream to $1"
}

# ---- backends -------------------------------------------------------------------
# e2e_decap BE: cidlb's backend program on BE's eth0, accepting the cidlb
# hosts' tunnels to BE's addresses around packets to the VIPs
e2e_decap() {
	local b=$1 l args=()
	for l in "${E2E_LBS[@]}"; do args+=(--source "${LB_ADDR4[$l]}" --source "${LB_ADDR6[$l]}"); done
	args+=(--local "${BE_ADDR4[$b]}" --local "${BE_ADDR6[$b]}")
	args+=(--vip "$VIP4:$PORT" --vip "$VIP4B:$PORT" --vip "[$VIP6]:$PORT" --vip "[$VIP6B]:$PORT")
	nsx "$b" "$CIDLB" decap attach eth0 "${args[@]}" --mode native >/dev/null ||
		fail "cidlb decap attach on $b"
}

# json_get PATH...: read JSON on stdin, print the value at PATH (keys or
# list indexes); "0" when missing
json_get() {
	$PY -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    try:
        v = v[int(k)] if isinstance(v, list) else v[k]
    except (KeyError, IndexError, ValueError, TypeError):
        v = 0
        break
print(v)' "$@"
}

# decap_counter BE FIELD: BE's decap counter (cidlb decap stats)
decap_counter() { nsx "$1" "$CIDLB" -j decap stats eth0 | json_get "$2"; }

# e2e_content SIZE: every backend serves f.bin (SIZE octets) and small.bin,
# with its own random content: a download's SHA-256 names its backend
e2e_content() {
	local b
	for b in "${BACKENDS[@]}"; do
		mkdir -p "$E2E_TMP/www/$b"
		head -c "$1" /dev/urandom >"$E2E_TMP/www/$b/f.bin"
		head -c 20000 /dev/urandom >"$E2E_TMP/www/$b/small.bin"
		(cd "$E2E_TMP/www/$b" && sha256sum f.bin small.bin) >"$E2E_TMP/www/$b.sha"
	done
}

# e2e_server BE CIDMODE [gtlsserver options...]: gtlsserver on BE with
# QUIC-LB CIDs from the shim: CIDMODE plain (config 0) or aes (config 1);
# with E2E_RESET_KEY set (before e2e_conf), the servers and cidlb share that
# stateless reset key (reset_key_file under both configs)
E2E_RESET_KEY=
declare -A SRV_PID
e2e_server() {
	local b=$1 mode=$2; shift 2
	local env=(LD_PRELOAD="$E2E_SHIM" CIDLB_SHIM_SERVER_ID="${BE_SID[$b]}"
		   CIDLB_SHIM_LOG="$E2E_TMP/log/$b.cids")
	[ "$mode" = aes ] && env+=(CIDLB_SHIM_SERVER_ID="${BE_SID_AES[$b]}" CIDLB_SHIM_CONFIG_ID=1
				  CIDLB_SHIM_KEY=$QLB_KEY CIDLB_SHIM_NONCE_LEN=8)
	[ -n "$E2E_RESET_KEY" ] && env+=(CIDLB_SHIM_RESET_KEY=$E2E_RESET_KEY)
	nsbg "$b" env "${env[@]}" "$GTLSSERVER" -q -d "$E2E_TMP/www/$b" "$@" \
		'*' $PORT "$E2E_TMP/key.pem" "$E2E_TMP/cert.pem" \
		>>"$E2E_TMP/log/$b.server" 2>&1
	SRV_PID[$b]=$BG_PID
	wait_for 5 "gtlsserver on $b" nsx "$b" sh -c "ss -Hunl 'sport = :$PORT' | grep -q ."
}

e2e_servers() { local b; for b in "${BACKENDS[@]}"; do e2e_server "$b" "$@"; done; }

# e2e_servers_stop: stop every gtlsserver (to start them with other options)
e2e_servers_stop() {
	local b
	for b in "${!SRV_PID[@]}"; do
		kill "${SRV_PID[$b]}" 2>/dev/null
		wait "${SRV_PID[$b]}" 2>/dev/null
	done
	SRV_PID=()
}

# ---- clients ----------------------------------------------------------------------
# e2e_client NAME HOST FILE [gtlsclient options...]: download https://HOST/FILE
# in the background into $E2E_TMP/dl/NAME (qlog beside it; E2E_CLIENT_QUIET=0
# keeps gtlsclient's log); the client is killed after E2E_CLIENT_LIMIT
# seconds (60). Between e2e_gate and e2e_gate_open, clients wait to start
# until the gate opens: a batch starts at once, however slow each start
# is, and its downloads share the link from the first packet.
declare -A CL_PID
E2E_GATE=
e2e_client() {
	local name=$1 host=$2 file=$3; shift 3
	local d=$E2E_TMP/dl/$name url=$host gate=()
	mkdir -p "$d"
	case $host in *:*) url="[$host]" ;; esac
	local q=-q; [ "${E2E_CLIENT_QUIET:-1}" = 0 ] && q=
	[ -n "$E2E_GATE" ] &&
		gate=(sh -c 'while [ ! -e "$0" ]; do sleep 0.1; done; exec "$@"' "$E2E_GATE")
	nsbg cl "${gate[@]}" timeout "${E2E_CLIENT_LIMIT:-60}" "$GTLSCLIENT" $q \
		--exit-on-all-streams-close --download "$d" \
		--qlog-file "$d.qlog" "$@" "$host" $PORT "https://$url:$PORT/$file" \
		>"$d.out" 2>&1
	CL_PID[$name]=$BG_PID
}

# e2e_gate: clients started from now on wait for e2e_gate_open
e2e_gate() { E2E_GATE=$E2E_TMP/gate.$((++E2E_GATES)); }
e2e_gate_open() { touch "$E2E_GATE"; E2E_GATE=; }
E2E_GATES=0

# e2e_client_wait NAME: wait for the client to exit
e2e_client_wait() { wait "${CL_PID[$1]}" 2>/dev/null; }

# served_by NAME [FILE]: the backend whose content the client downloaded
# intact, "none" if the download is missing or matches no backend
served_by() {
	local f=$E2E_TMP/dl/$1/${2:-f.bin} sum b
	[ -s "$f" ] || { echo none; return; }
	sum=$(sha256sum <"$f" | cut -d' ' -f1)
	for b in "${BACKENDS[@]}"; do
		grep -q "^$sum  ${2:-f.bin}\$" "$E2E_TMP/www/$b.sha" && { echo "$b"; return; }
	done
	echo none
}

# qlog_events NAME: the events of the client's qlog (JSON text sequences,
# RFC 7464), one compact JSON object a line; what does not parse is skipped
qlog_events() {
	$PY - "$E2E_TMP/dl/$1.qlog" <<'PY'
import json, sys
for rec in open(sys.argv[1], "rb").read().split(b"\x1e"):
    try:
        print(json.dumps(json.loads(rec)))
    except ValueError:
        continue
PY
}

# qlog_frames NAME: frames of the client's qlog, one "sent|received TYPE" a line
qlog_frames() {
	qlog_events "$1" | $PY -c '
import json, sys
for line in sys.stdin:
    ev = json.loads(line)
    name = ev.get("name", "")
    if not name.startswith("transport:packet_"):
        continue
    d = "sent" if name.endswith("sent") else "received"
    for f in ev.get("data", {}).get("frames", []):
        print(d, f.get("frame_type"))'
}

e2e_dump() {
	[ -n "$E2E_TMP" ] || return 0
	local f
	for f in "$E2E_TMP"/log/*.server "$E2E_TMP"/log/*.cidlbd "$E2E_TMP"/dl/*.out; do
		[ -s "$f" ] || continue
		echo "---- ${f#"$E2E_TMP"/} (last lines)"
		tail -15 "$f"
	done
}

# ---- cidlbd on the cidlb hosts --------------------------------------------------
# e2e_conf LB [pools]: write LB's configuration. QUIC-LB config 0 is
# plaintext (server ID 2, nonce 15), config 1 four-pass AES (server ID 2,
# nonce 8; the CID's last 7 octets are extra); every backend has its server
# ID under both, and the servers' shim picks one. Backends be1, be2
# encapsulated (IPIP/IP6IP6), be3 in direct mode (MAC rewrite on the
# shared segment).
# With "pools": two services, each a pool of its own: "web" (VIP4, VIP6;
# be1, be2 with weight 0: new flows go to be1) and "game" (VIP4B, VIP6B;
# be3), both with plaintext config 0 as above, each backend's server ID
# BE_SID (a test may give be3 be1's: the pools' server IDs never meet),
# all encapsulated.
# E2E_BE_FAMILY=6: the backends' IPv6 addresses, so tunnels are IPv6 outside.
E2E_BE_FAMILY=${E2E_BE_FAMILY:-4}
e2e_conf() {
	local l=$1 pools=${2:-} f=$E2E_TMP/$1.conf b a i q rk='' vips qlbs extra
	mkdir -p "$E2E_TMP/$l"
	if [ -n "$pools" ]; then
		vips=(web4 "$VIP4" web web6 "$VIP6" web game4 "$VIP4B" game game6 "$VIP6B" game)
		qlbs=("web 0" "game 0")
	else
		vips=(web4 "$VIP4" "" web4b "$VIP4B" "" web6 "$VIP6" "" web6b "$VIP6B" "")
		qlbs=(0)
		(umask 077; echo $QLB_KEY >"$E2E_TMP/$l/qlb1.key")
		if [ -n "$E2E_RESET_KEY" ]; then
			(umask 077; echo "$E2E_RESET_KEY" >"$E2E_TMP/$l/reset.key")
			rk="reset_key_file=$E2E_TMP/$l/reset.key"
		fi
	fi
	{
		cat <<-EOC
		; cidlb end-to-end test: $l${pools:+, two pools}
		[daemon]
		pin_dir = /sys/fs/bpf/cidlb
		control_socket = $E2E_TMP/$l/cidlbd.sock
		state_file = $E2E_TMP/$l/state.json
		metrics = off
		bpf_object = $BUILD/cidlb.bpf.o
		log_level = info
		quarantine = 600
		[lb]
		interfaces = eth0
		attach_mode = native
		source4 = ${LB_ADDR4[$l]}
		source6 = ${LB_ADDR6[$l]}
		seed = $SEED
		EOC
		[ -n "$pools" ] && printf '[pool web]\n[pool game]\n'
		for ((i = 0; i < ${#vips[@]}; i += 3)); do
			conf_section "vip ${vips[i]}" "address=${vips[i + 1]}" "port=$PORT" \
				"${vips[i + 2]:+pool=${vips[i + 2]}}"
		done
		for q in "${qlbs[@]}"; do
			conf_section "quic-lb $q" "server_id_len=$QLB_SID_LEN" nonce_len=15 \
				len_self_encode=yes "$rk"
		done
		[ -n "$pools" ] ||
			conf_section "quic-lb 1" "server_id_len=$QLB_SID_LEN" nonce_len=8 \
				len_self_encode=yes "key_file=$E2E_TMP/$l/qlb1.key" "$rk"
		for b in "${BACKENDS[@]}"; do
			a=${BE_ADDR4[$b]}
			[ "$E2E_BE_FAMILY" = 6 ] && a=${BE_ADDR6[$b]}
			if [ -n "$pools" ]; then
				case $b in
				be3) extra=(pool=game) ;;
				be2) extra=(pool=web weight=0) ;;
				*) extra=(pool=web) ;;
				esac
			else
				extra=("server_id.1=${BE_SID_AES[$b]}")
				[ "$b" = be3 ] && extra+=(mode=direct "mac=$(mac_of "$b" eth0)")
			fi
			conf_section "backend $b" "address=$a" "server_id.0=${BE_SID[$b]}" "${extra[@]}"
		done
	} >"$f"
}

# conf_section NAME [KEY=VALUE...]: a section of a configuration file, an
# empty KEY=VALUE left out
conf_section() {
	local kv
	printf '[%s]\n' "$1"
	shift
	for kv in "$@"; do
		[ -n "$kv" ] && printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
	done
	return 0
}

# lbc LB ARGS...: the cidlb command on cidlb host LB, for its daemon
lbc() { local l=$1; shift; nsx "$l" env CIDLB_CONFIG="$E2E_TMP/$l.conf" "$CIDLB" "$@"; }

# e2e_daemon LB [cidlbd options]: start cidlbd on LB, wait until it serves
declare -A LBD_PID
e2e_daemon() {
	local l=$1; shift
	nsbg "$l" "$CIDLBD" -c "$E2E_TMP/$l.conf" "$@" >>"$E2E_TMP/log/$l.cidlbd" 2>&1
	LBD_PID[$l]=$BG_PID
	wait_for 10 "cidlbd on $l" lbc "$l" status
}

# e2e_lbs: configure and start cidlbd on every cidlb host
e2e_lbs() {
	local l
	for l in "${E2E_LBS[@]}"; do e2e_conf "$l"; e2e_daemon "$l"; done
}

# e2e_up N_LBS CIDMODE FILE_SIZE: the whole topology with servers running
e2e_up() {
	e2e_topology "$1"
	e2e_content "$3"
	local b
	for b in "${BACKENDS[@]}"; do e2e_decap "$b"; done
	e2e_servers "$2"
	e2e_lbs
}

# only_to LB BE: LB sent the connection's packets to BE only. It may have
# sent another backend ICMP errors routed by their flow: a client that
# exits leaves the server's last packets to its kernel, which answers
# port unreachable, and an error about a CID-routed flow (no 4-tuple
# entry) goes where Maglev says. So the others got at most that many.
only_to() {
	local l=$1 b=$2 x n=0 icmp
	for x in "${BACKENDS[@]}"; do
		[ "$x" = "$b" ] || n=$((n + $(be_packets "$l" "$x")))
	done
	icmp=$(lbstat "$l" route_icmp_flow)
	[ "$n" -le "$icmp" ] || { log "$l sent $n packets to other backends than $b ($icmp ICMP errors by flow)"; return 1; }
}

# lbstat LB NAME: a counter of cidlb_counters on LB ("all": summed over LBs)
lbstat() {
	local l n=0 v
	if [ "$1" = all ]; then
		for l in "${E2E_LBS[@]}"; do v=$(lbstat "$l" "$2"); n=$((n + v)); done
		echo $n; return
	fi
	lbc "$1" -j stats | json_get counters "$2"
}

# be_packets LB BE: packets cidlb host LB sent to backend BE ("all": summed)
be_packets() {
	local l n=0 v
	if [ "$1" = all ]; then
		for l in "${E2E_LBS[@]}"; do v=$(be_packets "$l" "$2"); n=$((n + v)); done
		echo $n; return
	fi
	lbc "$1" -j stats | $PY -c '
import json, sys
n = 0
for b in json.load(sys.stdin)["backends"]:
    if b.get("name") == sys.argv[1]:
        n += b["packets"]
print(n)' "$2"
}

# be_snapshot: "be1=N be2=N be3=N" packets sent by all cidlb hosts
be_snapshot() {
	local b out=()
	for b in "${BACKENDS[@]}"; do out+=("$b=$(be_packets all "$b")"); done
	echo "${out[*]}"
}

# ---- one migrating download ------------------------------------------------------
# gtlsclient's --change-local-addr=DELAY timer starts when its handshake
# completes; what the test changes for the migration (the next source
# address, the next port) must be in place before it fires, however slow
# the machine. So the router holds the client's first flight until then
# (e2e_hold ... e2e_release): the client has its first socket but no
# handshake, and it resends its Initial after the release (its PTO,
# about 1 s). And a migration DELAY after the handshake is mid-transfer
# as long as SIZE > RATE * DELAY: the shaper (e2e_shape) lets no more through.

# e2e_hold: the router drops every client packet to the VIPs' port (named
# counter "held") until e2e_release
e2e_hold() {
	nsx rt nft -f - <<-EON || fail "nftables hold on the router"
	table inet e2e_hold {
		counter held { }
		chain pre {
			type filter hook prerouting priority -500;
			iifname "cl" udp dport $PORT counter name held drop
		}
	}
	EON
}
e2e_release() { nsx rt nft delete table inet e2e_hold || fail "releasing the held client"; }
held_some() {
	[ "$(nsx rt nft -j list counter inet e2e_hold held | json_get nftables 1 counter packets)" -gt 0 ]
}

# e2e_migration_start NAME DST NEW_SRC NEW_PORT|- CHANGE_AFTER [gtlsclient
# options]: start a download of f.bin from DST that moves to source
# NEW_SRC and port NEW_PORT (-: any new port) CHANGE_AFTER the handshake
# (--change-local-addr). Returns once the handshake may start, with both
# in place. Sets OLD_TUPLE.
e2e_migration_start() {
	local name=$1 dst=$2 new=$3 port=$4 after=$5; shift 5
	e2e_hold
	e2e_client "$name" "$dst" f.bin --change-local-addr="$after" "$@"
	wait_for 5 "the client's first socket" has_tuple
	wait_for 5 "the client's first Initial (held at the router)" held_some
	OLD_TUPLE=$(cl_tuples | head -1)
	# the old socket keeps its address; the next one takes the new one
	e2e_client_src "$new"
	[ "$port" = - ] || cl_port "$port"
	e2e_release
}

# e2e_migrating_get NAME DST NEW_SRC CHANGE_AFTER [gtlsclient options]: the
# same, any new port
e2e_migrating_get() {
	local name=$1 dst=$2 new=$3 after=$4; shift 4
	e2e_migration_start "$name" "$dst" "$new" - "$after" "$@"
}

# qlog_migrated_at NAME: octets of stream data the client had received when
# it first probed a new path (its first PATH_CHALLENGE sent), then the
# total it received; "none TOTAL" if it never did
qlog_migrated_at() {
	qlog_events "$1" | $PY -c '
import json, sys
got, at = 0, "none"
for line in sys.stdin:
    ev = json.loads(line)
    name = ev.get("name", "")
    frames = ev.get("data", {}).get("frames", [])
    if name == "transport:packet_sent" and at == "none" and \
            any(f.get("frame_type") == "path_challenge" for f in frames):
        at = got
    if name == "transport:packet_received":
        got += sum(f.get("length", 0) for f in frames if f.get("frame_type") == "stream")
print(at, got)'
}

# check_mid_transfer NAME WHAT: fail unless the client probed its new path
# while at least 10 % of the download was still to come; says whether
# that was the harness's timing (a DELAY too long for the shaped rate)
check_mid_transfer() {
	local at total
	read -r at total <<<"$(qlog_migrated_at "$1")"
	[ "$at" = none ] &&
		fail "$2: the client never moved (its timer fired after the download ended: the test's DELAY and rate, not cidlb)"
	log "$2: the client moved at $at of $total octets"
	[ $((total - at)) -gt $((total / 10)) ] ||
		fail "$2: the client moved only at $at of $total octets (the test's DELAY and rate, not cidlb)"
}

# cl_seen: the client tuples the router forwarded upstream ("ADDR PORT ..."),
# to tell which addresses the client really used
cl_seen() { { acct up 4; acct up 6; } | awk '{ printf "%s%s:%s", s, $1, $2; s = " " } END { print "" }'; }

# path_validated NAME: the server challenged the client's new path and the
# client answered (qlog: PATH_CHALLENGE received, PATH_RESPONSE sent)
path_validated() {
	local f; f=$(qlog_frames "$1")
	grep -q '^received path_challenge$' <<<"$f" && grep -q '^sent path_response$' <<<"$f"
}
has_tuple() { [ -n "$(cl_tuples)" ]; }

# dl_size NAME: octets of f.bin the client has written so far
dl_size() { stat -c %s "$E2E_TMP/dl/$1/${2:-f.bin}" 2>/dev/null || echo 0; }
# dl_at_least NAME OCTETS
dl_at_least() { [ "$(dl_size "$1")" -ge "$2" ]; }

# e2e_nat_rebind ADDR PORT NEWPORT [NEWADDR]: from now on the router
# rewrites the client's source ADDR:PORT to NEWADDR:NEWPORT (NEWADDR
# defaults to ADDR) and the replies back, statelessly before conntrack: a
# NAT rebinding that the client does not see. Named counters rebind_up and
# rebind_down count what it rewrote.
e2e_nat_rebind() {
	local a=$1 p=$2 q=$3 a2=${4:-$1} fam=ip
	case $a in *:*) fam=ip6 ;; esac
	local up="udp sport set $q" down="udp dport set $p"
	[ "$a2" != "$a" ] && up="$fam saddr set $a2 $up" && down="$fam daddr set $a $down"
	nsx rt nft -f - <<-EON || fail "nftables rebinding on the router"
	table inet e2e_nat {
		counter rebind_up { }
		counter rebind_down { }
		chain pre {
			type filter hook prerouting priority -300;
			$fam saddr $a udp sport $p udp dport $PORT counter name rebind_up $up
			$fam daddr $a2 udp dport $q udp sport $PORT counter name rebind_down $down
		}
	}
	EON
}

# nat_counter up|down packets|bytes
nat_counter() {
	nsx rt nft -j list counter inet e2e_nat "rebind_$1" | $PY -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    if "counter" in o:
        print(o["counter"][sys.argv[1]])' "$2"
}

# qlog_server_params NAME PYTHON-EXPR: the expression on p, the transport
# parameters the server sent (its remote transport:parameters_set event in
# the client's qlog), printed; nothing without such an event
qlog_server_params() {
	qlog_events "$1" | $PY -c '
import json, sys
for line in sys.stdin:
    ev = json.loads(line)
    p = ev.get("data", {})
    if ev.get("name") == "transport:parameters_set" and p.get("owner") == "remote":
        print(eval(sys.argv[1]))
        break' "$2"
}

# qlog_server_cids NAME: the CIDs the server gave the client, from its
# qlog: the server's initial_source_connection_id (the DCID of everything
# after the first flight), then those of NEW_CONNECTION_ID frames (and the
# preferred address's, if any)
qlog_server_cids() {
	qlog_events "$1" | $PY -c '
import json, sys
out = []
for line in sys.stdin:
    ev = json.loads(line)
    d = ev.get("data", {})
    if ev.get("name") == "transport:parameters_set" and d.get("owner") == "remote":
        for k in ("initial_source_connection_id", "retry_source_connection_id"):
            if d.get(k):
                out.append(d[k])
        pa = d.get("preferred_address") or {}
        if pa.get("connection_id"):
            out.append(pa["connection_id"])
    elif ev.get("name") == "transport:packet_received":
        for f in d.get("frames", []):
            if f.get("frame_type") == "new_connection_id":
                out.append(f.get("connection_id"))
seen = []
for c in out:
    if c and c not in seen:
        seen.append(c)
print("\n".join(seen))'
}

# cid_backend CID: the backend whose server ID a CID carries (plaintext
# config 0 or encrypted config 1), "none" when it carries none of ours
cid_backend() {
	local out sid b
	# (--config-id: `cid decode --config` reads config 0 unless told; the
	# config ID is the top 3 bits of the CID)
	out=$(lbc lb1 -j cid decode --config "$E2E_TMP/lb1.conf" \
		--config-id $((0x${1:0:2} >> 5)) "$1" 2>/dev/null)
	sid=$(json_get server_id <<<"$out" 2>/dev/null)
	for b in "${BACKENDS[@]}"; do
		[ "$sid" = "${BE_SID[$b]}" ] || [ "$sid" = "${BE_SID_AES[$b]}" ] &&
			{ echo "$b"; return; }
	done
	echo none
}

# client_backend NAME: the backend that issued the client's first server
# CID (none before the handshake)
client_backend() {
	local c
	c=$(qlog_server_cids "$1" 2>/dev/null | sed -n 1p)
	[ -n "$c" ] && cid_backend "$c" || echo none
}

# qlog_handshaken NAME...: each client has the server's transport parameters
qlog_handshaken() {
	local c
	for c in "$@"; do
		grep -q '"owner":"remote"' "$E2E_TMP/dl/$c.qlog" 2>/dev/null || return 1
	done
}

# qlog_reset_gap NAME: ms from the last packet the client sent before a
# stateless reset it accepted (its qlog logs those only) to that reset;
# "none" when it got none
qlog_reset_gap() {
	qlog_events "$1" | $PY -c '
import json, sys
last = None
for line in sys.stdin:
    ev = json.loads(line)
    name, t = ev.get("name", ""), ev.get("time")
    hdr = ev.get("data", {}).get("header", {})
    if name == "transport:packet_sent":
        last = t
    elif name == "transport:packet_received" and hdr.get("packet_type") == "stateless_reset":
        print(round(t - last) if last is not None else "none")
        sys.exit(0)
print("none")'
}

# qlog_backend NAME: the backend named by the server's first CID
qlog_backend() {
	local d; d=$(qlog_server_cids "$1" | sed -n 1p)
	[ -n "$d" ] && cid_backend "$d" || echo none
}

# check_server_cids NAME BACKEND: every CID the server gave client NAME
# (qlog_server_cids: its first one and those of NEW_CONNECTION_ID frames)
# names BACKEND, the backend that served the connection; the first alone
# is not enough: at least one NEW_CONNECTION_ID CID must be there. Sets
# SERVER_CIDS to their number.
check_server_cids() {
	local name=$1 b=$2 c got
	SERVER_CIDS=0
	while read -r c; do
		[ -n "$c" ] || continue
		SERVER_CIDS=$((SERVER_CIDS + 1))
		got=$(cid_backend "$c")
		[ "$got" = "$b" ] || fail "$name: the server's CID $c names $got, but $b served it"
	done < <(qlog_server_cids "$name")
	[ "$SERVER_CIDS" -ge 2 ] ||
		fail "$name: $SERVER_CIDS server CID(s) in the client's qlog, no NEW_CONNECTION_ID"
}

# ecmp_port LB SRC [FROM]: the first client port from FROM (20000) up whose
# 4-tuple SRC:port -> VIP:443 the router sends to cidlb host LB
ecmp_port() {
	local l=$1 src=$2 p=${3:-20000} vip=$VIP4
	case $src in *:*) vip=$VIP6 ;; esac
	for ((; p < ${3:-20000} + 200; p++)); do
		[ "$(e2e_ecmp_pick "$vip" "$src" $p)" = "$l" ] && { echo $p; return; }
	done
	fail "no port from $src hashes to $l"
}

# cl_port PORT: the client's next socket gets exactly this port (the
# kernel picks ephemeral ports from ip_local_port_range)
cl_port() { nsx cl sysctl -qw net.ipv4.ip_local_port_range="$1 $1" || fail "port range $1"; }

# ---- BGP: BIRD on the router and the cidlb hosts (test_14_fleet) -------------------
# The configurations are examples/bird/'s, their documentation addresses
# replaced by the topology's: 192.0.2.N -> 198.18.10.N, 2001:db8::N ->
# fd00:10::N, the VIP ranges -> 198.18.100.0/24 and fd00:100::/64; the
# router's interface is "sw". cidlbd keeps its VIP routes in table 100.
E2E_ANNOUNCE_TABLE=100
declare -A BIRD_PID

# birdc_ HOST ARGS...: birdc for HOST's BIRD
birdc_() { local h=$1; shift; nsx "$h" birdc -s "$E2E_TMP/$h/bird.ctl" "$@"; }

# e2e_bird_conf HOST: HOST's BIRD configuration from examples/bird/
e2e_bird_conf() {
	local h=$1 ex n
	mkdir -p "$E2E_TMP/$h"
	if [ "$h" = rt ]; then
		sed -e 's/192\.0\.2\./198.18.10./g' -e 's/198\.51\.100\.0\/24/198.18.100.0\/24/g' \
			-e 's/2001:db8:100::\/64/fd00:100::\/64/g' -e 's/2001:db8::/fd00:10::/g' \
			-e 's/interface "eth0"/interface "sw"/' \
			"$E2E_REPO/examples/bird/cidlb-router.conf" >"$E2E_TMP/$h.bird"
		# sessions only to the cidlb hosts of this run
		for n in 1 2 3; do
			[[ " ${E2E_LBS[*]} " == *" lb$n "* ]] ||
				sed -i "/^protocol bgp lb${n}_[46] /d" "$E2E_TMP/$h.bird"
		done
		return
	fi
	n=${LB_ADDR4[$h]##*.}
	sed -e "s/192\.0\.2\.11/198.18.10.$n/g" -e "s/2001:db8::11/fd00:10::$n/g" \
		-e 's/192\.0\.2\./198.18.10./g' -e 's/2001:db8::/fd00:10::/g' \
		-e "s/kernel table 100;/kernel table $E2E_ANNOUNCE_TABLE;/" \
		"$E2E_REPO/examples/bird/cidlb-lb.conf" >"$E2E_TMP/$h.bird"
}

# e2e_bird HOST: write HOST's configuration and start BIRD there (in the
# foreground, so that its PID is ours to kill), wait until it answers
e2e_bird() {
	local h=$1
	[ "$h" = rt ] || LB_LL[$h]=$(nsx "$h" ip -6 addr show dev eth0 scope link |
		sed -n 's/.*inet6 \([^/]*\)\/.*/\1/p')
	e2e_bird_conf "$h"
	nsx "$h" bird -p -c "$E2E_TMP/$h.bird" || fail "BIRD configuration of $h"
	nsbg "$h" bird -f -c "$E2E_TMP/$h.bird" -s "$E2E_TMP/$h/bird.ctl" \
		-P "$E2E_TMP/$h/bird.pid" >>"$E2E_TMP/log/$h.bird" 2>&1
	BIRD_PID[$h]=$BG_PID
	wait_for 5 "BIRD on $h" birdc_ "$h" show status
}

# vip_via VIP: the cidlb hosts the router's route to VIP goes through,
# sorted, space separated; "" without a route. (BIRD installs IPv6 routes
# learnt by eBGP via the peer's link-local address: LB_LL, set by e2e_bird.)
declare -A LB_LL
vip_via() {
	local via l out=() fam=-4
	case $1 in *:*) fam=-6 ;; esac
	for via in $(nsx rt ip $fam route show "$1" | sed -n 's/.*via \([^ ]*\) .*/\1/p'); do
		for l in "${E2E_LBS[@]}"; do
			[ "$via" = "${LB_ADDR4[$l]}" ] || [ "$via" = "${LB_ADDR6[$l]}" ] ||
				[ "$via" = "${LB_LL[$l]:-}" ] && out+=("$l")
		done
	done
	printf '%s\n' "${out[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
# vip_via_is VIP WANT: vip_via prints WANT
vip_via_is() { [ "$(vip_via "$1")" = "$2" ]; }

# ms_since T0: milliseconds since T0 (an $EPOCHREALTIME)
ms_since() {
	local now=${EPOCHREALTIME/[.,]/} t0=${1/[.,]/}
	echo $(((now - t0) / 1000))
}

# wait_via_ms VIP WANT LIMIT_S T0: poll the router's route (no sleep in
# between) until it goes through WANT; print the milliseconds since T0,
# or fail after LIMIT_S seconds
wait_via_ms() {
	local end=$((${EPOCHREALTIME/[.,]/} + $3 * 1000000))
	while ! vip_via_is "$1" "$2"; do
		[ "${EPOCHREALTIME/[.,]/}" -ge $end ] &&
			fail "the route to $1 goes through '$(vip_via "$1")', not '$2', after $3 s"
	done
	ms_since "$4"
}
