"""A hostile relay path: a WebSocket proxy between clients and the relay (asyncio,
python3-websockets) that records what the relay sends, can split every message into
small fragments, inject anything in the relay's name, and cut connections."""
import asyncio

import websockets

from .envelope import DATA, SUBPROTOCOL, parse_message


class WsProxy:
    """Listens on 127.0.0.1:<free port> (.port after start()); every client connection
    is forwarded to ws://127.0.0.1:relay_port with the same path.
    fragment > 0: every message to a client goes out in frames of that many bytes.
    .from_relay: every message the relay sent, in order; .clients: the connections."""

    def __init__(self, relay_port, fragment=0):
        self.relay_port, self.clients, self.from_relay = relay_port, [], []
        self.fragment = fragment
        self.uplinks = []

    async def start(self):
        """Starts listening; returns self."""
        self.server = await websockets.serve(self._handler, "127.0.0.1", 0,
                                             subprotocols=[SUBPROTOCOL], max_size=None,
                                             compression=None, ping_interval=None)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _handler(self, client, path):
        up = await websockets.connect(f"ws://127.0.0.1:{self.relay_port}{path}",
                                      subprotocols=[SUBPROTOCOL], max_size=None,
                                      compression=None, ping_interval=None, open_timeout=10)
        self.clients.append(client)
        self.uplinks.append(up)

        async def down():
            async for msg in up:
                self.from_relay.append(msg)
                await self._send(client, msg)

        async def upward():
            async for msg in client:
                await up.send(msg)

        tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(upward())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except websockets.ConnectionClosed:
            pass
        finally:
            for t in tasks:
                t.cancel()
            await up.close()
            await client.close()

    async def _send(self, client, msg):
        if self.fragment and isinstance(msg, bytes) and len(msg) > self.fragment:
            await client.send([msg[i:i + self.fragment]
                               for i in range(0, len(msg), self.fragment)])
        else:
            await client.send(msg)

    async def inject(self, msg):
        """Sends msg to the most recent client connection as if the relay had."""
        await self._send(self.clients[-1], msg)

    async def cut(self, code=1011, reason="cut by the proxy"):
        """Closes the most recent client connection and its uplink."""
        await self.clients[-1].close(code, reason)
        await self.uplinks[-1].close()

    def data(self, sender=None):
        """Bodies of every DATA envelope the relay sent (from sender only, if given)."""
        out = []
        for msg in self.from_relay:
            if isinstance(msg, bytes):
                for e in parse_message(msg):
                    if e.type == DATA and (sender is None or e.sender == sender):
                        out.append(e.body)
        return out

    async def stop(self):
        """Stops listening and waits until the server is closed."""
        self.server.close()
        await self.server.wait_closed()
