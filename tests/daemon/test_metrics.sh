#!/bin/bash
# test_metrics.sh - the Prometheus scrape: well-formed text (HELP and TYPE
# for every family, one sample per line), every data-path counter equal to
# `cidlb stats` (summed over CPUs), per-backend packets and bytes exact for
# the traffic sent, daemon state (backends by state, retired CIDs,
# reloads), only GET /metrics served.
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2
start_daemon

send --flow "$(cid_of 1 0a0a0a0a0a0a)@49001" --count 7 >/dev/null
send --flow "$(cid_of 2 0b0b0b0b0b0b)@49002" --count 3 >/dev/null
on cl $SEND c0 --dst-mac "$L0_MAC" --src 198.18.0.2 --dst 198.18.100.9 --flow "$(cid_of 1 0c0c0c0c0c0c)@49003" --count 4 >/dev/null
# every packet handled: 10 to backends, 4 passed (not a VIP)
routed() { lbc -j stats | jget 'd["counters"]["route_cid"], d["counters"]["pass_not_vip"]'; }
poll 20 prints "10 4" routed
expect_rc "drain b2" 0 lbc backend drain b2
expect_rc "retire one CID" 0 lbc cid retire 0800090102030405060708
# the scrape shows both
shows_both() { metrics | grep -q '^cidlb_retired_cids 1$' && metrics | grep -q '^cidlb_backends{state="draining"} 1$'; }
poll 20 shows_both
metrics >"$T/m.txt"
lbc -j stats >"$T/stats.json"

# format: every sample after its family's HELP and TYPE; names, labels, values
/usr/bin/python3 - "$T/m.txt" "$T/stats.json" >"$T/check.txt" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
stats = json.load(open(sys.argv[2]))
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-z_]+="[^"]*",?)*\})? (-?[0-9]+(\.[0-9]+)?)$')
helped, typed, values, problems = set(), set(), {}, []
for n, line in enumerate(text.splitlines(), 1):
    if line.startswith("# HELP "):
        helped.add(line.split()[2]); continue
    if line.startswith("# TYPE "):
        name, kind = line.split()[2:4]
        typed.add(name)
        if kind not in ("counter", "gauge"): problems.append("line %d: type %s" % (n, kind))
        continue
    m = sample.match(line)
    if not m:
        problems.append("line %d not a sample: %r" % (n, line)); continue
    name = m.group(1)
    if name not in helped or name not in typed:
        problems.append("line %d: %s without HELP/TYPE" % (n, name))
    if not name.startswith("cidlb_"):
        problems.append("line %d: %s lacks the cidlb_ prefix" % (n, name))
    if name.endswith("_total") and name not in typed:
        problems.append(name)
    values[line.rsplit(" ", 1)[0]] = float(m.group(4))
for c, v in stats["counters"].items():
    got = values.get("cidlb_%s_total" % c)
    if got != v:
        problems.append("cidlb_%s_total = %s, cidlb stats says %s" % (c, got, v))
print("problems:", problems)
print("counters:", len(stats["counters"]))
def v(k): return int(values.get(k, -1))
print("b1:", v('cidlb_backend_packets_total{backend="b1"}'), v('cidlb_backend_bytes_total{backend="b1"}'))
print("b2:", v('cidlb_backend_packets_total{backend="b2"}'), v('cidlb_backend_bytes_total{backend="b2"}'))
print("states:", v('cidlb_backends{state="active"}'), v('cidlb_backends{state="draining"}'),
      v('cidlb_backend_up{backend="b2",state="draining"}'))
print("route:", v("cidlb_route_cid_total"), v("cidlb_pass_not_vip_total"), v('cidlb_cid_decodes_total{mode="plaintext"}'))
print("config:", v('cidlb_quic_lb_config{config_id="0",mode="plaintext",server_id_len="2",nonce_len="6",generation="1"}'))
print("daemon:", v("cidlb_retired_cids"), v("cidlb_retired_cids_added_total"), v("cidlb_vips"), v("cidlb_interfaces"),
      v("cidlb_reload_success"), v("cidlb_daemon_adopted"), v("cidlb_backend_weight{backend=\"b1\"}"))
PY
cat "$T/check.txt"
eq "scrape well-formed and equal to cidlb stats" "problems: []" "$(grep '^problems:' "$T/check.txt")"
# as many as the loaded program's cidlb_counters has fields (its BTF)
nfields=$(on lb bpftool -j map dump pinned "$PIN/cidlb_counters" |
	/usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["formatted"]["values"][0]["value"]))')
eq "every data-path counter" "counters: $nfields" "$(grep '^counters:' "$T/check.txt")"
[ "${nfields:-0}" -ge 41 ] && ok || bad "the program's cidlb_counters has $nfields fields"
# a frame here is 76 octets (Ethernet 14, IPv4 20, UDP 8, QUIC 34)
eq "b1 packets and bytes" "b1: 7 532" "$(grep '^b1:' "$T/check.txt")"
eq "b2 packets and bytes" "b2: 3 228" "$(grep '^b2:' "$T/check.txt")"
eq "backends by state" "states: 1 1 1" "$(grep '^states:' "$T/check.txt")"
eq "routing counters" "route: 10 4 10" "$(grep '^route:' "$T/check.txt")"
eq "QUIC-LB config" "config: 1" "$(grep '^config:' "$T/check.txt")"
eq "daemon state" "daemon: 1 1 1 1 1 0 100" "$(grep '^daemon:' "$T/check.txt")"
eq "other paths: 404" 404 "$(on lb curl --noproxy '*' -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19470/)"
eq "POST: 405" 405 "$(on lb curl --noproxy '*' -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:19470/metrics)"
eq "content type" "text/plain; version=0.0.4; charset=utf-8" \
	"$(on lb curl --noproxy '*' -s -o /dev/null -w '%{content_type}' http://127.0.0.1:19470/metrics)"
finish
