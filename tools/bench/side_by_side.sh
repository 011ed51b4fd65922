#!/bin/bash
# tools/bench/side_by_side.sh - cidlb's benchmark and another load
# balancer's, alternately on one machine, and the ratio table of the two.
#
#   tools/bench/side_by_side.sh [--runs N] [--rounds R] [--peer-name NAME]
#                               [--quiet-floor NS] [--update-doc] 'PEER_CMD'
#   make bench PEER='PEER_CMD' [SIDE_BY_SIDE_ARGS='--runs 3 --rounds 5']
#
# Each run is cidlb's `make bench` without the veth part and the verifier
# statistics (tools/bench/run, R rounds) and PEER_CMD, in alternating
# order (peer first in odd runs);
# the table gives the medians over the runs of each run's medians, the raw
# ratio cidlb / peer and the ratio of the figures above each tool's own
# swap-MACs floor, with each tool's harness cost beside it. BENCH_ARGS
# (e.g. --repeat 100000) is passed on to cidlb's driver.
#
# PEER_CMD (e.g. a Katran restore harness timed with BPF_PROG_TEST_RUN) is
# run with bash -c and must print Markdown table rows whose first cell
# starts with "floor" (swap MACs, XDP_TX, no harness), "harness" (its
# harness around swap MACs), "short4:", "short6:" (a QUIC short header
# routed by its CID, IPv4 / IPv6) and "init4:", "init6:" (an Initial with
# a flow-table hit), the second cell starting with the median in ns. It
# must exit 0 only when its own checks held.
#
# A loaded machine flatters cidlb (docs/benchmark.md, "Side by side"), so
# the swap-MACs floors judge each set of runs by their medians over the
# runs, as the table gives them: it is "loaded" when cidlb's floor is
# above 1.5x the lowest round's in the set, when cidlb's and the peer's
# floors (the same program) differ by more than 1.5x, or, with
# --quiet-floor NS (this machine's floor when quiet), when cidlb's floor
# is above 1.5x NS. A run off the others is named, not counted against
# the set. The verdict and the floors head the table.
#
# --update-doc writes the table into docs/benchmark.md and README.md
# (between the "side-by-side" markers) with date, commit and processor; it
# refuses when bpf/ or include/ differ from the commit ("not publishable"),
# when HEAD moved during the runs, or when the runs were loaded. Needs
# root.
set -u -o pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export BUILD

runs=3
rounds=5
update=
name=peer
quiet=0
usage() {
	echo "usage: $0 [--runs N] [--rounds R] [--peer-name NAME] [--quiet-floor NS] [--update-doc] 'PEER_CMD'" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=${2:?}; shift 2 ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--peer-name) name=${2:?}; shift 2 ;;
	--quiet-floor) quiet=${2:?}; shift 2 ;;
	--update-doc) update=1; shift ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# = 1 ] || usage
peer=$1
case $runs$rounds$quiet in *[!0-9]*) usage ;; esac
[ "$runs" -ge 1 ] && [ "$rounds" -ge 1 ] || usage

publishable() {
	git rev-parse --verify -q HEAD >/dev/null &&
	[ -z "$(git status --porcelain -- bpf include 2>/dev/null)" ]
}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$update" ] && ! publishable; then
	echo "side_by_side: bpf/ or include/ differ from commit $commit: not publishable" \
	     "(commit them, or run without --update-doc)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

run_cidlb() {
	echo "side_by_side: run $1 of $runs: cidlb (tools/bench/run, $rounds rounds)" >&2
	BENCH_NO_LIVE=1 BENCH_NO_INFO=1 BENCH_ARGS="${BENCH_ARGS:-} --rounds $rounds --tsv $tmp/cidlb.$1.tsv" \
		tools/bench/run >"$tmp/cidlb.$1.md" 2>"$tmp/cidlb.$1.err" || {
		cat "$tmp/cidlb.$1.err" >&2
		echo "side_by_side: cidlb's bench failed in run $1 (its checks above)" >&2
		exit 1
	}
}

# Markdown rows of the peer -> "key<TAB>median" lines.
run_peer() {
	echo "side_by_side: run $1 of $runs: $name" >&2
	bash -c "$peer" >"$tmp/peer.$1.md" 2>"$tmp/peer.$1.err" || {
		cat "$tmp/peer.$1.err" "$tmp/peer.$1.md" >&2
		echo "side_by_side: the $name command failed in run $1" >&2
		exit 1
	}
	awk -F'|' '/^\|/ {
		k = $2; sub(/^ +/, "", k); v = $3; sub(/^ +/, "", v); split(v, n, " ")
		if (n[1] !~ /^[0-9.]+$/) next
		if (k ~ /^floor/) print "floor\t" n[1]
		else if (k ~ /^harness/) print "harness\t" n[1]
		else if (match(k, /^(short|init)[46]:/)) print substr(k, 1, RLENGTH - 1) "\t" n[1]
	}' "$tmp/peer.$1.md" >"$tmp/peer.$1.tsv"
	for k in floor harness short4 short6 init4 init6; do
		grep -q "^$k	" "$tmp/peer.$1.tsv" || {
			cat "$tmp/peer.$1.md" >&2
			echo "side_by_side: no \"$k\" row in the $name output of run $1" >&2
			exit 1
		}
	done
}

