"""`bulk.store_upload`, the upload of a bulk file: its block path (whole lines of large reads
at once) against its reference (``by_line=True``: one bounded ``readline`` per line). Both give
the same records, digest and stored bytes, or refuse the upload with the same message having
stored the same part of it, on generated files (quotes, blank and whitespace lines, CRLF, no
final line ending, lines about the record limit, row limits) and edge cases.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.issuer import bulk
from talentproof.issuer.errors import InvalidRequest

# pieces of lines: the characters that change how a line counts (quotes, separators, blanks)
PIECES = st.sampled_from(
    [
        b"a",
        b"bc",
        b'"',
        b'""',
        b",",
        b"\n",
        b"\r\n",
        b" ",
        b"\t",
        b"\r",
        b"\x0b",
        b"{}",
        b"\xc3\xa9",
    ]
)


class _ReadOnly:
    """An upload with ``read`` only (no ``readinto``)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


def _store(
    data: bytes, fmt: str, max_rows: int, max_record: int, by_line: bool, read_only: bool = False
) -> tuple:  # type: ignore[type-arg]
    out = io.BytesIO()
    upload = _ReadOnly(data) if read_only else io.BytesIO(data)
    try:
        answer: object = bulk.store_upload(
            upload,  # type: ignore[arg-type]
            out,
            fmt,
            max_rows,
            max_record=max_record,
            by_line=by_line,
        )
    except InvalidRequest as exc:
        answer = ("refused", str(exc), exc.field)
    return answer, out.getvalue()


def _same(data: bytes, fmt: str, max_rows: int, max_record: int) -> tuple:  # type: ignore[type-arg]
    fast = _store(data, fmt, max_rows, max_record, by_line=False)
    reference = _store(data, fmt, max_rows, max_record, by_line=True)
    assert fast == reference, (data, fmt, max_rows, max_record)
    assert _store(data, fmt, max_rows, max_record, by_line=False, read_only=True) == reference
    return reference


@settings(max_examples=600, deadline=None)
@given(
    st.lists(PIECES, max_size=80).map(b"".join),
    st.sampled_from(["jsonl", "csv"]),
    st.integers(0, 12),
    st.integers(1, 24),
)
def test_blocks_store_what_lines_store(
    data: bytes, fmt: str, max_rows: int, max_record: int
) -> None:
    _same(data, fmt, max_rows, max_record)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([b"x" * 7, b"y", b'"q"', b"\n", b"\n\n", b" \n"]), max_size=60).map(
        b"".join
    ),
    st.sampled_from(["jsonl", "csv"]),
    st.integers(1, 10),
)
def test_blocks_store_what_lines_store_about_the_record_limit(
    data: bytes, fmt: str, max_record: int
) -> None:
    _same(data, fmt, 1000, max_record)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_edge_cases(fmt: str) -> None:
    rows = b"".join(b"row %d\n" % i for i in range(100))
    limit = bulk.MAX_RECORD_BYTES
    cases = [
        b"",
        b"\n",
        b" \n\t\n",
        rows,
        rows.rstrip(b"\n"),  # no final line ending: one is added
        rows.replace(b"\n", b"\r\n"),
        b"\n" + rows + b"\n\n",
        b"x" * (limit - 1) + b"\n" + rows,  # a line of exactly the limit, its line ending included
        b"x" * limit + b"\n" + rows,  # one byte more: refused
        rows + b"y" * limit,  # the last line, at the limit without a line ending
        rows + b"y" * (limit + 1),
        rows + b"z" * (3 * limit),  # held at most limit + 1 bytes before it is refused
        b'a,"b\n' + rows,  # a quoted field open to the end
        b'a,"b\nc"\n' + rows,
    ]
    for data in cases:
        for max_rows in (0, 99, 100, 101, 10_000):
            _same(data, fmt, max_rows, limit)
    # the answers themselves (the reference's)
    assert _same(rows, fmt, 100, limit)[0][0] == 100
    refused = _same(b"x" * limit + b"\n" + rows, fmt, 1000, limit)[0]
    assert refused[0] == "refused" and f"longer than {limit} bytes" in refused[1]
    assert _same(rows, fmt, 50, limit)[0][1].startswith("a bulk file holds at most 50 rows")


@pytest.mark.parametrize("by_line", [False, True])
def test_a_line_over_the_limit_is_refused_before_it_is_read_whole(by_line: bool) -> None:
    upload = io.BytesIO(b"ok\n" + b"z" * 10_000 + b"\n")
    with pytest.raises(InvalidRequest, match="line 2 is longer than 10 bytes"):
        bulk.store_upload(upload, io.BytesIO(), "jsonl", 100, max_record=10, by_line=by_line)
    assert upload.tell() <= 3 + 2 * 10 + 1  # the line's first bytes only, never all of it
