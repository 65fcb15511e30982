"""What every request body of every service stands on: text PostgreSQL can store, numbers
within what the domain means, and no JSON `true` taken for a number.

PostgreSQL's text and jsonb hold every Unicode character but NUL (U+0000), and UTF-8 has no
encoding for a lone UTF-16 surrogate (U+D800..U+DFFF), which JSON's `\\ud800` escape makes.
Accepted at the edge, such text is recorded in the event store, then refused by every read
model that stores it: the event never shows anywhere. RequestBody refuses it with a 422 in
every text its body holds, however deep (a list's items, a dict's keys and values, a nested
model), and `storable_parameters` does the same for path and query strings.
"""

import re
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, get_args

import orjson
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.domain.quantity import MAX_QUANTITY
from shared.http.problems import Unprocessable

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# A target, planned or realised value: a number (3 as well as 3.0; never `true` or "3"),
# finite, from 0 to MAX_QUANTITY (shared/domain/quantity.py says why that bound).
Quantity = Annotated[
    float,
    Field(
        strict=True,
        ge=0,
        le=MAX_QUANTITY,
        allow_inf_nan=False,
        description=f"a number from 0 to {MAX_QUANTITY:,.0f}",
    ),
]
# A year as a number (never `true` or "2026"); the domain says which years it takes.
CalendarYear = Annotated[int, Field(strict=True, ge=1, le=9999)]


def unstorable(text: str) -> str | None:
    """What in `text` PostgreSQL cannot store, said for a person; None when it can all go."""
    if text.isascii() and "\x00" not in text:
        return None  # most text, at a tenth of the cost of the search
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text cannot contain a NUL character (U+0000)"
    return f"text cannot contain an unpaired surrogate (U+{ord(found.group()):04X}): not UTF-8"


Location = tuple[str | int, ...]


def _unstorable_within(value: Any, where: Location) -> Iterator[tuple[Location, str]]:
    """(where, what) for each text in `value` PostgreSQL cannot store, a dict's keys too."""
    if isinstance(value, str):
        problem = unstorable(value)
        if problem:
            yield where, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            # a bad key is named by its mapping: echoing it back would carry the character
            for _, problem in _unstorable_within(key, where):
                yield where, f"a key's {problem}"
            yield from _unstorable_within(item, (*where, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _unstorable_within(item, (*where, index))


class RequestBody(BaseModel):
    """The base of every request body: unknown fields refused, every text storable."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        # on what the JSON held, before any field is validated: a model inside that is not a
        # RequestBody (an Evidence, say) and a dict's keys are checked too; a RequestBody
        # inside checks its own. One call a body, not one a field, and the walk only when
        # orjson finds something: 2 µs an entry of a 5,000-entry batch (thread time, 21 ms
        # to 33 for the batch), where walking every value in Python took 7
        if not isinstance(data, dict) or _storable_all(data, cls):
            return data
        refused = [
            InitErrorDetails(
                # the text goes in as context: a brace in a key is not read as a placeholder
                type=PydanticCustomError("unstorable_text", "{problem}", {"problem": problem}),
                loc=where,
                input=data,
            )
            for name, value in data.items()
            if name not in _nested_bodies(cls)
            for where, problem in _unstorable_within(value, (name,))
        ]
        if refused:
            raise ValidationError.from_exception_data(cls.__name__, refused)
        return data


def _storable_all(data: dict[Any, Any], model: type[BaseModel]) -> bool:
    """True when every text of `data` can surely be stored: the common case, checked in C.

    orjson refuses an unpaired surrogate and writes a NUL as `\\u0000`; a text that holds
    those six characters, or a value JSON has no form for, is looked at closely instead."""
    nested = _nested_bodies(model)
    if nested:
        data = {name: value for name, value in data.items() if name not in nested}
    try:
        return b"\\u0000" not in orjson.dumps(data)
    except TypeError:
        return False


@cache
def _nested_bodies(model: type[BaseModel]) -> frozenset[str]:
    """The fields of `model` that hold RequestBodies: each checks its own text."""
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if any(
            isinstance(kind, type) and issubclass(kind, RequestBody)
            for kind in _types_within(field.annotation)
        )
    )


def _types_within(annotation: Any) -> Iterator[Any]:
    yield annotation
    for argument in get_args(annotation):
        yield from _types_within(argument)


async def storable_parameters(request: Request) -> None:
    """A router dependency: 422 for a path or query string PostgreSQL cannot store (`%00`)."""
    errors = []
    for place, parameters in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    ):
        for name, value in parameters:
            problem = unstorable(str(name)) or unstorable(str(value))
            if problem:
                # a bad name is not echoed back: it would carry the character
                field = place if unstorable(str(name)) else f"{place}.{name}"
                errors.append({"field": field, "message": problem})
    if errors:
        raise Unprocessable("the request has invalid fields", errors)
