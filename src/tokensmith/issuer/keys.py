"""Signing keys: encryption at rest (S27), the lifecycle next → current → previous →
retired, and the published JWKS.

Schedule (``maintain``):
- there is always one ``next`` key, published from the moment it is created;
- the ``current`` key signs; once it is ``key_rotation`` old and the next key has been
  published for at least ``jwks_max_age`` (one JWKS cache lifetime), the next key becomes
  current, the current one ``previous`` and a new next key is made;
- a ``previous`` or ``retired`` key stays published until every token it signed has
  expired (``publish_until`` = when it stopped signing + ``access_ttl`` + ``SIGNING_GRACE``
  for processes that have not reloaded yet); then its encrypted private key is wiped.

Several processes may share the store: single-holder states are guarded by the store
(one ``next``, one ``current``), promotion is one compare-and-set transaction, and every
process verifies with ``next`` too, so a token signed by a freshly promoted key verifies
everywhere before the other processes reload.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tokensmith.jose import JWK, JWKSet
from tokensmith.jose.algorithms import SIGNING_ALGORITHMS
from tokensmith.store import KeyRecord, KeyStore

from .config import IssuerConfig
from .errors import MasterKeyError

__all__ = ["KeyCipher", "KeyRing", "LoadedKey", "derive_key"]

_BLOB_VERSION = b"\x01"
MASTER_KEY_BYTES = 32
#: a demoted key stays published this much longer than its last token can live: another
#: process may sign with it until its next maintenance (every minute or so) reloads keys
SIGNING_GRACE = 300


def derive_key(master_key: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the master key (HKDF-SHA256)."""
    if not isinstance(master_key, bytes) or len(master_key) != MASTER_KEY_BYTES:
        raise ValueError(f"the master key must be exactly {MASTER_KEY_BYTES} bytes")
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"tokensmith/v1/{purpose}".encode()
    ).derive(master_key)


