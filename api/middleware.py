"""ASGI guards that answer before a route runs: oversized bodies, non-finite JSON numbers.
Their answers come from ``api.errors`` like every other error."""
from __future__ import annotations

import json

from api.errors import asgi_refusal
from citygrid.errors import InvalidInput, PayloadTooLarge


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, by their Content-Length or, without one,
    as soon as the streamed body passes the limit."""
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(scope, send)
        seen, too_large, refused = 0, False, False

        async def limited_receive():
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise _TooLarge()
            return message

        async def guarded_send(message):
            # A body parser may catch _TooLarge and answer 400 itself: the answer is still 413.
            nonlocal refused
            if too_large:
                if not refused:
                    refused = True
                    await self._refuse(scope, send)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            if not refused:
                await self._refuse(scope, send)

    async def _refuse(self, scope, send):
        await _send_refusal(PayloadTooLarge(f"request body exceeds {self.max_bytes} bytes"), scope, send)


class _TooLarge(Exception):
    pass


class FiniteJSON:
    """Refuse JSON bodies holding NaN, Infinity or -Infinity (Python's json reads them; JSON
    does not have them): 422 in the API's error form, 400 in the Open311 form under /open311.
    Only bodies that contain one of those words are parsed here; the rest pass untouched."""

    METHODS = {"POST", "PUT", "PATCH"}

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in self.METHODS:
            return await self.app(scope, receive, send)
        ctype = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip().lower()
        if not (ctype == b"application/json" or ctype.endswith(b"+json")):
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return await self.app(scope, _replay([message]), send)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if (b"NaN" in body or b"Infinity" in body) and _has_non_finite(body):
            return await _refuse_non_finite(scope, send)
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _has_non_finite(body: bytes) -> bool:
    found = []

    def constant(name):
        found.append(name)
        return None

    try:
        json.loads(body, parse_constant=constant)
    except ValueError:  # not JSON at all: the route's own parser answers that
        return False
    return bool(found)


def _replay(messages, receive=None):
    pending = list(messages)

    async def replay():
        if pending:
            return pending.pop(0)
        if receive is not None:
            return await receive()  # e.g. http.disconnect
        return {"type": "http.disconnect"}

    return replay


async def _refuse_non_finite(scope, send):
    text = "JSON numbers must be finite: NaN, Infinity and -Infinity are refused"
    await _send_refusal(InvalidInput(text, [{"where": "body", "problem": text}]), scope, send)


async def _send_refusal(exc, scope, send):
    status, headers, body = asgi_refusal(exc, scope.get("path", ""))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
