#!/bin/bash
# test_fuzz_control.sh - the control socket of a running cidlbd under a few
# thousand bad requests: random octets, valid requests cut short or mutated
# octet by octet, well-formed requests with one defect each (wrong types,
# unknown fields, bad addresses and server IDs, conflicts, a bad CID at the
# end of a long list), invalid UTF-8, deep nesting, a 5 MB request,
# connect-and-close, requests written in pieces, a client that stalls.
# Every reply is one JSON object; every refused request has ok=false, an
# error and a code; the daemon stays up, answers status, and nothing was
# applied halfway: `cidlb -j status`, `cidlb -j backend list`, the
# quarantine and the maps (bpftool dumps of backends, server IDs, VIPs,
# configs, retired CIDs, Maglev) are the same before and after.
# FUZZ_SEED=N repeats a run (the seed is printed); FUZZ_COUNT sets the
# number of generated requests (default 3000).
source "$(dirname "$0")/lib.sh"

net_setup
write_conf 1 2
start_daemon

MAPS="cidlb_backends cidlb_sids cidlb_vips cidlb_vip_table cidlb_configs cidlb_retired cidlb_maglev cidlb_global"
state() { # everything a request could change, as text
	lbc -j status | jget 'sorted((k, v) for k, v in d.items() if k not in ("uptime",))'
	lbc -j backend list
	lbc -j backend quarantine
	lbc -j cid list
	for m in $MAPS; do
		on lb test -e "$PIN/$m" || continue
		echo "== $m"
		on lb bpftool -j map dump pinned "$PIN/$m" | sha1sum
	done
}
state >"$T/before"
grep -q '== cidlb_backends' "$T/before" && grep -q '== cidlb_sids' "$T/before" ||
	bad "the map dumps are missing: $(cat "$T/before")"

cat >"$T/fuzz.py" <<'EOF'
import json, os, random, socket, sys, time

path, count = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
import ctl_raw	# tests/lib/ctl_raw.py
seed = int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(1 << 30))
print("seed", seed, flush=True)
R = random.Random(seed)
READ_ONLY = ("status", "backend.list", "quarantine.list")
CODES = {"bad_request", "not_found", "conflict", "failed"}
stats = {"sent": 0, "refused": 0, "accepted": 0, "skipped": 0}
fails = []

def talk(data, pieces=1, shut=True):
    if not shut:
        data += b"\n"	# the end of a request: a newline, or the end of the stream
    cuts = sorted(R.sample(range(1, len(data)), min(pieces - 1, len(data) - 1))) if pieces > 1 and len(data) > 1 else []
    # pacing: each piece its own read
    return ctl_raw.talk(path, data, cuts=cuts, pace=0.002, shut=shut, timeout=15)

def may_change(data):
    """True when the daemon could accept this as a changing request."""
    msg = data.split(b"\n", 1)[0]	# the daemon reads up to the first newline
    try:
        d = json.loads(msg.decode("utf-8"))
    except Exception:
        return False	# jansson refuses what Python's json refuses
    return isinstance(d, dict) and d.get("cmd") not in READ_ONLY and isinstance(d.get("cmd"), str) and d.get("cmd") in (
        "backend.add", "backend.drain", "backend.activate", "backend.remove", "backend.weight",
        "cid.retire", "cid.unretire", "reload", "stop")

def check(desc, data, must_fail, **kw):
    stats["sent"] += 1
    try:
        out = talk(data, **kw)
    except Exception as e:
        fails.append("%s: no reply (%s); request %r" % (desc, e, data[:200]))
        return
    try:
        r = json.loads(out.decode("utf-8"))
    except Exception:
        fails.append("%s: reply is not JSON: %r; request %r" % (desc, out[:300], data[:200]))
        return
    if not isinstance(r, dict) or not isinstance(r.get("ok"), bool):
        fails.append("%s: reply without ok: %r" % (desc, out[:300]))
        return
    if r["ok"]:
        stats["accepted"] += 1
        if must_fail:
            fails.append("%s: accepted: %r; request %r" % (desc, out[:300], data[:300]))
        return
    stats["refused"] += 1
    if not (isinstance(r.get("error"), str) and r["error"] and r.get("code") in CODES):
        fails.append("%s: refusal without error/code: %r" % (desc, out[:300]))

