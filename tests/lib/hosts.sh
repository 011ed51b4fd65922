# tests/lib/hosts.sh - test hosts for the scripted tests: one network
# namespace each, with a holder process that keeps the host's own bpffs
# mounted (`ip netns exec` remounts /sys on every call, which would lose
# the pins). Set PFX before the first host_add (a prefix unique to the run, e.g.
# with $$); call hosts_cleanup from the script's EXIT trap.
#   host_add NAME        namespace $PFX-NAME, lo up, bpffs on /sys/fs/bpf
#   on NAME CMD...       run CMD in the host (network and mount namespace)
#   hosts_require FILE...  exit unless root and every built FILE exists
declare -A HOLDER
HOSTS=()

host_add() { # NAME
	local ns=$PFX-$1 i
	ip netns add "$ns" || exit 1
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sh -c 'mount -t bpf bpf /sys/fs/bpf && exec sleep 1000000' &
	HOLDER[$1]=$!
	HOSTS+=("$1")
	for i in $(seq 50); do
		nsenter -t "${HOLDER[$1]}" -m -n mountpoint -q /sys/fs/bpf 2>/dev/null && return 0
		sleep 0.1
	done
	echo "host $1: bpffs not mounted"; exit 1
}

hosts_require() { # FILE...
	local f
	for f in "$@"; do
		[ -e "$f" ] || { echo "missing $f: run make"; exit 1; }
	done
	[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, XDP)"; exit 1; }
}

on() { # HOST CMD...
	local h=$1; shift
	nsenter -t "${HOLDER[$h]}" -m -n -- "$@"
}

hosts_cleanup() {
	local h
	for h in "${HOSTS[@]}"; do
		kill "${HOLDER[$h]}" 2>/dev/null
		ip netns del "$PFX-$h" 2>/dev/null
	done
}
