"""
The web listener's access log, without secrets.

Twisted's Site logs every request in the combined log format, URI and
``Referer`` included. hubsd's URIs carry secrets in their query strings
(``auth_token`` of a sign-in link, ``token`` of a file), so the access log
keeps the path and drops what follows ``?`` (written as ``?...``) and the
``Referer`` (which may be such a URI).
"""

from __future__ import annotations

from typing import Any

from twisted.web.http import combinedLogFormatter


class _WithoutSecrets:
    """A request as the log formatter sees it: no query string, no Referer."""

    def __init__(self, request: Any) -> None:
        self._request = request
        path, question, _ = request.uri.partition(b"?")
        self.uri = path + (b"?..." if question else b"")

    def getHeader(self, name: bytes | str) -> Any:
        wanted = name.decode("latin-1") if isinstance(name, bytes) else name
        if wanted.lower() == "referer":
            return None
        return self._request.getHeader(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def access_log_line(timestamp: str, request: Any) -> str:
    """The combined-format line of C{request}, without its secrets."""
    return str(combinedLogFormatter(timestamp, _WithoutSecrets(request)))