def send_raw(desc, data, **kw):
    """Octets of any kind; skipped when they might be an acceptable change."""
    if may_change(data):
        stats["skipped"] += 1
        return
    msg = data.split(b"\n", 1)[0]
    try:
        d = json.loads(msg.decode("utf-8"))
        read_only = isinstance(d, dict) and d.get("cmd") in READ_ONLY
    except Exception:
        read_only = False
    check(desc, data, not read_only, **kw)

def enc(o):
    return json.dumps(o, separators=(",", ":")).encode()

# ---- valid requests (the seeds of mutation; never sent as they are) -------
VALID = [
    {"cmd": "status"}, {"cmd": "backend.list"}, {"cmd": "quarantine.list"}, {"cmd": "reload"},
    {"cmd": "stop", "keep": True},
    {"cmd": "backend.add", "backend": {"name": "b3", "address": "198.18.3.2", "server_id": {"0": "0003"}, "weight": 7}},
    {"cmd": "backend.drain", "name": "b1"}, {"cmd": "backend.activate", "name": "b2"},
    {"cmd": "backend.remove", "name": "b2"}, {"cmd": "backend.weight", "name": "b1", "weight": 5},
    {"cmd": "cid.retire", "cids": ["0800010102030405060708", "08000201"], "ttl": 60},
    {"cmd": "cid.unretire", "cids": ["0800010102030405060708"]},
]

def rhex(n):
    return "".join(R.choice("0123456789abcdef") for _ in range(2 * n))

JUNK = [None, True, False, 0, -1, 1.5, 1e308, 2 ** 63, -(2 ** 63) - 1, "", " ", "x" * 300, [], {}, [1], {"a": 1},
        "\u0000", "\ud800x", "é", "198.18.3.999", "0003", "zz", "b1", "b 3"]

def junk():
    j = R.choice(JUNK)
    if j == "\ud800x":
        return "\udfff"
    return j

def good_backend():
    n = R.randrange(16, 250)
    b = {"name": "f%d" % n, "address": "198.18.3.%d" % R.randrange(2, 250)}
    if R.random() < 0.7:
        b["server_id"] = {"0": "%04x" % (0x100 + n)}
    if R.random() < 0.3:
        b["weight"] = R.randrange(0, 65536)
    if R.random() < 0.2:
        b["state"] = R.choice(["active", "draining"])
    if R.random() < 0.2:
        b["mac"] = "02:00:00:00:00:%02x" % n
    return b

def defect_backend(b):
    k = R.randrange(16)
    if k == 0: b["address"] = R.choice(["198.18.3.999", "", "fd00::zz", 7, None, "198.18.3.2/24", "localhost"])
    elif k == 1:
        if not isinstance(b.get("server_id"), dict):
            b["server_id"] = {}
        b["server_id"]["0"] = R.choice(["000003", "03", "zz", "", 3, None, "0x", "0" * 40])
    elif k == 2: b["server_id"] = {R.choice(["7", "9", "-1", "x", "", "00", "1"]): "0003"}  # 1: no such length
    elif k == 3: b["server_id"] = R.choice(["0003", 3, [], None, ["0", "0003"]])
    elif k == 4: b["weight"] = R.choice([65536, -1, "heavy", 1.5, True, None, 2 ** 40, []])
    elif k == 5: b["state"] = R.choice(["sleeping", "", "ACTIVE", 1, None])
    elif k == 6: b["mac"] = R.choice(["02:00:00", "02:00:00:00:00:0g", "", 1, "02-00-00-00-00-01x"])
    elif k == 7: b["mode"] = R.choice(["tunnel", "", "DIRECT", 2])
    elif k == 8: b["mode"] = "direct"; b.pop("mac", None)
    elif k == 9: b[R.choice(["colour", "Name", "server_ids", "weight ", "addr"])] = "x"
    elif k == 10: b["name"] = R.choice(["b1", "b2"])              # exists: conflict
    elif k == 11: b["name"] = R.choice(["", "b 3", "x" * 64, "b/3", "b\u00e93", 3, None, ["b3"]])
    elif k == 12: b["server_id"] = {"0": R.choice(["0001", "0002"])}   # taken: conflict
    elif k == 13: b["address"] = "fd00::%x" % R.randrange(2, 999)     # no [lb] source6
    elif k == 14: b["server_id"] = {str(R.randrange(1, 7)): rhex(2)}  # no [quic-lb N]
    else: b.pop("address", None)
    return b

