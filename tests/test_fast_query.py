"""The fast path for flat query schemas accepts exactly what marshmallow accepts, with the
same values; whatever it is unsure of goes to marshmallow (which words the 422)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, post_load, validate

from handlers.common import schema_for
from handlers.fast_query import flat_loader
from handlers.schemas.activity import ListQuerySchema
from handlers.schemas.career import (
    CourseQuerySchema,
    CourseStreamQuerySchema,
    PageQuerySchema,
    RolesQuerySchema,
)
from handlers.schemas.tasks import TaskListQuerySchema

FLAT_SCHEMAS = [RolesQuerySchema, PageQuerySchema, ListQuerySchema, TaskListQuerySchema]
NAMES = ["description", "limit", "cursor", "q", "other"]
# Query values as they arrive: text, digits with and without noise, numbers out of range.
VALUES = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-5, max_value=200).map(str),
    st.sampled_from(["", " 5", "5 ", "+5", "05", "1_0", "٥", "5.0", "1" * 30, "x\x00y"]),
)


def marshmallow_load(schema: Schema, data: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return dict(schema.load(data))
    except ValidationError:
        return None


@pytest.mark.parametrize("schema_cls", FLAT_SCHEMAS)
@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
def test_fast_path_agrees_with_marshmallow(schema_cls: type[Schema], data: dict[str, str]) -> None:
    schema = schema_for(schema_cls)
    loader = flat_loader(schema)
    assert loader is not None
    fast = loader.load(data)
    if fast is not None:  # it only ever accepts what marshmallow accepts, identically
        assert fast == marshmallow_load(schema, data)


def test_fast_path_takes_the_ordinary_cases() -> None:
    loader = flat_loader(schema_for(RolesQuerySchema))
    assert loader is not None
    assert loader.load({"description": "Data engineer, SQL", "limit": "7"}) == {
        "description": "Data engineer, SQL",
        "limit": 7,
    }
    assert loader.load({"description": "x"}) == {"description": "x", "limit": 5}
    page = flat_loader(schema_for(PageQuerySchema))
    assert page is not None
    assert page.load({}) == {"limit": 20, "cursor": None}


@pytest.mark.parametrize(
    "data",
    [
        {},  # description is required
        {"description": "x", "limit": "0"},  # out of range
        {"description": "x", "limit": "five"},
        {"description": "a\x00b"},  # NUL refused by the field's own validator
        {"description": "x", "extra": "1"},  # unknown key
    ],
)
def test_fast_path_leaves_refusals_to_marshmallow(data: dict[str, str]) -> None:
    schema = schema_for(RolesQuerySchema)
    loader = flat_loader(schema)
    assert loader is not None
    assert loader.load(data) is None
    assert marshmallow_load(schema, data) is None


class _Hooked(Schema):
    name = fields.String()

    @post_load
    def upper(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v.upper() for k, v in data.items()}


class _Renamed(Schema):
    name = fields.String(data_key="n")


class _Strict(Schema):
    n = fields.Integer(strict=True, validate=validate.Range(min=0))


@pytest.mark.parametrize(
    "schema_cls", [CourseQuerySchema, CourseStreamQuerySchema, _Hooked, _Renamed, _Strict]
)
def test_schemas_it_cannot_mirror_have_no_fast_path(schema_cls: type[Schema]) -> None:
    assert flat_loader(schema_for(schema_cls)) is None
