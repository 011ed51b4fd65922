#!/bin/bash
# test_completion.sh - bash completion of cidlb (tools/bash-completion/
# cidlb), sourced and called as bash calls it (COMP_WORDS, COMP_CWORD):
# objects and verbs as `cidlb help` lists them, options of a verb and of
# the CONFIG it names, the values of "--mode encap|direct", files,
# interfaces, and the backend names of a running cidlbd (a backend added
# live shows up; with the daemon stopped: none, and nothing on stderr).
source "$(dirname "$0")/lib.sh"
COMPLETION=$ROOT/tools/bash-completion/cidlb

net_setup
write_conf 1 2
start_daemon

# the cidlb being completed: the real one, pointed at the test's daemon
cat >"$T/cidlb" <<EOS
#!/bin/sh
exec nsenter -t ${HOLDER[lb]} -m -n -- env CIDLB_SOCKET=$T/ctl.sock CIDLB_PIN_DIR=$PIN \
	CIDLB_STATE_FILE=$T/state.json CIDLB_CONFIG=/nonexistent $CIDLB "\$@"
EOS
chmod +x "$T/cidlb"

source "$COMPLETION"
[ "$(complete -p cidlb)" = "complete -F _cidlb cidlb" ] && ok || bad "complete -p: $(complete -p cidlb)"

# comp WORD...: the completions (sorted, one line) of the command line
# "cidlb WORD...", the cursor on the last word
comp() {
	COMP_WORDS=("$T/cidlb" "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_cidlb 2>"$T/comp.err"
	[ -s "$T/comp.err" ] && echo "stderr: $(head -c 300 "$T/comp.err")"
	printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' '
}
want() { # WANT WORD...: the completions of WORD... are WANT
	local want=$1; shift
	eq "cidlb $* <TAB>" "$want" "$(comp "$@")"
}

objects=$("$CIDLB" help | awk '/^Objects:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' |
	sort | paste -sd' ')
[ "$(echo $objects | wc -w)" -ge 8 ] && ok || bad "objects of cidlb help: '$objects'"
want "$(printf '%s\n' $objects help | sort | paste -sd' ')" ""
want "backend" ba
want "backend" -j ba
want "--debug --help --json" --
want "activate add drain help list quarantine remove weight" backend ""
want "decode encode help list retire unretire" cid ""
want "drain help reload stop undrain" daemon ""
want "--quiet --timeout" daemon drain --
want "--keep" daemon stop --
want "--file --pool --ttl" cid retire --
# the options of the CONFIG that `cid decode` names, from cid's help
want "--config --config-id" cid decode --conf
want "--nonce --nonce-len" cid encode --server-id-len 2 --non
want "direct encap" backend add web-9 --mode ""
want "gue ipip" backend add web-9 --encap ""
want "" backend add web-9 --gue-port ""
want "--gue-port" decap attach lo --gue
want "auto generic native" decap attach lo --mode ""
want "off on" backend add web-9 --health ""
want "" backend add web-9 --weight ""
want "--packet --pcap" trace --p
want "" status ""
# files and interfaces
mkdir "$T/dir"; : >"$T/dir/one.conf"; : >"$T/dir/one.pcap"
want "$T/dir/one.conf" config check "$T/dir/one.c"
want "$T/dir/one.pcap" trace --pcap "$T/dir/one.p"
want "$T/dir/one.conf" cid decode --config "$T/dir/one.c"
want "$T/dir" decap detach lo --pin-dir "$T/di"
want "lo" decap attach l
# backend names, from the running daemon
want "b1 b2" backend drain ""
want "b2" backend remove b2
expect_rc "add a backend" 0 lbc backend add web-9 --address 198.18.3.2 --server-id 0:0009
want "b1 b2 web-9" backend weight ""
want "web-9" backend activate w
want "" backend drain b1 ""
stop_daemon
want "" backend drain ""
finish
