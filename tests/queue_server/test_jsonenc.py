"""The fast encoder gives the standard library's text, byte for byte, for what the server
encodes (replies, events, records), except the spelling of a few floats (``6.1e-05`` or
``0.000061``: the same number once decoded); non-finite floats, which the standard
library writes as invalid JSON (``NaN``), are ``null``."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given
from hypothesis import strategies as st

from queue_server import jsonenc

exact = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text()
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.dates()
)


def _nested(scalars):
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=6) | st.integers(-5, 5), inner, max_size=4)
        ),
        max_leaves=20,
    )


@given(_nested(exact))
def test_fast_and_standard_encodings_agree(value):
    assert jsonenc.dumps(value) == jsonenc.std_dumps(value)


@given(_nested(exact | st.floats(allow_nan=False, allow_infinity=False)))
def test_with_floats_they_decode_to_the_same(value):
    assert json.loads(jsonenc.dumps(value)) == json.loads(jsonenc.std_dumps(value))


def test_an_event_as_the_wire_carries_it():
    data = {"label": "A012", "queue": "综合", "at": dt.datetime(2026, 11, 30, tzinfo=dt.UTC)}
    assert jsonenc.dumps({"v": 1, "data": data, 3: None}) == (
        '{"v":1,"data":{"label":"A012","queue":"综合","at":"2026-11-30 00:00:00+00:00"},"3":null}'
    )
