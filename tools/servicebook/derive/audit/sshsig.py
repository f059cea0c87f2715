"""SSH commit signatures (git's ``gpg.format=ssh``), verified in-process.

A signed commit object carries a ``gpgsig`` header holding an armored SSHSIG blob (OpenSSH's
``PROTOCOL.sshsig``)::

    -----BEGIN SSH SIGNATURE-----
    base64 of: "SSHSIG" uint32(1) string(public key) string(namespace "git")
               string(reserved) string(hash "sha256" | "sha512") string(signature)
    -----END SSH SIGNATURE-----

The signature is over ``"SSHSIG" string(namespace) string(reserved) string(hash)
string(H(payload))``, where the payload is the commit object without its ``gpgsig`` header. This
module checks that with the ``cryptography`` package (no ``ssh-keygen`` process per commit) and
answers *which key* made a good signature; whose key that is, and when it was valid, is the
audit's question (:mod:`servicebook.derive.audit.signatures`).

Keys: ``ssh-ed25519``, ``ecdsa-sha2-nistp256/384/521`` and RSA (``rsa-sha2-256``/``-512``
signatures). Security keys (``sk-*``) are reported as unsupported.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAGIC = b"SSHSIG"
NAMESPACE = b"git"
BEGIN = b"-----BEGIN SSH SIGNATURE-----"
END = b"-----END SSH SIGNATURE-----"
_HASHES = {b"sha256": hashlib.sha256, b"sha512": hashlib.sha512}
_CURVES = {
    b"nistp256": (ec.SECP256R1, hashes.SHA256),
    b"nistp384": (ec.SECP384R1, hashes.SHA384),
    b"nistp521": (ec.SECP521R1, hashes.SHA512),
}

# verdicts
UNSIGNED = "unsigned"  # no signature header
GOOD = "good"  # the signature is valid for the key it names
BAD = "bad"  # a signature that does not verify, or is not an SSH signature for git


class Malformed(ValueError):
    """A blob that is not in the SSH wire format it claims."""


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str  # UNSIGNED, GOOD, BAD
    key: str = ""  # base64 of the signing public key's wire blob (as in a .pub file)
    reason: str = ""

    def as_tuple(self) -> tuple[str, str, str]:
        return (self.status, self.key, self.reason)


def key_blob(openssh: str) -> str:
    """The base64 key data of an OpenSSH public key line (``type data [comment]``), or ``""``
    when the text is not one; two lines name the same key when this is equal."""
    parts = (openssh or "").split()
    if len(parts) < 2:
        return ""
    try:
        raw = base64.b64decode(parts[1], validate=True)
        kind, _ = _string(raw, 0)
    except (binascii.Error, Malformed):
        return ""
    return parts[1] if kind.decode("ascii", "replace") == parts[0] else ""


def fingerprint(blob_b64: str) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(base64.b64decode(blob_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def split_commit(raw: bytes) -> tuple[bytes, bytes | None]:
    """(payload that was signed, armored signature) of a raw commit object; the signature is
    None when the commit has no ``gpgsig`` header."""
    head_end = raw.find(b"\n\n")
    head = raw if head_end < 0 else raw[:head_end + 1]
    if b"\ngpgsig" not in b"\n" + head:
        return raw, None
    lines = head.split(b"\n")
    kept: list[bytes] = []
    sig: list[bytes] = []
    in_sig = False
    for line in lines:
        if in_sig and line.startswith(b" "):
            sig.append(line[1:])
            continue
        in_sig = False
        if line.startswith(b"gpgsig ") and not sig:
            in_sig = True
            sig.append(line[len(b"gpgsig "):])
            continue
        kept.append(line)
    payload = b"\n".join(kept) + (raw[head_end + 1:] if head_end >= 0 else b"")
    return payload, b"\n".join(sig) + b"\n"


def verify_commit(raw: bytes) -> Verdict:
    payload, armored = split_commit(raw)
    if armored is None:
        return Verdict(UNSIGNED)
    return verify(payload, armored)


def verify(message: bytes, armored: bytes, namespace: bytes = NAMESPACE) -> Verdict:
    """Whether ``armored`` is a good SSHSIG signature of ``message`` in ``namespace``; the
    verdict names the signing key."""
    text = armored.strip()
    if not (text.startswith(BEGIN) and text.endswith(END)):
        return Verdict(BAD, "", "not an SSH signature (a GPG or X.509 signature?)")
    try:
        blob = base64.b64decode(b"".join(text[len(BEGIN):-len(END)].split()), validate=True)
        if not blob.startswith(MAGIC):
            return Verdict(BAD, "", "no SSHSIG magic")
        (version,) = struct.unpack(">I", blob[6:10])
        pos = 10
        public, pos = _string(blob, pos)
        ns, pos = _string(blob, pos)
        reserved, pos = _string(blob, pos)
        hash_name, pos = _string(blob, pos)
        signature, pos = _string(blob, pos)
    except (binascii.Error, struct.error, Malformed):
        return Verdict(BAD, "", "malformed SSH signature")
    key = base64.b64encode(public).decode()
    if version != 1:
        return Verdict(BAD, key, f"SSHSIG version {version}")
    if ns != namespace:
        return Verdict(BAD, key, f"signature namespace {ns.decode('ascii', 'replace')!r}, not 'git'")
    if hash_name not in _HASHES:
        return Verdict(BAD, key, f"hash {hash_name.decode('ascii', 'replace')!r}")
    signed = (MAGIC + _pack(namespace) + _pack(reserved) + _pack(hash_name)
              + _pack(_HASHES[hash_name](message).digest()))
    try:
        ok = _check(public, signature, signed)
    except Malformed as err:
        return Verdict(BAD, key, f"malformed key or signature: {err}")
    except (ValueError, TypeError) as err:  # cryptography refusing a point or key size
        return Verdict(BAD, key, f"unusable key: {err}")
    return Verdict(GOOD, key) if ok is True else Verdict(BAD, key, ok or "signature does not verify")


def _check(public: bytes, signature: bytes, signed: bytes) -> bool | str:
    key_type, kpos = _string(public, 0)
    sig_type, spos = _string(signature, 0)
    sig, _ = _string(signature, spos)
    try:
        if key_type == b"ssh-ed25519":
            if sig_type != b"ssh-ed25519":
                return f"{sig_type.decode('ascii', 'replace')} signature for an ed25519 key"
            raw, _ = _string(public, kpos)
            ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(sig, signed)
            return True
        if key_type.startswith(b"ecdsa-sha2-"):
            curve_name, kpos = _string(public, kpos)
            point, _ = _string(public, kpos)
            if curve_name not in _CURVES or sig_type != key_type:
                return f"unsupported ECDSA key {curve_name.decode('ascii', 'replace')}"
            curve, digest = _CURVES[curve_name]
            r, rpos = _mpint(sig, 0)
            s, _ = _mpint(sig, rpos)
            pub = ec.EllipticCurvePublicKey.from_encoded_point(curve(), point)
            pub.verify(encode_dss_signature(r, s), signed, ec.ECDSA(digest()))
            return True
        if key_type == b"ssh-rsa":
            digest = {b"rsa-sha2-256": hashes.SHA256, b"rsa-sha2-512": hashes.SHA512}.get(sig_type)
            if digest is None:
                return f"RSA signature type {sig_type.decode('ascii', 'replace')} (SHA-1 is refused)"
            e, kpos = _mpint(public, kpos)
            n, _ = _mpint(public, kpos)
            rsa.RSAPublicNumbers(e, n).public_key().verify(sig, signed, padding.PKCS1v15(), digest())
            return True
    except InvalidSignature:
        return False
    return f"unsupported key type {key_type.decode('ascii', 'replace')}"


def _string(buf: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 4 > len(buf):
        raise Malformed("truncated length")
    (n,) = struct.unpack(">I", buf[pos:pos + 4])
    end = pos + 4 + n
    if end > len(buf):
        raise Malformed("truncated field")
    return buf[pos + 4:end], end


def _mpint(buf: bytes, pos: int) -> tuple[int, int]:
    raw, pos = _string(buf, pos)
    return int.from_bytes(raw, "big", signed=True), pos


def _pack(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


# -- signing (benchmarks and tests build signed repositories without ssh-keygen) -----------------


def sign_ed25519(private: ed25519.Ed25519PrivateKey, message: bytes,
                 namespace: bytes = NAMESPACE) -> bytes:
    """An armored SSHSIG signature of ``message``, as ``ssh-keygen -Y sign`` writes it."""
    from cryptography.hazmat.primitives import serialization

    raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
    public = _pack(b"ssh-ed25519") + _pack(raw)
    signed = MAGIC + _pack(namespace) + _pack(b"") + _pack(b"sha512") + _pack(
        hashlib.sha512(message).digest())
    sig = _pack(b"ssh-ed25519") + _pack(private.sign(signed))
    blob = MAGIC + struct.pack(">I", 1) + _pack(public) + _pack(namespace) + _pack(b"") \
        + _pack(b"sha512") + _pack(sig)
    b64 = base64.b64encode(blob)
    lines = [b64[i:i + 76] for i in range(0, len(b64), 76)]
    return BEGIN + b"\n" + b"\n".join(lines) + b"\n" + END + b"\n"


def openssh_public(private: ed25519.Ed25519PrivateKey, comment: str = "") -> str:
    from cryptography.hazmat.primitives import serialization

    line = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}".strip()


def signed_commit(payload: bytes, armored: bytes) -> bytes:
    """The commit object ``payload`` with ``armored`` in a ``gpgsig`` header (after the
    committer line, where git puts it)."""
    head_end = payload.find(b"\n\n")
    head, body = payload[:head_end], payload[head_end:]
    sig_lines = armored.rstrip(b"\n").split(b"\n")
    header = b"gpgsig " + sig_lines[0] + b"".join(b"\n " + s for s in sig_lines[1:])
    return head + b"\n" + header + body


__all__ = [
    "BAD", "GOOD", "UNSIGNED", "Verdict", "fingerprint", "key_blob", "openssh_public",
    "sign_ed25519", "signed_commit", "split_commit", "verify", "verify_commit",
]
