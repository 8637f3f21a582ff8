"""The knock example helper in Python (built with componentize-py).

A made-up protocol on udp/7777: a datagram from the client (the Original
direction) whose payload is ASCII ``OPEN <port>`` (optionally followed by
"\\n"; port decimal 1..=65535) asks the server to connect back. The helper
expects a TCP connection from the server's address, any source port, to the
client's address and that port. Anything else is accepted and expects nothing.

Per-connection state is the reply tuple in the SDK's encoding (the module
brickwall_state, the same bytes as the Rust SDK's and C's): a family byte (4 or
6), source and destination address, protocol, source and destination port
big-endian (14 or 38 bytes).
"""

from typing import Optional

from brickwall_state import decode_tuple, encode_tuple
from wit_world import exports
from wit_world.imports.types import (
    ConnInfo,
    ConnTuple,
    CtState,
    Direction,
    Expectation,
    ExpectFlags,
    PacketResult,
)

TCP = 6


def parse_open(payload: bytes) -> Optional[int]:
    """The port of ``OPEN <port>`` (optionally ending in a newline), else None."""
    if payload.endswith(b"\n"):
        payload = payload[:-1]
    if not payload.startswith(b"OPEN "):
        return None
    digits = payload[5:]
    if not 1 <= len(digits) <= 5 or any(c < 0x30 or c > 0x39 for c in digits):
        return None
    port = int(digits)
    return port if 1 <= port <= 65535 else None


def accept() -> PacketResult:
    # Accept; nothing expected, flushed or rewritten; state and timeout kept.
    return PacketResult(
        verdict=None,
        expectations=[],
        state=None,
        rewrites=[],
        end_expected=False,
        flush_expected=b"",
        timeout_s=None,
    )


class Helper(exports.Helper):
    def assigned(self, conn: int, info: ConnInfo) -> bytes:
        return encode_tuple(info.reply)

    def on_packet(
        self,
        conn: int,
        dir: Direction,
        ct: CtState,
        seq: int,
        tcp_flags: int,
        state: bytes,
        payload: bytes,
    ) -> PacketResult:
        if dir != Direction.ORIGINAL:
            return accept()
        port = parse_open(payload)
        reply = decode_tuple(state)
        if port is None or reply is None:
            return accept()
        # From the server (the reply's source), any port, to the client (the
        # reply's destination) at the port asked for.
        tup = ConnTuple(src=reply.src, dst=reply.dst, protocol=TCP, src_port=0, dst_port=port)
        # Not translated (nat=None): this helper rewrites no addresses for NAT.
        e = Expectation(tuple=tup, timeout_s=0, class_=0, flags=ExpectFlags.ANY_SRC_PORT, nat=None)
        result = accept()
        result.expectations = [e]
        return result

    def destroyed(self, conn: int, state: bytes) -> None:
        pass
