"""TcpProxy: a byte-for-byte TCP forwarder on 127.0.0.1 that can cut its connections (RST),
make them lose one direction, or refuse new ones for a while (a network that is down).
Moved here from tests/relay/v2_e2e.py so that every test uses one copy."""
import select
import socket
import struct
import threading


class TcpProxy:
    """127.0.0.1:<free port> forwarded to 127.0.0.1:upstream_port (settable at any time:
    a restarted upstream on a new port). hold(direction) makes its current connections
    drop the bytes of one direction ("down": upstream to client, "up": client to
    upstream); cut() ends every connection it carries (SO_LINGER 0: RST, no close frame);
    while .refuse is true, new connections are reset at once."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.refuse = False
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.pairs, self.lock, self.cuts, self.accepted, self.refused = [], threading.Lock(), 0, 0, 0
        threading.Thread(target=self._accept, daemon=True).start()

    @staticmethod
    def _reset(s):
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            if self.refuse:
                self.refused += 1
                self._reset(c)
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
                u.settimeout(None)
            except OSError:
                self._reset(c)
                continue
            pair = {"c": c, "u": u, "down": False, "up": False}
            with self.lock:
                self.pairs.append(pair)
                self.accepted += 1
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair):
        c, u = pair["c"], pair["u"]
        socks = [c, u]
        try:
            while True:
                r, _, _ = select.select(socks, [], [], 1.0)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        raise OSError("closed")
                    if not pair["up" if s is c else "down"]:
                        (u if s is c else c).sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass

    def hold(self, direction):
        """Current connections drop `direction` ("down" or "up"); returns how many."""
        with self.lock:
            for pair in self.pairs:
                pair[direction] = True
            return len(self.pairs)

    def cut(self):
        """Resets every connection carried now; returns how many."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in (pair["c"], pair["u"]):
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.cuts += len(pairs)
        return len(pairs)

    def close(self):
        """Stops listening and cuts what is left."""
        self.lsock.close()
        self.cut()
