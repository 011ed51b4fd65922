#!/bin/bash
# test_qlb_rules.sh - QUIC-LB rules cidlbd enforces beyond the file check:
#  1. [lb] seed: without one in the file cidlbd draws a random seed at the
#     first start, keeps it in the state file across plain stops, starts
#     and reloads; another state file draws another; seed = N wins; status
#     says where it comes from (never the value).
#  2. separate server-ID allocations for plaintext and encrypted configs,
#     on the control socket (backend.add) as in the file.
#  3. a reload that changes the key of a config that decoded packets
#     within quarantine seconds is refused with the rotation procedure; the
#     same change is applied once the config has been quiet that long, and
#     at once for a config that never decoded anything.
source "$(dirname "$0")/lib.sh"

net_setup
jseed() { # the seed in the state file (none: 0)
	jget 'd.get("seed", 0)' <"$T/state.json"
}
gseed() { # hash_seed the data path uses
	on lb bpftool -j map dump pinned "$PIN/cidlb_global" |
		jget 'd[0]["formatted"]["value"]["hash_seed"]'
}
status_seed() {
	lbc -j status | jget 'd["seed"]'
}

# --- 1. the seed ----------------------------------------------------------------
write_conf 1 2
sed -i '/^seed = /d' "$T/cidlb.conf"
start_daemon
s1=$(jseed)
[ "$s1" != 0 ] && ok || bad "no seed in the state file: $(cat "$T/state.json")"
eq "the data path uses it" "$s1" "$(gseed)"
eq "status: its origin" "random (state file)" "$(status_seed)"
lbc status >"$T/out"
grep_in "status text: its origin" "^seed  *random (state file)" "$T/out"
grep -q "$s1" "$T/out" && bad "status prints the seed's value: $(cat "$T/out")" || ok
expect_rc "reload without a seed" 0 lbc daemon reload
eq "a reload keeps it" "$s1 $s1" "$(jseed) $(gseed)"
stop_daemon
eq "a plain stop keeps it in the state file" "$s1" "$(jseed)"
start_daemon
eq "the next start reuses it" "$s1 $s1" "$(jseed) $(gseed)"
# a kept program and a state file of an older cidlbd (no seed): the map's stays
stop_daemon --keep
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("seed"); json.dump(d, open(sys.argv[1], "w"))' "$T/state.json"
start_daemon
eq "adopted, older state file: the seed in use stays" "$s1 $s1 True" "$(jseed) $(gseed) $(lbc -j status | jget 'd["adopted"]')"
stop_daemon
# another host (state file): another seed
sed -i "s|^state_file = .*|state_file = $T/state2.json|" "$T/cidlb.conf"
start_daemon
s2=$(jget 'd.get("seed", 0)' <"$T/state2.json")
[ "$s2" != 0 ] && [ "$s2" != "$s1" ] && ok || bad "another state file, another seed: $s1 and $s2"
eq "the data path uses that one" "$s2" "$(gseed)"
stop_daemon
# the file's seed wins
sed -i "s|^state_file = .*|state_file = $T/state.json|; s|^source4 = .*|&\nseed = 0x5eed|" "$T/cidlb.conf"
start_daemon
eq "seed = 0x5eed wins" "$((0x5eed)) config" "$(gseed) $(status_seed)"
eq "the drawn one stays in the state file for later" "$s1" "$(jseed)"
stop_daemon

# --- 2. and 3.: a plaintext config 0, encrypted configs 1 and 2 --------------------
printf '00112233445566778899aabbccddeeff\n' >"$T/k1"
printf '0f0e0d0c0b0a09080706050403020100\n' >"$T/k2"
chmod 600 "$T/k1" "$T/k2"
QUARANTINE=4 write_conf 1 2
cat >>"$T/cidlb.conf" <<EOF

[quic-lb 1]
server_id_len = 2
nonce_len = 14
key_file = $T/k1

[quic-lb 2]
server_id_len = 2
nonce_len = 8
key_file = $T/k2
EOF
sed -i '/^\[backend b1\]/a server_id.1 = 0101' "$T/cidlb.conf"
start_daemon

expect_rc "backend.add: an encrypted server ID that is b2's plaintext one" 3 \
	lbc backend add b3 --address 198.18.3.2 --server-id 1:0002
grep_in "the refusal says why" "backend.add b3: server_id.1: 0002 clashes with server_id.0 of \[backend b2\] (line [0-9]*) under plaintext config 0, and config 1 is encrypted: QUIC-LB requires separate server-ID allocations" "$T/err"
expect_rc "backend.add: a plaintext server ID that is b1's encrypted one" 3 \
	lbc backend add b3 --address 198.18.3.2 --server-id 0:0101
grep_in "the other way round" "server_id.0: 0101 clashes with server_id.1 of \[backend b1\]" "$T/err"
eq "neither added" "['b1', 'b2']" "$(lbc -j backend list | jget '[b["name"] for b in d]')"
expect_rc "backend.add: disjoint server IDs" 0 lbc backend add b3 --address 198.18.3.2 --server-id 1:0303

# packets under config 1 for b1
cid=$(lbc -j cid encode --config "$T/cidlb.conf" --config-id 1 --server-id 0101 \
	--nonce 0102030405060708090a0b0c0d0e | jget 'd["cid"]')
before=$(decap_v4 s1)
send --flow "$cid@47011" --count 20 >/dev/null
wait_eq "config 1 decodes to b1" $((before + 20)) decap_v4 s1

# config 2 never decoded anything: its key may change at once
printf '202122232425262728292a2b2c2d2e2f\n' >"$T/k2"
expect_rc "reload: a new key for a config without traffic" 0 lbc daemon reload
# config 1 is live: refused
cp "$T/k1" "$T/k1.old"
printf 'ffeeddccbbaa99887766554433221100\n' >"$T/k1"
expect_rc "reload: a new key for a live config" 3 lbc daemon reload
grep_in "the refusal names the config and the change" "\[quic-lb 1\]: this file changes its key (another key_file content) in place, but config 1 decoded packets [0-9]* s ago" "$T/err"
grep_in "... and the rotation procedure" "Rotate instead: add the new key under a new config ID, let the backends issue CIDs under it (both configs live), and remove config 1 once its connections moved" "$T/err"
before=$(decap_v4 s1)
send --flow "$cid@47011" --count 10 >/dev/null
wait_eq "the old key still decodes" $((before + 10)) decap_v4 s1
# quiet for quarantine (4 s): the same reload is applied
t0=$SECONDS
for i in $(seq 60); do
	lbc daemon reload >/dev/null 2>&1 && break
	sleep 0.5
done
eq "applied once config 1 was quiet" "True" "$(lbc -j status | jget 'd["last_reload"]["ok"]')"
[ $((SECONDS - t0)) -ge 2 ] && ok || bad "applied after $((SECONDS - t0)) s, before the quarantine"
stop_daemon
finish