class KeyCipher:
    """AES-256-GCM for private JWKs at rest; the kid is the associated data, so a blob
    moved to another key's row does not decrypt."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(derive_key(master_key, "key-encryption"))

    def encrypt(self, kid: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(12)
        return _BLOB_VERSION + nonce + self._aead.encrypt(nonce, plaintext, kid.encode())

    def decrypt(self, kid: str, blob: bytes) -> bytes:
        if len(blob) < 1 + 12 + 16 or blob[:1] != _BLOB_VERSION:
            raise ValueError(f"the stored private key of {kid!r} is not a tokensmith blob")
        return self._aead.decrypt(blob[1:13], blob[13:], kid.encode())


@dataclass(frozen=True)
class LoadedKey:
    record: KeyRecord
    #: the private (or secret) key; None once wiped
    key: JWK | None
    #: what the JWKS publishes (None for symmetric keys)
    public: dict[str, Any] | None

    def published(self, now: float) -> bool:
        if self.public is None:
            return False
        if self.record.state in ("next", "current"):
            return True
        until = self.record.publish_until
        return until is None or now < until

    def verifies(self, now: float) -> bool:
        """Usable to verify our own tokens (published, or an HS key in the same window)."""
        if self.key is None:
            return False
        if self.record.state in ("next", "current"):
            return True
        until = self.record.publish_until
        return until is None or now < until


class KeyRing:
    """The keys of one issuer, loaded from the store and kept in memory."""

    def __init__(
        self,
        store: KeyStore,
        *,
        config: IssuerConfig,
        master_key: bytes,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._config = config
        self._cipher = KeyCipher(master_key)
        self._clock = clock
        self._loaded: list[LoadedKey] = []
        self._current: LoadedKey | None = None
        self._verify_set: JWKSet = JWKSet(())
        self._verify_algs: frozenset[str] = frozenset()
        self._jwks_cache: tuple[float, float, dict[str, Any]] | None = None

    # ---- reading ---------------------------------------------------------------------

    @property
    def loaded(self) -> list[LoadedKey]:
        return list(self._loaded)

    @property
    def signing_key(self) -> JWK:
        current = self._current
        if current is None or current.key is None:
            raise RuntimeError("no current signing key (call maintain() first)")
        return current.key

    @property
    def signing_alg(self) -> str:
        current = self._current
        if current is None:
            raise RuntimeError("no current signing key")
        return current.record.alg

    def verify_keys(self) -> tuple[JWKSet, frozenset[str]]:
        """The keys our own tokens may be signed with now, and their algorithms."""
        now = self._clock()
        keys = [k.key for k in self._loaded if k.key is not None and k.verifies(now)]
        if {k.kid for k in keys} != {k.kid for k in self._verify_set}:
            self._verify_set = JWKSet(keys)
            self._verify_algs = frozenset(
                k.record.alg for k in self._loaded if k.key is not None and k.verifies(now)
            )
        return self._verify_set, self._verify_algs

    def jwks(self) -> dict[str, Any]:
        now = self._clock()
        cache = self._jwks_cache
        if cache is not None and cache[0] <= now < cache[1]:
            return cache[2]
        order = {"current": 0, "next": 1, "previous": 2, "retired": 3}
        published = sorted(
            (k for k in self._loaded if k.published(now)),
            key=lambda k: (order[k.record.state], -k.record.created_at),
        )
        keys = [k.public for k in published if k.public is not None]
        ends = [
            k.record.publish_until
            for k in published
            if k.record.state not in ("next", "current") and k.record.publish_until is not None
        ]
        valid_until = min(ends, default=float("inf"))
        document = {"keys": keys}
        self._jwks_cache = (now, valid_until, document)
        return document

    # ---- loading and writing --------------------------------------------------------------

    async def load(self) -> None:
        records = await self._store.list()
        loaded: list[LoadedKey] = []
        for record in records:
            key: JWK | None = None
            if record.private_jwk:
                try:
                    plaintext = self._cipher.decrypt(record.kid, record.private_jwk)
                except (InvalidTag, ValueError):
                    raise MasterKeyError(
                        f"the signing key {record.kid!r} does not decrypt with this master key; "
                        "use the master key the keys were created with (TOKENSMITH_MASTER_KEY "
                        "or the key file in the data dir)"
                    ) from None
                key = JWK.from_json(plaintext)
            public = json.loads(record.public_jwk) if record.public_jwk else None
            loaded.append(LoadedKey(record=record, key=key, public=public))
        self._loaded = loaded
        self._current = next((k for k in loaded if k.record.state == "current"), None)
        self._jwks_cache = None
        self._verify_set = JWKSet(())
        self.verify_keys()

    async def _generate(self, state: str, now: float) -> KeyRecord:
        """Key generation (RSA takes a noticeable while) runs off the event loop."""
        return await asyncio.to_thread(self._new_record, state, now)

    def _new_record(self, state: str, now: float) -> KeyRecord:
        alg = self._config.signing_alg
        key = JWK.generate(alg)
        assert key.kid is not None
        public = ""
        if SIGNING_ALGORITHMS[alg].kty != "oct":
            members = key.public().to_dict()
            members.setdefault("use", "sig")
            members["alg"] = alg
            public = json.dumps(members, separators=(",", ":"), sort_keys=True)
        return KeyRecord(
            kid=key.kid,
            alg=alg,
            state=state,  # type: ignore[arg-type]
            private_jwk=self._cipher.encrypt(key.kid, key.to_json().encode()),
            public_jwk=public,
            created_at=now,
            activated_at=now if state == "current" else None,
        )

    def _find(self, state: str) -> KeyRecord | None:
        return next((k.record for k in self._loaded if k.record.state == state), None)

    async def maintain(self) -> list[str]:
        """Bring the lifecycle up to date; returns what happened (for audit)."""
        now = self._clock()
        events: list[str] = []
        await self.load()
        if self._find("current") is None:
            nxt = self._find("next")
            if nxt is not None:
                if await self._store.promote(
                    next_kid=nxt.kid, current_kid=None, now=now, publish_until=now
                ):
                    events.append(f"promoted {nxt.kid}")
            elif await self._store.add(await self._generate("current", now)):
                events.append("created current key")
            await self.load()
        stale = self._find("next")
        if stale is not None and stale.alg != self._config.signing_alg:
            # the setting changed: a next key never signed, so replace it at once (the
            # new one then waits its JWKS cache lifetime like any other)
            if await self._store.retire(stale.kid, now=now, publish_until=now):
                events.append(f"retired next key {stale.kid} ({stale.alg} is no longer set)")
            await self.load()
        if self._find("next") is None:
            if await self._store.add(await self._generate("next", now)):
                events.append("created next key")
            await self.load()
        current, nxt = self._find("current"), self._find("next")
        if (
            current is not None
            and nxt is not None
            and now - (current.activated_at or current.created_at) >= self._config.key_rotation
            and now - nxt.created_at >= self._config.jwks_max_age
        ):
            events.extend(await self._promote(nxt, current, now))
        for loaded in self._loaded:
            record = loaded.record
            if (
                record.state in ("previous", "retired")
                and record.private_jwk
                and record.publish_until is not None
                and record.publish_until <= now
                and await self._store.forget_private(record.kid)
            ):
                events.append(f"wiped private key of {record.kid}")
        if events:
            await self.load()
        return events

    async def _promote(self, nxt: KeyRecord, current: KeyRecord | None, now: float) -> list[str]:
        events = []
        if await self._store.promote(
            next_kid=nxt.kid,
            current_kid=None if current is None else current.kid,
            now=now,
            publish_until=now + self._config.access_ttl + SIGNING_GRACE,
        ):
            events.append(f"rotated: {nxt.kid} is current")
            await self.load()
            if await self._store.add(await self._generate("next", now)):
                events.append("created next key")
        await self.load()
        return events

    async def rotate(self, *, force: bool) -> tuple[bool, str]:
        """Promote the next key now. Returns (done, why-not)."""
        now = self._clock()
        await self.load()
        nxt = self._find("next")
        if nxt is None:
            await self.maintain()
            nxt = self._find("next")
            if nxt is None:
                return False, "there is no next key"
        age = now - nxt.created_at
        if not force and age < self._config.jwks_max_age:
            wait = int(self._config.jwks_max_age - age) + 1
            return False, (
                f"the next key {nxt.kid} has been published for {int(age)} s only; JWKS caches "
                f"may not know it for another {wait} s (wait, or force the rotation)"
            )
        events = await self._promote(nxt, self._find("current"), now)
        if not any(e.startswith("rotated") for e in events):
            return False, "another process changed the keys; try again"
        return True, ""

    async def retire(self, kid: str) -> str | None:
        """Retire a next or previous key; None when done, else why not."""
        now = self._clock()
        await self.load()
        record = next((k.record for k in self._loaded if k.record.kid == kid), None)
        if record is None:
            return "not_found"
        if record.state == "current":
            return "current"
        if record.state == "retired":
            return None
        # a next key never signed anything: unpublish at once
        until = now if record.state == "next" else (record.publish_until or now)
        await self._store.retire(kid, now=now, publish_until=until)
        await self.maintain()
        return None
