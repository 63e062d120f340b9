#!/usr/bin/env python3
"""inject.py — hostile datagrams for the ringvpn data-plane tests.

Run inside the namespace of the peer whose traffic is captured:

  inject.py capture-inject --iface veth0 --dst 10.77.0.2 --port 51820 \
      --trigger 10.99.0.2:9 --replay 5 --tamper 5 --truncate 5 --unknown-index 5 \
      [--avoid-index 0x22222222]

    Sniffs (AF_PACKET, no tcpdump) one real data message sent to DST:PORT
    while poking TRIGGER (a UDP port behind the tunnel) so that one is sent,
    then sends to DST:PORT from an ordinary UDP socket:
      replay        the captured datagram unchanged (replay / too old)
      tamper        counter moved far ahead and one ciphertext byte flipped
                    (passes the replay pre-check, fails authentication)
      truncate      the first 1..31 bytes (shorter than header + tag)
      unknown-index the datagram with a receiver index no session has
      limit         the datagram with a counter at or past the reject-after
                    limit (no sender makes one: key_expired, charged to the
                    session whose index it carries)
    and prints what it sent.

  inject.py flags-census --iface veth0 --dst 10.77.0.2 --port 51820 \
      [--seconds 3] [--enough 200] [--wait 30]
    Prints "ready" once it listens, then sniffs the data messages sent to
    DST:PORT (a GSO train counts once, by its first datagram's header) until
    ENOUGH of them or SECONDS after the first (WAIT for that first), and
    prints "data=N partial=M": how many carried the header flag
    RV_DATA_F_CSUM_PARTIAL (byte 2, bit 0; core/wire.h).

  inject.py route-forge --pid PID --dst 10.40.0.128/25 --dev c1
    Sends a forged RTM_NEWROUTE (DST through DEV) from an ordinary netlink
    socket to each of PID's netlink sockets that listen to route groups
    (run in PID's namespace) and prints "listeners N sent S refused R".

  inject.py spoof-packet --src 10.99.0.77 --dst 10.99.0.2
    Prints, in hex, an IPv4 or IPv6 UDP packet with the given (spoofed) inner
    source; rvt_dp_peer --spoof seals it with the real session key.

  inject.py hold --iface veth0 --dst 10.88.1.2 --port 40000 --out FILE \
      [--timeout 10]
    Sniffs (AF_PACKET) the first data message carrying an inner packet sent
    to DST:PORT and writes it, in hex, to FILE: the test drops that traffic
    meanwhile (nftables), so the datagram is one "held back on the way".

  inject.py send-hex --file FILE --to 10.88.1.1:4434 [--bind ADDR]
    Sends the datagram in FILE from an ordinary UDP socket (bound to ADDR:
    "delivered later, from elsewhere").

  inject.py raw-burst --proto tcp|udp --src 10.99.0.2 --dst 10.99.0.1 \
      --port 7777 [--bad | --zero] [--count 8] [--size 1000]
    Sends COUNT back-to-back segments of SIZE random bytes from a raw socket
    (TCP ACKs in sequence, or UDP datagrams; IPv4 or IPv6 by the address),
    with a wrong L4 checksum when --bad: a broken sender, whose packets the
    receiving kernel must drop. --zero (UDP, SIZE even): a checksum field of
    0 with the payload's last two bytes made so that the sum is right with
    it (0 and 0xffff fold alike); IPv6 forbids a zero and its kernel drops
    such a datagram.

  inject.py tun-send --iface rvc --src 10.99.0.2 --dst 10.99.0.3 \
      [--bad-ipcsum] [--count 5] [--port 9]
    Sends COUNT IPv4 UDP packets out of the TUN device IFACE from a packet
    socket, which leaves the IP header as it is (a raw socket's kernel
    fills its checksum in): with --bad-ipcsum the header checksum is wrong,
    a broken or hostile sender's packet that a router must drop.

  inject.py icmp-frag-needed --to 10.77.0.2 --quote-src 10.77.0.2 \
      --quote-sport 51820 --quote-dst 10.77.0.1 [--quote-dport 1] [--mtu 552]
    Sends TO one ICMP "fragmentation needed" (type 3, code 4) with next-hop
    MTU MTU that quotes a UDP datagram QUOTE_SRC:SPORT -> QUOTE_DST:DPORT:
    what an off-path attacker forges to shrink a data socket's path MTU.
"""
import argparse
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
HDR_LEN = 16
TAG_LEN = 16
SO_RCVBUFFORCE = 33  # Linux; lets root pass net.core.rmem_max


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_packet(src, dst, sport, dport, payload):
    v6 = ":" in src
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    s = socket.inet_pton(fam, src)
    d = socket.inet_pton(fam, dst)
    ulen = 8 + len(payload)
    if v6:
        pseudo = s + d + struct.pack("!IxxxB", ulen, 17)
    else:
        pseudo = s + d + struct.pack("!xBH", 17, ulen)
    c = csum(pseudo + struct.pack("!HHHH", sport, dport, ulen, 0) + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, ulen, c) + payload
    if v6:
        return struct.pack("!IHBB", 6 << 28, ulen, 17, 64) + s + d + udp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0x1234, 0x4000, 64, 17, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + udp


