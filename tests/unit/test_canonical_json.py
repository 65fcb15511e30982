from typing import Any

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from shared.events.canonical import canonical_json, chain_hash, event_hash

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


@given(json_values)
def test_the_fast_encoder_gives_the_bytes_of_rfc_8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


# floats of every magnitude, whole ones among them, at the edges of the fast path's range
floats = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**60), max_value=2**60).map(float)
    | st.sampled_from([0.0, -0.0, 1e-4, -1e-4, 9.999999999999999e-05, 1e16, 9999999999999998.0,
                       float(2**53), float(2**53 + 2), 0.1, 123.456, 5e-324])
)  # fmt: skip


@given(st.dictionaries(st.text(max_size=3), floats | st.lists(floats, max_size=3), max_size=4))
def test_floats_take_the_fast_path_with_the_bytes_of_rfc_8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json({"realised_value": 1.0}) == b'{"realised_value":1}'


def test_key_order_does_not_change_the_hash_but_any_value_does() -> None:
    assert chain_hash({"a": 1, "b": [1, 2]}) == chain_hash({"b": [1, 2], "a": 1})
    assert chain_hash({"a": 1, "b": [1, 2]}) != chain_hash({"a": 1, "b": [2, 1]})
    assert chain_hash({"a": 1}) != chain_hash({"a": 1.5})


@given(json_values)
def test_the_event_hash_is_the_chain_hash_of_metadata_and_payload(payload: Any) -> None:
    content = {"event_id": "e", "stream_version": 3, "causation_id": None, "payload": payload}

    assert event_hash(content) == chain_hash(content)
