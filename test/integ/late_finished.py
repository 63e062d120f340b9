#!/usr/bin/env python3
"""late_finished.py HOST PORT CA CERT KEY GOFILE — a TLS 1.3 client that
sends its second flight without its Finished (one record per handshake
message), waits for GOFILE to exist, then sends the Finished and prints
what the server answers: "refused: ..." (an alert, a close) or
"accepted". The window it holds open lies between the server's check of
its certificate and the handshake's end, where a CA or CRL change or an
expiry can fall (test_control_revoke.sh)."""
import os
import socket
import ssl
import sys
import time

host, port, ca, cert, key, go = sys.argv[1:7]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname="vpn.test")
sock = socket.create_connection((host, int(port)), timeout=30)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
sock.sendall(out.read())
while True:
    data = sock.recv(65536)
    if not data:
        print("refused: closed before the server's flight", flush=True)
        sys.exit(1)
    inc.write(data)
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        pass
flight = out.read()
records, i = [], 0
while i < len(flight):
    n = int.from_bytes(flight[i + 3:i + 5], "big")
    records.append(flight[i:i + 5 + n])
    i += 5 + n
if len(records) < 3:
    print("cannot split the flight: %d record(s)" % len(records), flush=True)
    sys.exit(2)
sock.sendall(b"".join(records[:-1]))
print("holding the Finished", flush=True)
while not os.path.exists(go):
    time.sleep(0.02)
sock.sendall(records[-1])
# A refusal is an alert, or an ERROR frame (control type 8) and the close;
# anything else, or nothing within 3 s, is a server waiting for the HELLO.
sock.settimeout(3)
try:
    while True:
        data = sock.recv(65536)
        if not data:
            print("refused: closed", flush=True)
            break
        inc.write(data)
        try:
            frame = tls.read(65536)
        except ssl.SSLWantReadError:
            continue
        if len(frame) >= 2 and frame[1] == 8:
            print("refused: ERROR", frame[4:].decode(errors="replace"), flush=True)
        else:
            print("accepted: a frame of type %d" % (frame[1] if len(frame) >= 2 else -1), flush=True)
        break
except socket.timeout:
    print("accepted", flush=True)
except ssl.SSLError as e:
    print("refused:", e, flush=True)