for ((i = 1; i <= runs; i++)); do
	if ((i % 2)); then
		run_peer $i
		run_cidlb $i
	else
		run_cidlb $i
		run_peer $i
	fi
done
if [ -n "$update" ] && { ! publishable || [ "$(git rev-parse --short HEAD)" != "$commit" ]; }; then
	echo "side_by_side: the tree changed during the runs: not publishable" >&2
	exit 1
fi

# The median of a[1..n] (sorts a), for both awk programs below.
awk_med='function med(a, n,    i, j, t) {
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
'

# Was the machine quiet? Judged on what the table publishes, the medians
# over the runs (IPv4 floors); a single run off the others is named but
# outvoted. The verdict's first word is "steady" or "loaded".
awk -v runs="$runs" -v tmp="$tmp" -v quiet="$quiet" -v name="$name" "$awk_med"'
function apart(x, y) { return x > 1.5 * y || y > 1.5 * x }
BEGIN {
	lo = -1; why = ""; odd = ""
	for (r = 1; r <= runs; r++) {
		f = tmp "/cidlb." r ".tsv"
		while ((getline l < f) > 0) {
			split(l, x, "\t")
			if (x[1] != "10" || x[2] != "floor") continue
			m[r] = x[3] + 0
			if (lo < 0 || x[5] + 0 < lo) lo = x[5] + 0
		}
		f = tmp "/peer." r ".tsv"
		while ((getline l < f) > 0) { split(l, x, "\t"); if (x[1] == "floor") p[r] = x[2] + 0 }
		a[r] = m[r]; b[r] = p[r]
	}
	if (lo <= 0) { print "loaded: no cidlb floor in the runs"; exit }
	md = med(a, runs); pd = med(b, runs)
	if (md > 1.5 * lo)
		why = why sprintf("; cidlb floor %.0f ns, 1.5x over the lowest round (%.0f ns)", md, lo)
	if (apart(md, pd))
		why = why sprintf("; floors %.0f ns (cidlb) and %.0f ns (%s), the same program", md, pd, name)
	if (quiet > 0 && md > 1.5 * quiet)
		why = why sprintf("; floor %.0f ns, 1.5x over this machine'"'"'s quiet %d ns", md, quiet)
	for (r = 1; r <= runs; r++)
		if (m[r] > 1.5 * lo || apart(m[r], p[r]))
			odd = odd sprintf("; run %d off the others (floors %.0f ns cidlb, %.0f ns %s), outvoted by the medians", r, m[r], p[r], name)
	if (why == "")
		printf "steady: swap-MACs floor %.0f ns (median of the runs; lowest round %.0f ns%s)%s\n", md, lo, (quiet > 0 ? sprintf(", quiet %d ns", quiet) : ""), odd
	else
		printf "loaded (medians of the runs)%s%s\n", why, odd
}' >"$tmp/verdict" || exit 1
verdict=$(cat "$tmp/verdict")
echo "side_by_side: $verdict" >&2
if [ -n "$update" ] && [ "${verdict%%[:;]*}" != steady ]; then
	echo "side_by_side: a loaded machine flatters cidlb: not written into the docs" \
	     "(run again when the machine is quiet)" >&2
	update=
	refused=1
fi

# Medians over the runs: cidlb "10" instance ids, IPv4 and IPv6; peer keys.
awk -v runs="$runs" -v name="$name" -v tmp="$tmp" "$awk_med"'
function cm(id, fam,    r, a, n) {
	n = 0
	for (r = 1; r <= runs; r++)
		if ((r SUBSEP id SUBSEP fam) in C)
			a[++n] = C[r, id, fam]
	if (n == 0) return -1
	return med(a, n)
}
function pm(k,    r, a, n) {
	n = 0
	for (r = 1; r <= runs; r++)
		if ((r SUBSEP k) in P)
			a[++n] = P[r, k]
	return med(a, n)
}
# hid: the cidlb harness row the class runs in ("nop", or "nop_rot" for a
# class whose harness writes a new CID into the frame of every iteration)
function row(what, mode, id, fam, pk, hid,    c, p, cf, pf, ch, ph) {
	c = cm(id, fam); p = pm(pk)
	if (c < 0) return
	cf = cm("floor", fam); pf = pm("floor")
	ch = cm(hid, fam) - cf; ph = pm("harness") - pf
	printf "| %s | IPv%d | %s | %.0f | %.0f | %.2f | %.0f / %.0f | %.2f | %+.0f / %+.0f |\n",
		what, fam, mode, c, p, c / p, c - cf, p - pf, (c - cf) / (p - pf), ch, ph
}
BEGIN {
	for (r = 1; r <= runs; r++) {
		f = tmp "/cidlb." r ".tsv"
		while ((getline l < f) > 0) {
			split(l, x, "\t")
			if (x[1] == "10") { C[r, x[2], 4] = x[3]; C[r, x[2], 6] = x[4] }
		}
		f = tmp "/peer." r ".tsv"
		while ((getline l < f) > 0) { split(l, x, "\t"); P[r, x[1]] = x[2] }
	}
	printf "| cidlb class | family | cidlb next hop | cidlb ns | %s ns | raw ratio | above floor (cidlb / %s) | above-floor ratio | harness (cidlb / %s) |\n", name, name, name
	print "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (fam = 4; fam <= 6; fam += 2) {
		s = "short" fam; n = "init" fam
		printf "| floor: swap MACs, XDP_TX (no harness) | IPv%d | | %.0f | %.0f | %.2f | | | %+.0f / %+.0f |\n",
			fam, cm("floor", fam), pm("floor"), cm("floor", fam) / pm("floor"),
			cm("nop", fam) - cm("floor", fam), pm("harness") - pm("floor")
		row("short, plaintext CID / short header", "MAC", "plain", fam, s, "nop")
		row("short, plaintext CID / short header", "FIB", "fib_plain", fam, s, "nop")
		row("short, single-pass, decode cache hit / short header", "MAC", "sp_hit", fam, s, "nop")
		row("short, four-pass, decode cache hit / short header", "MAC", "fp_hit", fam, s, "nop")
		row("short, single-pass, decode cache miss / short header", "MAC", "sp_miss", fam, s, "nop_rot")
		row("short, four-pass, decode cache miss / short header", "MAC", "fp_miss", fam, s, "nop_rot")
		row("Initial, LRU hit / Initial, LRU hit", "MAC", "lru_hit", fam, n, "nop")
		row("Initial, LRU hit / Initial, LRU hit", "FIB", "fib_lru_hit", fam, n, "nop")
	}
}' >"$tmp/table.md" || exit 1

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
{
	echo "$(date -u '+%Y-%m-%d'), commit $commit$(publishable || echo ' with bpf/ or include/ modified: not publishable'), $cpu ($(nproc) CPUs), kernel $(uname -r)."
	if [ "${verdict%%[:;]*}" = steady ]; then
		echo "Machine ${verdict}."
	else
		echo "**Machine ${verdict}: these ratios are not cidlb's speed.**"
	fi
	echo "$runs alternating runs of cidlb's \`make bench\` ($rounds rounds${BENCH_ARGS:+, BENCH_ARGS=$BENCH_ARGS}) and of $name;"
	echo "medians over the runs of each run's medians, ns per packet through"
	echo "\`BPF_PROG_TEST_RUN\`, each tool in its own restore harness (cost in the last column:"
	echo "\"harness + swap MACs\" − floor; for cidlb's decode cache misses the harness that"
	echo "also writes a new CID into every iteration's frame). Ratios: cidlb / $name; \"above floor\": each figure"
	echo "minus its own tool's swap-MACs floor. cidlb with 10 backends; next hop MAC ="
	echo "\`mac =\` configured, FIB = the default mode."
	echo
	cat "$tmp/table.md"
} >"$tmp/section.md"
cat "$tmp/section.md"

# Replace what lies between the markers of a file with the section.
put() {
	local f=$1 begin='<!-- side-by-side:begin -->' end='<!-- side-by-side:end -->'

	grep -qF "$begin" "$f" && grep -qF "$end" "$f" || {
		echo "side_by_side: $f has no side-by-side markers" >&2
		return 1
	}
	awk -v b="$begin" -v e="$end" -v sec="$tmp/section.md" '
		$0 == b { print; while ((getline l < sec) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip' "$f" >"$tmp/put" && cat "$tmp/put" >"$f"
}
if [ -n "$update" ]; then
	put docs/benchmark.md && put README.md || exit 1
	echo "side_by_side: written into docs/benchmark.md and README.md" >&2
fi
[ -z "${refused:-}" ] || exit 1
