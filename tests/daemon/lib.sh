# lib.sh - shared by tests/daemon/test_*.sh: hosts in network namespaces,
# cidlbd on one of them, assertions that print both sides.
#
# A "host" is a network namespace plus a holder process that mounted its
# own bpffs on /sys/fs/bpf; `on HOST CMD...` runs CMD in both (nsenter),
# so pins survive from one command to the next and never touch the root
# namespace's bpffs. Everything is removed by the EXIT trap.
#
# Topology of net_setup (addresses from 198.18.0.0/15 only):
#
#   cl: c0 198.18.0.2 ---- l0 198.18.0.1 :lb (cidlbd, XDP on l0)
#                          l1 198.18.1.1 ---- s1 198.18.1.2 :srv (decap)
#                          l2 198.18.2.1 ---- s2 198.18.2.2 :srv (decap)
#                          l3 198.18.3.1 ---- s3 198.18.3.2 :srv (decap)
#
# VIP 198.18.100.1:443; QUIC-LB config 0 plaintext, server ID 2 octets,
# nonce 6; backends b1..b3 at 198.18.N.2 with server ID 000N.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
CIDLBD=$ROOT/$BUILD/cidlbd
CIDLB=$ROOT/$BUILD/cidlb
SEND="/usr/bin/python3 $ROOT/tests/daemon/send.py"
source "$ROOT/tests/lib/hosts.sh"
hosts_require "$CIDLBD" "$CIDLB" "$ROOT/$BUILD/cidlb.bpf.o" "$ROOT/$BUILD/cidlb_decap.bpf.o"

T=$(mktemp -d /tmp/cidlbd-test.XXXXXX)
PFX=cdt$$
PIN=/sys/fs/bpf/cidlb-test-$$
DAEMON_PID=
fails=0
checks=0

