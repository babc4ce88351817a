"""The office login, step by step, off the booths' way.

1. Reserve the attempt against the address's and the name's limits
   (login_throttle.py), before anything is hashed: refused, it costs a
   database write and (now and then) an audit row.
2. Check the password: argon2 takes 64 MiB and tens of ms, so at most
   `office_login_hash_slots` run at once, on their own worker threads, not
   on the thread pool that serves the booths' requests (a flood of 48 logins
   held booth heartbeats up to 15.6 s there). Logins wait for a slot in the
   event loop, where waiting costs nothing; past `office_login_queue`
   waiting, the answer is LoginBusy (the page gives 503 + Retry-After).
3. Open the session, or count the failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from school_server import accounts, audit, login_throttle
from school_server.accounts import Candidate, LoginOutcome
from school_server.login_throttle import account_key, address_key

RETRY_AFTER_SECONDS = 5


class LoginBusy(Exception):
    """Too many logins waiting for a password check: try again shortly."""


@dataclass
class OfficeLogins:
    sessions: sessionmaker[Session]
    failures_per_address: int
    hash_slots: int = 2
    queue: int = 32
    _in_line: int = 0
    _limiter: anyio.CapacityLimiter | None = field(default=None, repr=False)

    async def log_in(self, address: str, username: str, password: str
                     ) -> tuple[LoginOutcome, str | None]:
        """(outcome, session cookie value when OK). Every outcome is audited
        (refusals without a hash now and then: audit.refusal)."""
        if self._in_line >= self.queue:
            raise LoginBusy()
        self._in_line += 1
        try:
            found = await run_in_threadpool(self._reserve, address, username)
            if isinstance(found, LoginOutcome):
                return found, None
            if self._limiter is None:  # made in the event loop, on first use
                self._limiter = anyio.CapacityLimiter(self.hash_slots)
            try:
                right = await anyio.to_thread.run_sync(
                    accounts.verify_password, found.password_hash, password,
                    limiter=self._limiter)
            except BaseException:  # cancelled (the client left): not a failure
                await run_in_threadpool(self._give_back, address, username)
                raise
            token = await run_in_threadpool(self._finish, address, username, found, right)
        finally:
            self._in_line -= 1
        return (LoginOutcome.OK, token) if token else (LoginOutcome.BAD, None)

    def _reserve(self, address: str, username: str) -> Candidate | LoginOutcome:
        name = username[:64] or "-"
        with self.sessions() as db:
            refused = login_throttle.reserve(db, address_key(address), self.failures_per_address)
            if refused:
                audit.refusal(db, name, audit.Action.LOGIN_THROTTLED, address, refused)
                return LoginOutcome.THROTTLED
            refused = login_throttle.reserve(db, account_key(username), accounts.MAX_FAILURES)
            if refused:
                login_throttle.give_back(db, address_key(address))  # no hash spent
                audit.refusal(db, name, audit.Action.LOGIN_LOCKED, address, refused)
                db.commit()
                return LoginOutcome.LOCKED
            return accounts.candidate(db, username)

    def _give_back(self, address: str, username: str) -> None:
        with self.sessions() as db:
            login_throttle.give_back(db, address_key(address))
            login_throttle.give_back(db, account_key(username))
            db.commit()

    def _finish(self, address: str, username: str, found: Candidate, right: bool) -> str | None:
        with self.sessions() as db:
            if right and found.generation is not None:
                # Writes first: SQLite then takes its write lock before the
                # reads of open_session (a read first could not upgrade).
                login_throttle.give_back(db, address_key(address))
                login_throttle.clear(db, account_key(username))
                token = accounts.open_session(db, username, found.generation)
                if token is not None:
                    login_throttle.forget_old(db)
                    audit.record(db, username, audit.Action.LOGIN, detail=f"from {address}",
                                 commit=False)
                    db.commit()
                    return token
                db.rollback()  # changed meanwhile: a failure after all
            # The reservations stay: they were failures.
            audit.record(db, username[:64] or "-", audit.Action.LOGIN_FAILED,
                         detail=f"from {address}")
            return None
