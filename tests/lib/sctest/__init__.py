"""sctest: the one Python library of saltchat's tests and benchmark scripts.

Modules (import them directly, e.g. ``from sctest.relay import Relay``):

  errors    TestFailure and check(): how every test says what went wrong
  wait      bounded waits (sync and asyncio) that name what they waited for
  envelope2 protocol v2's envelopes (docs/PROTOCOL.md), written from the spec, with the
            auth proof, the log hash and MLS messages with clear headers
  relay     the saltchat-relay binary on a free loopback port (it prints its address)
  metrics   /metrics scraping (Prometheus text)
  rawws     a raw WebSocket client over a plain socket: handshake, masked frames, reading
            frames (for clients that must misbehave, or see the wire exactly)
  nats      a nats-server on a free loopback port
  tcpproxy  a TCP forwarder that cuts, drops one direction or refuses connections

Scripts find it with
    sys.path.insert(0, os.path.join(<repo>, "tests", "lib"))
and need only Debian's python3 (python3-nacl for envelope2's proofs).
"""
