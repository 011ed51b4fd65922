#!/usr/bin/env python3
# soak.py - the three parts of tests/soak/test_soak.sh (run by Debian's
# /usr/bin/python3, standard library only):
#
#   soak.py conf ...   the initial configuration file (the model's start)
#   soak.py recv ...   on the backends' host: one AF_PACKET socket sees
#                      every frame of every sN after the decap program;
#                      records (backend slot, packet number, connection)
#   soak.py run ...    on the client host: sender thread + churn loop +
#                      samples, then the verdict and the figures table
#
# Every frame ends with a 12-octet trailer: b"SOAK", connection number,
# packet number (both big-endian u32); a CID-routed connection's nonce
# starts with its connection number too. The churn loop is the only
# writer of the model: it knows at every moment which backend owns each
# server ID and which are active/draining/removed, and it records each
# change as (start, end, snapshot after). A packet sent at t is judged
# against every snapshot in effect within [t - GUARD, t + GUARD]: for a
# connection the change does not concern those snapshots all agree, so
# the guard only widens what is allowed for the connections it concerns.
import argparse, array, bisect, itertools, json, os, random, socket, struct, subprocess, sys, threading, time

MAGIC = b"SOAK"
VIP = "198.18.100.1"
PORT = 443
GUARD = 0.5             # s around a change, for the packets it concerns (ksoftirqd may lag)
SWEEP = 1.0             # cidlbd expires retired CIDs and quarantine every 1 s
CFG = {0: (2, 6), 1: (3, 7)}    # config ID -> (server_id_len, nonce_len)


def now():
    return time.monotonic()


def args_parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["conf", "recv", "run"])
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--pin", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--slots", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quarantine", type=int, default=4)
    ap.add_argument("--retire-ttl", type=int, default=3)
    ap.add_argument("--iface")
    ap.add_argument("--dst-mac")
    ap.add_argument("--lb-holder", type=int)
    ap.add_argument("--srv-holder", type=int)
    ap.add_argument("--daemon-pid", type=int)
    ap.add_argument("--recv-pid", type=int)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--rate", type=int, default=15000)
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--flows", type=int, default=600)
    return ap.parse_args()


# ---- the model ------------------------------------------------------------------
class Backend:
    def __init__(self, name, slot, sids, state="active", weight=100):
        self.name, self.slot, self.sids, self.state, self.weight = name, slot, sids, state, weight


class Model:
    """What the control plane was told: backends by slot, configs."""

    def __init__(self, a):
        self.a = a
        self.slots = {s: None for s in range(1, a.slots + 1)}
        self.configs = {0}
        self.newest = 0
        self.serial = 0
        self.next_sid = {0: 0x10, 1: 0x10}
        for s in range(1, 5):           # b1..b4 on slots 1-4, 5 and 6 free
            self.add(s)

    def add(self, slot, sids=None):
        self.serial += 1
        if sids is None:
            sids = {}
            for c in sorted(self.configs):
                sids[c] = self.next_sid[c]
                self.next_sid[c] += 1
        b = Backend("be%d" % self.serial, slot, sids)
        self.slots[slot] = b
        return b

    def live(self):
        return [b for b in self.slots.values() if b]

    def active(self):
        return [b for b in self.live() if b.state == "active"]

    def snapshot(self):
        sidmap = {}
        for b in self.live():
            for c, s in b.sids.items():
                if c in self.configs:
                    sidmap[(c, s)] = b.slot
        return {
            "live": frozenset(b.slot for b in self.live()),
            "maglev": frozenset(b.slot for b in self.active() if b.weight > 0),
            "sids": sidmap,
            "name": {b.slot: b.name for b in self.live()},
        }

    def conf_text(self):
        a = self.a
        t = ["; cidlb soak test: written by tests/soak/soak.py from its model",
             "[daemon]", "pin_dir = %s" % a.pin, "control_socket = %s/ctl.sock" % a.tmp,
             "state_file = %s/state.json" % a.tmp, "metrics = 127.0.0.1:19470",
             "bpf_object = %s/cidlb.bpf.o" % a.build, "quarantine = %d" % a.quarantine,
             "retire_ttl = %d" % a.retire_ttl, "log_level = info", "",
             "[lb]", "interfaces = l0",
             "egress_interfaces = " + " ".join("l%d" % s for s in self.slots),
             "attach_mode = native", "source4 = 198.18.0.1", "seed = 0x5eed",
             "lru_size = 262144", "retired_size = 4096",
             # the model expects every fallback 4-tuple recorded for good
             "new_flow_rate = 0", "flow_idle_timeout = 0", "",
             "[vip web]", "address = %s" % VIP, "port = %d" % PORT, ""]
        for c in sorted(self.configs):
            t += ["[quic-lb %d]" % c, "server_id_len = %d" % CFG[c][0],
                  "nonce_len = %d" % CFG[c][1], ""]
        for b in sorted(self.live(), key=lambda b: b.name):
            t += ["[backend %s]" % b.name, "address = 198.18.%d.2" % b.slot,
                  "weight = %d" % b.weight, "state = %s" % b.state]
            t += ["server_id.%d = %s" % (c, sid_hex(c, s)) for c, s in sorted(b.sids.items())
                  if c in self.configs]
            t.append("")
        return "\n".join(t)


