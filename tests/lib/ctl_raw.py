#!/usr/bin/python3
# ctl_raw.py SOCKET - a raw control-socket client for the scripted tests:
# the bytes on stdin go to the daemon's control socket as they are (none:
# connect and close the write side at once), the reply, as the daemon sent
# it, to stdout.
import socket
import sys

s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
data = sys.stdin.buffer.read()
if data:
    s.sendall(data)
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
