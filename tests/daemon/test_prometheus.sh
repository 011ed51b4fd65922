#!/bin/bash
# test_prometheus.sh - cidlbd's metrics read by the real tools: the
# exposition passes `promtool check metrics` (no error, no lint problem),
# and a Prometheus server in the LB's namespace, scraping cidlbd every
# second, answers PromQL queries over its HTTP API: the target is up, the
# per-backend packet rate is the rate sent (two backends at two known
# rates, within a generous bound), and once the traffic stops the counter
# it stored equals the packets sent, exactly. `cidlb top` shows the same
# rates, and every query of the Grafana dashboard (examples/) runs on the
# server and names only metrics cidlbd exports.
# test-timeout: 300
source "$(dirname "$0")/lib.sh"
PROMETHEUS=$(command -v prometheus) && PROMTOOL=$(command -v promtool) || {
	echo "SKIP: prometheus and promtool are not installed (tools/install-deps)"; exit 77; }
PROM_PORT=19090
PROM_PID=
SENDERS=()

# the server and the senders run in the hosts' namespaces: stop them
# before lib.sh removes the hosts
stop_all() {
	local p
	: >"$T/stop"
	for p in "${SENDERS[@]}" $PROM_PID; do
		kill "$p" 2>/dev/null
	done
	for p in "${SENDERS[@]}" $PROM_PID; do
		wait "$p" 2>/dev/null
	done
	SENDERS=(); PROM_PID=
}
trap 'stop_all; cleanup' EXIT

net_setup
write_conf 1 2
start_daemon

# every family present: traffic to both backends, one drained, a CID retired
send --flow "$(cid_of 1 0a0a0a0a0a0a)@49001" --count 3 >/dev/null
send --flow "$(cid_of 2 0b0b0b0b0b0b)@49002" --count 2 >/dev/null
expect_rc "drain b2" 0 lbc backend drain b2
expect_rc "activate b2" 0 lbc backend activate b2
expect_rc "retire one CID" 0 lbc cid retire 0800090102030405060708
routed() { lbc -j stats | jget 'd["counters"]["route_cid"]'; }
wait_eq "first packets routed" 5 routed
metrics >"$T/m.txt"
[ -s "$T/m.txt" ] && ok || bad "empty scrape"
"$PROMTOOL" check metrics <"$T/m.txt" >"$T/promtool.out" 2>&1
eq "promtool check metrics: exit" 0 $?
eq "promtool check metrics: no problem" "" "$(cat "$T/promtool.out")"
# the check itself fails on a broken exposition
printf '# TYPE cidlb_x counter\ncidlb_x{a="1" 1\n' | "$PROMTOOL" check metrics >/dev/null 2>&1
[ $? != 0 ] && ok || bad "promtool accepts a broken exposition"

# a Prometheus server next to cidlbd
mkdir "$T/prom"
cat >"$T/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: cidlb
    static_configs:
      - targets: ['127.0.0.1:19470']
EOC
expect_rc "promtool check config" 0 "$PROMTOOL" check config "$T/prometheus.yml"
nsenter -t "${HOLDER[lb]}" -m -n -- "$PROMETHEUS" --config.file="$T/prometheus.yml" \
	--storage.tsdb.path="$T/prom" --web.listen-address="127.0.0.1:$PROM_PORT" \
	--storage.tsdb.retention.time=1h >"$T/prometheus.log" 2>&1 &
PROM_PID=$!

# query PROMQL: the value of the first sample of an instant query, or
# nothing (the server not up yet, no such series)
query() {
	on lb curl --noproxy '*' -sf --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit()
r = d.get("data", {}).get("result", [])
if d.get("status") == "success" and r:
    print(r[0]["value"][1])'
}
prom_alive() { kill -0 "$PROM_PID" 2>/dev/null || { echo "prometheus exited:"; tail -20 "$T/prometheus.log"; exit 1; }; }
target_up() { prom_alive; [ "$(query 'up{job="cidlb"}')" = 1 ]; }
if poll 60 target_up; then ok; else
	bad "Prometheus: target not up after 60 s: $(tail -5 "$T/prometheus.log")"; finish
fi

# two backends at known rates: b1 200 packets/s, b2 50 packets/s
R1=200 R2=50
nsenter -t "${HOLDER[cl]}" -m -n -- $SEND c0 --dst-mac "$L0_MAC" --src 198.18.0.2 \
	--dst 198.18.100.1 --flow "$(cid_of 1 0c0c0c0c0c0c)@49011" --rate $R1 \
	--until-file "$T/stop" >"$T/send1.json" &
SENDERS+=($!)
nsenter -t "${HOLDER[cl]}" -m -n -- $SEND c0 --dst-mac "$L0_MAC" --src 198.18.0.2 \
	--dst 198.18.100.1 --flow "$(cid_of 2 0d0d0d0d0d0d)@49012" --rate $R2 \
	--until-file "$T/stop" >"$T/send2.json" &
SENDERS+=($!)