def sid_hex(c, s):
    return s.to_bytes(CFG[c][0], "big").hex()


# ---- frames ---------------------------------------------------------------------
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def template(dst_mac, src_mac, src_ip, sport, quic):
    """Everything of a frame but its 12-octet trailer."""
    udp_len = 8 + len(quic) + 12
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0,
                     src_ip.to_bytes(4, "big"), socket.inet_aton(VIP))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + struct.pack("!HHHH", sport, PORT, udp_len, 0) + quic


class Conn:
    """A simulated client: a CID-routed connection (kind "cid") or a
    fallback flow (kind "fb": Initials with a client-chosen DCID)."""
    __slots__ = ("id", "kind", "cfg", "sid", "cid", "src", "sport", "tuple", "tpl", "stop_at")


# ---- recv ---------------------------------------------------------------------------
def recv(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.setsockopt(socket.SOL_SOCKET, 33, 512 << 20)          # SO_RCVBUFFORCE
    ifslot = {"s%d" % i: i for i in range(1, a.slots + 1)}
    s.settimeout(0.2)
    rec = array.array("I")
    stop = os.path.join(a.tmp, "recv.stop")
    open(os.path.join(a.tmp, "recv.ready"), "w").close()
    idle = 0
    while True:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            if os.path.exists(stop):
                idle += 1
                if idle >= 3:
                    break
            continue
        idle = 0
        slot = ifslot.get(addr[0])
        if slot is None or addr[2] == 4:        # PACKET_OUTGOING
            continue
        if len(data) < 54 or data[23] != 17 or data[-12:-8] != MAGIC:
            continue
        conn, seq = struct.unpack_from("!II", data, len(data) - 8)
        rec.extend((slot, seq, conn))
    st = struct.unpack("II", s.getsockopt(263, 6, 8))       # PACKET_STATISTICS
    with open(os.path.join(a.tmp, "recv.bin"), "wb") as f:
        rec.tofile(f)
    with open(os.path.join(a.tmp, "recv.json"), "w") as f:
        json.dump({"packets": st[0], "drops": st[1]}, f)


# ---- run ---------------------------------------------------------------------------
class Run:
    def __init__(self, a):
        self.a = a
        self.rnd = random.Random(a.seed)
        self.m = Model(a)
        self.fails = []
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((a.iface, 0))
        self.src_mac = self.sock.getsockname()[4]
        self.dst_mac = bytes.fromhex(a.dst_mac.replace(":", ""))
        self.conns = {}             # id -> Conn, every one of the run
        self.alive = {}             # id -> Conn, those not ended yet
        self.sending = []           # what the sender sends, replaced whole
        self.next_conn = 0
        self.tuple_ids = itertools.count(1)
        self.tuples = {}            # tuple id -> (src, sport)
        # per packet number: connection, send time, tuple
        self.p_conn = array.array("I")
        self.p_time = array.array("d")
        self.p_tuple = array.array("I")
        self.migrations = 0
        self.enobufs = 0
        self.stop = False
        # the timeline: (start, end, snapshot after)
        self.events = [(0.0, 0.0, self.m.snapshot())]
        self.churn = {}
        self.retired = {}           # conn -> [(start, end)]
        self.quar = []              # (config, sid, start, end, strict)
        self.samples = []
        self.fb_stop = {}           # fallback conn -> its last packet may be before this

    # ---- control plane
    def lb(self, *cmd, want=0, what=None):
        a = self.a
        env = ["env", "CIDLB_SOCKET=%s/ctl.sock" % a.tmp, "CIDLB_PIN_DIR=%s" % a.pin,
               "CIDLB_STATE_FILE=%s/state.json" % a.tmp, "CIDLB_CONFIG=/nonexistent"]
        p = subprocess.run(["nsenter", "-t", str(a.lb_holder), "-m", "-n", "--"] + env +
                           ["%s/cidlb" % a.build] + list(cmd), capture_output=True, text=True)
        if want is not None and p.returncode != want:
            self.fail("%s: exit %d, want %d: %s %s" % (what or " ".join(cmd[:3]), p.returncode, want,
                                                      p.stdout.strip()[:300], p.stderr.strip()[:300]))
        return p

    def ctl(self, req):
        """One request on the daemon's control socket (no cidlb verb for it)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(os.path.join(self.a.tmp, "ctl.sock"))
            s.sendall(json.dumps(req).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            r = json.loads(buf)
        except (OSError, ValueError) as e:
            r = {"ok": False, "error": str(e)}
        finally:
            s.close()
        if not r.get("ok"):
            self.fail("control %s: %s" % (req["cmd"], r.get("error")))
        return r

    def fail(self, msg):
        if len(self.fails) < 50:
            print("FAIL: " + msg, flush=True)
        self.fails.append(msg)

    def change(self, kind, fn):
        """Run one control-plane change; record its span and the new state."""
        t0 = now()
        fn()
        t1 = now()
        self.events.append((t0, t1, self.m.snapshot()))
        self.churn[kind] = self.churn.get(kind, 0) + 1

    def write_conf(self):
        path = os.path.join(self.a.tmp, "cidlb.conf")
        with open(path + ".new", "w") as f:
            f.write(self.m.conf_text())
        os.replace(path + ".new", path)

    def reload(self):
        self.write_conf()
        self.lb("daemon", "reload", what="reload")

    # ---- clients
    def new_tuple(self):
        t = next(self.tuple_ids)        # atomic: both threads take tuples
        src = (198 << 24) | (19 << 16) | (t & 0xffff)          # 198.19.x.y
        sport = 1024 + ((t >> 16) * 4099 + t * 13) % 60000
        self.tuples[t] = (src, sport)
        return t

    def retemplate(self, c):
        c.tuple = self.new_tuple()
        src, sport = self.tuples[c.tuple]
        if c.kind == "cid":
            quic = bytes([0x41]) + c.cid + bytes(16)
        else:           # Initial, v1: DCID 8, SCID 0, token 0, length 28, padded to a
            # UDP payload of 1200 with the trailer (cidlb drops smaller Initials)
            quic = bytes([0xc3]) + b"\x00\x00\x00\x01" + bytes([len(c.cid)]) + c.cid + b"\x00\x00\x40\x1c" + bytes(16)
            quic += bytes(1200 - 12 - len(quic))
        c.tpl = template(self.dst_mac, self.src_mac, src, sport, quic)

    def new_cid_conn(self, b):
        c = Conn()
        self.next_conn += 1
        c.id, c.kind, c.cfg, c.stop_at = self.next_conn, "cid", self.m.newest, None
        sl, nl = CFG[c.cfg]
        c.sid = b.sids[c.cfg]
        nonce = c.id.to_bytes(4, "big") + self.rnd.randbytes(nl - 4)
        c.cid = bytes([(c.cfg << 5) | (sl + nl)]) + c.sid.to_bytes(sl, "big") + nonce
        self.retemplate(c)
        self.conns[c.id] = c
        self.alive[c.id] = c
        return c

    def new_fb_flow(self):
        c = Conn()
        self.next_conn += 1
        c.id, c.kind, c.cfg, c.sid, c.stop_at = self.next_conn, "fb", None, None, None
        r = self.rnd.randbytes(8)
        first = 0xe0 | (r[0] & 0x1f) if self.rnd.random() < 0.6 else (self.rnd.randrange(2, 7) << 5) | (r[0] & 0x1f)
        c.cid = bytes([first]) + r[1:]          # config ID 7, or 2..6 (never configured)
        self.retemplate(c)
        self.conns[c.id] = c
        self.alive[c.id] = c
        return c

    def publish(self):
        t = now()
        for k in [k for k, c in self.alive.items() if c.stop_at is not None and c.stop_at <= t]:
            del self.alive[k]
        self.sending = list(self.alive.values())

    def end_conns(self, pred, at=None):
        at = now() if at is None else at
        n = 0
        for c in self.alive.values():
            if c.stop_at is None and pred(c):
                c.stop_at = at
                n += 1
        return n

    # ---- the sender thread
    def sender(self):
        send = self.sock.send
        pack = struct.pack
        pc, pt, pu = self.p_conn, self.p_time, self.p_tuple
        rate = self.a.rate
        rnd = random.Random(self.a.seed + 1)
        while not self.stop:
            batch = self.sending
            t_round = now()
            for c in batch:
                if c.stop_at is not None and c.stop_at <= now():
                    continue
                seq = len(pc)
                pc.append(c.id)
                pu.append(c.tuple)
                pt.append(now())
                f = c.tpl + pack("!4sII", MAGIC, c.id, seq)
                while True:
                    try:
                        send(f)
                        break
                    except OSError as e:   # ENOBUFS: the veth ring was full, not sent
                        if e.errno != 105:
                            raise
                        self.enobufs += 1
                        time.sleep(0.0005)
            # migrations: a few connections move to a new address and port
            for _ in range(max(1, len(batch) // 200)):
                c = batch[rnd.randrange(len(batch))] if batch else None
                if c is not None and c.kind == "cid":
                    self.retemplate(c)
                    self.migrations += 1
            spare = len(batch) / rate - (now() - t_round)
            if spare > 0:
                time.sleep(spare)

    # ---- churn events
    def ev_add(self):
        free = [s for s, b in self.m.slots.items() if b is None]
        if not free:
            return self.ev_remove()
        slot = self.rnd.choice(free)
        # a server ID whose quarantine is over goes to the new backend
        t = now()
        sids = {}
        for c in sorted(self.m.configs):
            old = [q for q in self.quar if q[0] == c and q[4] and q[3] + self.a.quarantine + SWEEP + 0.5 < t
                   and not q[5]]
            if old:
                old[0][5] = True
                sids[c] = old[0][1]
                self.churn["sid reused"] = self.churn.get("sid reused", 0) + 1
            else:
                sids[c] = self.m.next_sid[c]
                self.m.next_sid[c] += 1

        def go():
            b = self.m.add(slot, sids)
            if self.rnd.random() < 0.3:
                self.reload()
                self.churn["add by reload"] = self.churn.get("add by reload", 0) + 1
            else:
                cmd = ["backend", "add", b.name, "--address", "198.18.%d.2" % slot]
                for c, s in sorted(sids.items()):
                    cmd += ["--server-id", "%d:%s" % (c, sid_hex(c, s))]
                self.lb(*cmd)
        self.change("add", go)
        b = self.m.slots[slot]
        for _ in range(self.a.conns // 8):
            self.new_cid_conn(b)

    def ev_drain(self):
        act = self.m.active()
        if len(act) < 3:
            return self.ev_add()
        b = self.rnd.choice(act)

        def go():
            b.state = "draining"
            self.lb("backend", "drain", b.name)
        self.change("drain", go)

    def ev_activate(self):
        dr = [b for b in self.m.live() if b.state == "draining"]
        if not dr:
            return self.ev_weight()
        b = self.rnd.choice(dr)

        def go():
            b.state = "active"
            self.lb("backend", "activate", b.name)
        self.change("activate", go)

    def ev_weight(self):
        b = self.rnd.choice(self.m.active())
        w = self.rnd.randrange(20, 201)

        def go():
            b.weight = w
            self.lb("backend", "weight", b.name, str(w))
        self.change("weight", go)

    def ev_remove(self):
        act = self.m.active()
        cand = [b for b in self.m.live() if b.state == "draining" or len(act) > 2]
        if len(self.m.live()) < 3 or not cand:
            return self.ev_add()
        b = self.rnd.choice(cand)

        def go():
            self.m.slots[b.slot] = None
            self.lb("backend", "remove", b.name)
        t0 = now()
        self.change("remove", go)
        t1 = now()
        for c, s in b.sids.items():
            if c in self.m.configs:
                self.quar.append([c, s, t0, t1, True, False])
        # its clients go on for a moment (fallback: a survivor), then reconnect
        self.end_conns(lambda c: c.kind == "cid" and c.cfg in b.sids and c.sid == b.sids[c.cfg], t1 + 0.5)
        act = self.m.active()
        for _ in range(self.a.conns // 8):
            self.new_cid_conn(self.rnd.choice(act))
        # its server ID is refused to another backend while quarantined
        c0 = sorted(b.sids)[0]
        self.lb("backend", "add", "intruder%d" % self.m.serial, "--address", "198.18.%d.2" % b.slot,
                "--server-id", "%d:%s" % (c0, sid_hex(c0, b.sids[c0])), want=3,
                what="another backend takes a quarantined server ID")
        self.churn["quarantine refusals"] = self.churn.get("quarantine refusals", 0) + 1

    def ev_retire(self):
        t = now()
        cand = [c for c in self.sending if c.kind == "cid" and c.stop_at is None and c.id not in self.retired
                and c.cfg in self.m.configs and (c.cfg, c.sid) in self.events[-1][2]["sids"]]
        pick = self.rnd.sample(cand, min(20, len(cand)))
        if not pick:
            return
        t0 = now()
        p = self.lb("cid", "retire", *[c.cid.hex() for c in pick])
        t1 = now()
        for c in pick:
            self.retired[c.id] = (t0, t1)
        self.churn["cid retire"] = self.churn.get("cid retire", 0) + 1
        self.churn["CIDs retired"] = self.churn.get("CIDs retired", 0) + len(pick)

    def ev_reload(self):
        """A reload of the file as the model has it, with one change in it:
        nothing, a drain or an activation."""
        live = self.m.live()
        dr = [b for b in live if b.state == "draining"]
        act = self.m.active()

        def go():
            r = self.rnd.random()
            if r < 0.4 and len(act) > 2:
                self.rnd.choice(act).state = "draining"
            elif r < 0.7 and dr:
                self.rnd.choice(dr).state = "active"
            self.reload()
        self.change("reload", go)

    def ev_rotate(self):
        """QUIC-LB rotation, in two steps: add the other config ID (both in
        use, new connections take the new one), later remove the old one
        (its connections have ended)."""
        if len(self.m.configs) == 1:
            new = 1 - self.m.newest

            def go():
                self.m.configs.add(new)
                for b in self.m.live():
                    b.sids[new] = self.m.next_sid[new]
                    self.m.next_sid[new] += 1
                self.m.newest = new
                self.reload()
            self.change("rotate: config added", go)
        else:
            old = 1 - self.m.newest
            t = now()
            self.end_conns(lambda c: c.kind == "cid" and c.cfg == old, t)
            for c in list(self.alive.values()):
                if c.kind == "cid" and c.cfg == old and c.stop_at == t:
                    b = self.rnd.choice(self.m.active())
                    self.new_cid_conn(b)
            self.publish()
            time.sleep(GUARD)

            gone = [(b, b.sids[old]) for b in self.m.live() if old in b.sids]

            def go():
                self.m.configs.discard(old)
                for b in self.m.live():
                    b.sids.pop(old, None)
                self.reload()
            t0 = now()
            self.change("rotate: old config removed", go)
            t1 = now()
            # the daemon may quarantine them too: allowed, not required
            self.quar += [[old, sid, t0, t1, False, True] for b, sid in gone]

    def sabotage(self):
        """SOAK_SABOTAGE=1: the negative control. Behind the daemon's back,
        point one live backend's server ID at another backend's index; the
        verdict must then report misrouted packets (and cidlb_sids stays
        the same size, so only the packets can tell)."""
        bl = json.loads(self.lb("-j", "backend", "list").stdout)
        bl = bl if isinstance(bl, list) else bl.get("backends", [])
        live = [b for b in bl if b["state"] == "active"]
        if len(live) < 2:
            return
        victim, other = live[0], live[1]
        c = self.m.newest
        sid = int(victim["server_ids"][str(c)], 16)
        key = bytes([c, CFG[c][0]]) + sid.to_bytes(CFG[c][0], "big") + bytes(18 - CFG[c][0])
        val = struct.pack("<I", other["index"])
        subprocess.run(["nsenter", "-t", str(self.a.lb_holder), "-m", "-n", "--", "bpftool", "map", "update",
                        "pinned", "%s/cidlb_sids" % self.a.pin, "key", "hex"] + ["%02x" % x for x in key] +
                       ["value", "hex"] + ["%02x" % x for x in val], check=True)
        print("sabotage: server ID %d:%x of %s now routes to %s" % (c, sid, victim["name"], other["name"]))

    # ---- samples
    def count_map(self, name):
        p = subprocess.run(["nsenter", "-t", str(self.a.lb_holder), "-m", "-n", "--", "bpftool", "-j",
                            "map", "dump", "pinned", "%s/%s" % (self.a.pin, name)],
                           capture_output=True, text=True)
        if p.returncode:
            self.fail("bpftool dump %s: %s" % (name, p.stderr.strip()[:200]))
            return -1
        return len(json.loads(p.stdout))

    def proc(self):
        st = open("/proc/%d/status" % self.a.daemon_pid).read()
        rss = int(st.split("VmRSS:")[1].split()[0])
        return rss, len(os.listdir("/proc/%d/fd" % self.a.daemon_pid))

    def sample(self, final=False):
        # each count is judged by the times around its own read
        rss, fds = self.proc()
        # a quarantined server ID stays in cidlb_sids (its CIDs get the LB's
        # stateless reset where a reset key is set) until its quarantine ends
        quar_before = self.ctl({"cmd": "quarantine.list"}).get("quarantine", [])
        sids = self.count_map("cidlb_sids")
        t = now()
        ret = self.count_map("cidlb_retired")
        t1 = now()
        q0 = now()
        quar = self.ctl({"cmd": "quarantine.list"}).get("quarantine", [])
        q1 = now()
        # a dump of a big LRU table is slow: every 10th sample and the last ones
        lru = self.count_map("cidlb_lru") if final or len(self.samples) % 10 == 0 else \
            (self.samples[-1]["lru"] if self.samples else 0)
        want_sids = sum(len([c for c in b.sids if c in self.m.configs]) for b in self.m.live())
        q_lo = sum(1 for q in quar if q.get("server_id"))         # quarantined throughout the count
        q_hi = sum(1 for q in quar_before if q.get("server_id"))  # at most these were in it
        if not want_sids + q_lo <= sids <= want_sids + q_hi:
            self.fail("cidlb_sids holds %d entries, want %d..%d (live backends x configs, and %d..%d quarantined)"
                      % (sids, want_sids + q_lo, want_sids + q_hi, q_lo, q_hi))
        # retired CIDs: present from the retire to its TTL, gone a sweep after
        ttl = self.a.retire_ttl
        lo = sum(1 for (r0, r1) in self.retired.values() if r1 < t and t1 < r0 + ttl - 0.2)
        hi = sum(1 for (r0, r1) in self.retired.values() if t1 < r1 + ttl + SWEEP + 0.5)
        if not lo <= ret <= hi:
            due = sorted(t - (r1 + ttl) for (r0, r1) in self.retired.values() if t > r1 + ttl)
            self.fail("cidlb_retired holds %d entries, want %d..%d (the last batches were due %s s ago)" % (
                ret, lo, hi, ", ".join("%.1f" % x for x in sorted(set(round(d, 1) for d in due))[:3])))
        Q = self.a.quarantine
        lo = sum(1 for q in self.quar if q[4] and q1 < q[2] + Q - 0.2)
        hi = sum(1 for q in self.quar if q0 < q[3] + Q + SWEEP + 0.5)
        if not lo <= len(quar) <= hi:
            self.fail("quarantine list holds %d server IDs, want %d..%d" % (len(quar), lo, hi))
        self.samples.append({"t": q1, "rss": rss, "fds": fds, "sids": sids, "retired": ret, "lru": lru,
                             "quarantine": len(quar)})
        if self.rnd.random() < 0.5:     # the metrics endpoint, as a scraper would
            subprocess.run(["nsenter", "-t", str(self.a.lb_holder), "-m", "-n", "--", "curl", "--noproxy",
                            "*", "-sf", "-o", "/dev/null", "http://127.0.0.1:19470/metrics"])

    # ---- the run
    def run(self):
        a = self.a
        # the starting clients: CID connections spread over the backends, fallback flows
        for i in range(a.conns):
            self.new_cid_conn(self.m.live()[i % len(self.m.live())])
        for _ in range(a.flows):
            self.new_fb_flow()
        self.publish()
        th = threading.Thread(target=self.sender, daemon=True)
        t_start = now()
        th.start()
        events = [self.ev_add, self.ev_drain, self.ev_activate, self.ev_weight, self.ev_remove,
                  self.ev_retire, self.ev_reload]
        weights = [3, 2, 2, 1, 3, 2, 2]
        next_rotate = t_start + 4
        next_sample = t_start + 1
        deadline = t_start + a.duration
        sabotage_at = t_start + a.duration / 2 if os.environ.get("SOAK_SABOTAGE") == "1" else None
        while now() < deadline:
            if sabotage_at and now() >= sabotage_at:
                self.sabotage()
                sabotage_at = None
            time.sleep(0.15 + self.rnd.random() * 0.2)
            if now() >= next_rotate:
                self.ev_rotate()
                next_rotate = now() + 5
            else:
                self.rnd.choices(events, weights)[0]()
            # client churn: some connections end, new ones start; new flows
            t = now()
            live_conns = [c for c in self.alive.values() if c.stop_at is None and c.kind == "cid"]
            for c in self.rnd.sample(live_conns, min(len(live_conns), a.conns // 50)):
                c.stop_at = t
                self.new_cid_conn(self.rnd.choice(self.m.active()))
            fbs = [c for c in self.alive.values() if c.stop_at is None and c.kind == "fb"]
            for c in self.rnd.sample(fbs, min(len(fbs), a.flows // 30)):
                c.stop_at = t
                self.new_fb_flow()
            self.publish()
            if now() >= next_sample:
                self.sample()
                next_sample = now() + 1
        self.stop = True
        th.join()
        t_end = now()
        time.sleep(0.5)
        open(os.path.join(a.tmp, "recv.stop"), "w").close()
        self.sample(final=True)
        # everything expires on time: the last retired CID, the last quarantine
        last_ret = max([r1 for (r0, r1) in self.retired.values()] + [0])
        last_q = max([q[3] for q in self.quar] + [0])
        until = max(last_ret + a.retire_ttl, last_q + a.quarantine) + SWEEP + 0.5
        while now() < until:
            time.sleep(min(1, max(0, until - now())))
            self.sample(final=True)
        s = self.samples[-1]
        if s["retired"] != 0:
            self.fail("%d retired CIDs left %.1f s after the last TTL" % (s["retired"], now() - last_ret - a.retire_ttl))
        if s["quarantine"] != 0:
            self.fail("%d server IDs still quarantined %.1f s after the last quarantine" % (
                s["quarantine"], now() - last_q - a.quarantine))
        self.verdict(t_start, t_end)

    # ---- the verdict
    def allowed(self, t):
        """Snapshots in effect at some moment of [t - GUARD, t + GUARD]."""
        ev = self.events
        out = []
        for i, (s0, s1, snap) in enumerate(ev):
            begin = s0                              # may be in effect from the start of its change
            end = ev[i + 1][1] if i + 1 < len(ev) else 1e18     # until the end of the next
            if begin <= t + GUARD and end >= t - GUARD:
                out.append(snap)
        return out

    def verdict(self, t_start, t_end):
        a = self.a
        with open(os.path.join(a.tmp, "recv.json")) as f:
            rstat = json.load(f)
        rec = array.array("I")
        with open(os.path.join(a.tmp, "recv.bin"), "rb") as f:
            rec.frombytes(f.read())
        n = len(self.p_conn)
        got = bytearray(n)          # slot that received packet seq, 0 = none
        dup = 0
        badconn = 0
        per_slot = [0] * (a.slots + 1)
        for i in range(0, len(rec), 3):
            slot, seq, conn = rec[i], rec[i + 1], rec[i + 2]
            if seq >= n or self.p_conn[seq] != conn:
                badconn += 1
                continue
            if got[seq]:
                dup += 1
            got[seq] = slot
            per_slot[slot] += 1
        # the events' times are sorted: index the snapshot sets by time
        ev_bounds = sorted(set([e[0] for e in self.events] + [e[1] for e in self.events]))
        cache = {}

        def snaps(t):
            k = bisect.bisect_left(ev_bounds, t - GUARD), bisect.bisect_right(ev_bounds, t + GUARD)
            if k not in cache:
                cache[k] = self.allowed(t)
            return cache[k]
        ttl = a.retire_ttl
        mis = lost = ret_dropped = ret_leaked = cid_pk = fb_pk = orphan_pk = fb_moves = 0
        strict_cid = 0
        fb_cur = {}
        fb_tuples = set()
        orphan_tuples = set()
        examples = []
        for seq in range(n):
            cid = self.p_conn[seq]
            c = self.conns[cid]
            t = self.p_time[seq]
            sn = snaps(t)
            r = got[seq]
            if c.kind == "cid":
                cid_pk += 1
                drop_ok = must_drop = False
                rt = self.retired.get(cid)
                if rt:
                    r0, r1 = rt
                    if r0 - GUARD <= t <= r1 + ttl + SWEEP + GUARD:
                        drop_ok = True
                    if r1 + GUARD < t < r0 + ttl - GUARD:
                        must_drop = True
                allow = set()
                orphan = False
                for s in sn:
                    o = s["sids"].get((c.cfg, c.sid))
                    if o is not None:
                        allow.add(o)
                    else:
                        orphan = True
                        allow |= s["live"]
                if orphan:
                    orphan_pk += 1
                    if r:
                        orphan_tuples.add(self.p_tuple[seq])
                elif len(allow) == 1:
                    strict_cid += 1
                if r == 0:
                    if drop_ok:
                        ret_dropped += 1
                    else:
                        lost += 1
                        if len(examples) < 5:
                            examples.append("packet %d of connection %d (CID %s) at %.3f s: lost" % (
                                seq, cid, c.cid.hex(), t - t_start))
                elif must_drop:
                    ret_leaked += 1
                    if len(examples) < 5:
                        examples.append("packet %d of retired CID %s delivered to s%d" % (seq, c.cid.hex(), r))
                elif r not in allow:
                    mis += 1
                    if len(examples) < 5:
                        examples.append("packet %d of connection %d (CID %s) at %.3f s: at s%d, allowed %s" % (
                            seq, cid, c.cid.hex(), t - t_start, r, sorted(allow)))
            else:
                fb_pk += 1
                fb_tuples.add(self.p_tuple[seq])
                cur = fb_cur.get(cid)       # (slot, backend name) of its LRU entry
                if cur is None:
                    allow = set().union(*[s["maglev"] for s in sn])
                else:
                    allow = {cur[0]}
                    for s in sn:
                        if s["name"].get(cur[0]) != cur[1]:
                            allow |= s["maglev"]
                if r == 0:
                    lost += 1
                    if len(examples) < 5:
                        examples.append("packet %d of fallback flow %d at %.3f s: lost" % (seq, cid, t - t_start))
                elif r not in allow:
                    mis += 1
                    if len(examples) < 5:
                        examples.append("packet %d of fallback flow %d at %.3f s: at s%d, allowed %s (was at %s)" % (
                            seq, cid, t - t_start, r, sorted(allow), cur))
                else:
                    # the backend that held slot r while the packet could be there
                    names = [s["name"][r] for s in sn if r in s["name"]]
                    name = names[-1] if names else "?"
                    if cur is not None and (r, name) != cur:
                        fb_moves += 1
                    fb_cur[cid] = (r, name)
        for e in examples:
            print("  " + e)
        if mis:
            self.fail("%d packets delivered to a backend the churn did not allow" % mis)
        if lost:
            self.fail("%d packets lost (neither delivered nor retired)" % lost)
        if ret_leaked:
            self.fail("%d packets of retired CIDs delivered within their TTL" % ret_leaked)
        if dup or badconn:
            self.fail("%d duplicated and %d unknown packets at the backends" % (dup, badconn))
        if rstat["drops"]:
            self.fail("the capture lost %d packets (socket buffer): counts are not exact" % rstat["drops"])
        # each backend's capture equals its decap program's count
        for sl in range(1, a.slots + 1):
            p = subprocess.run(["nsenter", "-t", str(a.srv_holder), "-m", "-n", "--", "%s/cidlb" % a.build,
                                "-j", "decap", "stats", "s%d" % sl], capture_output=True, text=True)
            dv4 = json.loads(p.stdout)["decap_v4"] if p.returncode == 0 else -1
            if dv4 != per_slot[sl]:
                self.fail("s%d: decap counted %d packets, the capture %d" % (sl, dv4, per_slot[sl]))
        st = json.loads(self.lb("-j", "stats", what="stats").stdout or "{}").get("counters", {})
        fwd = st.get("tx", 0) + st.get("redirect", 0)
        if fwd != n - ret_dropped or st.get("drop_retired", -1) != ret_dropped:
            self.fail("LB forwarded %s and dropped %s retired packets; the backends got %d of %d sent" % (
                fwd, st.get("drop_retired"), n - ret_dropped, n))
        for k in ("drop_no_route", "drop_no_neigh", "drop_no_port", "drop_no_backend", "drop_encap",
                  "drop_mtu"):
            if st.get(k, 0):
                self.fail("LB counter %s = %d" % (k, st[k]))
        # the LRU table holds the fallback-routed 4-tuples and nothing else
        lru = self.samples[-1]["lru"]
        if not len(fb_tuples) <= lru <= len(fb_tuples) + len(orphan_tuples):
            self.fail("cidlb_lru holds %d entries, want %d..%d (4-tuples routed by fallback)" % (
                lru, len(fb_tuples), len(fb_tuples) + len(orphan_tuples)))
        # the daemon's memory: no growth after the warm-up (first quarter)
        run_s = [s for s in self.samples if s["t"] <= t_end + 0.5]
        warm = [s for s in run_s if s["t"] >= t_start + (t_end - t_start) / 4]
        rss0 = warm[0]["rss"] if warm else 0
        rss_max = max(s["rss"] for s in self.samples)
        rss_end = self.samples[-1]["rss"]
        growth = rss_end - rss0
        if growth > 512:
            self.fail("cidlbd RSS grew from %d to %d KiB after the warm-up" % (rss0, rss_end))
        # fds: a scrape or a control connection may be open at a sample:
        # the least of the last samples against the least after warm-up
        fds0 = min(s["fds"] for s in (warm or self.samples))
        fds_end = min(s["fds"] for s in self.samples[-3:])
        if fds_end > fds0:
            self.fail("cidlbd holds %d file descriptors at the end, %d after the warm-up" % (fds_end, fds0))
        # the figures
        dur = t_end - t_start
        churn_total = sum(v for k, v in self.churn.items() if k not in ("CIDs retired", "sid reused",
                                                                        "add by reload", "quarantine refusals"))
        rows = [
            ("traffic seconds", "%.1f" % dur),
            ("packets sent", "%d (%.0f/s)" % (n, n / dur)),
            ("  CID-routed, owner alive (strict)", strict_cid),
            ("  CID, owner removed (fallback)", orphan_pk),
            ("  fallback flows (Initials)", fb_pk),
            ("connections (distinct CIDs)", len([c for c in self.conns.values() if c.kind == "cid"])),
            ("fallback flows", len([c for c in self.conns.values() if c.kind == "fb"])),
            ("distinct 4-tuples", len(self.tuples)),
            ("migrations", self.migrations),
            ("sender retries (veth ring full)", self.enobufs),
            ("churn events", churn_total),
        ] + [("  " + k, v) for k, v in sorted(self.churn.items())] + [
            ("retired-CID drops (expected)", ret_dropped),
            ("fallback flow moves (own backend removed)", fb_moves),
            ("MISROUTED", mis),
            ("LOST", lost),
            ("sent with cidlbd's next-hop copy", st.get("nh_cached", 0)),
            ("retired CIDs delivered in TTL", ret_leaked),
            ("per backend s1..s%d" % a.slots, " ".join(str(x) for x in per_slot[1:])),
            ("cidlbd RSS KiB warm/max/end", "%d/%d/%d" % (rss0, rss_max, rss_end)),
            ("cidlbd fds warm/end (least)", "%d/%d" % (fds0, fds_end)),
            ("max cidlb_sids/retired/lru", "%d/%d/%d" % (max(s["sids"] for s in self.samples),
                                                       max(s["retired"] for s in self.samples),
                                                       max(s["lru"] for s in self.samples))),
            ("end cidlb_retired, quarantined", "%d, %d" % (self.samples[-1]["retired"],
                                                         self.samples[-1]["quarantine"])),
            ("samples", len(self.samples)),
        ]
        w = max(len(r[0]) for r in rows)
        print("-" * (w + 24))
        for k, v in rows:
            print("%-*s  %s" % (w, k, v))
        print("-" * (w + 24))
        with open(os.path.join(a.tmp, "figures.json"), "w") as f:
            json.dump(dict((k.strip(), str(v)) for k, v in rows), f)
        if self.fails:
            print("%d checks failed" % len(self.fails))
            return 1
        print("soak: all checks passed")
        return 0


def main():
    a = args_parse()
    if a.cmd == "conf":
        print(Model(a).conf_text())
    elif a.cmd == "recv":
        recv(a)
    else:
        r = Run(a)
        r.run()
        sys.exit(1 if r.fails else 0)


main()
