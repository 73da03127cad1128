"""The addresses a process tree's TCP sockets listen on, read from /proc (Linux): what the kernel
bound, without connecting to any of them."""

from __future__ import annotations

import os
import socket
from pathlib import Path

LISTEN = "0A"  # the TCP state /proc/net/tcp writes for a listening socket


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    tree, index = [pid], 0
    while index < len(tree):
        tasks = Path(f"/proc/{tree[index]}/task").glob("*/children")
        tree += [int(child) for task in tasks if task.exists() for child in task.read_text().split()]
        index += 1
    return tree


def socket_inodes(pids: list[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def decode_address(hex_address: str) -> str:
    """/proc/net/tcp's `0100007F:0BB8` as `127.0.0.1:3000`; tcp6's as `[::]:3000`.

    The host is written as 32-bit words in the machine's byte order (little-endian here).
    """
    hex_host, hex_port = hex_address.split(":")
    raw = bytes.fromhex(hex_host)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    port = int(hex_port, 16)
    if len(raw) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, words)}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, words)}]:{port}"


def listening_addresses(pid: int) -> set[str]:
    """Every address (`host:port`) on which `pid` or one of its descendants holds a listening TCP socket."""
    inodes = socket_inodes(process_tree(pid))
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                found.add(decode_address(fields[1]))
    return found
