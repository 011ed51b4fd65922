#!/bin/bash
# test_reload_attach.sh - a reload or a start that cannot attach to one
# interface (another XDP program holds it) changes nothing: the reply
# names the interface, the program there and what to do; the maps (a
# backend added in the same file), the attached interfaces, their
# forwarding sysctls and `cidlb status` stay as they were; forwarding
# goes on; a plain stop then leaves no program attached and nothing
# pinned. A start that fails the same way leaves nothing behind.
source "$(dirname "$0")/lib.sh"
PASS_OBJ=$ROOT/$BUILD/e2e/xdp_pass.bpf.o
hosts_require "$PASS_OBJ"

net_setup
# l9: an interface another XDP program holds (generic mode)
ip link add l9 netns "$PFX-lb" type veth peer name s9 netns "$PFX-srv" || exit 1
on lb ip link set l9 up
on srv ip link set s9 up
on lb ip link set dev l9 xdpgeneric obj "$PASS_OBJ" sec xdp || exit 1

xdp_on() { # DEV -> "xdp" when a program is attached there, else "-"
	on lb ip link show dev "$1" | grep -q 'prog/xdp' && echo xdp || echo -
}
fwd() { # DEV -> its net.ipv4.conf.DEV.forwarding
	on lb cat "/proc/sys/net/ipv4/conf/$1/forwarding"
}
status_ifs() {
	lbc -j status | jget '[(i["name"], i["attached"]) for i in d["interfaces"]]'
}
backends() {
	lbc -j backend list | jget '[b["name"] for b in d]'
}
set_ifaces() { # LIST: [lb] interfaces of $T/cidlb.conf
	sed -i "s/^interfaces = .*/interfaces = $1/" "$T/cidlb.conf"
}

write_conf 1 2
start_daemon
eq "started on l0" "[('l0', True)]" "$(status_ifs)"
eq "l0 forwards" "1" "$(fwd l0)"
fwd_l1=$(fwd l1)

C1=$(cid_of 1 111111111111)
rm -f "$T/stop"
send --flow "$C1@47001" --interval-us 500 --until-file "$T/stop" >"$T/s.json" &
SENDER=$!
# the connection streams before the first reload
poll 20 prints_above 0 decap_v4 s1 || bad "the stream did not start"

# --- the review's case: l9 first, then the running l0; b3 added ----------------
write_conf 1 2 3
set_ifaces "l9 l0"
expect_rc "reload onto a held interface" 3 lbc daemon reload
grep_in "the reply names the interface and the program" "interface l9: l9 runs another XDP program (xdp_pass, id [0-9]*); detach it first (ip link set dev l9 xdp off)" "$T/err"
grep_in "the reply says nothing changed" "nothing was changed, the running configuration stays" "$T/err"
eq "status: the interfaces as before" "[('l0', True)]" "$(status_ifs)"
eq "b3 of the same file not applied" "['b1', 'b2']" "$(backends)"
eq "status: last reload refused" "False" "$(lbc -j status | jget 'd["last_reload"]["ok"]')"

# --- a new interface attached first, then the held one: the first undone ---------
set_ifaces "l0 l1 l9"
expect_rc "reload: l1 attachable, l9 held" 3 lbc daemon reload
grep_in "the reply names l9" "interface l9: l9 runs another XDP program" "$T/err"
eq "l1 detached again" "-" "$(xdp_on l1)"
eq "l1's forwarding untouched" "$fwd_l1" "$(fwd l1)"
eq "status: still l0 only" "[('l0', True)]" "$(status_ifs)"
eq "still b1, b2" "['b1', 'b2']" "$(backends)"
eq "l0 still forwards" "1" "$(fwd l0)"
eq "l0 still attached" "xdp" "$(xdp_on l0)"

# --- the same file with the held interface left out: applied whole ---------------
set_ifaces "l0 l1"
expect_rc "reload without l9" 0 lbc daemon reload
eq "status: l0 and l1" "[('l0', True), ('l1', True)]" "$(status_ifs)"
eq "b3 now" "['b1', 'b2', 'b3']" "$(backends)"

touch "$T/stop"; wait $SENDER
n=$(jget 'd["total"]' <"$T/s.json")
[ "$n" -gt 300 ] && ok || bad "stream too short: $n"
wait_eq "b1's flow: every packet at b1 through the refused reloads" "$n" decap_v4 s1

# --- a plain stop: nothing of cidlb stays ----------------------------------------
stop_daemon
eq "after stop: l0 detached" "-" "$(xdp_on l0)"
eq "after stop: l1 detached" "-" "$(xdp_on l1)"
eq "after stop: the other program on l9 untouched" "xdp" "$(xdp_on l9)"
eq "after stop: l0's forwarding back off" "0" "$(fwd l0)"
on lb test -e "$PIN" && bad "after stop: $PIN still exists: $(on lb ls "$PIN")" || ok

# --- a start that cannot attach: it exits, nothing stays ----------------------
set_ifaces "l0 l1 l9"
on lb "$CIDLBD" -c "$T/cidlb.conf" >"$T/start.out" 2>&1
eq "start onto a held interface: exit 1" "1" "$?"
grep_in "start: the message names l9 and the program" "interface l9: l9 runs another XDP program (xdp_pass, id [0-9]*); detach it first" "$T/start.out"
grep_in "start: it says nothing stays" "cidlbd does not start, nothing stays attached" "$T/start.out"
eq "failed start: l0 detached" "-" "$(xdp_on l0)"
eq "failed start: l1 detached" "-" "$(xdp_on l1)"
eq "failed start: l0's forwarding off" "0" "$(fwd l0)"
on lb test -e "$PIN/cidlb_main" && bad "failed start: the program is still pinned" || ok

# --- a start that adopts a kept program and cannot attach: the kept one stays ---------
set_ifaces "l0"
start_daemon
stop_daemon --keep
set_ifaces "l0 l1 l9"
on lb "$CIDLBD" -c "$T/cidlb.conf" >"$T/start.out" 2>&1
eq "adopting start onto a held interface: exit 1" "1" "$?"
grep_in "adopting start: the message names l9" "interface l9: l9 runs another XDP program" "$T/start.out"
eq "adopting start: the kept program stays on l0" "xdp" "$(xdp_on l0)"
eq "adopting start: l1 detached again" "-" "$(xdp_on l1)"
eq "adopting start: the state file still lists l0" "['l0']" \
	"$(jget '[i["name"] for i in d["interfaces"]]' <"$T/state.json")"
before=$(decap_v4 s1)
send --flow "$C1@47002" --count 10 >/dev/null
wait_eq "adopting start: forwarding continues" $((before + 10)) decap_v4 s1
on lb "$CIDLBD" -c "$T/cidlb.conf" --cleanup >>"$T/daemon.log" 2>&1
eq "--cleanup: l0 detached" "-" "$(xdp_on l0)"
on lb test -e "$PIN" && bad "--cleanup: $PIN still exists" || ok
finish