# the rate as PromQL computes it over 20 s, once those 20 s hold nothing
# but the paced traffic (the stored counter above its value before it for
# 21 s: on a loaded machine that may take longer than 21 s); within 20 %
# of the rate sent
rate_of() { query "rate(cidlb_backend_packets_total{backend=\"$1\"}[20s])" |
	awk '{ printf "%d\n", $1 + 0.5 }'; }
window_full() { # BACKEND PACKETS-BEFORE
	prom_alive
	[ "$(query "min_over_time(cidlb_backend_packets_total{backend=\"$1\"}[21s]) > $2")" != "" ]
}
poll 120 window_full b1 3 && poll 30 window_full b2 2 && ok ||
	bad "Prometheus: not 21 s of traffic stored after 120 s"
# rates_near WHAT FN: for b1 and b2, FN BACKEND prints a rate within 20 %
# of the rate sent
rates_near() {
	local what=$1 fn=$2 b got
	for b in "b1 $R1" "b2 $R2"; do
		set -- $b
		got=$($fn "$1")
		echo "$what: $1 ${got:-none}/s, sent $2/s"
		if [ -n "$got" ] && [ $((got * 100)) -ge $(($2 * 80)) ] &&
			[ $((got * 100)) -le $(($2 * 120)) ]; then
			ok
		else
			bad "$what: $1 at ${got:-none}/s, sent $2/s"
		fi
	done
}
rates_near "PromQL rate(cidlb_backend_packets_total[20s])" rate_of
# b3 is no backend: no series
eq "b3: no series" "" "$(rate_of b3)"

# `cidlb top` sees the same rates (from the maps, over its own interval);
# its screen goes to the test's output as it looks
lbc top --interval 2 --count 1
lbc -j top --interval 2 --count 1 >"$T/top.json"
top_of() { jget "[round(b['packets_per_s']) for b in d['backends'] if b['name'] == '$1'][0]" <"$T/top.json"; }
rates_near "cidlb top" top_of
eq "cidlb top: b1's state from cidlbd" "active" \
	"$(jget "[b['state'] for b in d['backends'] if b['name'] == 'b1'][0]" <"$T/top.json")"
eq "cidlb top: all CID-routed" "0" "$(jget 'round(d["fallback_per_s"])' <"$T/top.json")"

# the Grafana dashboard (examples/cidlb-grafana.json): every metric it
# names is in the exposition, and every query of it runs on this server
# ($__rate_interval as 20s, every LB host)
/usr/bin/python3 - "$ROOT/examples/cidlb-grafana.json" >"$T/dash.txt" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        e = t["expr"].replace("$__rate_interval", "20s").replace("$instance", ".*")
        print("Q\t%s\t%s" % (p["title"], e))
        for m in re.findall(r"\b(cidlb_[a-z0-9_]+)\b", t["expr"]):
            print("M\t%s" % m)
PY
for m in $(awk -F'\t' '$1 == "M" { print $2 }' "$T/dash.txt" | sort -u); do
	grep -q "^# TYPE $m " "$T/m.txt" && ok || bad "the dashboard names $m, which cidlbd does not export"
done
for m in $(awk '$1 == "#" && $2 == "TYPE" && $3 ~ /^cidlb_drop_/ { print $3 }' "$T/m.txt"); do
	grep -q "^M	$m\$" "$T/dash.txt" && ok || bad "the dashboard misses the drop counter $m"
done
"$ROOT/tools/mkdashboard" | cmp -s - "$ROOT/examples/cidlb-grafana.json" && ok ||
	bad "examples/cidlb-grafana.json is not tools/mkdashboard's output: run it"

query_status() {
	on lb curl --noproxy '*' -sf --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d.get("status"), len(d.get("data", {}).get("result", [])))'
}
nq=0
while IFS=$'\t' read -r kind title expr; do
	[ "$kind" = Q ] || continue
	nq=$((nq + 1))
	st=$(query_status "$expr")
	case $st in success*) ok ;; *) bad "dashboard panel '$title': query failed ($st): $expr" ;; esac
	[ "$title" = "Traffic per backend" ] && eq "dashboard: traffic of both backends" "success 2" "$st"
done <"$T/dash.txt"
[ "$nq" -ge 10 ] && ok || bad "the dashboard has $nq queries"

# stop the traffic: the stored counter equals what was sent, exactly
: >"$T/stop"
for p in "${SENDERS[@]}"; do wait "$p"; done
SENDERS=()
sent_of() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$1"; }
S1=$(($(sent_of "$T/send1.json") + 3)) S2=$(($(sent_of "$T/send2.json") + 2))
echo "sent: b1 $S1, b2 $S2 packets"
[ "$S1" -gt 1000 ] && ok || bad "b1: only $S1 packets sent"
stored() { prom_alive; query "cidlb_backend_packets_total{backend=\"$1\"}"; }
WAIT_S=60 wait_eq "b1 packets in Prometheus" "$S1" stored b1
WAIT_S=60 wait_eq "b2 packets in Prometheus" "$S2" stored b2
eq "the same in cidlb backend list" "$S1 $S2" \
	"$(lbc -j backend list | jget '" ".join(str(b["packets"]) for b in d if b["name"] in ("b1", "b2"))')"
stop_all
finish
