"""Clerk PINs: kept only as salted pbkdf2 hashes, compared in constant time.

A hall file holds ``pbkdf2-sha256$iterations$salt$hash`` (made by ``hallq hash-pin``);
the server checks a PIN against it off the event loop (the hashing is slow on purpose).
"""

from __future__ import annotations

import hashlib
import hmac
import os

PIN_ITERATIONS = 120_000


def hash_pin(pin: str, salt: bytes | None = None, iterations: int = PIN_ITERATIONS) -> str:
    """A PIN as stored in the hall file: ``pbkdf2-sha256$iterations$salt$hash``."""
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2-sha256${iterations}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != "pbkdf2-sha256":
            return False
        got = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)
