"""What configuration may never be: secrets shown in a repr, or development defaults in
production (security review 2026-12-07, findings 11 and 12)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

ENVIRONMENTS = ("development", "production")
_DSN_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A database/Redis URL (or libpq ``key=value`` string) with its password hidden."""
    if "://" not in url:
        return _DSN_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    query = _DSN_PASSWORD.sub(r"\1***", parts.query)
    return urlunsplit(parts._replace(query=query))


def metrics_problem(*, access: str, token: str) -> str | None:
    """One line when ``/metrics`` is set to need a token that was not given."""
    if access == "token" and not token:
        return "server.metrics_access is 'token' but FLUENTPRO_METRICS_TOKEN is not set"
    return None


def production_problem(*, environment: str, pepper: str, cookie_secure: str) -> str | None:
    """One line saying why a production start-up is refused, else None.

    A production process must not hash passwords with the development pepper (a file that
    is created at random under ``var/`` and differs per host, so logins would break between
    hosts and a stolen hash database would come with its pepper), and must not guess from
    the request whether the session cookie is sent over TLS: behind a TLS-terminating proxy
    the request looks like plain HTTP and the cookie would go out without ``Secure``.
    """
    if environment != "production":
        return None
    if not pepper:
        return (
            "FLUENTPRO_ENV=production needs FLUENTPRO_PEPPER (a long random secret, the same on "
            "every host); refusing to use the development pepper"
        )
    if cookie_secure == "auto":
        return (
            "FLUENTPRO_ENV=production needs auth.cookie_secure set to 'always' (or 'never' for "
            "a plain-HTTP intranet), not 'auto' (FLUENTPRO_AUTH_COOKIE_SECURE=always)"
        )
    return None
