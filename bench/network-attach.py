#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""In-process cost of attach + detach (what `run` pays), through libmyrmex.so with ctypes.

Usage: bench/network-attach.py LIBMYRMEX.so NETNS_PATH PORT [RUNS]
Prints mean/min/max ms of mx_network_attach + mx_network_detach on a scratch store, for a
namespace made beforehand, with one published port. bench/network-cni.sh calls it.
"""

import ctypes
import shutil
import statistics
import sys
import tempfile
import time


class PortMapping(ctypes.Structure):
    _fields_ = [("host_ip", ctypes.c_char * 64), ("host_port", ctypes.c_uint16),
                ("host_port_end", ctypes.c_uint16), ("container_port", ctypes.c_uint16),
                ("protocol", ctypes.c_char * 8)]


class AttachOpts(ctypes.Structure):
    _fields_ = [("version", ctypes.c_int), ("container_name", ctypes.c_char_p),
                ("hostname", ctypes.c_char_p), ("aliases", ctypes.c_void_p),
                ("ports", ctypes.POINTER(PortMapping)), ("n_ports", ctypes.c_size_t),
                ("owner_pid", ctypes.c_int), ("netns_path", ctypes.c_char_p)]


class CreateOpts(ctypes.Structure):
    _fields_ = [("version", ctypes.c_int), ("name", ctypes.c_char_p),
                ("driver", ctypes.c_char_p), ("subnet", ctypes.c_char_p),
                ("gateway", ctypes.c_char_p), ("internal", ctypes.c_int),
                ("labels_json", ctypes.c_char_p)]


def main():
    lib = ctypes.CDLL(sys.argv[1])
    netns, port = sys.argv[2].encode(), int(sys.argv[3])
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    store = ctypes.c_void_p()
    root = tempfile.mkdtemp(prefix="mx-bench-attach-").encode()
    if lib.mx_store_open(ctypes.byref(store), root, None) != 0:
        sys.exit("mx_store_open failed")
    co = CreateOpts(1, b"attachbench", None, b"10.194.4.0/24", None, 0, None)
    if lib.mx_network_create(None, store, ctypes.byref(co), None) != 0:
        sys.exit("mx_network_create failed")
    pm = PortMapping(b"", port, 0, 80, b"tcp")
    opts = AttachOpts(1, b"bench", None, None, ctypes.pointer(pm), 1, 0, netns)
    times = []
    for i in range(runs + 2):
        t0 = time.perf_counter()
        if lib.mx_network_attach(None, store, b"attach1", b"attachbench", ctypes.byref(opts),
                                 None) != 0:
            sys.exit("mx_network_attach failed")
        if lib.mx_network_detach(store, b"attach1", None, None) != 0:
            sys.exit("mx_network_detach failed")
        if i >= 2:  # two warm-up rounds, as for hyperfine
            times.append((time.perf_counter() - t0) * 1000)
    lib.mx_network_release(store, b"attach1", None, None)
    lib.mx_network_remove(store, b"attachbench", None)
    lib.mx_store_free(store)
    shutil.rmtree(root, ignore_errors=True)
    print("| `myrmex-in-process` | %.1f ± %.1f | %.1f | %.1f | |" % (
        statistics.mean(times), statistics.stdev(times), min(times), max(times)))


if __name__ == "__main__":
    main()
