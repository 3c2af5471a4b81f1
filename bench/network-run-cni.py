#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The CNI calls behind `myrmex run` on the default bridge, alone: ADD of the store's own
conflist (bridge + host-local, portmap, firewall; prevResult chained as the spec says),
then DEL in reverse, for a network namespace made beforehand. No published port, as in
`run --rm IMAGE true`.

Usage: bench/network-run-cni.py CONFLIST NETNS_PATH [RUNS]
Prints the mean, min and max of one ADD+DEL round in ms (after one warm-up round), and of
the ADD half alone (`run` waits for the ADD; the DEL runs after the exit is reported).
"""

import json
import os
import statistics
import subprocess
import sys
import time

CNI_PATH = os.environ.get("MYRMEX_CNI_PATH", "/usr/lib/cni")


def call(plugin, cmd, netns, conf):
    env = {"CNI_COMMAND": cmd, "CNI_CONTAINERID": "mxbenchcni%d" % os.getpid(),
           "CNI_NETNS": netns, "CNI_IFNAME": "eth0", "CNI_PATH": CNI_PATH,
           "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    cp = subprocess.run([os.path.join(CNI_PATH, plugin)], input=json.dumps(conf).encode(),
                        env=env, capture_output=True)
    if cp.returncode != 0:
        sys.exit("%s %s failed: %s" % (plugin, cmd, cp.stdout.decode() + cp.stderr.decode()))
    return json.loads(cp.stdout) if cp.stdout.strip() else None


def one_round(conflist, netns, split=None):
    prev = None
    t0 = time.perf_counter()
    for p in conflist["plugins"]:
        conf = dict(p, name=conflist["name"], cniVersion=conflist["cniVersion"])
        conf.pop("capabilities", None)
        if prev is not None:
            conf["prevResult"] = prev
        prev = call(p["type"], "ADD", netns, conf)
    if split is not None:
        split.append((time.perf_counter() - t0) * 1000)
    for p in reversed(conflist["plugins"]):
        conf = dict(p, name=conflist["name"], cniVersion=conflist["cniVersion"],
                    prevResult=prev)
        conf.pop("capabilities", None)
        call(p["type"], "DEL", netns, conf)


def main():
    conflist = json.load(open(sys.argv[1]))
    netns = sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    one_round(conflist, netns)  # warm-up
    times, adds = [], []
    for _ in range(runs):
        t = time.perf_counter()
        one_round(conflist, netns, adds)
        times.append((time.perf_counter() - t) * 1000)
    print("cni ADD+DEL (bridge, portmap, firewall): mean %.1f ms  min %.1f  max %.1f  "
          "(%d runs)" % (statistics.mean(times), min(times), max(times), runs))
    print("cni ADD alone:                          mean %.1f ms  min %.1f  max %.1f"
          % (statistics.mean(adds), min(adds), max(adds)))


if __name__ == "__main__":
    main()
