# tests/lib/hosts.sh - test hosts for the scripted tests (daemon, soak,
# e2e): one network namespace each, with a holder process that keeps the
# host's own bpffs mounted (`ip netns exec` remounts /sys on every call,
# which would lose the pins). Set PFX before the first host_add (a prefix
# unique to the run, e.g. with $$); call hosts_cleanup from the script's
# EXIT trap (or kill HOLDER[...] and delete the namespaces yourself).
#   host_add NAME          namespace $PFX-NAME, lo up, bpffs on /sys/fs/bpf
#   on NAME CMD...         run CMD in the host (network and mount namespace)
#   hosts_require FILE...  exit unless every built FILE exists; skip (exit
#                          77, see tests/run) unless root
#   poll SECONDS CMD...    wait for CMD to succeed (see below)
declare -A HOLDER
HOSTS=()

# poll SECONDS CMD...: run CMD (its output hidden) every 0.1 s until it
# succeeds: 0; 1 when SECONDS (wall clock) pass first. Every wait of a
# test for something to happen goes through here, with a generous bound:
# on a quiet machine it returns at once, on a loaded one it still passes.
poll() {
	local end=$((${EPOCHREALTIME//[.,]/} + $1 * 1000000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "${EPOCHREALTIME//[.,]/}" -ge $end ] && return 1
		sleep 0.1
	done
}

# the holder is ready once it sleeps: the shell execs sleep only after the
# mount succeeded inside the new namespaces (before, nsenter would enter
# the root namespaces and see the host's own bpffs)
holder_ready() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = sleep ]; }

host_add() { # NAME
	local ns=$PFX-$1
	ip netns add "$ns" || { echo "ip netns add $ns failed"; exit 1; }
	HOSTS+=("$1")
	ip netns exec "$ns" sh -c 'mount -t bpf bpf /sys/fs/bpf && exec sleep 1000000' &
	HOLDER[$1]=$!
	poll 30 holder_ready "${HOLDER[$1]}" || { echo "host $1: bpffs not mounted after 30 s"; exit 1; }
	on "$1" ip link set lo up
}

hosts_require() { # FILE...
	local f
	for f in "$@"; do
		[ -e "$f" ] || { echo "missing $f: run make"; exit 1; }
	done
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces, XDP)"; exit 77; }
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
