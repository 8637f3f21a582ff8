"""brickwall's per-connection state encoding for helpers in Python, the same bytes
as the Rust SDK's ``Tuple::encode`` and the C header brickwall_state.h: a family
byte (4 or 6), the source and destination addresses, the protocol, the source
and destination ports big-endian (14 or 38 bytes).

``brickwall helper build`` puts this module beside the helper's sources.
"""

from typing import Optional, Tuple

from wit_world.imports.types import ConnTuple, IpAddr, IpAddr_V4, IpAddr_V6


def encode_addr(a: IpAddr) -> bytes:
    """An address's 4 or 16 bytes."""
    if isinstance(a, IpAddr_V4):
        return a.value.to_bytes(4, "big")
    hi, lo = a.value
    return hi.to_bytes(8, "big") + lo.to_bytes(8, "big")


def decode_addr(b: bytes) -> IpAddr:
    """The address of 4 or 16 bytes."""
    if len(b) == 4:
        return IpAddr_V4(int.from_bytes(b, "big"))
    return IpAddr_V6((int.from_bytes(b[:8], "big"), int.from_bytes(b[8:], "big")))


def encode_tuple(t: ConnTuple) -> bytes:
    """The tuple's 14 or 38 bytes."""
    family = 4 if isinstance(t.src, IpAddr_V4) else 6
    return (
        bytes([family])
        + encode_addr(t.src)
        + encode_addr(t.dst)
        + bytes([t.protocol])
        + t.src_port.to_bytes(2, "big")
        + t.dst_port.to_bytes(2, "big")
    )


def decode_tuple_at(b: bytes) -> Optional[Tuple[ConnTuple, int]]:
    """The tuple ``b`` starts with and the bytes it took, or None."""
    if not b or b[0] not in (4, 6):
        return None
    alen = 4 if b[0] == 4 else 16
    need = 1 + 2 * alen + 5
    if len(b) < need:
        return None
    p = 1 + 2 * alen
    t = ConnTuple(
        src=decode_addr(b[1 : 1 + alen]),
        dst=decode_addr(b[1 + alen : p]),
        protocol=b[p],
        src_port=int.from_bytes(b[p + 1 : p + 3], "big"),
        dst_port=int.from_bytes(b[p + 3 : p + 5], "big"),
    )
    return t, need


def decode_tuple(b: bytes) -> Optional[ConnTuple]:
    """The tuple ``b`` starts with, or None."""
    found = decode_tuple_at(b)
    return found[0] if found else None
