#!/usr/bin/python3
# ctl_raw.py - a raw client of cidlbd's control socket for the scripted
# tests: the request's octets go to the socket exactly as given, the reply
# comes back as the daemon sent it.
#   ctl_raw.py SOCKET      stdin is the request (empty: connect, then close
#                          the write side at once); the reply to stdout
#   import ctl_raw; ctl_raw.talk(SOCKET, DATA, ...)   the same from Python
import socket
import sys
import time


def talk(path, data, cuts=(), pace=0.0, shut=True, timeout=None):
    """Send data (written in pieces ending at the offsets `cuts`, `pace`
    seconds apart), close the write side unless shut is False, and return
    everything the daemon sends until it closes."""
    s = socket.socket(socket.AF_UNIX)
    if timeout is not None:
        s.settimeout(timeout)
    s.connect(path)
    if data:
        prev = 0
        for c in list(cuts) + [len(data)]:
            s.sendall(data[prev:c])
            prev = c
            if cuts:
                time.sleep(pace)
    if shut:
        s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out


if __name__ == "__main__":
    sys.stdout.buffer.write(talk(sys.argv[1], sys.stdin.buffer.read()))
