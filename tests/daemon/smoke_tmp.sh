source tests/daemon/lib.sh
net_setup
write_conf 1 2
start_daemon
frame=$(on cl $SEND c0 --dst-mac "$L0_MAC" --src 198.18.0.2 --dst 198.18.100.1 --flow "$(cid_of 2 0a0b0c0d0e0f)@40000" --print-hex)
lbc -j trace "$frame"
lbc -j trace --ingress l1 "$frame"
lbc -j trace --ingress l2 "$frame"
send --flow "$(cid_of 2 0a0b0c0d0e0f)@40000" --count 3
lbc -j stats | jget 'd["counters"]["redirect"]'
finish
