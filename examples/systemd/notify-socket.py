#!/usr/bin/env python3
"""A stand-in for systemd's notify socket (sd_notify(3)).

usage: notify-socket.py SOCKET LOG

Binds a datagram socket at SOCKET and, for each message received, prints
it on one line ("systemd <- READY=1"; a message with several assignments,
such as RELOADING=1 with MONOTONIC_USEC, is joined with spaces) and appends
the same line to LOG. Runs until killed.
"""
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(log, "a") as out:
    while True:
        msg = sock.recv(65536).decode(errors="replace")
        line = "systemd <- " + " ".join(msg.split("\n"))
        print(line, flush=True)
        out.write(line + "\n")
        out.flush()
