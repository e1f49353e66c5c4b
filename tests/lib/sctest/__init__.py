"""sctest: the one Python library of saltchat's tests and benchmark scripts.

Modules (import them directly, e.g. ``from sctest.relay import Relay``):

  errors    TestFailure and check(): how every test says what went wrong
  wait      bounded waits (sync and asyncio) that name what they waited for
  envelope  the envelope codec of docs/PROTOCOL.md section 2 (all envelopes of a message)
  relay     the saltchat-relay binary on a free loopback port (it prints its address)
  metrics   /metrics scraping (Prometheus text)
  rawws     a raw WebSocket client over a plain socket: handshake, masked frames, reading
            frames (for clients that must misbehave, or see the wire exactly)
  nats      a nats-server on a free loopback port
  proxy     a WebSocket proxy between a client and the relay that records, fragments,
            tampers with or cuts the connection

Scripts find it with
    sys.path.insert(0, os.path.join(<repo>, "tests", "lib"))
and need only Debian's python3 (python3-websockets 10.4 for proxy, nothing else).
"""
