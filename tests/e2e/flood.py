#!/usr/bin/env python3
# flood.py - a flood of made-up QUIC packets at the VIP, as fast as one
# AF_PACKET socket sends them, for test_12_flood.sh.
#
#   flood.py IFACE --dst-mac MAC --dst VIP [--port 443] --src-net A.B.C
#            --cid-len N --until-file PATH
#
# Frames go out of IFACE to MAC (cidlb's interface) from A.B.C.1-64, the
# source port one up on every frame (a 4-tuple comes back after 64,512
# frames), in turn:
#   0. an Initial of 1200 octets with a random 8-octet DCID (any config ID),
#   1. a short header with a random CID of config 1 (N octets, the first
#      one self-encoding the length): a decode, a server ID nobody has,
#   2. an Initial of 1200 octets with such a CID,
#   3. an Initial of 300 octets with a random DCID (under 1200: dropped).
# Until PATH exists; then prints {"sent": N, "seconds": S, "kinds": [...]}.
import argparse, json, os, random, socket, struct, time

KINDS = 4


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def quic(kind, rnd, cid_len):
    if kind == 1:
        cid = bytes([(1 << 5) | (cid_len - 1)]) + rnd.randbytes(cid_len - 1)
        return bytes([0x41]) + cid + rnd.randbytes(40)
    if kind == 2:
        dcid = bytes([(1 << 5) | (cid_len - 1)]) + rnd.randbytes(cid_len - 1)
    else:
        dcid = rnd.randbytes(8)
    q = bytes([0xc0]) + b"\x00\x00\x00\x01" + bytes([len(dcid)]) + dcid + b"\x08" + rnd.randbytes(8)
    return q + rnd.randbytes((300 if kind == 3 else 1200) - len(q))


def frame(dst_mac, src_mac, src, dst, dport, payload):
    udp = struct.pack("!HHHH", 1024, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return bytearray(dst_mac + src_mac + b"\x08\x00" + ip + udp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--src-net", required=True)
    ap.add_argument("--cid-len", type=int, required=True)
    ap.add_argument("--until-file", required=True)
    a = ap.parse_args()
    rnd = random.Random(1217)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    src_mac = s.getsockname()[4]
    dst_mac = bytes.fromhex(a.dst_mac.replace(":", ""))
    # 64 frames of each kind from 64 addresses; the source port (octets
    # 34-35: not under the IPv4 checksum, and the UDP checksum is 0)
    # changes on every send: 64,512 frames before a 4-tuple comes back
    frames = [(k, frame(dst_mac, src_mac, "%s.%d" % (a.src_net, 1 + i), a.dst, a.port,
                        quic(k, rnd, a.cid_len)))
              for i in range(64) for k in range(KINDS)]
    kinds = [0] * KINDS
    sent = 0
    t0 = time.monotonic()
    port = 1024
    while True:
        for k, f in frames:
            port = port + 1 if port < 65535 else 1024
            f[34] = port >> 8
            f[35] = port & 0xff
            try:
                s.send(f)
            except OSError:         # the device queue is full: next one
                continue
            kinds[k] += 1
        sent = sum(kinds)
        if os.path.exists(a.until_file):
            break
    print(json.dumps({"sent": sent, "seconds": round(time.monotonic() - t0, 3), "kinds": kinds}))


main()
