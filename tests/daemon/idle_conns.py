# idle_conns.py HOST PORT N READY-FILE STOP-FILE: open N TCP connections to
# HOST:PORT and hold them, idle, until STOP-FILE exists; write the number
# that connected into READY-FILE. Run as an unprivileged user (the test of
# the metrics endpoint: what any local user can do to cidlbd).
import os, resource, socket, sys, time

host, port, n, ready, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        continue
    socks.append(s)
# the handshakes finish in the kernel (backlog) whether cidlbd accepts or not
deadline = time.time() + 10
done = 0
while time.time() < deadline:
    done = sum(1 for s in socks if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
    if done == len(socks):
        break
    time.sleep(0.1)
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % done)
os.rename(ready + ".tmp", ready)
# until told, or until the test (and its directory) is gone
while not os.path.exists(stop) and os.path.isdir(os.path.dirname(stop)):
    time.sleep(0.1)
