#!/usr/bin/env python3
"""fake_ctl_server.py — a control server that authenticates like a real one
(TLS 1.3, the deployment's CA, a valid server certificate) and then says
what the test wants, to try a ringvpn *client* against a server that is
compromised or broken. It speaks the control protocol of core/ctlmsg.h; it
has no data plane.

usage: fake_ctl_server.py PKI_DIR ADDR PORT SCENARIO
  up          HELLO, CONFIG (env FAKE_ADDR4/FAKE_P4, FAKE_ADDR6/FAKE_P6,
              FAKE_ROUTES=a/n,b/n, FAKE_MTU), KEY(1), KEY_CONFIRM(1), then
              keepalives; with FAKE_DNS=a,b (and FAKE_DOMAIN) a DNS message
              after KEY_CONFIRM
  hello_only  HELLO, then keepalives only (the client waits for CONFIG)
  end_early   after HELLO: FAKE_END=error|goodbye with FAKE_CODE, or
              FAKE_END=config: a CONFIG and no KEY
  flap        up, then GOODBYE(FAKE_CODE, default shutdown) FAKE_UP_FOR
              seconds later (default 0.1), on every connection
  reconfig    up, then FAKE_RECONFIGS (200) CONFIG updates 10 ms apart, each
              alternating mtu (1400, 1300) and routes (10.71.0.0/24, or
              10.72.0.0/24 and 127.0.0.0/8), then a last one with mtu 1350
              and 10.73.0.0/24, then keepalives (a flapping server)
  forge       after HELLO (FAKE_UP=1: once the session is up), a TLS
              application-data record of 64 bytes of garbage written on the
              socket beneath TLS (what an attacker on the path could inject)
Prints "listening" when ready and "TLS up" and what follows for each
connection to stdout.
"""
import os
import socket
import ssl
import struct
import sys
import threading
import time

PKI, ADDR, PORT, SCENARIO = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

HELLO, CONFIG, KEY, KEY_ACK, KEY_CONFIRM, KEEPALIVE, GOODBYE, ERROR, DNS = range(1, 10)
CAPS = 0x1FF
# The X25519 base point: a valid public key (this server never keys UDP).
PUBLIC = bytes([9]) + bytes(31)


def frame(kind, body):
    return struct.pack(">BBH", 1, kind, len(body)) + body


def addr(a):
    return socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a)


def config():
    a4, a6 = os.environ.get("FAKE_ADDR4", "10.99.0.2"), os.environ.get("FAKE_ADDR6", "")
    p4, p6 = int(os.environ.get("FAKE_P4", "24")), int(os.environ.get("FAKE_P6", "64"))
    routes = [r for r in os.environ.get("FAKE_ROUTES", "").split(",") if r]
    body = struct.pack(">BB4sB16sHHIIHHIBB", (1 if a4 else 0) | (2 if a6 else 0),
                       p4 if a4 else 0, addr(a4) if a4 else bytes(4), p6 if a6 else 0,
                       addr(a6) if a6 else bytes(16), int(os.environ.get("FAKE_MTU", "1400")), PORT + 1, 0x1111, 0x2222,
                       1, 4, 3600, 1, len(routes))
    for r in routes:
        net, plen = r.split("/")
        body += struct.pack(">BB", 6 if ":" in net else 4, int(plen)) + addr(net)
    return frame(CONFIG, body)


class Peer:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def read(self, timeout):
        """The next frame (kind, body), or None after |timeout| s."""
        self.s.settimeout(timeout)
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">H", self.buf[2:4])[0]:
            try:
                more = self.s.recv(65536)
            except socket.timeout:
                return None
            if not more:
                raise EOFError
            self.buf += more
        n = 4 + struct.unpack(">H", self.buf[2:4])[0]
        f, self.buf = self.buf[:n], self.buf[n:]
        return f[1], f[4:]

    def wait_for(self, kind):
        while True:
            f = self.read(10)
            if f is None:
                raise EOFError
            if f[0] == kind:
                return f[1]
            if f[0] in (GOODBYE, ERROR):
                raise EOFError

    def keepalives(self):
        """Keepalives every 0.5 s; a KEY from the client is answered."""
        while True:
            self.s.sendall(frame(KEEPALIVE, b""))
            f = self.read(0.5)
            if f and f[0] == KEY:
                self.s.sendall(frame(KEY_ACK, f[1][:4] + PUBLIC))


    def drain(self, secs):
        """Reads what the client sends for |secs|."""
        end = time.time() + secs
        while time.time() < end:
            f = self.read(max(0.05, end - time.time()))
            if f and f[0] in (GOODBYE, ERROR):
                raise EOFError


