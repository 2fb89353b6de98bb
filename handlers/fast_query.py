"""A fast path for flat query-string schemas (plain ``String`` and ``Integer`` fields).

``Schema.load`` walks about sixty Python calls for a two-field query, which on a hot route
costs more than the rest of the validation put together. A flat schema is compiled once into
a list of field checks that run the field's own validators. The fast path only ever
*accepts*: for any input it is not certain about (a missing required field, an unknown key,
a number that is not plain ASCII digits, a validator that refuses) it returns None, and the
caller runs marshmallow, whose result or error message is the authoritative one. So the two
paths can differ in speed only, never in what they accept or answer; a Hypothesis test holds
them to that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing

_MAX_DIGITS = 18  # int() of longer digit strings may hit Python's digit limit: let marshmallow
_HOOKED = ("pre_load", "post_load", "validates", "validates_schema")


class _FieldCheck:
    __slots__ = ("default", "integer", "name", "required", "validators")

    def __init__(self, name: str, field: fields.Field) -> None:
        self.name = name
        self.integer = type(field) is fields.Integer
        self.required = field.required
        self.default = field.load_default
        self.validators: tuple[Callable[[Any], Any], ...] = tuple(field.validators)


class FlatQueryLoader:
    """Validates a ``{name: str}`` mapping the way the compiled schema would, or gives up."""

    def __init__(self, checks: list[_FieldCheck]) -> None:
        self._checks = checks
        self._names = frozenset(c.name for c in checks)

    def load(self, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """The loaded values, or None: then ask marshmallow (it may still accept)."""
        if not self._names.issuperset(data):
            return None  # unknown keys: marshmallow words the error
        result: dict[str, Any] = {}
        for check in self._checks:
            raw = data.get(check.name, missing)
            if raw is missing:
                if check.required:
                    return None
                default = check.default
                if default is not missing:
                    result[check.name] = default() if callable(default) else default
                continue
            if type(raw) is not str:
                return None
            value: Any = raw
            if check.integer:
                if not (0 < len(raw) <= _MAX_DIGITS and raw.isascii() and raw.isdigit()):
                    return None
                value = int(raw)
            for validator in check.validators:
                try:
                    if validator(value) is False:
                        return None
                except ValidationError:
                    return None
            result[check.name] = value
        return result


@functools.cache
def flat_loader(schema: Schema) -> FlatQueryLoader | None:
    """A loader for *schema* if every field is a plain String or Integer, else None.

    Keyed by the (shared, cached) schema instance, see ``handlers.common.schema_for``."""
    if schema.unknown != RAISE or schema.many or schema.partial:
        return None
    hooks: dict[Any, list[Any]] = getattr(schema, "_hooks", {})
    if any(hooks.get(hook) for hook in _HOOKED):
        return None
    checks = []
    for name, field in schema.load_fields.items():
        if type(field) not in (fields.String, fields.Integer):
            return None
        if field.data_key is not None or field.attribute is not None:
            return None
        if isinstance(field, fields.Integer) and field.strict:
            return None
        checks.append(_FieldCheck(name, field))
    return FlatQueryLoader(checks)
