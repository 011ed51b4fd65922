#!/usr/bin/env python3
# health_responder.py DIR ADDRESS PORT - a stand-in for the backends' QUIC
# servers in test_health.sh: answers cidlbd's health probes (QUIC long
# header of a reserved version, 1,200 octets or more) with a Version
# Negotiation packet, per interface the probe was decapsulated on. The
# file DIR/IFACE says how:
#   up     answer (VN echoing the probe's connection IDs)
#   spoof  answer with other connection IDs (must not count)
#   flap   answer every other probe
#   absent or anything else: stay silent (a dead server)
# Each probe is counted in DIR/IFACE.probes.
import os, socket, struct, sys

IP_PKTINFO = 8

def main():
    d, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind((addr, port))
    seen = {}
    while True:
        data, anc, _, peer = s.recvmsg(2048, 64)
        ifindex = None
        for lvl, typ, val in anc:
            if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO:
                ifindex = struct.unpack("=i4s4s", val[:12])[0]
        if ifindex is None or len(data) < 1200 or not data[0] & 0x80 or len(data) < 7:
            continue
        # a probe's version is reserved (0x?a?a?a?a); the tests' own
        # Initials (version 1) that reach this address are no probes
        if struct.unpack("!I", data[1:5])[0] & 0x0f0f0f0f != 0x0a0a0a0a:
            continue
        dlen = data[5]
        dcid = data[6:6 + dlen]
        slen = data[6 + dlen]
        scid = data[7 + dlen:7 + dlen + slen]
        ifname = socket.if_indextoname(ifindex)
        n = seen.get(ifname, 0)
        seen[ifname] = n + 1
        # written aside and renamed: a reader never sees the file empty
        path = os.path.join(d, ifname + ".probes")
        with open(path + ".tmp", "w") as f:
            f.write("%d\n" % (n + 1))
        os.replace(path + ".tmp", path)
        try:
            mode = open(os.path.join(d, ifname)).read().strip()
        except OSError:
            continue
        if mode == "spoof":
            dcid, scid = os.urandom(len(dcid)), os.urandom(len(scid))
        elif mode == "flap":
            if n % 2:
                continue
        elif mode != "up":
            continue
        # VN: the probe's SCID as DCID, its DCID as SCID, then versions
        vn = bytes([0x80 | (data[0] & 0x7f), 0, 0, 0, 0, len(scid)]) + scid + \
            bytes([len(dcid)]) + dcid + struct.pack("!II", 0x1a2a3a4a, 1)
        s.sendto(vn, peer)

main()
