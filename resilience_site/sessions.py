"""Sessions read through the Redis cache, and from the database alone while Redis is down.

Django's cached_db engine already writes every session to the database; it raises when the
cache cannot be reached, so an outage of Redis logged everybody out of every page (and
failed the dashboard's websocket handshake). This engine reads and writes the database as
usual and treats the cache as optional.

A session ended while Redis was unreachable (a logout) stays in Redis if Redis comes back
with its data; sessions are cached for CACHED_S at most, so it cannot outlive that.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db

from monitoring import outages
from monitoring.outages import CACHE_ERRORS

log = logging.getLogger(__name__)

CACHED_S = 300


def cache_down(error: Exception) -> None:
    outages.warn(log, "sessions", f"sessions are read from the database only: the cache is down ({error})")


class SessionStore(cached_db.SessionStore):
    def load(self) -> dict:
        try:
            data = self._cache.get(self.cache_key)
        except CACHE_ERRORS as error:
            cache_down(error)
            data = None
        if data is not None:
            return data
        row = self._get_session_from_db()
        if not row:
            return {}
        data = self.decode(row.session_data)
        self.keep(data, self.get_expiry_age(expiry=row.expire_date))
        return data

    async def aload(self) -> dict:
        try:
            data = await self._cache.aget(await self.acache_key())
        except CACHE_ERRORS as error:
            cache_down(error)
            data = None
        if data is not None:
            return data
        row = await self._aget_session_from_db()
        if not row:
            return {}
        data = self.decode(row.session_data)
        await self.akeep(data, await self.aget_expiry_age(expiry=row.expire_date))
        return data

    def keep(self, data: dict, age: int) -> None:
        try:
            self._cache.set(self.cache_key, data, min(age, CACHED_S))
        except CACHE_ERRORS as error:
            cache_down(error)

    async def akeep(self, data: dict, age: int) -> None:
        try:
            await self._cache.aset(await self.acache_key(), data, min(age, CACHED_S))
        except CACHE_ERRORS as error:
            cache_down(error)

    def exists(self, session_key: str) -> bool:
        try:
            return super().exists(session_key)
        except CACHE_ERRORS as error:
            cache_down(error)
            return super(cached_db.SessionStore, self).exists(session_key)

    async def aexists(self, session_key: str) -> bool:
        try:
            return await super().aexists(session_key)
        except CACHE_ERRORS as error:
            cache_down(error)
            return await super(cached_db.SessionStore, self).aexists(session_key)

    def save(self, must_create: bool = False) -> None:
        # The database's save, then the cache's, which may fail (cached_db logs a traceback).
        super(cached_db.SessionStore, self).save(must_create)
        self.keep(self._session, self.get_expiry_age())

    async def asave(self, must_create: bool = False) -> None:
        await super(cached_db.SessionStore, self).asave(must_create)
        await self.akeep(self._session, await self.aget_expiry_age())

    def delete(self, session_key: str | None = None) -> None:
        try:
            super().delete(session_key)
        except CACHE_ERRORS as error:
            # cached_db deletes the database row first: the session is over.
            cache_down(error)

    async def adelete(self, session_key: str | None = None) -> None:
        try:
            await super().adelete(session_key)
        except CACHE_ERRORS as error:
            cache_down(error)