def bad_cid():
    return R.choice(["zz", "", "0" * 42, "08zz", 8, None, ["08"], "0x", ":", "08 00"])

def defective():
    cmd = R.choice(["backend.add"] * 4 + ["backend.drain", "backend.activate", "backend.remove", "backend.weight",
                    "cid.retire", "cid.unretire", "stop", "reload", "status", "backend.list", "quarantine.list", "cmd"])
    if cmd == "backend.add":
        b = good_backend()
        for _ in range(R.randrange(1, 3)):
            defect_backend(b)
        r = {"cmd": cmd, "backend": b}
        if R.random() < 0.1:
            r = {"cmd": cmd, "backend": R.choice([None, "b3", [], [b], 3])}
        elif R.random() < 0.1:
            r["extra"] = junk()
        return r
    if cmd in ("backend.drain", "backend.activate", "backend.remove", "backend.weight"):
        r = {"cmd": cmd, "name": R.choice(["b1", "b2"])}
        if cmd == "backend.weight":
            r["weight"] = R.randrange(0, 65536)
        k = R.randrange(4 if cmd == "backend.weight" else 3)
        if k == 0: r["name"] = R.choice(["b9", "", "B1", "b1 ", 1, None, ["b1"], "x" * 300])
        elif k == 1: r[R.choice(["nmae", "names", "keep", "ttl"])] = "b1"
        elif k == 2: r.pop("name")
        else: r["weight"] = R.choice([65536, -1, "5", 1.5, None, True, 2 ** 63 - 1])
        return r
    if cmd in ("cid.retire", "cid.unretire"):
        cids = ["08%s" % rhex(R.randrange(1, 8)) for _ in range(R.randrange(0, 50))]
        r = {"cmd": cmd, "cids": cids}
        if cmd == "cid.retire" and R.random() < 0.5:
            r["ttl"] = R.randrange(1, 2592001)
        k = R.randrange(5)
        if k <= 1: cids.insert(R.randrange(len(cids) + 1) if k == 0 else len(cids), bad_cid())
        elif k == 2: r["cids"] = R.choice([[], "0800", None, 8, {"0": "08"}])
        elif k == 3 and cmd == "cid.retire": r["ttl"] = R.choice([0, -1, 2592001, "60", 1.5, None])
        else: r[R.choice(["ttl", "cid", "CIDS"]) if cmd == "cid.unretire" else "cid"] = ["08"]
        return r
    if cmd == "stop":
        keep = junk()
        return R.choice([{"cmd": cmd, "keep": "yes" if isinstance(keep, bool) else keep}, {"cmd": cmd, "now": True}])
    if cmd == "cmd":
        return R.choice([{}, {"cmd": junk()}, {"cmd": R.choice(["Status", "status ", "backend", "backend.", "", "stop\u0000"])},
                         {"name": "b1"}])
    return {"cmd": cmd, R.choice(["verbose", "keep", "x", ""]): junk()}   # no fields allowed

def mutate(b):
    b = bytearray(b)
    for _ in range(R.randrange(1, 6)):
        k = R.randrange(6)
        p = R.randrange(len(b) + 1)
        if k == 0 and b: b[min(p, len(b) - 1)] ^= 1 << R.randrange(8)
        elif k == 1: b[p:p] = bytes([R.randrange(256)])
        elif k == 2 and b: del b[min(p, len(b) - 1)]
        elif k == 3: b[p:p] = R.choice([b'"', b"{", b"}", b"[", b"]", b",", b":", b"\\", b"\\u", b"\xff", b"\xc3\x28", b"\x00", b"\n", b"null", b"1e999"])
        elif k == 4 and b: q = R.randrange(len(b)); b[p:p] = b[q:q + R.randrange(1, 10)]
        elif b: b[min(p, len(b) - 1)] = R.randrange(32, 127)
    return bytes(b)

t0 = time.time()
# every prefix of every valid request: truncated messages
for v in VALID:
    e = enc(v)
    for n in range(len(e)):
        if R.random() < 0.5 or n < 3:
            send_raw("truncated %r" % e[:n], e[:n])
