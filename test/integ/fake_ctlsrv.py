#!/usr/bin/env python3
"""fake_ctlsrv.py — a broken ringvpn control server, to test how a client
ends when its server authenticates it and then breaks the control protocol.

It speaks TLS 1.3 with the test PKI's server certificate (Python's ssl: no
TLS exporter, so it cannot key a data plane; a client still reaches
RUNNING, which needs only the control messages) and the framing and
messages of core/ctlmsg.h.

usage: fake_ctlsrv.py PKI_DIR ADDR PORT SCENARIO
  end_early  after HELLO: FAKE_END=error|goodbye with FAKE_CODE, or
             FAKE_END=config: a CONFIG (FAKE_MTU, FAKE_ADDR6 and FAKE_P6
             shape it) and no KEY
  flap       every connection: up to RUNNING, then GOODBYE(FAKE_CODE,
             default shutdown) FAKE_UP_FOR seconds later (default 0.1)
Each accepted connection is logged on stdout ("TLS up", what it sent).
"""
import os
import socket
import ssl
import struct
import sys
import threading
import time

PKI, ADDR, PORT, SCEN = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

T_HELLO, T_CONFIG, T_KEY, T_KEY_ACK, T_CONFIRM, T_KA, T_GOODBYE, T_ERROR = range(1, 9)
PUB = bytes([9]) + bytes(31)  # X25519's base point: a valid public key


def log(*a):
    print("[%.3f]" % time.time(), *a, flush=True)


def frame(t, body):
    return struct.pack(">BBH", 1, t, len(body)) + body


def hello():
    return frame(T_HELLO, struct.pack(">BBHIB", 1, 1, 0, 0x1FF, 0) + bytes(20))


def config():
    e = os.environ
    addr6 = e.get("FAKE_ADDR6", "")
    mtu = int(e.get("FAKE_MTU", "1400"))
    flags = 1 | (2 if addr6 else 0)
    body = struct.pack(">BB4sB16sHHIIHHIBB", flags, 24, socket.inet_pton(socket.AF_INET,
                                                                         "10.97.0.2"),
                       int(e.get("FAKE_P6", "64")) if addr6 else 0,
                       socket.inet_pton(socket.AF_INET6, addr6) if addr6 else bytes(16),
                       mtu, 4434, 0x1111, 0x2222, 1, 4, 3600, 1, 0)
    return frame(T_CONFIG, body)


class Conn:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def send(self, data, what):
        self.s.sendall(data)
        log("sent", what)

    def recv_frame(self, timeout):
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 4:
                _, t, n = struct.unpack(">BBH", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return t, body
            d = self.s.recv(65536)
            if not d:
                raise EOFError("client closed")
            self.buf += d

    def expect(self, want):
        while True:
            t, body = self.recv_frame(10)
            if t == want:
                return body
            if t in (T_ERROR, T_GOODBYE):
                raise EOFError("client ended")

    def drain(self, secs):
        """Reads what the client sends for |secs| (keepalives)."""
        end = time.time() + secs
        while time.time() < end:
            try:
                t, _ = self.recv_frame(max(0.05, end - time.time()))
            except socket.timeout:
                continue
            if t in (T_ERROR, T_GOODBYE):
                raise EOFError("client ended")


def scenario(c):
    code = int(os.environ.get("FAKE_CODE", "5"))
    c.expect(T_HELLO)
    c.send(hello(), "HELLO")
    if SCEN == "end_early":
        end = os.environ.get("FAKE_END", "error")
        if end == "error":
            c.send(frame(T_ERROR, struct.pack(">HB", code, 4) + b"test"), "ERROR %d" % code)
        elif end == "goodbye":
            c.send(frame(T_GOODBYE, struct.pack(">H", code)), "GOODBYE %d" % code)
        else:
            c.send(config(), "CONFIG")
        c.drain(2)
    elif SCEN == "flap":
        c.send(config(), "CONFIG")
        c.send(frame(T_KEY, struct.pack(">I", 1) + PUB), "KEY 1")
        c.expect(T_KEY_ACK)
        c.send(frame(T_CONFIRM, struct.pack(">I", 1)), "KEY_CONFIRM 1")
        c.drain(float(os.environ.get("FAKE_UP_FOR", "0.1")))
        c.send(frame(T_GOODBYE, struct.pack(">H", code)), "GOODBYE %d" % code)
    else:
        raise SystemExit("unknown scenario " + SCEN)


def serve_one(ctx, raw):
    try:
        s = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        log("TLS failed:", e)
        raw.close()
        return
    log("TLS up")
    try:
        scenario(Conn(s))
    except (EOFError, OSError, ssl.SSLError) as e:
        log("connection ended:", e)
    finally:
        s.close()


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(PKI + "/server.crt", PKI + "/server.key")
    ctx.load_verify_locations(PKI + "/ca/ca.crt")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ls = socket.socket(socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ADDR, PORT))
    ls.listen(16)
    log("listening", ADDR, PORT, SCEN)
    while True:
        raw, _ = ls.accept()
        threading.Thread(target=serve_one, args=(ctx, raw), daemon=True).start()


main()
