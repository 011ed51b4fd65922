#!/bin/bash
# test_soak.sh - soak test: thousands of simulated QUIC clients through
# cidlb on veth while the control plane churns, every packet judged at the
# backend that received it. tests/soak/README.md explains the method and
# holds the latest long-run figures; `make soak` runs the long version.
#
#   SOAK_SECONDS=30 (default; make soak: 300) SOAK_SEED=1 SOAK_RATE=15000
#
# Topology (addresses from 198.18.0.0/15 only, names with this run's $$):
#
#   cl: c0 198.18.0.2 ---- l0 198.18.0.1 :lb (cidlbd, XDP on l0)
#                          lN 198.18.N.1 ---- sN 198.18.N.2 :srv (decap), N = 1..6
#
# soak.py drives everything from the cl host: a sender thread (short
# headers with routable CIDs, migrations, long-header Initials with
# unroutable DCIDs), a churn loop (backend add/drain/activate/weight/
# remove, CID retire, reloads, a QUIC-LB config rotation 0 <-> 1), and
# samples (daemon RSS and fds, map entry counts, quarantine list); a
# receiver on the srv host captures (AF_PACKET, after the decap program)
# which backend got which packet. The verdict compares each packet with
# the set of backends the churn allowed at its send time.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PY=/usr/bin/python3	# Debian's, not a pyenv shim
SOAK=$ROOT/tests/soak/soak.py
SLOTS=6
source "$ROOT/tests/lib/hosts.sh"
hosts_require "$BUILD/cidlbd" "$BUILD/cidlb" "$BUILD/cidlb.bpf.o" "$BUILD/cidlb_decap.bpf.o"

T=$(mktemp -d /tmp/cidlb-soak.XXXXXX)
PFX=csk$$
PIN=/sys/fs/bpf/cidlb-soak-$$
DAEMON_PID=
RECV_PID=

cleanup() {
	local h
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
	[ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null
	# unpin the decap programs; the rest lives in the hosts' own bpffs,
	# gone with their holders
	if [ -n "${HOLDER[srv]:-}" ]; then
		for i in $(seq $SLOTS); do on srv "$BUILD/cidlb" decap detach "s$i" >/dev/null 2>&1; done
	fi
	hosts_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

lbc() {
	on lb env CIDLB_SOCKET="$T/ctl.sock" CIDLB_PIN_DIR="$PIN" CIDLB_STATE_FILE="$T/state.json" \
		CIDLB_CONFIG=/nonexistent "$BUILD/cidlb" "$@"
}

# ---- topology -------------------------------------------------------------
host_add cl; host_add lb; host_add srv
ip link add c0 netns "$PFX-cl" type veth peer name l0 netns "$PFX-lb" || exit 1
on cl ip link set c0 up
on cl ip addr add 198.18.0.2/24 dev c0
on lb ip link set l0 up
on lb ip addr add 198.18.0.1/24 dev l0
for i in $(seq $SLOTS); do
	ip link add "l$i" netns "$PFX-lb" type veth peer name "s$i" netns "$PFX-srv" || exit 1
	on lb ip link set "l$i" up
	on srv ip link set "s$i" up
	on lb ip addr add "198.18.$i.1/24" dev "l$i"
	on srv ip addr add "198.18.$i.2/24" dev "s$i"
	on lb ip neigh replace "198.18.$i.2" lladdr "$(on srv cat /sys/class/net/s$i/address)" \
		dev "l$i" nud permanent
	# strips the tunnel; also the XDP program a redirect target's peer needs
	on srv "$BUILD/cidlb" decap attach "s$i" --source 198.18.0.1 --local "198.18.$i.2" \
		--vip 198.18.100.1:443 --mode native >/dev/null || exit 1
done
L0_MAC=$(on lb cat /sys/class/net/l0/address)

COMMON=(--tmp "$T" --pin "$PIN" --build "$BUILD" --slots $SLOTS
	--seed "${SOAK_SEED:-1}" --quarantine 4 --retire-ttl 3)
$PY "$SOAK" conf "${COMMON[@]}" >"$T/cidlb.conf" || exit 1

# ---- daemon and receiver ------------------------------------------------------
nsenter -t "${HOLDER[lb]}" -m -n -- "$BUILD/cidlbd" -c "$T/cidlb.conf" >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
daemon_gone() { ! kill -0 "$DAEMON_PID" 2>/dev/null; }
poll 30 eval 'lbc status || daemon_gone'
lbc status >/dev/null 2>&1 || { echo "cidlbd did not start:"; cat "$T/daemon.log"; exit 1; }

nsenter -t "${HOLDER[srv]}" -m -n -- $PY "$SOAK" recv "${COMMON[@]}" &
RECV_PID=$!
poll 30 test -e "$T/recv.ready" || { echo "receiver did not start within 30 s"; exit 1; }

# ---- the run: traffic + churn + samples, then the verdict --------------------
on cl $PY "$SOAK" run "${COMMON[@]}" --iface c0 --dst-mac "$L0_MAC" \
	--lb-holder "${HOLDER[lb]}" --srv-holder "${HOLDER[srv]}" --daemon-pid "$DAEMON_PID" \
	--recv-pid "$RECV_PID" --duration "${SOAK_SECONDS:-30}" --rate "${SOAK_RATE:-15000}" \
	--conns "${SOAK_CONNS:-2000}" --flows "${SOAK_FLOWS:-600}"
rc=$?
touch "$T/recv.stop"	# also when soak.py run failed before it said so
wait "$RECV_PID" 2>/dev/null; RECV_PID=
kill -0 "$DAEMON_PID" 2>/dev/null || { echo "FAIL: cidlbd died during the run"; rc=1; }
if [ $rc != 0 ]; then
	echo "--- daemon log (tail)"; tail -30 "$T/daemon.log"
	exit 1
fi
# a plain stop unpins everything it pinned
lbc daemon stop >/dev/null
poll 30 daemon_gone || { echo "FAIL: cidlbd did not stop within 30 s"; exit 1; }
DAEMON_PID=
if on lb ls "$PIN" >/dev/null 2>&1; then echo "FAIL: $PIN still pinned after the stop"; exit 1; fi
exit 0
