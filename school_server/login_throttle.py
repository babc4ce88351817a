"""Failed office logins per client address, in memory.

The account lockout (accounts.py) stops guessing one account's password;
this stops one address from trying many accounts (password spraying), and
from making the server pay for an argon2 hash on every guess: once an
address has failed `failures` times in WINDOW, its logins are refused
before any password is checked. Kept in memory (the `limits` library's
moving window): a restart forgets it, which only gives back one window.
Behind a reverse proxy the address is the proxy's unless uvicorn is told to
trust its X-Forwarded-For (README: the office).
"""

from __future__ import annotations

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

WINDOW_MINUTES = 15
_NAMESPACE = "office-login-failures"


class LoginThrottle:
    def __init__(self, failures: int) -> None:
        self._item = RateLimitItemPerMinute(failures, WINDOW_MINUTES)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def allows(self, address: str) -> bool:
        """False: this address failed too often lately; do not even check the password."""
        return self._limiter.test(self._item, _NAMESPACE, address)

    def failed(self, address: str) -> None:
        self._limiter.hit(self._item, _NAMESPACE, address)
