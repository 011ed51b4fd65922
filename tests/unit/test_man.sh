#!/bin/bash
# test_man.sh - the manual pages (docs/man/*.scd, built by `make man`)
# describe the commands as they are: every object, verb and option of
# `cidlb OBJECT help` is in cidlb(8), every option of `cidlbd --help` in
# cidlbd(8), every key of `cidlb -j config keys` in cidlb.conf(5), and
# man(1) renders each page without a warning. Touches no map and no
# network.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CIDLB=$BUILD/cidlb
CIDLBD=$BUILD/cidlbd
M=$BUILD/man
for f in "$CIDLB" "$CIDLBD" "$M/cidlb.8" "$M/cidlbd.8" "$M/cidlb.conf.5"; do
	[ -e "$f" ] || { echo "missing $f: run make man (needs scdoc: tools/install-deps)"; exit 1; }
done
command -v man >/dev/null || { echo "SKIP: man(1) is not installed"; exit 77; }
T=$(mktemp -d /tmp/cidlb-man.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0; checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }

# each page as text, one long line per paragraph (no wrapping, no
# hyphenation), and what man/groff says about it
for p in cidlb.8 cidlbd.8 cidlb.conf.5; do
	MANWIDTH=2000 MAN_KEEP_FORMATTING= man --warnings -l "$M/$p" 2>"$T/$p.warn" |
		col -b > "$T/$p.txt"
	if [ -s "$T/$p.warn" ] || [ ! -s "$T/$p.txt" ]; then
		bad "$p: man -l: $(head -3 "$T/$p.warn")"
	else
		ok
	fi
done

has() { # PAGE TEXT: a fixed string of the rendered page
	if grep -qF -- "$2" "$T/$1.txt"; then ok; else bad "$1 does not mention '$2'"; fi
}

# the check itself can fail
if grep -qF -- "--no-such-option" "$T/cidlb.8.txt"; then bad "grep finds anything"; else ok; fi

# cidlb: the objects of `cidlb help`, the verbs and options of each
# object's usage
"$CIDLB" help > "$T/help"
objects=$(awk '/^Objects:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' \
	"$T/help")
[ "$(echo $objects | wc -w)" -ge 8 ] && ok || bad "cidlb help lists objects: '$objects'"
for o in -j --json -d --debug -h --help; do
	grep -q -- " $o" "$T/help" && has cidlb.8 "$o"
done
for obj in $objects; do
	"$CIDLB" "$obj" help > "$T/$obj.help" || { bad "cidlb $obj help fails"; continue; }
	has cidlb.8 "$obj"
	# "cidlb [-j] OBJECT VERB": every verb of the usage lines
	for verb in $(sed -n "s/^.*cidlb \(\[-j\] \)\{0,1\}$obj \([a-z][a-z]*\).*/\2/p" \
			"$T/$obj.help" | sort -u); do
		[ "$verb" = help ] && continue
		has cidlb.8 "$obj $verb"
	done
	for opt in $(grep -o -- '--[a-z][a-z-]*' "$T/$obj.help" | sort -u); do
		has cidlb.8 "$opt"
	done
done
has cidlb.8 "CIDLB_CONFIG"
for v in $(grep -o 'CIDLB_[A-Z_]*' "$T/help" | sort -u); do
	has cidlb.8 "$v"
done

# cidlbd: every option of its usage
"$CIDLBD" --help > "$T/cidlbd.help"
n=0
for opt in $(grep -o -- '--[a-z][a-z-]*' "$T/cidlbd.help" | sort -u); do
	has cidlbd.8 "$opt"; n=$((n + 1))
done
[ $n -ge 7 ] && ok || bad "cidlbd --help lists $n options"
has cidlbd.8 SIGHUP

# cidlb.conf: every key, under its section's heading, with its default
"$CIDLB" -j config keys | python3 -c '
import json, sys
for k in json.load(sys.stdin)["keys"]:
    print("[%s]\t%s\t%s" % (k["section"], k["key"], k["default"] or ""))
' > "$T/keys"
[ "$(wc -l < "$T/keys")" -ge 30 ] && ok || bad "cidlb -j config keys: $(wc -l < "$T/keys") keys"
while IFS=$'\t' read -r sec key def; do
	# the key's line in its section: from the heading to the next one
	line=$(awk -v s="$sec" -v k="$key" '
		$0 ~ /^   \[/ { cur = $0; sub(/^ +/, "", cur); next }
		cur == s && index($0, "       " k " (") == 1 { print; exit }' "$T/cidlb.conf.5.txt")
	if [ -z "$line" ]; then
		bad "cidlb.conf.5: no key $key under $sec"
	elif [ -n "$def" ] && [[ $line != *"default $def"* ]]; then
		bad "cidlb.conf.5: $sec $key: '$line' does not say default $def"
	else
		ok
	fi
done < "$T/keys"

echo "$checks checks, $fails failed"
[ $fails = 0 ]
