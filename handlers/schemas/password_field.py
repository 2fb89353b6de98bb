"""The password field of every schema that accepts a password to keep (or check).

NFKC normalisation happens here, once, at the API boundary: the policy judges and the hasher
hashes the very same string (a fullwidth ``ｐａｓｓｗｏｒｄ１２３４５６`` is judged as the
``password123456`` it signs in as). Normalisation is idempotent, so the hasher's own NFKC
(kept for hashes stored before this boundary existed) changes nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from marshmallow import fields, validate

# Length is judged by the password policy (with a reason), not here; this only bounds work.
MAX_PASSWORD_INPUT = 100_000


class Password(fields.String):
    """A required string, NFKC-normalised on load."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", True)
        kwargs.setdefault("validate", validate.Length(min=1, max=MAX_PASSWORD_INPUT))
        super().__init__(**kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return unicodedata.normalize("NFKC", text)
