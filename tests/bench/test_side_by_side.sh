#!/bin/bash
# test_side_by_side.sh - the side-by-side table (tools/bench/side_by_side.sh)
# and its guards, with a stand-in peer whose figures are given. cidlb's
# bench runs for real, shortened (--repeat 1000, one round): every class's
# output is compared octet by octet with its expected frame and its
# counters checked, so a data path that forwards wrongly fails here too.
# Checked: a row with figures for every class and family; a run whose
# floors disagree with the peer's, or exceed --quiet-floor, is "loaded",
# said so above the table, and not written into the docs; bad arguments
# and a peer that leaves out a row are refused.
# test-timeout: 300
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (BPF_PROG_TEST_RUN)"; exit 77; }
[ -x "$BUILD/bench/cidlb-bench" ] || { echo "missing $BUILD/bench/cidlb-bench: run make tests"; exit 1; }
T=$(mktemp -d /tmp/cidlb-sbs.XXXXXX)
trap 'rm -rf "$T"' EXIT
export BENCH_ARGS="--repeat 1000"
SBS=tools/bench/side_by_side.sh
fails=0
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }

# the stand-in: floor $1 ns, harness +1, short header 60, Initial 80;
# "$2" names a row to leave out
cat >"$T/peer.sh" <<'EOF'
for r in "floor: swap|$1" "harness: swap|$(($1 + 1))" "short4: q|60" "short6: q|60" \
	"init4: q|80" "init6: q|80"; do
	[ "${r%%:*}" = "${2:-}" ] || echo "| ${r%%|*} | ${r##*|} (${r##*|}–${r##*|}) |"
done
EOF

docs_sum() { cat docs/benchmark.md README.md | sha256sum; }
before=$(docs_sum)

# 1. a loaded run: the peer's floor is 1000 ns, cidlb's a few; and a
# quiet floor of 1 ns that no real floor is within 1.5x of
$SBS --runs 1 --rounds 1 --peer-name Stand --quiet-floor 1 "bash $T/peer.sh 1000" \
	>"$T/out" 2>"$T/err"
rc=$?
[ $rc = 0 ] || bad "a run without --update-doc exited $rc: $(tail -3 "$T/err")"
grep -q '^\*\*Machine loaded (medians of the runs); floors [0-9]* ns (cidlb) and 1000 ns (Stand), the same program' "$T/out" ||
	bad "the floors' disagreement is not said above the table: $(grep Machine "$T/out")"
grep -q "1.5x over this machine's quiet 1 ns" "$T/out" ||
	bad "a floor over --quiet-floor is not said: $(grep Machine "$T/out")"
for fam in IPv4 IPv6; do
	for row in "short, plaintext CID / short header | $fam | MAC" \
		"short, plaintext CID / short header | $fam | FIB" \
		"short, single-pass, decode cache hit / short header | $fam | MAC" \
		"short, four-pass, decode cache hit / short header | $fam | MAC" \
		"short, single-pass, decode cache miss / short header | $fam | MAC" \
		"short, four-pass, decode cache miss / short header | $fam | MAC" \
		"Initial, LRU hit / Initial, LRU hit | $fam | MAC" \
		"Initial, LRU hit / Initial, LRU hit | $fam | FIB"; do
		# cidlb ns, peer ns, raw ratio, above floor, ratio, harness
		grep -qE "^\| $row \| [0-9]+ \| (60|80) \| [0-9]+\.[0-9]{2} \| [0-9]+ / [0-9]+ \| -?[0-9]+\.[0-9]{2} \| \+[0-9]+ / \+1 \|$" "$T/out" ||
			bad "no row with figures for \"$row\""
	done
done

# 2. --update-doc refuses the loaded run and leaves the docs as they were
$SBS --runs 1 --rounds 1 --peer-name Stand --update-doc "bash $T/peer.sh 1000" \
	>"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] || bad "--update-doc of a loaded run exited $rc, not 1"
grep -q 'a loaded machine flatters cidlb: not written into the docs' "$T/err" ||
	bad "the refusal does not say why: $(tail -2 "$T/err")"
[ "$(docs_sum)" = "$before" ] || {
	bad "docs/benchmark.md or README.md changed"
	git checkout -- docs/benchmark.md README.md
}

# 3. a peer without its IPv6 Initial row, and bad arguments
$SBS --runs 1 --rounds 1 "bash $T/peer.sh 6 init6" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] && grep -q 'no "init6" row in the peer output of run 1' "$T/err" ||
	bad "a peer without an init6 row: exit $rc, $(tail -1 "$T/err")"
for args in "--quiet-floor x" "--runs 0" "--rounds x" "--bogus"; do
	# shellcheck disable=SC2086
	$SBS $args "bash $T/peer.sh 6" >/dev/null 2>"$T/err"
	rc=$?
	[ $rc = 2 ] && grep -q '^usage:' "$T/err" || bad "$args: exit $rc, not a usage error"
done

[ $fails = 0 ] || exit 1
echo "side-by-side table and guards as expected"
