#!/usr/bin/env python3
"""flagsniff.py IFACE PORT SECONDS: the ringvpn data datagrams sent from UDP
port PORT that leave through IFACE (IPv4) for SECONDS, as one line each:
"FLAGS INNER_LEN" (FLAGS the header's flags byte, INNER_LEN the datagram's
payload less the 32 bytes of header and tag). A UDP GSO send seen whole
counts as one datagram of its merged length."""
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003  # outgoing frames reach only taps of every protocol
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


def main(iface, port, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, ETH_P_ALL))
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        if not select.select([s], [], [], left)[0]:
            continue
        frame, addr = s.recvfrom(65536)
        if addr[1] != ETH_P_IP or addr[2] != PACKET_OUTGOING:
            continue
        ip = frame[14:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        udp = ip[ihl:]
        if len(udp) < 8 + 16 or struct.unpack("!H", udp[0:2])[0] != port:
            continue
        payload = total - ihl - 8
        print(udp[8 + 2], payload - 32, flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
