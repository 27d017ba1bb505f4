"""credential/frames.py: documents cut along a frame and joined again, and the C cut
(credential/native_frame.c) against its Python twin.

* `join(parts, split(parts, d)) == d` whenever `split` answers, for real bulk documents (a
  degree template's splice, its frame as the runner builds it) and for generated ones: holes
  holding the parts' own bytes, empty holes, NUL bytes, truncated and altered documents.
* `native_frame.split_block` answers exactly what `split_block_reference` answers on the same
  blocks (and declines, None, what it does not take: the twin then raises or answers).
* The C form is built (a tree without it fails here instead of comparing nothing).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentproof.credential import frames
from talentproof.credential.examples import PERSON
from talentproof.credential.issuance import BulkTemplate, IssuerIdentity, Signer
from talentproof.credential.keys import Ed25519SigningKey

NATIVE = frames.native_split_block


def test_the_c_form_is_built() -> None:
    assert NATIVE is not None, "credential/native_frame.c is not built: pip install -e ."


def _both(parts: tuple[bytes, ...], docs: list[bytes]) -> list[bytes | None]:
    """The C and the Python answers on one block of ``docs``, compared; the answer."""
    blob = b"".join(docs)
    lengths = [len(d) for d in docs]
    reference = frames.split_block_reference(parts, blob, lengths)
    assert NATIVE is not None
    assert NATIVE(parts, blob, lengths) == reference
    assert NATIVE(parts, memoryview(blob), lengths) == reference  # the runner's slot views
    assert frames.split_block(parts, blob, lengths) == reference
    for doc, holes in zip(docs, reference, strict=True):
        assert holes == frames.split(parts, doc)
        if holes is not None:
            assert frames.join(parts, holes) == doc
    return reference


def _template_frame(template: BulkTemplate) -> tuple[bytes, ...]:
    """The frame `issuer.bulk.template_frame` builds (the same parts, written out here: the
    credential package does not import the issuer)."""
    _o, proof_head, proof_tail, head, status, id_tail, tail = template.native_parts()
    return (
        head + status[0],
        *status[1:-1],
        status[-1] + b',"credentialSubject":',
        b',"id":"',
        id_tail + proof_head,
        proof_tail + b"," + tail,
    )


def _degree_documents(count: int) -> tuple[tuple[bytes, ...], list[bytes]]:
    identity = IssuerIdentity("did:web:u.example", "University", "https://u.example/s")
    template = BulkTemplate(
        "DegreeCredential",
        identity=identity,
        signer=Signer(b"\x02" * 32, identity.did),
        now=dt.datetime(2026, 12, 7, 23, 0, tzinfo=dt.UTC),
    )
    rng = random.Random(7)
    docs = []
    for i in range(count):
        holder = Ed25519SigningKey.from_seed(bytes([i % 250 + 1]) * 32).public_key.did_key
        subject = {
            "id": holder,
            **PERSON,
            "name": rng.choice(["CHAN Tai Man", 'A "quoted" ,"id":" name', "陳大文", "x" * 90]),
            "degree": {
                "type": "Degree",
                "level": rng.choice(["bachelor", "master", "doctorate"]),
                "fieldOfStudy": rng.choice(["Law", ',"id":"', '","issuer":{', "\\u0000"]),
                "institution": {"id": identity.did, "name": identity.name},
                "awardDate": "2026-06-30",
            },
        }
        done = template.issue_one({"credentialSubject": subject}, rng.randrange(10**7), None)
        assert done is not None
        docs.append(done[1])
    return _template_frame(template), docs


def test_bulk_documents_are_cut_along_their_frame_and_joined_byte_for_byte() -> None:
    parts, docs = _degree_documents(200)
    answers = _both(parts, docs)
    assert all(a is not None for a in answers)  # every one fits: the runner's case
    assert sum(map(len, answers)) < 0.45 * sum(map(len, docs))  # type: ignore[arg-type]


def test_altered_bulk_documents_are_left_whole_or_cut_exactly() -> None:
    parts, docs = _degree_documents(40)
    rng = random.Random(11)
    altered = []
    for doc in docs:
        at = rng.randrange(len(doc))
        altered += [
            doc[:at],  # truncated
            doc[:at] + bytes([doc[at] ^ 0x20]) + doc[at + 1 :],  # one byte changed
            doc[:at] + b"\x00" + doc[at:],  # a NUL byte put in
            doc + b" ",  # something after the last part
            b" " + doc,  # something before the first
            doc[:at] + doc,  # a part twice
        ]
    answers = _both(parts, altered)
    assert any(a is None for a in answers) and any(a is not None for a in answers)


_PART = st.binary(min_size=1, max_size=6).filter(lambda p: b"\x00" not in p)


@settings(max_examples=400, deadline=None)
@given(
    parts=st.lists(_PART, min_size=2, max_size=6).map(tuple),
    holes=st.lists(st.binary(max_size=12), min_size=5, max_size=5),
    noise=st.lists(st.binary(max_size=20), max_size=6),
    data=st.data(),
)
def test_generated_documents_agree_and_join_back(parts, holes, noise, data) -> None:  # type: ignore[no-untyped-def]
    # documents made of the parts and holes (holes drawn from the parts' own bytes too), and
    # anything at all
    pool = [*holes, *parts, b"\x00", b""]
    docs = list(noise)
    for _ in range(4):
        between = [data.draw(st.sampled_from(pool)) for _ in range(len(parts) - 1)]
        doc = parts[0]
        for hole, part in zip(between, parts[1:], strict=True):
            doc += hole + part
        docs.append(doc)
    _both(parts, docs)


def test_what_the_c_declines_the_twin_decides() -> None:
    assert NATIVE is not None
    doc = b"ab1cd"
    good = ((b"ab", b"cd"), doc, [len(doc)])
    assert NATIVE(*good) == [b"1"]
    assert NATIVE([b"ab", b"cd"], doc, [len(doc)]) is None  # a list: the twin answers
    assert frames.split_block([b"ab", b"cd"], doc, [len(doc)]) == [b"1"]  # type: ignore[arg-type]
    for parts in ((b"ab",), (b"ab", b""), (b"a\x00", b"cd"), ("ab", "cd")):
        assert NATIVE(parts, doc, [len(doc)]) is None
        with pytest.raises(ValueError):
            frames.split_block_reference(parts, doc, [len(doc)])
    for lengths in ([6], [-1], [True], [2.0], [3, 3]):
        assert NATIVE((b"ab", b"cd"), doc, lengths) is None
        with pytest.raises(ValueError):
            frames.split_block_reference((b"ab", b"cd"), doc, lengths)
    assert NATIVE((b"ab", b"cd"), doc, (5,)) is None  # not a list: the twin answers
    assert frames.split_block((b"ab", b"cd"), doc, (5,)) == [b"1"]  # type: ignore[arg-type]
    assert NATIVE((b"ab", b"cd"), "ab1cd", [5]) is None  # not a buffer
    many = tuple(bytes([65 + i % 26]) for i in range(65))  # more parts than the C takes
    assert NATIVE(many, b"".join(many), [65]) is None
    assert frames.split_block(many, b"".join(many), [65]) == [b"\x00" * 63]


def test_join_refuses_holes_that_do_not_match_the_frame() -> None:
    with pytest.raises(ValueError, match="expected 2 holes, found 1"):
        frames.join((b"a", b"b", b"c"), b"x")
    assert frames.unpack(frames.pack((b"a", b"b"))) == (b"a", b"b")
    with pytest.raises(ValueError):
        frames.pack((b"a",))


def test_a_last_part_overlapping_the_one_before_does_not_fit() -> None:
    # the document ends with the last part, but only where it overlaps the part before it
    for parts, doc in (
        ((b"ab", b"b"), b"ab"),
        ((b"a", b"aa"), b"aa"),
        ((b"{", b"x", b"xy"), b"{xy"),
        ((b"{", b"x", b"xy"), b"{axy"),  # as long as the parts, the last inside the middle one
        ((b"{", b'","', b'"}'), b'{a","}'),
    ):
        assert _both(parts, [doc]) == [None]
    assert _both((b"ab", b"b"), [b"abb"]) == [b""]  # an empty hole
