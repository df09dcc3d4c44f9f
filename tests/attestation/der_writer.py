"""A few lines of DER encoding for building synthetic certificates' vendor extensions in tests."""


def tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def oid(dotted: str) -> bytes:
    parts = [int(part) for part in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        rest = part >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


def integer(value: int) -> bytes:
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")
    return tlv(0x02, raw)


def octet_string(value: bytes) -> bytes:
    return tlv(0x04, value)


def enumerated(value: int) -> bytes:
    return tlv(0x0A, bytes([value]))


def ia5(value: str) -> bytes:
    return tlv(0x16, value.encode("ascii"))


def sequence(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))
