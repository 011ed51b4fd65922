#!/bin/bash
# test_gue.sh - a backend with encap = gue beside an IPIP one, real
# packets through cidlbd to the backends' `cidlb decap`:
#  1. backend list says each one's encapsulation and GUE port (-j and
#     the text table's MODE column)
#  2. b2's packets are UDP to its gue_port 7000: a decap that strips GUE
#     at 6080 (the default) passes them untouched; b1's are stripped
#  3. with --gue-port 7000 on b2's interface, every packet of both
#     backends is stripped, counted exactly; a reload turns b2 to IPIP
#     (a new index) and back, its CID-routed packets arrive all along
#  4. health probes of the GUE backend go through GUE too, and its
#     server's answers make it up; not stripped at 6080, down
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2
printf 'encap = gue\ngue_port = 7000\n' >>"$T/cidlb.conf" # b2: the last section
start_daemon

decap_field() { # DEV FIELD
	on srv "$CIDLB" -j decap stats "$1" | jget "d['$2']"
}
C1=$(cid_of 1 a1a2a3a4a5a6); C2=$(cid_of 2 b1b2b3b4b5b6)

# --- 1. what the daemon says ---------------------------------------------------
eq "backend list: encapsulations" "ipip gue" \
	"$(lbc -j backend list | jget "' '.join(b['encap'] for b in d)")"
eq "backend list: b2's GUE port" 7000 \
	"$(lbc -j backend list | jget "[b['gue_port'] for b in d if b['name'] == 'b2'][0]")"
# the text table: MODE is the forwarding mode, the encapsulation and a GUE
# port other than 6080
expect_rc "backend list (text)" 0 lbc backend list
grep_in "text: MODE column" "^NAME .* MODE  *SERVER IDS " "$T/out"
grep_in "text: b1 IPIP" "^b1 .* encap-fib/ipip  *0:0001 " "$T/out"
grep_in "text: b2 GUE to 7000" "^b2 .* encap-fib/gue:7000  *0:0002 " "$T/out"
# GUE to the default port, to a configured next-hop MAC: no port shown
expect_rc "backend add b3 (GUE, MAC)" 0 lbc backend add b3 --address 198.18.3.2 \
	--server-id 0:0003 --encap gue --mac "$(mac_of srv s3)"
expect_rc "backend list (text) with b3" 0 lbc backend list
grep_in "text: b3 GUE at 6080 by MAC" "^b3 .* encap-mac/gue  *0:0003 " "$T/out"
expect_rc "backend remove b3" 0 lbc backend remove b3

# --- 2. GUE to 7000 where the decap strips GUE at 6080 only ---------------------
s1=$(decap_v4 s1); s2=$(decap_v4 s2); p2=$(decap_field s2 pass_not_tunnel)
send --flow "$C1@41001" --flow "$C2@41002" --count 20 >/dev/null
wait_eq "b1: IPIP, stripped" 20 decap_since s1 "$s1"
poll 20 prints_above $((p2 + 19)) decap_field s2 pass_not_tunnel ||
	bad "b2's packets pass s2's decap untouched: pass_not_tunnel $p2 -> $(decap_field s2 pass_not_tunnel)"
ok
eq "b2: not stripped at 6080" 0 "$(decap_since s2 "$s2")"

# --- 3. the decap on b2's interface strips GUE at 7000 --------------------------
expect_rc "decap detach s2" 0 on srv "$CIDLB" decap detach s2
expect_rc "decap attach s2 --gue-port 7000" 0 on srv "$CIDLB" decap attach s2 \
	--source 198.18.0.1 --local 198.18.2.2 --vip 198.18.100.1:443 --gue-port 7000 --mode native
grep_in "attach says the GUE port" "GUE port 7000" "$T/out"
s1=$(decap_v4 s1); s2=$(decap_v4 s2)
send --flow "$C1@41001" --flow "$C2@41002" --count 30 >/dev/null
wait_eq "b1: IPIP, stripped" 30 decap_since s1 "$s1"
wait_eq "b2: GUE, stripped" 30 decap_since s2 "$s2"
eq "decap of s2: nothing malformed" 0 "$(decap_field s2 drop_malformed)"

# --- 3b. a reload turns b2 to IPIP and back to GUE: its CIDs keep reaching it ----
idx() { lbc -j backend list | jget "[b['index'] for b in d if b['name'] == 'b2'][0]"; }
i0=$(idx)
sed -i 's/^encap = gue$/encap = ipip/' "$T/cidlb.conf"
expect_rc "reload: b2 to IPIP" 0 lbc daemon reload
eq "b2 says ipip" ipip "$(lbc -j backend list | jget "[b['encap'] for b in d if b['name'] == 'b2'][0]")"
expect_rc "backend list (text) after the reload" 0 lbc backend list
grep_in "text: b2 IPIP now" "^b2 .* encap-fib/ipip  *0:0002 " "$T/out"
[ "$(idx)" != "$i0" ] && ok || bad "b2 got a new index for its new encapsulation: $(idx)"
s2=$(decap_v4 s2)
send --flow "$C2@41002" --count 10 >/dev/null
wait_eq "b2 over IPIP: stripped" 10 decap_since s2 "$s2"
sed -i 's/^encap = ipip$/encap = gue/' "$T/cidlb.conf"
expect_rc "reload: b2 to GUE" 0 lbc daemon reload
s2=$(decap_v4 s2)
send --flow "$C2@41002" --count 10 >/dev/null
wait_eq "b2 over GUE again: stripped" 10 decap_since s2 "$s2"

# --- 4. health probes through GUE ------------------------------------------------
# the VIP on srv, where the decapsulated probes go, and the way back
on srv ip addr add 198.18.100.1/32 dev lo
on srv ip route add 198.18.0.0/24 via 198.18.1.1
on srv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
	net.ipv4.conf.s1.rp_filter=0 net.ipv4.conf.s2.rp_filter=0
mkdir -p "$T/hr"
echo up >"$T/hr/s1"; echo up >"$T/hr/s2"
on srv /usr/bin/python3 "$ROOT/tests/daemon/health_responder.py" "$T/hr" 198.18.100.1 443 \
	>"$T/responder.log" 2>&1 &
stop_responders() { pkill -f -- "health_responder.py $T/hr" 2>/dev/null; }
trap 'stop_responders; cleanup' EXIT
sed -i 's/^seed = 0x5eed$/&\nhealth = on/' "$T/cidlb.conf"
expect_rc "reload with health = on" 0 lbc daemon reload
health() { lbc -j backend list | jget "' '.join(b['health'] for b in d)"; }
wait_eq "both backends answer: up" "up up" health
n=$(cat "$T/hr/s2.probes" 2>/dev/null || echo 0)
[ "$n" -ge 1 ] && ok || bad "probes reached b2 through GUE: $n"
# they are GUE to 7000 (IPIP ones would still be stripped): with s2's
# decap back at 6080, b2's server hears nothing and b2 goes down
expect_rc "decap detach s2" 0 on srv "$CIDLB" decap detach s2
expect_rc "decap attach s2 (GUE at 6080)" 0 on srv "$CIDLB" decap attach s2 \
	--source 198.18.0.1 --local 198.18.2.2 --vip 198.18.100.1:443 --mode native
wait_eq "b2's probes are GUE to 7000: down" "up down" health
finish
