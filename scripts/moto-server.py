"""Runs moto in server mode on a free loopback port, prints the port on stdout, and stops when its
stdin closes, so it never outlives the test or script that started it.

Usage: .venv/bin/python scripts/moto-server.py [PORT]
"""
import logging
import sys

from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.ERROR)

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
try:
    sys.stdin.read()
finally:
    server.stop()