cleanup() {
	[ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null
	hosts_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mac_of() { # HOST DEV
	on "$1" cat "/sys/class/net/$2/address"
}

# cidlb on the LB host, pointed at the test's daemon
lbc() {
	on lb env CIDLB_SOCKET="$T/ctl.sock" CIDLB_PIN_DIR="$PIN" CIDLB_STATE_FILE="$T/state.json" \
		CIDLB_CONFIG=/nonexistent "$CIDLB" "$@"
}

# ctl_raw: the bytes on stdin to the test daemon's control socket as they
# are, its reply on stdout (tests/lib/ctl_raw.py)
ctl_raw() {
	on lb /usr/bin/python3 "$ROOT/tests/lib/ctl_raw.py" "$T/ctl.sock"
}

net_setup() {
	local i
	host_add cl; host_add lb; host_add srv
	# no IPv6 on the client: its router solicitations and the like, sent
	# at random moments, would move l0's counters between two readings
	on cl sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
	ip link add c0 netns "$PFX-cl" type veth peer name l0 netns "$PFX-lb" || exit 1
	for i in 1 2 3; do
		ip link add "l$i" netns "$PFX-lb" type veth peer name "s$i" netns "$PFX-srv" || exit 1
	done
	on cl ip link set c0 up
	on cl ip addr add 198.18.0.2/24 dev c0
	on lb ip link set l0 up
	on lb ip addr add 198.18.0.1/24 dev l0
	for i in 1 2 3; do
		on lb ip link set "l$i" up
		on srv ip link set "s$i" up
		on lb ip addr add "198.18.$i.1/24" dev "l$i"
		on srv ip addr add "198.18.$i.2/24" dev "s$i"
		# static next hops, except where the test wants cidlbd to resolve them
		[ -n "${DYNAMIC_NEIGH:-}" ] ||
			on lb ip neigh replace "198.18.$i.2" lladdr "$(mac_of srv "s$i")" dev "l$i" nud permanent
		# the peer of a redirect target needs an XDP program: the decap
		# (EXTRA_VIPS: more VIPs, ADDR:PORT each, that the test's file has)
		local vips=(--vip 198.18.100.1:443) v
		for v in ${EXTRA_VIPS:-}; do vips+=(--vip "$v"); done
		on srv "$CIDLB" decap attach "s$i" --source 198.18.0.1 --local "198.18.$i.2" \
			"${vips[@]}" --mode native >/dev/null || exit 1
	done
	L0_MAC=$(mac_of lb l0)
}

# The configuration: write_conf [EXTRA-BACKEND-SECTIONS...]
write_conf() {
	local f=${CONF:-$T/cidlb.conf}
	cat >"$f" <<-EOF
	; test configuration
	[daemon]
	pin_dir = $PIN
	control_socket = $T/ctl.sock
	state_file = $T/state.json
	metrics = 127.0.0.1:19470
	bpf_object = $ROOT/$BUILD/cidlb.bpf.o
	quarantine = ${QUARANTINE:-3600}
	log_level = debug

	[lb]
	interfaces = l0
	egress_interfaces = l1 l2 l3
	attach_mode = native
	source4 = 198.18.0.1
	seed = 0x5eed

	[vip web]
	address = 198.18.100.1
	port = 443

	[quic-lb 0]
	server_id_len = 2
	nonce_len = 6
	EOF
	for b in "$@"; do
		printf '\n[backend b%s]\naddress = 198.18.%s.2\nserver_id.0 = 000%s\n' "$b" "$b" "$b" >>"$f"
	done
}

start_daemon() { # extra cidlbd args
	# nsenter itself (not a function: that would be a subshell) execs
	# cidlbd, so $! is the daemon's pid
	nsenter -t "${HOLDER[lb]}" -m -n -- env ${DAEMON_ENV:-} "$CIDLBD" -c "$T/cidlb.conf" "$@" \
		>>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	poll 30 daemon_answers_or_died
	lbc status >/dev/null 2>&1 && return 0
	echo "cidlbd did not start (or did not answer within 30 s):"; cat "$T/daemon.log"; exit 1
}
daemon_answers_or_died() { lbc status || daemon_gone; }
daemon_gone() { ! kill -0 "$DAEMON_PID" 2>/dev/null; }

stop_daemon() { # [--keep]: through the control socket, waits for the exit
	lbc daemon stop "$@" >/dev/null
	wait_exit
}

wait_exit() {
	poll 30 daemon_gone || { echo "cidlbd did not exit within 30 s"; exit 1; }
	wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
}

# CID of backend N (config 0, plaintext): 0x08, server ID 000N, nonce
cid_of() { # N NONCE-HEX(12 digits)
	printf '08000%s%s' "$1" "$2"
}

send() { # ARGS for send.py after the interface
	on cl $SEND c0 --dst-mac "$L0_MAC" --src 198.18.0.2 --dst 198.18.100.1 "$@"
}

decap_v4() { # srv device -> packets decapsulated there
	on srv "$CIDLB" -j decap stats "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["decap_v4"])'
}

# ---- streams through the LB, counted where they arrive -----------------------
# stream_flows: FLOWS, send.py's flows of a stream: a CID of each of b1..b3
# and (FALLBACK) 10 flows whose CIDs name no server ID
stream_flows() {
	local i
	FALLBACK=
	for i in $(seq 0 9); do FALLBACK="$FALLBACK --flow e7$(printf '%016x' $i)@$((46000 + i))"; done
	FLOWS="--flow $(cid_of 1 010101010101)@45001 --flow $(cid_of 2 020202020202)@45002"
	FLOWS="$FLOWS --flow $(cid_of 3 030303030303)@45003$FALLBACK"
}
rx3() { echo "$(decap_v4 s1) $(decap_v4 s2) $(decap_v4 s3)"; } # decapsulated on s1, s2, s3
total_rx() { echo $(( $(decap_v4 s1) + $(decap_v4 s2) + $(decap_v4 s3) )); }
rx_at_least() { [ "$(total_rx)" -ge "$1" ]; }
# stream_start: $FLOWS every 300 us until stream_stop (what was sent: $T/sent.json)
stream_start() { rm -f "$T/stop"; send $FLOWS --interval-us 300 --until-file "$T/stop" >"$T/sent.json" & SENDER=$!; }
# stream_stop BASE: stop the stream, wait until all it sent arrived
# (past BASE) or 20 s passed
stream_stop() {
	touch "$T/stop"; wait $SENDER
	poll 20 rx_at_least $(($1 + $(jget 'd["total"]' <"$T/sent.json")))
}
# flowing [N]: N (default 200) more packets arrive (forwarding goes on,
# however slow the machine)
flowing() { poll 20 rx_at_least $(($(total_rx) + ${1:-200})) || bad "forwarding stalled: $(rx3)"; }
# stream_lost WHAT BASE [T0 T1]: stop the stream (stream_stop); every packet
# it sent arrived (past BASE). Says how many (and the daemon's gap, from
# T0 to T1); sets sent and got.
stream_lost() {
	local what=$1 base=$2 gap=
	[ $# -ge 4 ] && gap="daemon gap $(awk -v a="$3" -v b="$4" 'BEGIN { printf "%.2f", b - a }') s, "
	stream_stop "$base"
	sent=$(jget 'd["total"]' <"$T/sent.json")
	got=$(( $(total_rx) - base ))
	echo "$what: $gap$sent packets sent, $got received, $((sent - got)) lost"
	eq "$what: packets lost" 0 $((sent - got))
}

metrics() { # the Prometheus text of the test's daemon
	on lb curl --noproxy '*' -sf http://127.0.0.1:19470/metrics
}

# metric NAME[{LABELS}] -> its value in a scrape on stdin
metric() { awk -v m="$1" '$1 == m { print $2 }'; }

jget() { # PYTHON-EXPR on d (stdin JSON)
	/usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }
eq() { # DESC WANT GOT
	if [ "$2" = "$3" ]; then ok; else bad "$1: want '$2', got '$3'"; fi
}
# wait_eq DESC WANT CMD...: eq once CMD prints WANT, or after WAIT_S
# seconds (default 20) with what it prints then. For packets in flight:
# a counter reaches its value when every packet has been handled.
WAIT_S=${WAIT_S:-20}
wait_eq() {
	local desc=$1 want=$2; shift 2
	poll "$WAIT_S" prints "$want" "$@"
	eq "$desc" "$want" "$OUT"
}
# prints WANT CMD...: CMD prints WANT (what it printed in OUT)
prints() { local want=$1; shift; OUT=$("$@" 2>&1); [ "$OUT" = "$want" ]; }
prints_above() { local n=$1; shift; [ "$("$@")" -gt "$n" ]; }
# decap_since DEV BEFORE: packets decapsulated on srv's DEV since BEFORE
decap_since() { echo $(($(decap_v4 "$1") - $2)); }
# expect_rc DESC RC CMD...
expect_rc() {
	local desc=$1 want=$2 got; shift 2
	"$@" >"$T/out" 2>"$T/err"; got=$?
	if [ "$got" = "$want" ]; then ok; else
		bad "$desc: exit $got, want $want; stdout: $(head -c 400 "$T/out"); stderr: $(head -c 400 "$T/err")"
	fi
}
grep_in() { # DESC PATTERN FILE
	if grep -q -- "$2" "$3"; then ok; else bad "$1: '$2' not in: $(head -c 600 "$3")"; fi
}

finish() {
	if [ $fails -gt 0 ]; then
		echo "--- daemon log"; tail -40 "$T/daemon.log" 2>/dev/null
		echo "$fails of $checks checks failed"; exit 1
	fi
	echo "$checks/$checks checks passed"
	exit 0
}
