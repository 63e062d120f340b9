#!/usr/bin/env python3
"""delay_relay.py — a TCP relay that delays every byte by a fixed time, in
each direction, for tests that need a client with real latency (there is no
netem here).

    python3 delay_relay.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_MS

Accepts connections on LISTEN_ADDR:LISTEN_PORT; for each one it connects to
TARGET_ADDR:TARGET_PORT and forwards both directions, each chunk DELAY_MS
after it arrived (order kept, so a round trip costs 2 x DELAY_MS). Prints
"relay: listening" once ready and one line per connection. Runs until killed.
"""
import asyncio
import sys
import time


async def pump(reader, writer, delay):
    """Forward reader -> writer, each chunk |delay| seconds after it arrived."""
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    task = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((time.monotonic() + delay, data or None))
            if not data:
                break
        await task
    except (ConnectionError, OSError):
        task.cancel()
    finally:
        writer.close()


async def main():
    laddr, lport, taddr, tport, delay_ms = sys.argv[1:6]
    delay = int(delay_ms) / 1000.0

    async def handle(creader, cwriter):
        peer = cwriter.get_extra_info("peername")
        try:
            sreader, swriter = await asyncio.open_connection(taddr, int(tport))
        except OSError as e:
            print("relay: %s: cannot connect onward: %s" % (peer, e), flush=True)
            cwriter.close()
            return
        print("relay: %s connected, %d ms each way" % (peer, int(delay_ms)), flush=True)
        await asyncio.gather(pump(creader, swriter, delay), pump(sreader, cwriter, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, laddr, int(lport))
    print("relay: listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    asyncio.run(main())
