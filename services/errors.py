"""Domain errors. Services raise these; one middleware renders them as RFC 9457 problems."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class DomainError(Exception):
    """Base class: an error with an HTTP status, a title and a human detail."""

    status: int = 500
    title: str = "Internal Server Error"
    type_slug: str = "about:blank"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Mapping[str, Sequence[str]] | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class BadRequest(DomainError):
    status = 400
    title = "Bad Request"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "Valid credentials are required.", **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="fluentpro"')


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not Found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload Too Large"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported Media Type"


class ValidationFailed(DomainError):
    status = 422
    title = "Unprocessable Content"


class RateLimited(DomainError):
    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str | None = None, *, retry_after: float = 1, **kwargs: Any) -> None:
        super().__init__(detail or "Too many requests; retry later.", **kwargs)
        self.retry_after = max(1, int(retry_after + 0.999))
        self.headers["Retry-After"] = str(self.retry_after)


class Unavailable(DomainError):
    status = 503
    title = "Service Unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: float = 5, **kwargs: Any) -> None:
        super().__init__(detail or "A dependency is unavailable; retry later.", **kwargs)
        self.retry_after = max(1, int(retry_after + 0.999))
        self.headers["Retry-After"] = str(self.retry_after)
