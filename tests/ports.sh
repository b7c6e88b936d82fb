# tests/ports.sh: TCP port helpers for the tests and the benches (bash).

# free_port [N]: N distinct TCP ports that no socket holds at the moment
free_port() {
	python3 - "${1:-1}" <<'PY_EOF'
import random, socket, sys
# Below the ephemeral range: no outgoing connection (curl's, podman's, the
# kernel's choice for bind to port 0) ever takes one of these, so a port
# found free stays free unless another test picks the same one.
lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
pool = range(10000, lo) if lo > 11000 else range(hi + 1, 65536)
out = []
while len(out) < int(sys.argv[1]):
    p = random.choice(pool)
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p))   # held on any address: not free
    except OSError:
        continue
    finally:
        s.close()
    if p not in out:
        out.append(p)
print("\n".join(map(str, out)))
PY_EOF
}

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT
wait_port() {
	local i=0
	while ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt $((${2:-10} * 20)) ] && return 1
		sleep 0.05
	done
}
