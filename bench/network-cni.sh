#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The cost of the CNI calls behind a container's network: one ADD and one DEL of the
# bridge(+host-local) / portmap / firewall chain for a namespace with one published port.
#
#   raw-plugins      the three plugins run by hand in spec order (ADD 1-2-3 with prevResult,
#                    DEL 3-2-1): the floor any CNI runtime pays (podman's netavark/CNI too)
#   myrmex           `myrmex network connect` + `network disconnect` of the same namespace:
#                    the plugins plus our bookkeeping (store, records, port checks)
#   myrmex-in-process  mx_network_attach + mx_network_detach called in one process through
#                    libmyrmex.so (what `run` pays), by bench/network-attach.py
#
# Needs root, hyperfine, containernetworking-plugins. Usage: bench/network-cni.sh [RUNS]
set -eu
RUNS=${1:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
MYRMEX=${MYRMEX:-$HERE/../build/src/cli/myrmex}
[ -x "$MYRMEX" ] || MYRMEX=$HERE/../build/myrmex
CNI=/usr/lib/cni
WORK=$(mktemp -d /tmp/mx-bench-cni.XXXXXX)
NS=mxbench$$
ROOT=$WORK/store
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')

cleanup() {
        "$MYRMEX" --root "$ROOT" network disconnect benchnet bench1 >/dev/null 2>&1 || true
        "$MYRMEX" --root "$ROOT" network rm benchnet >/dev/null 2>&1 || true
        ip netns del $NS 2>/dev/null || true
        ip link del mxbench0 2>/dev/null || true
        rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add $NS

# The raw chain: the same configuration myrmex generates, driven by a shell script.
cat > "$WORK/raw.sh" <<RAW
#!/bin/sh
set -e
export CNI_CONTAINERID=raw1 CNI_NETNS=/run/netns/$NS CNI_IFNAME=eth0 CNI_PATH=$CNI
B='{"cniVersion":"1.0.0","name":"rawnet","type":"bridge","bridge":"mxbench0","isGateway":true,"ipMasq":true,"hairpinMode":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.194.9.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"$WORK/ipam"}}'
R1=\$(echo "\$B" | CNI_COMMAND=ADD $CNI/bridge)
P='{"cniVersion":"1.0.0","name":"rawnet","type":"portmap","snat":true,"runtimeConfig":{"portMappings":[{"hostPort":$PORT,"containerPort":80,"protocol":"tcp"}]},"prevResult":'"\$R1"'}'
R2=\$(echo "\$P" | CNI_COMMAND=ADD $CNI/portmap)
F='{"cniVersion":"1.0.0","name":"rawnet","type":"firewall","backend":"iptables","prevResult":'"\$R2"'}'
R3=\$(echo "\$F" | CNI_COMMAND=ADD $CNI/firewall)
echo '{"cniVersion":"1.0.0","name":"rawnet","type":"firewall","backend":"iptables","prevResult":'"\$R3"'}' | CNI_COMMAND=DEL $CNI/firewall
echo '{"cniVersion":"1.0.0","name":"rawnet","type":"portmap","snat":true,"runtimeConfig":{"portMappings":[{"hostPort":$PORT,"containerPort":80,"protocol":"tcp"}]},"prevResult":'"\$R3"'}' | CNI_COMMAND=DEL $CNI/portmap
echo "\$B" | CNI_COMMAND=DEL $CNI/bridge
RAW
chmod +x "$WORK/raw.sh"

"$MYRMEX" --root "$ROOT" network create --subnet 10.194.8.0/24 benchnet >/dev/null
# warm both paths once (bridges and shared chains exist afterwards, as in steady state)
"$WORK/raw.sh"
"$MYRMEX" --root "$ROOT" network connect --netns /run/netns/$NS -p $PORT:80 benchnet bench1
"$MYRMEX" --root "$ROOT" network disconnect benchnet bench1

hyperfine --runs "$RUNS" --warmup 2 --export-markdown "$WORK/result.md" \
        -n raw-plugins "$WORK/raw.sh" \
        -n myrmex "$MYRMEX --root $ROOT network connect --netns /run/netns/$NS -p $PORT:80 benchnet bench1 && $MYRMEX --root $ROOT network disconnect benchnet bench1"
cat "$WORK/result.md"
LIB=$(dirname "$MYRMEX")/libmyrmex.so
[ -e "$LIB" ] || LIB=$(dirname "$MYRMEX")/../../libmyrmex.so
if [ -e "$LIB" ]; then
        python3 "$HERE/network-attach.py" "$LIB" /run/netns/$NS "$PORT" "$RUNS"
fi