def up(p):
    p.s.sendall(config() + frame(KEY, struct.pack(">I", 1) + PUBLIC))
    p.wait_for(KEY_ACK)
    p.s.sendall(frame(KEY_CONFIRM, struct.pack(">I", 1)))
    servers = [a for a in os.environ.get("FAKE_DNS", "").split(",") if a]
    if servers:
        body = struct.pack(">B", len(servers))
        for a in servers:
            body += struct.pack(">B", 6 if ":" in a else 4) + addr(a)
        dom = os.environ.get("FAKE_DOMAIN", "").encode()
        p.s.sendall(frame(DNS, body + struct.pack(">B", len(dom)) + dom))
        # FAKE_DNS_REPEAT=N: N more, 10 ms apart, alternating with one
        # that names the first server alone (a flapping server).
        alt = struct.pack(">BB", 1, 6 if ":" in servers[0] else 4) + addr(servers[0]) + bytes(1)
        for i in range(int(os.environ.get("FAKE_DNS_REPEAT", "0"))):
            p.s.sendall(frame(DNS, alt if i % 2 == 0 else body + struct.pack(">B", len(dom)) + dom))
            time.sleep(0.01)
    print("connection: up", flush=True)


def serve(ctx, raw):
    code = int(os.environ.get("FAKE_CODE", "5"))
    try:
        p = Peer(ctx.wrap_socket(raw, server_side=True))
        print("TLS up", flush=True)
        p.wait_for(HELLO)
        p.s.sendall(frame(HELLO, struct.pack(">BBHIB", 1, 1, 0, CAPS, 0) + bytes(20)))
        print("connection: HELLO", flush=True)
        if SCENARIO == "end_early":
            end = os.environ.get("FAKE_END", "error")
            if end == "error":
                p.s.sendall(frame(ERROR, struct.pack(">HB", code, 4) + b"test"))
            elif end == "goodbye":
                p.s.sendall(frame(GOODBYE, struct.pack(">H", code)))
            else:
                p.s.sendall(config())
            p.drain(2)
            return
        if SCENARIO == "forge":
            if os.environ.get("FAKE_UP") == "1":
                up(p)
                p.drain(1)
            rec = bytes([0x17, 3, 3, 0, 64]) + bytes((i * 37 + 11) & 255 for i in range(64))
            os.write(p.s.fileno(), rec)
            p.drain(2)
            return
        if SCENARIO == "flap":
            up(p)
            p.drain(float(os.environ.get("FAKE_UP_FOR", "0.1")))
            p.s.sendall(frame(GOODBYE, struct.pack(">H", code)))
            return
        if SCENARIO == "reconfig":
            up(p)
            for i in range(int(os.environ.get("FAKE_RECONFIGS", "200"))):
                odd = i % 2 == 1
                os.environ["FAKE_MTU"] = "1300" if odd else "1400"
                os.environ["FAKE_ROUTES"] = "10.72.0.0/24,127.0.0.0/8" if odd else "10.71.0.0/24"
                p.s.sendall(config())
                time.sleep(0.01)
            os.environ["FAKE_MTU"], os.environ["FAKE_ROUTES"] = "1350", "10.73.0.0/24"
            p.s.sendall(config())
            print("connection: reconfigured", flush=True)
        if SCENARIO == "up":
            up(p)
        p.keepalives()
    except (EOFError, OSError, ssl.SSLError) as e:
        print("connection ended:", type(e).__name__, flush=True)


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(PKI + "/server.crt", PKI + "/server.key")
    ctx.load_verify_locations(PKI + "/ca/ca.crt")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ls = socket.socket(socket.AF_INET6 if ":" in ADDR else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ADDR, PORT))
    ls.listen(8)
    print("listening", flush=True)
    while True:
        raw, _ = ls.accept()
        threading.Thread(target=serve, args=(ctx, raw), daemon=True).start()


main()
