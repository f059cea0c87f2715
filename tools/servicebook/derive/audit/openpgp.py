"""OpenPGP commit signatures of a *platform* (GitHub signs the merges it makes with its
"web-flow" key, an OpenPGP key), verified in-process against public keys committed in
``.github/review-rules.yaml`` (``platforms: NAME: keys:``).

Only what such a signature needs (RFC 4880): an armored version-4 signature over binary data
(type 0x00), made by an RSA key (PKCS#1 v1.5) or a legacy EdDSA Ed25519 key (algorithm 22), with
SHA-256, SHA-384 or SHA-512; the key found by the issuer fingerprint or key ID among the primary
keys and subkeys of the armored public key blocks given. SHA-1 signatures are refused. People
sign with SSH keys (:mod:`servicebook.derive.audit.sshsig`); this module is for platforms only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

BEGIN_SIG = b"-----BEGIN PGP SIGNATURE-----"
_HASHES = {8: (hashes.SHA256, hashlib.sha256), 9: (hashes.SHA384, hashlib.sha384),
           10: (hashes.SHA512, hashlib.sha512)}
_ED25519_OID = bytes.fromhex("2b06010401da470f01")


class Malformed(ValueError):
    pass


@dataclass(frozen=True)
class Key:
    fingerprint: str  # hex, upper case (v4: 40 digits)
    algo: int
    material: tuple  # RSA: (n, e); EdDSA: (32-byte point,)

    @property
    def key_id(self) -> str:
        return self.fingerprint[-16:]


def dearmor(text: bytes | str) -> bytes:
    if isinstance(text, str):
        text = text.encode()
    lines = text.strip().splitlines()
    body, started = [], False
    for line in lines[1:]:
        line = line.strip()
        if line.startswith(b"-----END"):
            break
        if not started:
            if not line:
                started = True
            elif b":" not in line:  # no armor headers at all
                started = True
                body.append(line)
            continue
        if line.startswith(b"=") and len(line) == 5:
            continue  # CRC-24
        body.append(line)
    try:
        return base64.b64decode(b"".join(body), validate=True)
    except binascii.Error:
        raise Malformed("bad base64 in the armor") from None


def packets(data: bytes):
    """(tag, body) of every packet."""
    pos = 0
    while pos < len(data):
        head = data[pos]
        if not head & 0x80:
            raise Malformed("not an OpenPGP packet")
        if head & 0x40:  # new format
            tag = head & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 2:pos + 6], "big"), pos + 6
            else:
                raise Malformed("partial body lengths are not supported")
        else:
            tag, kind = (head >> 2) & 0x0F, head & 3
            size = {0: 1, 1: 2, 2: 4}.get(kind)
            if size is None:
                raise Malformed("indeterminate packet length")
            length, pos = int.from_bytes(data[pos + 1:pos + 1 + size], "big"), pos + 1 + size
        if pos + length > len(data):
            raise Malformed("truncated packet")
        yield tag, data[pos:pos + length]
        pos += length


def _mpi(buf: bytes, pos: int) -> tuple[int, int]:
    if pos + 2 > len(buf):
        raise Malformed("truncated MPI")
    bits = int.from_bytes(buf[pos:pos + 2], "big")
    end = pos + 2 + (bits + 7) // 8
    if end > len(buf):
        raise Malformed("truncated MPI")
    return int.from_bytes(buf[pos + 2:end], "big"), end


def public_keys(armored: str) -> list[Key]:
    """The primary key and subkeys of an armored public key block (version 4 keys, RSA or
    EdDSA Ed25519; others are skipped)."""
    out = []
    for tag, body in packets(dearmor(armored)):
        if tag not in (6, 14) or not body or body[0] != 4:
            continue
        fp = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
        algo = body[5]
        if algo in (1, 3):  # RSA (sign-only 3 is deprecated but harmless)
            n, pos = _mpi(body, 6)
            e, _ = _mpi(body, pos)
            out.append(Key(fp, 1, (n, e)))
        elif algo == 22:
            oid_len = body[6]
            oid = body[7:7 + oid_len]
            point, _ = _mpi(body, 7 + oid_len)
            raw = point.to_bytes(33, "big")
            if oid == _ED25519_OID and raw[0] == 0x40:
                out.append(Key(fp, 22, (raw[1:],)))
    return out


@dataclass(frozen=True)
class Signature:
    issuer: str  # fingerprint (hex, upper) or key ID (16 hex digits), "" if none
    algo: int
    hash_algo: int
    sig_type: int
    hashed_part: bytes  # version .. hashed subpackets, as hashed
    left16: bytes
    values: tuple[int, ...]


def parse_signature(armored: bytes) -> Signature:
    for tag, body in packets(dearmor(armored)):
        if tag != 2:
            continue
        if not body or body[0] != 4:
            raise Malformed(f"signature version {body[0] if body else '?'} (only 4)")
        sig_type, algo, hash_algo = body[1], body[2], body[3]
        hlen = int.from_bytes(body[4:6], "big")
        hashed = body[6:6 + hlen]
        pos = 6 + hlen
        ulen = int.from_bytes(body[pos:pos + 2], "big")
        unhashed = body[pos + 2:pos + 2 + ulen]
        pos += 2 + ulen
        left16 = body[pos:pos + 2]
        pos += 2
        values = []
        while pos < len(body):
            v, pos = _mpi(body, pos)
            values.append(v)
        issuer = ""
        for sub in (hashed, unhashed):
            for stype, sdata in _subpackets(sub):
                if stype == 33 and len(sdata) == 21:
                    issuer = sdata[1:].hex().upper()
                elif stype == 16 and len(sdata) == 8 and not issuer:
                    issuer = sdata.hex().upper()
        return Signature(issuer, algo, hash_algo, sig_type, body[:6 + hlen], left16, tuple(values))
    raise Malformed("no signature packet")


def _subpackets(buf: bytes):
    pos = 0
    while pos < len(buf):
        first = buf[pos]
        if first < 192:
            length, pos = first, pos + 1
        elif first < 255:
            length, pos = ((first - 192) << 8) + buf[pos + 1] + 192, pos + 2
        else:
            length, pos = int.from_bytes(buf[pos + 1:pos + 5], "big"), pos + 5
        if length == 0 or pos + length > len(buf):
            raise Malformed("bad subpacket")
        yield buf[pos] & 0x7F, buf[pos + 1:pos + length]
        pos += length


def verify(message: bytes, armored: bytes, keys: list[Key]) -> tuple[str, str, str]:
    """(status, key fingerprint, reason): status "good", "bad", or "unknown" (no key given
    matches the issuer)."""
    try:
        sig = parse_signature(armored)
    except (Malformed, IndexError) as err:
        return "bad", "", f"malformed OpenPGP signature: {err}"
    key = next((k for k in keys if sig.issuer and (k.fingerprint == sig.issuer
                                                   or k.key_id == sig.issuer)), None)
    if key is None:
        return "unknown", sig.issuer, "signed by an OpenPGP key no platform of the rules names"
    if sig.sig_type != 0x00:
        return "bad", key.fingerprint, f"signature type {sig.sig_type:#x}, not a binary document"
    if sig.hash_algo not in _HASHES:
        return "bad", key.fingerprint, f"hash algorithm {sig.hash_algo} (SHA-1 and others refused)"
    if sig.algo != key.algo:
        return "bad", key.fingerprint, "the signature's algorithm is not its key's"
    digest_cls, digest_fn = _HASHES[sig.hash_algo]
    signed = message + sig.hashed_part + b"\x04\xff" + len(sig.hashed_part).to_bytes(4, "big")
    digest = digest_fn(signed).digest()
    if digest[:2] != sig.left16:
        return "bad", key.fingerprint, "signature does not verify"
    try:
        if key.algo == 1 and len(sig.values) == 1:
            n, e = key.material
            raw = sig.values[0].to_bytes((n.bit_length() + 7) // 8, "big")
            rsa.RSAPublicNumbers(e, n).public_key().verify(raw, signed, padding.PKCS1v15(),
                                                          digest_cls())
        elif key.algo == 22 and len(sig.values) == 2:
            r, s = (v.to_bytes(32, "big") for v in sig.values)
            ed25519.Ed25519PublicKey.from_public_bytes(key.material[0]).verify(r + s, digest)
        else:
            return "bad", key.fingerprint, "unsupported OpenPGP key algorithm"
    except InvalidSignature:
        return "bad", key.fingerprint, "signature does not verify"
    except (ValueError, OverflowError) as err:
        return "bad", key.fingerprint, f"unusable key or signature: {err}"
    return "good", key.fingerprint, ""


__all__ = ["BEGIN_SIG", "Key", "Malformed", "Signature", "dearmor", "packets", "parse_signature",
           "public_keys", "verify"]