fixed = time.time()
for i in range(count):
    k = R.random()
    if k < 0.45:
        r = defective()
        data = enc(r)
        # jansson reads JSON like Python does, but a lone surrogate or
        # a NUL escape may be refused earlier: still a refusal
        check("defective %d" % i, data, r.get("cmd") not in READ_ONLY or len(r) > 1,
              pieces=R.choice([1, 1, 1, 2, 5]), shut=R.random() < 0.7)
    elif k < 0.8:
        send_raw("mutated %d" % i, mutate(enc(R.choice(VALID))), pieces=R.choice([1, 1, 3]))
    elif k < 0.9:
        send_raw("random %d" % i, bytes(R.randrange(256) for _ in range(R.randrange(0, 300))))
    elif k < 0.95:
        # invalid UTF-8 in a string of a valid request
        v = enc(R.choice(VALID))
        p = R.choice([j for j in range(len(v)) if v[j:j + 1] == b'"'])
        send_raw("utf8 %d" % i, v[:p] + R.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"]) + v[p:])
    else:
        # connect and close without a word
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        if R.random() < 0.5:
            s.send(b'{"cmd":"backend.remove","na')
        s.close()
        stats["sent"] += 1
# deep nesting, alone and inside a request
for depth in (100, 2049, 100000):
    send_raw("nesting %d" % depth, b"[" * depth + b"]" * depth)
    check("nesting in a request %d" % depth, b'{"cmd":"backend.remove","name":' + b"[" * depth + b"]" * depth + b"}", True)
    check("open nesting %d" % depth, b'{"cmd":"status","x":' + b"[" * depth, True)
# field names that are no field: "" and two allowed names with a space
check("empty field name", b'{"cmd":"reload","":1}', True)
check("empty field name, status", b'{"cmd":"status","":1}', True)
check("two field names in one", b'{"cmd":"cid.retire","cids":["zz"],"cids ttl":1}', True)
# error messages that quote the request: still UTF-8 when cut mid-character
check("error text cut in a character", b'{"cmd":"x' + "\u00e9".encode() * 600 + b'"}', True)
check("bad escape quoted in the error", b'{"cmd\\ud80\xd0\x93end.remove","e":""3"}', True)
check("two field names in one, weight", b'{"cmd":"backend.weight","name":"b1","name weight":1,"weight":3}', True)
# a long list of valid CIDs with a bad one at the end: none retired
cids = ["08%012x" % n for n in range(200000)]
check("200000 CIDs, the last bad", enc({"cmd": "cid.retire", "cids": cids + ["zz"]}), True)
check("200000 CIDs, a bad ttl", enc({"cmd": "cid.retire", "cids": cids, "ttl": 0}), True)
# two requests in one message: the first line only
check("two lines", b'{"cmd":"backend.drain","name":"b9"}\n{"cmd":"backend.drain","name":"b1"}\n', True)
# a client that writes half a request and stalls: refused after 5 s (at
# most 20 s on a loaded machine)
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(path)
s.send(b'{"cmd":"backend.drain","name":"b1"')
t = time.time()
out = s.recv(65536)
s.close()
stats["sent"] += 1
try:
    r = json.loads(out)
    if r["ok"] or "within 5 s" not in r["error"] or not 4 < time.time() - t < 20:
        fails.append("stalled client: %r after %.1f s" % (out, time.time() - t))
except Exception:
    fails.append("stalled client: reply %r" % out)
print("sent %(sent)d (refused %(refused)d, accepted %(accepted)d read-only, skipped %(skipped)d)" % stats,
      "in %.1f s" % (time.time() - t0), flush=True)
for f in fails[:20]:
    print("FAIL:", f)
print("failures", len(fails))
sys.exit(1 if fails else 0)
EOF
on lb /usr/bin/python3 "$T/fuzz.py" "$T/ctl.sock" "${FUZZ_COUNT:-3000}" "$ROOT/tests/lib" >"$T/fuzz.out" 2>&1; rc=$?
cat "$T/fuzz.out" | head -30
eq "every reply JSON, every bad request refused with an error and a code" 0 "$rc"

kill -0 "$DAEMON_PID" 2>/dev/null && ok || bad "cidlbd died"
expect_rc "status answers after the run" 0 lbc status
state >"$T/after"
if cmp -s "$T/before" "$T/after"; then ok; else
	bad "the state changed: $(diff "$T/before" "$T/after" | head -20)"
fi
# and the daemon still changes things when asked properly
expect_rc "a valid request still works" 0 lbc backend drain b1
eq "drained" "draining" "$(lbc -j backend list | jget '[b["state"] for b in d if b["name"] == "b1"][0]')"
finish