def parse_frame(frame, dst, port):
    """Returns the UDP payload of an Ethernet frame to dst:port, or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if etype == 0x0800 and len(ip) >= 20 and ip[9] == 17:
        ihl = (ip[0] & 0xF) * 4
        if socket.inet_ntop(socket.AF_INET, ip[16:20]) != dst:
            return None
        tot = struct.unpack("!H", ip[2:4])[0]
        udp = ip[ihl:tot]
    elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 17:
        if socket.inet_ntop(socket.AF_INET6, ip[24:40]) != dst:
            return None
        plen = struct.unpack("!H", ip[4:6])[0]
        udp = ip[40:40 + plen]
    else:
        return None
    if len(udp) < 8 or struct.unpack("!H", udp[2:4])[0] != port:
        return None
    ulen = struct.unpack("!H", udp[4:6])[0]
    return udp[8:ulen]


def capture(args):
    sn = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sn.bind((args.iface, 0))
    thost, tport = args.trigger.rsplit(":", 1)
    thost = thost.strip("[]")
    tfam = socket.AF_INET6 if ":" in thost else socket.AF_INET
    trig = socket.socket(tfam, socket.SOCK_DGRAM)
    deadline = time.time() + args.timeout
    next_trigger = 0.0
    while time.time() < deadline:
        if time.time() >= next_trigger:
            trig.sendto(b"rvt-trigger", (thost, int(tport)))
            next_trigger = time.time() + 0.05
        r, _, _ = select.select([sn], [], [], 0.05)
        if not r:
            continue
        frame = sn.recv(65536)
        dg = parse_frame(frame, args.dst, args.port)
        # A small, single data message (not a GSO batch, not a keepalive).
        if dg is not None and HDR_LEN + TAG_LEN < len(dg) <= 400 and dg[0] == 1:
            return dg
    sys.exit("inject.py: no data message to %s:%d seen on %s" % (args.dst, args.port, args.iface))


def cmd_capture_inject(args):
    dg = capture(args)
    counter = struct.unpack("!Q", dg[8:16])[0]
    index = struct.unpack("!I", dg[4:8])[0]
    print("captured datagram: %d bytes, receiver index %#010x, counter %d" % (len(dg), index, counter))
    fam = socket.AF_INET6 if ":" in args.dst else socket.AF_INET
    out = socket.socket(fam, socket.SOCK_DGRAM)
    dst = (args.dst, args.port)
    avoid = {int(x, 0) for x in args.avoid_index} | {index, 0}
    sent = {"replay": 0, "tamper": 0, "truncate": 0, "empty": 0, "unknown_index": 0, "limit": 0}
    for _ in range(args.replay):
        out.sendto(dg, dst)
        sent["replay"] += 1
    for i in range(args.tamper):
        t = bytearray(dg)
        t[8:16] = struct.pack("!Q", counter + (1 << 40) + i)
        t[HDR_LEN + (i % (len(dg) - HDR_LEN - TAG_LEN))] ^= 0x5A
        out.sendto(bytes(t), dst)
        sent["tamper"] += 1
    for i in range(args.truncate):
        out.sendto(dg[: 1 + (i * 7) % (HDR_LEN + TAG_LEN - 1)], dst)
        sent["truncate"] += 1
    for _ in range(args.empty):
        out.sendto(b"", dst)
        sent["empty"] += 1
    for _ in range(args.unknown_index):
        idx = 0
        while idx in avoid:
            idx = random.getrandbits(32)
        t = bytearray(dg)
        t[4:8] = struct.pack("!I", idx)
        out.sendto(bytes(t), dst)
        sent["unknown_index"] += 1
    reject_after = (1 << 64) - 1 - (1 << 13)  # RV_REJECT_AFTER_MESSAGES
    for i in range(args.limit):
        t = bytearray(dg)
        t[8:16] = struct.pack("!Q", reject_after + (i * 4001) % (1 << 13))
        out.sendto(bytes(t), dst)
        sent["limit"] += 1
    print(" ".join("%s=%d" % kv for kv in sent.items()))


def cmd_hold(args):
    sn = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sn.bind((args.iface, 0))
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        r, _, _ = select.select([sn], [], [], 0.05)
        if not r:
            continue
        dg = parse_frame(sn.recv(65536), args.dst, args.port)
        if dg is not None and HDR_LEN + TAG_LEN < len(dg) <= 400 and dg[0] == 1:
            with open(args.out, "w") as f:
                f.write(dg.hex() + "\n")
            print("held datagram: %d bytes, counter %d" % (len(dg), struct.unpack("!Q", dg[8:16])[0]))
            return
    sys.exit("inject.py: no data message to %s:%d seen on %s" % (args.dst, args.port, args.iface))


def cmd_send_hex(args):
    dg = bytes.fromhex(open(args.file).read().strip())
    host, port = args.to.rsplit(":", 1)
    host = host.strip("[]")
    out = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    if args.bind:
        out.bind((args.bind, 0))
    out.sendto(dg, (host, int(port)))
    print("sent %d bytes from %s:%d" % (len(dg), *out.getsockname()[:2]))


def cmd_flags_census(args):
    sn = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # Room for a burst while this (slow, on a busy machine) reader waits.
    sn.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    sn.bind((args.iface, 0))
    # The caller waits for this line before it starts the traffic; the
    # window of --seconds starts at the first data message, so a sender
    # that a busy machine starts late is not counted short (--wait bounds
    # the wait for that first one).
    print("ready", flush=True)
    deadline = time.time() + args.wait
    data = partial = 0
    while time.time() < deadline and data < args.enough:
        r, _, _ = select.select([sn], [], [], 0.05)
        if not r:
            continue
        dg = parse_frame(sn.recv(65536), args.dst, args.port)
        if dg is not None and len(dg) > HDR_LEN + TAG_LEN and dg[0] == 1:
            if data == 0:
                deadline = time.time() + args.seconds
            data += 1
            partial += dg[2] & 1
    print("data=%d partial=%d" % (data, partial))


def cmd_raw_burst(args):
    v6 = ":" in args.dst
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    src, dst = socket.inet_pton(fam, args.src), socket.inet_pton(fam, args.dst)
    p = 6 if args.proto == "tcp" else 17
    out = []
    for i in range(args.count):
        pay = bytes(random.getrandbits(8) for _ in range(args.size))
        if p == 6:
            l4 = struct.pack("!HHIIBBHHH", 40000, args.port, 1000 + args.size * i, 1, 5 << 4, 0x10, 65535, 0, 0)
        else:
            l4 = struct.pack("!HHHH", 40000, args.port, 8 + args.size, 0)
        l4 += pay
        if v6:
            pseudo = src + dst + struct.pack("!IxxxB", len(l4), p)
        else:
            pseudo = src + dst + struct.pack("!xBH", p, len(l4))
        if args.zero:
            l4 = l4[:-2] + b"\0\0"
            l4 = l4[:-2] + struct.pack("!H", csum(pseudo + l4))
            out.append(l4)
            continue
        c = csum(pseudo + l4) or 0xFFFF
        if args.bad:
            c ^= 0x5A5A
        off = 16 if p == 6 else 6
        out.append(l4[:off] + struct.pack("!H", c) + l4[off + 2:])
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, p)
        s.bind((args.src, 0))
        for l4 in out:
            s.sendto(l4, (args.dst, 0))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        for i, l4 in enumerate(out):
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 100 + i, 0x4000, 64, p, 0, src, dst)
            s.sendto(ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + l4, (args.dst, 0))
    print("sent %d" % len(out))


def icmp_redirect(src, dst):
    """An IPv4 ICMP redirect (type 5, code 1: host) from src to dst, quoting
    a UDP datagram of dst's, naming 10.255.0.1 as the next hop."""
    quoted = udp_packet(dst, "10.254.0.9", 40000, 9, b"")[:28]
    icmp = struct.pack("!BBH4s", 5, 1, 0, socket.inet_aton("10.255.0.1")) + quoted
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0x1234, 0, 64, 1, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + icmp


