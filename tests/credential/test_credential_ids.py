"""Credential ids (issue 17.2): ``urn:uuid:`` UUIDs of version 7 (RFC 9562), increasing within a
generator, written column by column from 64 ids on (the same ids as the reference); they keep
every credential on the JCS fast path and pack into 16 bytes in a QR payload."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import examples, jcs, qr
from talentproof.credential.issuance import CredentialIds, new_credential_id, new_credential_ids

from ._cred_support import anchor_in_batch, sign

HOLDER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
MS_2026 = int(dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC).timestamp() * 1000)


def _ms(text: str) -> int:
    """The Unix milliseconds of an id."""
    return int(text[9:17] + text[18:22], 16)


def _tick(text: str) -> int:
    """(Unix ms << 12) | counter of an id."""
    return _ms(text) << 12 | int(text[24:27], 16)


def _check_form(ids: list[str]) -> None:
    for text in ids:
        parsed = uuid.UUID(text.removeprefix("urn:uuid:"))
        assert text == f"urn:uuid:{parsed}"  # lowercase, canonical
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_ids_are_version_7_in_increasing_order_with_the_clock_s_time() -> None:
    before = dt.datetime.now(dt.UTC).timestamp() * 1000
    ids = new_credential_ids(5000) + [new_credential_id() for _ in range(100)]
    after = dt.datetime.now(dt.UTC).timestamp() * 1000
    _check_form(ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # text order is issuance order
    assert [_tick(i) for i in ids] == sorted({_tick(i) for i in ids})
    # the timestamp runs ahead of the clock by one ms per 4,096 ids at most
    assert before - 1 <= _ms(ids[0]) and _ms(ids[-1]) <= after + 1 + len(ids) / 4096
    assert {text[28] for text in ids} == set("89ab")  # the variant's 2 random bits


def test_counter_starts_at_random_below_2048_and_counts_up_within_a_millisecond() -> None:
    ids = CredentialIds()
    starts = set()
    for i in range(200):
        random = bytes([i, 255 - i]) + bytes(8)
        first = ids.take(1, random=random, now_ms=MS_2026 + 2 * i)[0]
        assert _ms(first) == MS_2026 + 2 * i
        assert int(first[24:27], 16) == (i << 8 | (255 - i)) & 0x7FF  # leftmost bit clear
        starts.add(int(first[24:27], 16))
        more = ids.take(3, random=bytes(26), now_ms=MS_2026 + 2 * i)  # the same millisecond
        assert [_tick(t) for t in more] == [_tick(first) + k for k in (1, 2, 3)]
    assert len(starts) > 150


def test_counter_rolls_over_into_the_next_millisecond_and_the_clock_never_goes_back() -> None:
    ids = CredentialIds()
    random = b"\x07\xff" + bytes(8 * 7000)
    many = ids.take(7000, random=random, now_ms=MS_2026)
    assert int(many[0][24:27], 16) == 0x7FF
    assert [_tick(t) for t in many] == list(range(_tick(many[0]), _tick(many[0]) + 7000))
    assert _ms(many[-1]) == MS_2026 + 2  # counters 2,047 to 9,046: two rollovers
    # a clock that went back (or stands still) continues after the last id
    back = ids.take(2, random=bytes(18), now_ms=MS_2026 - 60_000)
    assert [_tick(t) for t in back] == [_tick(many[-1]) + 1, _tick(many[-1]) + 2]
    # a clock past the last id's millisecond starts the counter afresh
    fresh = ids.take(1, random=b"\x00\x05" + bytes(8), now_ms=MS_2026 + 3)[0]
    assert _tick(fresh) == (MS_2026 + 3) << 12 | 5
    _check_form(many + back + [fresh])


@settings(max_examples=150, deadline=None)
@given(
    calls=st.lists(
        st.tuples(st.integers(0, 300), st.integers(-3, 3), st.integers(0, 2**16 - 1)),
        min_size=1,
        max_size=6,
    ),
    data=st.data(),
)
def test_ids_by_column_are_the_ids_by_id(calls: list[tuple[int, int, int]], data: Any) -> None:
    """From 64 ids `CredentialIds.take` writes them column by column: the ids the reference
    (``by_id=True``, one formatted string per id) makes of the same clock and random bytes,
    across calls, rollovers and a clock that goes back."""
    fast, reference = CredentialIds(), CredentialIds()
    now = MS_2026
    for count, step, start in calls:
        now += step
        body = data.draw(st.binary(min_size=8 * count, max_size=8 * count))
        random = start.to_bytes(2, "big") + body
        got = fast.take(count, random=random, now_ms=now)
        assert got == reference.take(count, random=random, now_ms=now, by_id=True)
        assert len(got) == count
        _check_form(got)


def test_ids_by_column_edge_bytes() -> None:
    for fill in (b"\x00", b"\xff", b"\x3f", b"\xc0", bytes(range(16))):
        for start in (b"\x00\x00", b"\x07\xff", b"\xff\xff"):
            random = start + (fill * 8 * 9000)[: 8 * 9000]
            fast = CredentialIds().take(9000, random=random, now_ms=MS_2026)
            assert fast == CredentialIds().take(9000, random=random, now_ms=MS_2026, by_id=True)
            _check_form(fast)
            assert fast == sorted(fast)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="random: expected 18 bytes, found 17"):
        CredentialIds().take(2, random=bytes(17))
    with pytest.raises(ValueError, match="count: expected a number of ids >= 0, found -1"):
        CredentialIds().take(-1)
    with pytest.raises(ValueError, match=r"now_ms: expected a Unix time in ms in \[0, 2\*\*48\)"):
        CredentialIds().take(1, now_ms=1 << 48)
    with pytest.raises(ValueError, match="exhausted"):
        CredentialIds().take(4096, random=b"\x07\xff" + bytes(8 * 4096), now_ms=(1 << 48) - 1)
    assert CredentialIds().take(0) == []


def test_ids_from_threads_are_unique_and_each_thread_s_increase() -> None:
    ids = CredentialIds()
    out: list[list[str]] = [[] for _ in range(4)]

    def work(k: int) -> None:
        for _ in range(200):
            out[k].extend(ids.take(1 + k * 40))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for part in out for i in part]
    assert len(set(every)) == len(every)
    assert all(part == sorted(part) for part in out)


@pytest.mark.parametrize("year", [2026, 2027, 2039, 2100, 2456])
def test_version_7_ids_keep_credentials_on_the_jcs_fast_path(year: int) -> None:
    """The JCS fast path's detection reads text outside strings only: an id, whatever its
    digits, never sends a credential to the slow (reference) path. Version 7 ids of 2026 start
    ``019``/``01a`` (a digit, then no ``e`` or ``.``), and none of them before the year 2457."""
    now = int(dt.datetime(year, 12, 31, 23, 59, tzinfo=dt.UTC).timestamp() * 1000)
    ids = CredentialIds().take(64, now_ms=now)
    if year <= 2027:
        assert {i[9:12] for i in ids} <= {"019", "01a"}
    assert all(i[9] == "0" and i[10] not in "e." for i in ids)
    # (ids that look like floats, which an earlier detection sent to the slow path, stay too)
    for cid in [*ids[:3], "urn:uuid:1e000000-0000-7000-8000-000000000000", "urn:uuid:1.5e3"]:
        doc = {**examples.degree(HOLDER), "id": cid}
        out = orjson.dumps(doc, option=jcs.ORJSON_OPTIONS)
        assert jcs.fast_path_exact(out)
        assert jcs.canonicalize(doc) == out == jcs.canonicalize_reference(doc)


def test_version_7_ids_pack_into_16_bytes_of_a_qr_payload(issuer_key: Any) -> None:
    unsigned = examples.degree(HOLDER)
    assert list(unsigned)[:2] == ["@context", "id"]
    cid = new_credential_id()
    doc = anchor_in_batch(sign({**unsigned, "id": cid}, issuer_key))
    text = qr.encode_payload(doc)
    assert bytes.fromhex(cid[9:].replace("-", "")) in qr.b45decode(text[4:])  # packed
    back = qr.decode_payload(text)
    assert back["id"] == cid
    assert orjson.dumps(back) == orjson.dumps(doc)
