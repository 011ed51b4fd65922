#!/usr/bin/env python3
# send.py - QUIC-shaped UDP frames out of an interface through an AF_PACKET
# socket, for the daemon tests (no scapy needed).
#
#   send.py IFACE --dst-mac MAC --src IP --dst IP [--dport 443]
#           --flow CIDHEX@SPORT [--flow ...] [--count N] [--interval-us U]
#           [--until-file PATH] [--rate R] [--initial] [--print-hex]
#
# One round sends one short-header packet per flow, DCID = CIDHEX, from
# SPORT. --count rounds, or rounds until PATH exists (then one last
# --count rounds, default 0). Prints {"sent": [per flow], "total": N}.
# --initial: a v1 Initial of 1200 octets (DCID = CIDHEX) instead: only
# those record a 4-tuple at cidlb when the CID does not route.
# --interval-us sleeps that long after each round; --rate sends R rounds a
# second on average instead (round k due at start + k / R: a late round
# is caught up, so the rate holds on a loaded machine).
# --print-hex: print the first flow's frame in hex instead (for cidlb trace).
import argparse, json, os, socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def frame(dst_mac, src_mac, src, dst, sport, dport, cid, ident, initial=False):
    if initial:     # v1 Initial, DCID = CID, no SCID, padded to 1200 octets
        payload = bytes([0xc0]) + b"\x00\x00\x00\x01" + bytes([len(cid)]) + cid + b"\x00"
        payload += bytes(1200 - len(payload))
    else:
        payload = bytes([0x41]) + cid + bytes(24)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xffff, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--dport", type=int, default=443)
    ap.add_argument("--flow", action="append", required=True)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--interval-us", type=int, default=0)
    ap.add_argument("--until-file")
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--print-hex", action="store_true")
    ap.add_argument("--initial", action="store_true")
    a = ap.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    src_mac = s.getsockname()[4]
    if a.print_hex:
        cid, sport = a.flow[0].split("@")
        print(frame(bytes.fromhex(a.dst_mac.replace(":", "")), src_mac, a.src, a.dst,
                    int(sport), a.dport, bytes.fromhex(cid), 1, a.initial).hex())
        return
    dst_mac = bytes.fromhex(a.dst_mac.replace(":", ""))
    flows = []
    for f in a.flow:
        cid, sport = f.split("@")
        flows.append((bytes.fromhex(cid), int(sport)))
    sent = [0] * len(flows)
    ident = 0
    rounds = 0
    start = time.monotonic()
    def one_round():
        nonlocal ident, rounds
        if a.rate:
            wait = start + rounds / a.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            rounds += 1
        for i, (cid, sport) in enumerate(flows):
            ident += 1
            s.send(frame(dst_mac, src_mac, a.src, a.dst, sport, a.dport, cid, ident, a.initial))
            sent[i] += 1
        if a.interval_us:
            time.sleep(a.interval_us / 1e6)
    if a.until_file:
        while not os.path.exists(a.until_file):
            one_round()
    for _ in range(a.count):
        one_round()
    print(json.dumps({"sent": sent, "total": sum(sent)}))

main()