def icmp6_redirect_dstopts(src, dst, chain=1):
    """An ICMPv6 redirect (type 137) from src to dst, hop limit 255, behind
    |chain| destination options headers (PadN), naming fe80::1 as the
    target."""
    s6, d6 = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    icmp = struct.pack("!BBHI", 137, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, "fe80::1") + \
        socket.inet_pton(socket.AF_INET6, "fd99::99")
    pseudo = s6 + d6 + struct.pack("!IxxxB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", csum(pseudo + icmp)) + icmp[4:]
    ext = b"".join(bytes([60 if i + 1 < chain else 58, 0, 1, 4, 0, 0, 0, 0]) for i in range(chain))
    return struct.pack("!IHBB", 6 << 28, len(ext) + len(icmp), 60, 255) + s6 + d6 + ext + icmp


def ipv4_fragments(pkt, at):
    """pkt (IPv4, no options) cut after |at| payload bytes (a multiple of
    8): two fragments, the first with MF set."""
    hdr, pl = pkt[:20], pkt[20:]
    out = []
    for off, part, mf in ((0, pl[:at], 0x2000), (at // 8, pl[at:], 0)):
        h = hdr[:2] + struct.pack("!H", 20 + len(part)) + hdr[4:6] + struct.pack("!H", mf | off) + \
            hdr[8:10] + b"\0\0" + hdr[12:]
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        out.append(h + part)
    return out


def cmd_spoof_packet(args):
    if args.redirect and args.frag:
        for f in ipv4_fragments(icmp_redirect(args.src, args.dst), 16):
            print(f.hex())
        return
    if args.redirect and ":" in args.src:
        pkt = icmp6_redirect_dstopts(args.src, args.dst, args.chain)
    elif args.redirect:
        pkt = icmp_redirect(args.src, args.dst)
    else:
        pkt = udp_packet(args.src, args.dst, 40000, args.dport, b"spoofed inner source")
    print(pkt.hex())


def received(sock, seconds):
    """What |sock| receives within |seconds|: (data, address) each."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return
        yield sock.recvfrom(4096)


def cmd_tun_send6(args):
    """IPv6 UDP with a Hop-by-Hop header of the options --hbh gives (hex,
    padded with PadN to a multiple of 8); ICMPv6 errors about them, one line
    each: "icmp6 TYPE CODE POINTER FROM"."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x86DD))
    icmp = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) if args.icmp_wait else None
    opts = bytes.fromhex(args.hbh)
    padn = -(2 + len(opts)) % 8
    if padn == 1:
        opts += b"\0"
    elif padn:
        opts += bytes([1, padn - 2]) + b"\0" * (padn - 2)
    hbh_len = 2 + len(opts)
    for i in range(args.count):
        pkt = udp_packet(args.src, args.dst, 40000 + i, args.port, b"hop by hop %d" % i)
        hbh = bytes([17, hbh_len // 8 - 1]) + opts
        body = hbh + pkt[40:]
        pkt = struct.pack("!IHBB", 6 << 28, len(body), 0, 64) + pkt[8:40] + body
        s.sendto(pkt, (args.iface, 0x86DD))
    print("sent %d" % args.count)
    if icmp is None:
        return
    for e, frm in received(icmp, args.icmp_wait):
        if len(e) < 8 + 40 or e[0] not in (1, 3, 4):
            continue
        q = e[8:]
        if q[8:24] != socket.inet_pton(socket.AF_INET6, args.src) or \
                q[24:40] != socket.inet_pton(socket.AF_INET6, args.dst):
            continue
        print("icmp6 %d %d %d %s" % (e[0], e[1], struct.unpack("!I", e[4:8])[0], frm[0]))


def cmd_tun_send(args):
    if args.hbh is not None:
        cmd_tun_send6(args)
        return
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    # Opened before the sends, so that no answer comes before it.
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) if args.icmp_wait else None
    for i in range(args.count):
        pkt = udp_packet(args.src, args.dst, 40000 + i, args.port, b"ip header %d" % i)
        opt = b""
        if args.lsrr:
            # A loose source route through the destination itself, and an
            # end of options: IHL 7.
            opt = bytes([0x83, 7, 4]) + socket.inet_aton(args.dst) + b"\0"
        elif args.ipopt:
            opt = bytes.fromhex(args.ipopt)
            opt += b"\0" * (-len(opt) % 4)
        if opt:
            body = pkt[20:]
            hdr = bytes([0x45 + len(opt) // 4]) + pkt[1:2] + struct.pack("!H", 20 + len(opt) + len(body)) + \
                pkt[4:10] + b"\0\0" + pkt[12:20] + opt
            pkt = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + body
        if args.bad_ipcsum:
            pkt = pkt[:10] + struct.pack("!H", struct.unpack("!H", pkt[10:12])[0] ^ 0x0101) + pkt[12:]
        s.sendto(pkt, (args.iface, 0x0800))
    print("sent %d" % args.count)
    if icmp is None:
        return
    # ICMP errors about these packets (their quote: our source, destination
    # and UDP destination port), one line each: "icmp TYPE CODE POINTER FROM".
    for d, _ in received(icmp, args.icmp_wait):
        ihl = (d[0] & 15) * 4
        e = d[ihl:]
        if len(e) < 8 + 20 or e[0] not in (3, 11, 12):
            continue
        q = e[8:]
        qh = (q[0] & 15) * 4
        if q[12:16] != socket.inet_aton(args.src) or q[16:20] != socket.inet_aton(args.dst) or \
                len(q) < qh + 4 or struct.unpack("!H", q[qh + 2:qh + 4])[0] != args.port:
            continue
        print("icmp %d %d %d %s" % (e[0], e[1], e[4], socket.inet_ntoa(d[12:16])))


def cmd_route_forge(args):
    """A route message forged from an ordinary netlink socket to each of
    PID's netlink sockets that listen to route groups: the kernel's own
    come from port 0."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % args.pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (args.pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = []
    with open("/proc/net/netlink") as f:
        next(f)
        for line in f:
            col = line.split()
            # sk Eth Pid Groups ... Inode: NETLINK_ROUTE (0), some group
            if col[1] == "0" and int(col[3], 16) != 0 and col[-1] in inodes:
                ports.append(int(col[2]))
    net, plen = args.dst.split("/")
    fam = socket.AF_INET6 if ":" in net else socket.AF_INET
    addr = socket.inet_pton(fam, net)
    oif = socket.if_nametoindex(args.dev)

    def rta(kind, data):
        return struct.pack("HH", 4 + len(data), kind) + data + b"\0" * ((4 - len(data) % 4) % 4)

    # struct rtmsg: main table (254), proto boot (3), scope link (253), unicast (1)
    body = struct.pack("BBBBBBBBI", fam, int(plen), 0, 0, 254, 3, 253, 1, 0)
    body += rta(1, addr) + rta(4, struct.pack("I", oif))  # RTA_DST, RTA_OIF
    msg = struct.pack("IHHII", 16 + len(body), 24, 0, 0, 0) + body  # RTM_NEWROUTE
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, 0))
    sent = refused = 0
    for port in ports:
        try:
            s.sendto(msg, (port, 0))
            sent += 1
        except OSError:
            refused += 1
    print("listeners %d sent %d refused %d" % (len(ports), sent, refused))


def cmd_icmp_frag_needed(args):
    quoted = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1480, 0x1234, 0x4000, 63, 17, 0,
                         socket.inet_aton(args.quote_src), socket.inet_aton(args.quote_dst))
    quoted = quoted[:10] + struct.pack("!H", csum(quoted)) + quoted[12:]
    quoted += struct.pack("!HHHH", args.quote_sport, args.quote_dport, 1460, 0)
    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, args.mtu) + quoted
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(icmp, (args.to, 0))
    print("sent ICMP fragmentation-needed, MTU %d, to %s" % (args.mtu, args.to))


def sniff_args(p):
    """The arguments of the commands that sniff data messages to DST:PORT."""
    p.add_argument("--iface", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture-inject")
    sniff_args(c)
    c.add_argument("--trigger", required=True)
    c.add_argument("--replay", type=int, default=0)
    c.add_argument("--tamper", type=int, default=0)
    c.add_argument("--limit", type=int, default=0)
    c.add_argument("--truncate", type=int, default=0)
    c.add_argument("--empty", type=int, default=0)
    c.add_argument("--unknown-index", type=int, default=0)
    c.add_argument("--avoid-index", action="append", default=[])
    c.add_argument("--timeout", type=float, default=10.0)
    f = sub.add_parser("flags-census")
    sniff_args(f)
    f.add_argument("--seconds", type=float, default=3.0)
    f.add_argument("--wait", type=float, default=30.0)
    f.add_argument("--enough", type=int, default=200)
    s = sub.add_parser("spoof-packet")
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--dport", type=int, default=9)
    s.add_argument("--redirect", action="store_true",
                   help="an ICMP redirect instead (IPv6: behind destination options headers)")
    s.add_argument("--chain", type=int, default=1,
                   help="with --redirect, IPv6: how many destination options headers")
    s.add_argument("--frag", action="store_true", help="with --redirect: cut in two fragments, one line each")
    h = sub.add_parser("hold")
    sniff_args(h)
    h.add_argument("--out", required=True)
    h.add_argument("--timeout", type=float, default=10.0)
    x = sub.add_parser("send-hex")
    x.add_argument("--file", required=True)
    x.add_argument("--to", required=True)
    x.add_argument("--bind")
    r = sub.add_parser("raw-burst")
    r.add_argument("--proto", choices=("tcp", "udp"), required=True)
    r.add_argument("--src", required=True)
    r.add_argument("--dst", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--bad", action="store_true")
    r.add_argument("--zero", action="store_true")
    r.add_argument("--count", type=int, default=8)
    r.add_argument("--size", type=int, default=1000)
    i = sub.add_parser("icmp-frag-needed")
    i.add_argument("--to", required=True)
    i.add_argument("--quote-src", required=True)
    i.add_argument("--quote-sport", type=int, required=True)
    i.add_argument("--quote-dst", required=True)
    i.add_argument("--quote-dport", type=int, default=1)
    i.add_argument("--mtu", type=int, default=552)
    t = sub.add_parser("tun-send")
    t.add_argument("--iface", required=True)
    t.add_argument("--src", required=True)
    t.add_argument("--dst", required=True)
    t.add_argument("--port", type=int, default=9)
    t.add_argument("--count", type=int, default=5)
    t.add_argument("--bad-ipcsum", action="store_true")
    t.add_argument("--lsrr", action="store_true", help="with a loose source route option")
    t.add_argument("--ipopt", help="IPv4 options, in hex (padded with end-of-options bytes)")
    t.add_argument("--hbh", help="IPv6 (--src and --dst IPv6): Hop-by-Hop options, in hex (padded with PadN)")
    t.add_argument("--icmp-wait", type=float, default=0,
                   help="then print the ICMP errors about them that come within so many seconds")
    g = sub.add_parser("route-forge")
    g.add_argument("--pid", type=int, required=True)
    g.add_argument("--dst", required=True)
    g.add_argument("--dev", required=True)
    args = ap.parse_args()
    if args.cmd == "route-forge":
        cmd_route_forge(args)
        return
    if args.cmd == "icmp-frag-needed":
        cmd_icmp_frag_needed(args)
    elif args.cmd == "capture-inject":
        cmd_capture_inject(args)
    elif args.cmd == "flags-census":
        cmd_flags_census(args)
    elif args.cmd == "hold":
        cmd_hold(args)
    elif args.cmd == "send-hex":
        cmd_send_hex(args)
    elif args.cmd == "raw-burst":
        cmd_raw_burst(args)
    elif args.cmd == "tun-send":
        cmd_tun_send(args)
    else:
        cmd_spoof_packet(args)


if __name__ == "__main__":
    main()
