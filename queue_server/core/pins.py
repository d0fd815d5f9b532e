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


def hash_id_number(number: str, salt: bytes) -> str:
    """HMAC-SHA256 with the hall's secret salt: the same person gives the same value at
    every kiosk of the hall and in the booking list (a daily cap and an appointment can
    count it), and the number cannot be recovered from it without the salt (18 digits
    are too few to resist a plain hash). The one place this rule is written."""
    if len(salt) < 16:
        raise ValueError("the ID hash salt must be at least 16 bytes")
    return hmac.new(salt, number.upper().encode("ascii"), hashlib.sha256).hexdigest()
