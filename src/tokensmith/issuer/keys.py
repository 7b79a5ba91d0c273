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

Each algorithm in use (the server's ``signing_alg`` and every algorithm an enabled
client names) runs this lifecycle on its own; the JWKS publishes them all.

Several processes may share the store: single-holder states are guarded by the store
(one ``next``, one ``current`` per algorithm), promotion is one compare-and-set
transaction, and every process verifies with ``next`` too, so a token signed by a
freshly promoted key verifies everywhere before the other processes reload. A process
that changed the keys says so through the store's notices (Redis pub/sub, when
configured): every other process reloads at once instead of at its next maintenance.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tokensmith.jose import JWK, JWKSet
from tokensmith.jose.algorithms import SIGNING_ALGORITHMS
from tokensmith.store import KeyRecord, KeyStore, Notices

from .config import IssuerConfig
from .errors import MasterKeyError

__all__ = ["KeyCipher", "KeyRing", "LoadedKey", "derive_key"]

_BLOB_VERSION = b"\x01"
MASTER_KEY_BYTES = 32
#: a demoted key stays published this much longer than its last token can live: another
#: process may sign with it until its next maintenance (every minute or so) reloads keys
SIGNING_GRACE = 300
#: the notice topic of key changes (no data)
TOPIC = "keys"


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
    """The keys of one issuer, loaded from the store and kept in memory.

    Every algorithm in use has its own lifecycle (a "lane"): the server's
    ``signing_alg`` and every algorithm an enabled client names (``uses`` tells which;
    it reads the clients *after* the keys are loaded, so a client row written before
    its keys is always seen)."""

    def __init__(
        self,
        store: KeyStore,
        *,
        config: IssuerConfig,
        master_key: bytes,
        clock: Callable[[], float],
        uses: Callable[[], Awaitable[Iterable[str]]] | None = None,
        notices: Notices | None = None,
    ) -> None:
        self._store = store
        self._notices = notices
        #: loads started and the latest one applied: an older load finishing last
        #: must not put back keys a newer one replaced
        self._loads_started = 0
        self._load_applied = 0
        self._config = config
        self._cipher = KeyCipher(master_key)
        self._clock = clock
        self._uses = uses
        self._loaded: list[LoadedKey] = []
        self._current: dict[str, LoadedKey] = {}
        self._in_use: frozenset[str] = frozenset((config.signing_alg,))
        self._verify_set: JWKSet = JWKSet(())
        self._verify_algs: frozenset[str] = frozenset()
        self._jwks_cache: tuple[float, float, dict[str, Any]] | None = None
        if notices is not None:
            notices.subscribe(TOPIC, self._on_notice)

    async def _on_notice(self, data: str | None) -> None:
        """Another process changed the keys (None: changes may have been missed)."""
        await self.load()

    async def _changed(self) -> None:
        """Tell the other processes to reload (after a change to the store)."""
        if self._notices is not None:
            await self._notices.publish(TOPIC, "")

    # ---- reading ---------------------------------------------------------------------

    @property
    def loaded(self) -> list[LoadedKey]:
        return list(self._loaded)

    @property
    def algorithms(self) -> frozenset[str]:
        """The algorithms in use (as of the last maintenance)."""
        return self._in_use

    def _signer(self, alg: str) -> LoadedKey | None:
        current = self._current.get(alg)
        if current is None and alg == self._config.signing_alg:
            # the setting changed: the old default's key signs on until the new
            # algorithm's next key has been published for a JWKS cache lifetime
            current = self._orphan()
        return current

    def _orphan(self) -> LoadedKey | None:
        """The newest current key of an algorithm no longer in use."""
        orphans = [k for a, k in self._current.items() if a not in self._in_use]
        return max(orphans, key=lambda k: k.record.created_at, default=None)

    def signer(self, alg: str | None = None) -> tuple[JWK, str]:
        """The key and algorithm that sign tokens of ``alg`` (None: the server's)."""
        current = self._signer(alg or self._config.signing_alg)
        if current is None or current.key is None:
            raise RuntimeError(f"no current {alg or 'default'} signing key (maintain() first)")
        return current.key, current.record.alg

    @property
    def signing_key(self) -> JWK:
        return self.signer()[0]

    @property
    def signing_alg(self) -> str:
        return self.signer()[1]

    async def ensure(self, alg: str) -> None:
        """Make ``alg`` signable now (a client names it): reload keys another process
        made, else start its lane (its first key signs at once, as at first start)."""
        if alg in self._current:
            return
        await self.load()
        if alg not in self._current:
            await self.maintain(also=(alg,))

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
        self._loads_started += 1
        this_load = self._loads_started
        records = await self._store.list()
        if this_load < self._load_applied:
            return  # a load that started later has already applied newer keys
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
        self._load_applied = this_load
        self._current = {k.record.alg: k for k in loaded if k.record.state == "current"}
        self._jwks_cache = None
        self._verify_set = JWKSet(())
        self.verify_keys()

    async def _generate(self, alg: str, state: str, now: float) -> KeyRecord:
        """Key generation (RSA takes a noticeable while) runs off the event loop."""
        return await asyncio.to_thread(self._new_record, alg, state, now)

    def _new_record(self, alg: str, state: str, now: float) -> KeyRecord:
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

    def _find(self, state: str, alg: str) -> KeyRecord | None:
        return next(
            (k.record for k in self._loaded if k.record.state == state and k.record.alg == alg),
            None,
        )

    async def _lanes(self, also: Iterable[str]) -> list[str]:
        """The algorithms in use, the server's first."""
        default = self._config.signing_alg
        used = set(also)
        if self._uses is not None:
            used.update(await self._uses())
        lanes = [default, *sorted(a for a in used if a != default)]
        self._in_use = frozenset(lanes)
        return lanes

    async def maintain(self, *, also: Iterable[str] = ()) -> list[str]:
        """Bring every lane's lifecycle up to date; returns what happened (for audit).
        ``also``: algorithms to treat as in use besides those ``uses`` reports."""
        now = self._clock()
        events: list[str] = []
        await self.load()
        lanes = await self._lanes(also)
        for alg in lanes:
            if self._signer(alg) is None:
                events.extend(await self._start(alg, now))
        for loaded in self._loaded:
            stale = loaded.record
            # no longer used: a next key never signed, so unpublish it at once
            if (
                stale.state == "next"
                and stale.alg not in self._in_use
                and await self._store.retire(stale.kid, now=now, publish_until=now)
            ):
                events.append(f"retired next key {stale.kid} ({stale.alg} is no longer used)")
        for alg in lanes:
            if self._find("next", alg) is None and await self._store.add(
                await self._generate(alg, "next", now)
            ):
                events.append(f"created next {alg} key")
        await self.load()
        for alg in lanes:
            current, nxt = self._signer(alg), self._find("next", alg)
            if (
                current is not None
                and nxt is not None
                and now - (current.record.activated_at or current.record.created_at)
                >= self._config.key_rotation
                and now - nxt.created_at >= self._config.jwks_max_age
            ):
                events.extend(await self._promote(nxt, current.record, now))
        events.extend(await self._demote_unused(now))
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
            await self._changed()
        return events

    async def _start(self, alg: str, now: float) -> list[str]:
        """A lane with no current key: promote its next key, else create one that signs
        at once (first start, or the first client naming ``alg``)."""
        events = []
        nxt = self._find("next", alg)
        if nxt is not None:
            if await self._store.promote(
                next_kid=nxt.kid, current_kid=None, now=now, publish_until=now
            ):
                events.append(f"promoted {nxt.kid}")
        elif await self._store.add(await self._generate(alg, "current", now)):
            events.append(f"created current {alg} key")
        await self.load()
        return events

    async def _demote_unused(self, now: float) -> list[str]:
        """A current key of an algorithm no longer in use (its last client disabled)
        stops signing; it stays published until its tokens expire. The old default's
        key is kept while it still signs for the server (see ``_signer``)."""
        events = []
        keep = self._signer(self._config.signing_alg)
        for alg, current in list(self._current.items()):
            if alg in self._in_use or current is keep:
                continue
            until = now + self._config.access_ttl + SIGNING_GRACE
            if await self._store.demote(current.record.kid, now=now, publish_until=until):
                events.append(f"demoted {current.record.kid} ({alg} is no longer used)")
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
            if await self._store.add(await self._generate(nxt.alg, "next", now)):
                events.append(f"created next {nxt.alg} key")
        await self.load()
        return events

    async def rotate(self, *, force: bool, alg: str | None = None) -> tuple[bool, str]:
        """Promote the next key of ``alg`` (None: the server's) now. Returns (done,
        why-not)."""
        lane = alg or self._config.signing_alg
        now = self._clock()
        await self.load()
        if lane not in self._in_use and lane not in self._current:
            return False, f"no key of {lane} is in use"
        nxt = self._find("next", lane)
        if nxt is None:
            await self.maintain()
            nxt = self._find("next", lane)
            if nxt is None:
                return False, f"there is no next {lane} key"
        age = now - nxt.created_at
        if not force and age < self._config.jwks_max_age:
            wait = int(self._config.jwks_max_age - age) + 1
            return False, (
                f"the next key {nxt.kid} has been published for {int(age)} s only; JWKS caches "
                f"may not know it for another {wait} s (wait, or force the rotation)"
            )
        current = self._signer(lane)
        events = await self._promote(nxt, None if current is None else current.record, now)
        if not any(e.startswith("rotated") for e in events):
            return False, "another process changed the keys; try again"
        await self._changed()
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
        retired = await self._store.retire(kid, now=now, publish_until=until)
        if not await self.maintain() and retired:
            await self.load()
            await self._changed()  # maintain() announced its own changes, if any
        return None
