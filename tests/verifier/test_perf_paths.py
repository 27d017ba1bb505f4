"""Every fast path of the verifier gives the report (or answer) its slow path gives.

Fast paths under test: the pipelined bulk verification (reads of one chunk overlapping the
offline checks of the next), the did:key and date caches, and ``credential.qr.decode_image``'s
lazy attempts.
"""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from talentproof.credential import jsonread
from talentproof.credential import qr as c_qr
from talentproof.credential.errors import NoQRCodeFound
from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.credential.merkle import credential_hash
from talentproof.credential.qr import image as c_qr_image
from talentproof.ledger.reader import RegistryReader
from talentproof.verifier import bulk, checks, engine, fastschema, memo
from talentproof.verifier.engine import Item, Verifier
from talentproof.verifier.report import CheckId, CheckResult, Status, Verdict, verdict_of
from tests.chainkit import DEGREE, anchor_batch, build, holder, issue, mixed_credentials, sign

# --------------------------------------------------------------------------- helpers


class _SlowReader:
    """The ledger reader seen only through the ChainReader protocol, one credential at a time."""

    def __init__(self, reader: RegistryReader) -> None:
        self._r = reader
        self.endpoints = reader.endpoints

    def chain_id(self) -> int:
        return self._r.chain_id()

    def block_number(self) -> int:
        return self._r.block_number()

    def chain_id_at(self, number: int) -> tuple[int, object]:
        return self._r.chain_id_at(number)

    def head(self) -> Any:
        return self._r.head()

    def where(self) -> str:
        return self._r.where()

    def verify_credential(self, *args: Any, **kw: Any) -> Any:
        return self._r.verify_credential(*args, **kw)

    def verify_credentials(
        self, queries: Any, as_of: int = 0, block: int | str = "latest"
    ) -> list[Any]:
        return [self._r.verify_credential(*q, as_of=as_of, block=block) for q in queries]

    def close(self) -> None:
        self._r.close()


def _reports_json(reports: list[Any]) -> list[dict[str, Any]]:
    return [r.to_json(include_credential=True) for r in reports]


# --------------------------------------------------------------------------- raw transport


@pytest.mark.integration
def test_fast_and_slow_engine_paths_give_the_same_reports(vchain):
    docs = mixed_credentials(vchain)
    trust = vchain.verifier().trust
    now = datetime.now(UTC)  # one fixed clock; the chain reads "as of" the pinned block's time
    fast = Verifier(RegistryReader(vchain.rpc_url, trust.registry), trust, clock=lambda: now)
    slow = Verifier(
        _SlowReader(RegistryReader(vchain.rpc_url, trust.registry)), trust, clock=lambda: now
    )
    block = fast.reader.block_number()
    for d in docs:
        a = fast.verify_application([Item("c", d)], at_block=block)
        b = slow.verify_application([Item("c", d)], at_block=block)
        assert a.to_json(include_credentials=True) == b.to_json(include_credentials=True)
    verdicts = [fast.verify_application([Item("c", d)], at_block=block).verdict for d in docs]
    assert verdicts == [Verdict.VALID] + [Verdict.INVALID] * 5


@pytest.mark.integration
def test_pipelined_bulk_gives_the_per_item_reports_in_order(vchain, monkeypatch):
    docs = mixed_credentials(vchain)
    items = [Item(f"f{i}", d) for i, d in enumerate(docs * 2)] + [
        Item("broken", None, "expected JSON")
    ]
    now = datetime.now(UTC)
    verifier = vchain.verifier(clock=lambda: now)
    block = verifier.reader.block_number()
    monkeypatch.setattr(bulk, "CHUNK", 4)  # several chunks: reads overlap the next chunk's checks
    pipelined = bulk.verify_items_bulk(verifier, items, block=block)
    one_by_one = [verifier.verify_application([it], at_block=block).credentials[0] for it in items]
    assert [r.source for r in pipelined] == [it.source for it in items]
    assert _reports_json(pipelined) == _reports_json(one_by_one)
    assert [r.verdict for r in pipelined[:6]] == [Verdict.VALID] + [Verdict.INVALID] * 5
    slow = Verifier(
        _SlowReader(RegistryReader(vchain.rpc_url, verifier.trust.registry)),
        verifier.trust,
        clock=lambda: now,
    )
    assert _reports_json(bulk.verify_items_bulk(slow, items, block=block)) == _reports_json(
        pipelined
    )
    # compact summaries, pipelined or not: the verdict and first problem of the full reports
    summaries = [bulk.summary(r.source, r.checks) for r in pipelined]
    assert [s["verdict"] for s in summaries] == [r.verdict.value for r in pipelined]
    assert summaries[2]["problem"].startswith("2. ") and summaries[3]["problem"].startswith("7. ")
    assert summaries[0]["problem"] is None
    assert bulk.verify_items_bulk(verifier, items, block=block, compact=True) == summaries
    monkeypatch.setattr(bulk, "PIPELINE", False)
    assert bulk.verify_items_bulk(verifier, items, block=block, compact=True) == summaries
    assert _reports_json(bulk.verify_items_bulk(verifier, items, block=block)) == _reports_json(
        pipelined
    )


@given(st.lists(st.sampled_from(list(Status)), max_size=14))
def test_folder_summary_names_the_first_failed_or_errored_check(statuses):
    """``bulk.summary`` skips the search for a problem when the verdict is VALID: whatever the
    statuses, it gives the verdict of the checks and the first failed or errored one."""
    ids = list(CheckId)
    results = [CheckResult(ids[i % len(ids)], s, f"message {i}") for i, s in enumerate(statuses)]
    first = next((c for c in results if c.status in (Status.FAIL, Status.ERROR)), None)
    assert bulk.summary("f", results) == {
        "source": "f",
        "verdict": verdict_of(results).value,
        "problem": f"{first.number}. {first.message}" if first else None,
    }


# --------------------------------------------------------------------------- caches


@given(st.lists(st.sampled_from(list(Status)), max_size=14))
def test_verdict_of_is_the_fail_closed_rule_over_results_and_findings(statuses):
    """``verdict_of`` (one pass, statuses compared by identity) is the rule as a set of statuses
    states it, for rendered results and for findings alike."""
    present = set(statuses)
    if not statuses:
        want = Verdict.ERROR
    elif Status.FAIL in present:
        want = Verdict.INVALID
    elif Status.ERROR in present or Status.PASS not in present:
        want = Verdict.ERROR
    else:
        want = Verdict.VALID
    assert verdict_of([CheckResult(CheckId.PARSE, s, "m") for s in statuses]) is want
    reason = checks.Reason.READ
    assert verdict_of([checks.Finding(CheckId.PARSE, s, reason) for s in statuses]) is want


@pytest.mark.integration
def test_folder_summary_fast_path_equals_the_rendered_checks(vchain):
    """``Verifier.finish_summary`` (checks 1-4 rendered only when one is the problem) gives the
    verdict and the first failed or errored check of ``finish_checks``, whatever the credential,
    the chain answer (read, unreadable, none), the as-of time and the binding."""
    import copy
    import dataclasses

    from talentproof.verifier.messages import render

    docs = mixed_credentials(vchain)
    resigned = copy.deepcopy(docs[0])  # another signature value: check 3 the first to fail
    proof = next(p for p in resigned["proof"] if p["type"] == "DataIntegrityProof")
    value = proof["proofValue"]
    proof["proofValue"] = value[:-2] + ("1" if value[-2] != "1" else "2") + value[-1]
    docs.append(resigned)
    now = datetime.now(UTC)
    v = vchain.verifier(clock=lambda: now)
    block = v.reader.block_number()
    v.node_chain_id()
    prepared = [v.prepare(f"c{i}", d) for i, d in enumerate(docs)]
    prepared += [
        v.prepare("broken", None, "expected JSON"),
        v.prepare("text", None, "not a TalentProof payload", invalid_input=True),
        v.prepare("list", [1, 2]),  # type: ignore[arg-type]  # not an object
    ]
    bare = render(checks.BARE_CREDENTIAL)
    prepared += [dataclasses.replace(p, source=f"{p.source} bare", binding=bare) for p in prepared]
    answers = iter(bulk.read_many(v.reader, [p.query for p in prepared if p.reads_chain], 0, block))
    seen = set()
    for p in prepared:
        verdict = next(answers) if p.reads_chain else None
        for as_of in (now, datetime(1999, 1, 1, tzinfo=UTC), now + timedelta(days=36500)):
            for error in (None, "ChainUnavailable: the node is down") if p.reads_chain else (None,):
                full, _, _ = v.finish_checks(p, verdict, as_of=as_of, chain_error=error)
                problem = next((c for c in full if c.status in (Status.FAIL, Status.ERROR)), None)
                got = v.finish_summary(p, verdict, as_of=as_of, chain_error=error)
                assert got == (verdict_of(full), problem), (p.source, as_of, error)
                seen.add((got[0], problem.id if problem else None))
    # every verdict and a problem at each stage were compared
    assert {verdict for verdict, _ in seen} == {Verdict.VALID, Verdict.INVALID, Verdict.ERROR}
    assert {pid for _, pid in seen} >= {
        None,
        CheckId.PARSE,
        CheckId.SCHEMA,
        CheckId.SIGNATURE,
        CheckId.INCLUSION,
        CheckId.ANCHOR,
        CheckId.STATUS,
        CheckId.VALIDITY,
        CheckId.BINDING,
    }


_FACT_DATES = st.one_of(
    st.none(),
    st.sampled_from(
        ["1899-12-31", "1990-04-01", "2026-12-06", "2026-12-07", "2023-02-30", "2099-06-30"]
    ),
    st.sampled_from(["2026-06-30T10:00:00Z", "", "1990-04-01\n", "2026-6-30"]),
    st.dates(min_value=datetime(1880, 1, 1).date(), max_value=datetime(2030, 1, 1).date()).map(
        lambda d: d.isoformat()
    ),
    st.integers(),
    st.lists(st.integers(), max_size=1),
)


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _fact_doc(birth, award, start, end, activity, extra, root, listed) -> dict[str, Any]:
    subject: dict[str, Any] = _present({"birthDate": birth, "activityStartDate": activity})
    if "degree" in extra:
        subject["degree"] = _present({"awardDate": award})
    if "employment" in extra:
        subject["employment"] = _present({"startDate": start, "endDate": end})
    if "odd" in extra:
        subject["degree"] = "text"
    doc: dict[str, Any] = {"credentialSubject": [subject] if listed else subject}
    if root is not None:
        doc["awardedDate"] = root
    return doc


_FACT_DOCS = st.builds(
    _fact_doc,
    _FACT_DATES,
    _FACT_DATES,
    _FACT_DATES,
    _FACT_DATES,
    _FACT_DATES,
    st.sets(st.sampled_from(["degree", "employment", "odd"])),
    st.one_of(st.none(), _FACT_DATES),
    st.booleans(),
)


@settings(max_examples=600, deadline=None)
@given(_FACT_DOCS, st.sampled_from(["DegreeCredential", "EmploymentCredential", "Other"]))
def test_fact_check_fast_path_says_ok_only_when_the_reference_finds_nothing(doc, kind):
    """``checks.facts_ok_fast`` (check 2's fact check of degree and employment credentials)
    says a credential's facts are possible only when ``claims.fact_problems`` finds no problem;
    and it does say so for the usual credentials (the fast path is taken)."""
    from talentproof.credential.claims import fact_problems

    today = datetime(2026, 12, 6).date()
    if checks.facts_ok_fast(doc, kind, today):
        assert fact_problems(doc, today) == []
    usual = {
        "credentialSubject": {
            "birthDate": "1990-04-01",
            "degree": {"awardDate": "2015-06-30"},
            "employment": {"startDate": "2016-01-04", "endDate": "2020-12-31"},
        }
    }
    for k, other in (("DegreeCredential", "employment"), ("EmploymentCredential", "degree")):
        one = copy.deepcopy(usual)
        del one["credentialSubject"][other]
        assert checks.facts_ok_fast(one, k, today)
        assert not checks.facts_ok_fast(usual, k, today)  # another kind's fields: the reference


def test_chain_checks_memo_serves_only_equal_keys():
    """The memo's last entry (tried before the dict, by equality) answers only an equal key;
    an unhashable key is judged afresh every time, never served from it."""
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Answer:
        revoked: bool

    computed: list[str] = []

    def compute(tag: str) -> Any:
        def run() -> tuple[Any, ...]:
            computed.append(tag)
            return (tag,)

        return run

    m = memo.ChainChecksMemo()
    assert m.get(("Degree", 1, Answer(False)), compute("a")) == ("a",)
    assert m.get(("Degree", 1, Answer(False)), compute("x")) == ("a",)  # equal, another object
    assert m.get(("Degree", 1, Answer(True)), compute("b")) == ("b",)
    assert m.get(("Degree", 2, Answer(True)), compute("c")) == ("c",)
    assert m.get(("Degree", 1, Answer(False)), compute("x")) == ("a",)  # from the dict
    assert m.get(("Degree", 1, [True]), compute("d")) == ("d",)
    assert m.get(("Degree", 1, [True]), compute("e")) == ("e",)  # unhashable: afresh
    m.clear()
    assert m.get(("Degree", 1, Answer(False)), compute("f")) == ("f",)
    assert computed == ["a", "b", "c", "d", "e", "f"]


def test_did_key_cache_agrees_with_the_key_parser():
    good = Ed25519SigningKey.generate().public_key.did_key
    for did in (good, good, "did:key:z6MkNOTAKEY", "did:key:zQ3s" + "1" * 44, "did:web:x"):
        try:
            Ed25519PublicKey.from_did_key(did)
            expected = True
        except Exception:
            expected = False
        assert fastschema.is_holder_did(did) is expected


def test_schema_fast_path_still_explains_a_bad_holder_like_the_official_validator():
    from talentproof.credential import model
    from talentproof.credential.errors import SchemaValidationError

    doc = build(DEGREE, "did:web:hku.example.hk", holder().public_key.did_key)
    assert fastschema.validate_credential(doc) == model.validate_credential(doc) == DEGREE
    assert fastschema.validate_credential(doc) == DEGREE  # cached holder: same answer
    doc["credentialSubject"]["id"] = "did:key:z6MkNOTAKEY"
    with pytest.raises(SchemaValidationError) as fast_err:
        fastschema.validate_credential(doc)
    with pytest.raises(SchemaValidationError) as slow_err:
        model.validate_credential(doc)
    assert str(fast_err.value) == str(slow_err.value)


def test_validity_texts_are_cached_per_instant_and_offset():
    doc = {"validFrom": "2020-01-01T00:00:00Z"}
    utc = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    hk = utc.astimezone(timezone(timedelta(hours=8)))
    assert utc == hk
    a, b = memo.validity(doc, utc), memo.validity(doc, hk)
    assert a.message == "Valid on 2026-01-01 10:00 UTC with no end date."
    assert (
        b.message == "Valid on 2026-01-01 18:00 UTC with no end date."
    )  # as the uncached code wrote it
    assert a.evidence["asOf"] != b.evidence["asOf"]
    assert checks.parse_time("2020-01-01T00:00:00Z") == datetime(2020, 1, 1, tzinfo=UTC)
    assert checks.parse_time("not a date") is None and checks.parse_time(5) is None
    bad = memo.validity({"validFrom": "yesterday"}, utc)
    assert bad.status.value == "fail" and "validFrom" in bad.message


# --------------------------------------------------------------------------- QR images


def _screenshot(text: str, size: int = 1000) -> bytes:
    code = Image.open(io.BytesIO(c_qr.render_png(text, scale=6))).convert("RGB")
    page = Image.new("RGB", (size, size), "white")
    page.paste(code.resize((min(code.width, int(size * 0.7)),) * 2), (size // 7, size // 7))
    buf = io.BytesIO()
    page.save(buf, "PNG")
    return buf.getvalue()


def test_decode_image_attempts_are_lazy_and_cheapest_first():
    image = Image.new("RGB", (300, 200), "white")
    attempts = c_qr_image.image_attempts(image)
    first = next(attempts)
    assert first.mode == "L" and first.size == (300, 200)
    rest = list(attempts)
    assert [im.mode for im in rest] == ["L", "RGB", "L"] and rest[-1].size == (600, 400)
    big = c_qr_image.image_attempts(Image.new("RGB", (1300, 1300), "white"))
    assert len(list(big)) == 3  # no upscaling of large pictures


def test_decode_image_reads_a_screenshot_and_a_dim_photo():
    text = "TP1:" + "ABC123 $%*+-./:" * 30
    assert c_qr.decode_image(_screenshot(text)) == text
    dim = Image.open(io.BytesIO(_screenshot(text, 600))).convert("L").point(lambda v: 110 + v // 12)
    buf = io.BytesIO()
    dim.save(buf, "PNG")
    assert c_qr.decode_image(buf.getvalue()) == text
    with pytest.raises(NoQRCodeFound, match="no readable"):
        c_qr.decode_image(_blank())


def _blank() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (400, 400), "white").save(buf, "PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------- JSON parsing


_JSON_CASES = [
    '{"a": "x:y", "b": {"c": ["d:e", {"f": 1}]}}',
    '{"a": 1, "a": 2}',
    '{"a": {"b": "1:2", "b": "3"}}',
    '{"a": [{"k": 1}, {"k": 2, "k": 3}]}',
    '{"a\\u003a": 1, "a:": 2}',  # the same key twice, once with an escaped colon
    '{"a\\u003A": 1, "a:": 2}',  # the same, the escape in capitals
    '{"a\\u0041\\n": 1, "b:": "\\t:"}',  # escapes, none of them a colon: the fast path
    '{"n": 18446744073709551616, "m": -9223372036854775809, "k": 9223372036854775807}',
    '{"f": 1e400, "g": 0.1, "h": -0.0, "i": 1E2}',
    '{"x": NaN}',
    '{"s": "\\ud800"}',
    '{"t": "a\\"b:c\\\\", "u": ":", "v": "\\u00e9:"}',
    '{"bad": }',
    '[1, 2, {"x": null, "y": true, "z": false}]',
    '"just a string with : colons"',
    '\ufeff{"bom": 1}',
]


@pytest.mark.parametrize("text", _JSON_CASES)
def test_fast_json_parse_equals_the_reference_parse(text):
    import json

    def no_duplicate_keys(pairs):  # the reference: the standard library refusing duplicates
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"duplicate key {k!r}")  # the first repeated key
            seen.add(k)
        return dict(pairs)

    def reference(data):
        try:
            value = json.loads(data, object_pairs_hook=no_duplicate_keys)
        except ValueError as exc:
            return ("error", f"doc: expected JSON ({exc})")
        try:  # a lone surrogate ("\\ud800") is no character: refused (I-JSON, JCS)
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return (
                "error",
                "doc: expected JSON text of Unicode characters, found a lone "
                "surrogate \\ud800 (an escape with no pair)",
            )
        return ("ok", value)

    def fast(data):
        try:
            return ("ok", engine.parse_json(data, what="doc", limit=10_000))
        except engine.InputError as exc:
            return ("error", str(exc))

    for data in (text, text.encode("utf-8")):
        got, want = fast(data), reference(data)
        assert got == want or (
            got[0] == want[0] == "ok" and repr(got[1]) == repr(want[1])
        )  # NaN != NaN
        if got[0] == "ok":
            assert repr(got[1]) == repr(want[1])  # same types too (big ints stay ints)


def test_fast_json_parse_is_taken_for_a_credential_and_refuses_its_duplicates(vchain):
    import json

    doc = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    text = json.dumps(doc).encode()
    assert jsonread.loads_fast(text) == doc  # the fast path answered
    dup = text.replace(
        b'"credentialSubject": {', b'"credentialSubject": {"id": "did:key:z6Mkx", ', 1
    )
    assert jsonread.loads_fast(dup) is jsonread.SLOW_PATH
    with pytest.raises(engine.InputError, match="duplicate key 'id'"):
        engine.parse_json(dup, what="doc", limit=1 << 20)
    assert (
        jsonread.loads_fast(b'{"n": 12345678901234567890123}') is jsonread.SLOW_PATH
    )  # may exceed 64 bits


@pytest.mark.integration
def test_image_input_quick_and_thorough_paths_read_the_same_credential(vchain):
    from PIL import ImageFilter

    from talentproof.verifier.inputs import item_from_image, quick_decode

    doc = issue(
        vchain, vchain.issuers["University of Hong Kong"], DEGREE, holder().public_key.did_key
    )
    text = c_qr.encode_payload(doc)
    shot = _screenshot(text)
    assert quick_decode(shot) == text  # the plain scan reads a clean screenshot
    tilted = Image.open(io.BytesIO(shot)).convert("L").rotate(7, expand=True, fillcolor=255)
    # light on dark is read by the plain scan's inverted pass (so that a light-on-dark code
    # beside a dark-on-light one is seen: test_image_plain_and_inverted_qr.py)
    buf = io.BytesIO()
    tilted.filter(ImageFilter.GaussianBlur(1.2)).point(lambda v: 200 - v // 2).save(
        buf, "JPEG", quality=60
    )
    dark = buf.getvalue()
    assert quick_decode(dark) == text
    # small and soft (modules under 2 px): only the thorough decoder's upscaled copy reads it
    buf = io.BytesIO()
    tilted.resize((280, 280), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(0.6)).save(
        buf, "PNG"
    )
    photo = buf.getvalue()
    assert quick_decode(photo) is None
    quick, thorough = item_from_image(shot, "shot.png"), item_from_image(photo, "photo.png")
    assert quick.document == thorough.document == c_qr.decode_payload(text)
    assert item_from_image(dark, "dark.jpg").document == quick.document
    assert quick.document["id"] == doc["id"]
    blank = item_from_image(_blank(), "blank.png")
    assert blank.document is None and "holds no readable QR code" in (blank.error or "")


# --------------------------------------------------------------------------- folders in bulk


@pytest.mark.integration
def test_folder_in_worker_processes_gives_the_one_by_one_reports(vchain, tmp_path, monkeypatch):
    """A mixed folder through the worker processes (views call, shared decoded verdicts and
    chain checks, compact results) gives, file by file, the report of a fresh verifier
    verifying that file alone; the compact results carry the same verdicts and first problems."""
    from talentproof.credential.anchor import split_anchor as _split
    from talentproof.verifier.inputs import SUFFIXES, folder_files, folder_paths, item_from_path

    uni = vchain.issuers["University of Hong Kong"]
    batch = anchor_batch(
        [sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key) for _ in range(6)],
        uni.client,
        vchain.deployment,
    )
    uni.client.revoke_credential(
        credential_hash(_split(batch[2])[0])
    )  # one of a batch sharing its verdicts
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, d in enumerate(batch + mixed_credentials(vchain)):
        (folder / f"c{i:02d}.json").write_text(json.dumps(d))
    (folder / "broken.JSON").write_text("{not json")
    (folder / ".json").write_text("{}")  # a hidden file without suffix: not taken
    (folder / "notes.md").write_text("not taken")
    (folder / "sub.json").mkdir()  # a folder: not taken
    assert folder_paths(folder) == [
        str(p)
        for p in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    ]
    assert folder_files(folder) == [Path(p) for p in folder_paths(folder)]
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    # after the revocation in chain time (a busy Anvil's clock runs ahead of the wall clock)
    as_of = datetime.fromtimestamp(
        max(vchain.latest_timestamp() + 1, int(datetime.now(UTC).timestamp())), UTC
    )
    monkeypatch.setattr(bulk, "CHUNK", 4)  # several tasks and chunks over 2 worker processes
    monkeypatch.setattr(bulk, "TASK", 8)
    full, block, _ = bulk.run_folder(
        folder, rpc=vchain.rpc_url, trust=str(record), as_of=as_of, workers=2, full=True
    )
    compact, block2, _ = bulk.run_folder(
        folder, rpc=vchain.rpc_url, trust=str(record), as_of=as_of, workers=2
    )
    assert block2 >= block
    expected = []
    apps = []
    for p in folder_paths(folder):
        fresh = vchain.verifier()  # nothing cached
        fresh.trust = type(fresh.trust).load(record)
        application = fresh.verify_application([item_from_path(p)], as_of=as_of, at_block=block)
        expected.append(application.credentials[0])
        apps.append(application)
    # one verdict per file: the file's application report, as `talentproof verify FILE --json`
    assert full == [
        {"source": r.source, **a.to_json()} for r, a in zip(expected, apps, strict=True)
    ]
    verdicts = [r["verdict"] for r in compact]
    assert verdicts == [r.verdict.value for r in expected]
    by_name = {r["source"]: r["verdict"] for r in compact}
    assert [by_name[f"c{i:02d}.json"] for i in range(6)] == [
        "valid",
        "valid",
        "invalid",
        "valid",
        "valid",
        "valid",
    ]
    assert by_name["broken.JSON"] == "invalid" and len(compact) == 13  # 6 + 6 mixed + broken.JSON
    assert verdicts.count("valid") == 6
    for got, want, application in zip(compact, expected, apps, strict=True):
        problem = next((c for c in want.checks if c.status.value in ("fail", "error")), None)
        assert got == {
            "source": want.source,
            "verdict": want.verdict.value,
            "problem": f"{problem.number}. {problem.message}" if problem else None,
            "outcome": application.outcome.to_json(),
        }


@pytest.mark.integration
def test_shared_chain_checks_follow_every_input_they_depend_on(vchain):
    """Checks 5-8 are shared between credentials with the very same verdict: a credential that
    differs in its claimed issuer, type, key id or anchor still gets its own results, equal to a
    fresh verifier's."""
    import dataclasses

    uni = vchain.issuers["University of Hong Kong"]
    docs = anchor_batch(
        [sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key) for _ in range(2)],
        uni.client,
        vchain.deployment,
    )
    now = datetime.now(UTC)
    warm = vchain.verifier(clock=lambda: now)
    block = warm.reader.block_number()
    warm.node_chain_id()
    base = [warm.prepare(f"c{i}", d) for i, d in enumerate(docs)]
    v0, v1 = bulk.read_many(warm.reader, [p.query for p in base], 0, block)
    assert v0 is v1  # equal answers: one decoded verdict
    variants = [
        base[0],
        base[1],
        dataclasses.replace(
            base[1], credential={**base[1].credential, "issuer": "did:web:someone-else.example"}
        ),
        dataclasses.replace(base[1], kind="EmploymentCredential"),
        dataclasses.replace(base[1], key_id="z6MkOTHERKEY"),
        dataclasses.replace(base[1], anchor=dataclasses.replace(base[1].anchor, tree_size=3)),
        dataclasses.replace(base[1], anchor=dataclasses.replace(base[1].anchor, chain_id=5)),
    ]
    got = [warm.finish(p, v0, as_of=now).to_json() for p in variants]
    want = []
    for p in variants:
        fresh = vchain.verifier(clock=lambda: now)
        fresh.node_chain_id()
        want.append(fresh.finish(p, v0, as_of=now).to_json())
    assert got == want
    statuses = [[c["status"] for c in r["checks"][4:8]] for r in got]
    assert statuses[0] == statuses[1] == ["pass"] * 4
    assert statuses[2][1] == "fail"  # another issuer named
    assert (
        "employment" in got[3]["checks"][5]["message"]
    )  # the kind (read for its own type id) in the text
    assert (
        statuses[5][0] == "fail" and statuses[6][0] == "fail"
    )  # another batch size; another chain
    assert "z6MkOTHERKEY" in got[4]["checks"][6]["message"]  # the key id only shows in the text
    # with a minimum of confirmations the same verdict is judged again
    warm.min_confirmations = 10**6
    assert warm.finish(base[0], v0, as_of=now).to_json()["checks"][4]["status"] == "fail"


# --------------------------------------------------------------------------- reading files


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 70_000])
def test_read_file_equals_the_buffered_reference(tmp_path, size):
    from talentproof.verifier.inputs import read_file, read_file_reference

    path = tmp_path / "f.json"
    path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    for limit in (0, 100, 1 << 20):
        assert read_file(path, limit) == read_file_reference(path, limit)
        assert read_file(str(path), limit) == read_file_reference(str(path), limit)


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_read_file_fails_as_the_buffered_reference(tmp_path, what):
    from talentproof.verifier.inputs import read_file, read_file_reference

    path = tmp_path / "missing.json" if what == "missing" else tmp_path
    errors = []
    for read in (read_file, read_file_reference):
        with pytest.raises(OSError) as caught:
            read(path, 1 << 30)
        errors.append((type(caught.value), caught.value.strerror))
    assert errors[0] == errors[1]


# --------------------------------------------------------------------------- checks 1-4, stage by stage


def _offline_batch(size: int = 5) -> list[dict[str, Any]]:
    """Signed, Merkle-batched credentials with their anchor proofs (no chain: checks 1-4 only)."""
    from talentproof.credential.anchor import AnchorProof, attach_anchor
    from talentproof.credential.merkle import MerkleTree

    issuer = Ed25519SigningKey.from_seed(bytes(range(32)))
    docs = [build(DEGREE, "did:web:uni.example", holder().public_key.did_key) for _ in range(size)]
    docs[-1]["issuer"] = {"name": "no id"}  # signed and anchored, naming no issuer
    docs[-2]["type"] = ["VerifiableCredential", "UnknownCredential"]  # a type none knows
    signed = [sign(d, issuer) for d in docs]
    tree = MerkleTree([credential_hash(d) for d in signed])
    registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    return [
        attach_anchor(
            d,
            AnchorProof.from_inclusion(
                tree.proof(i), chain_id=31337, registry=registry, merkle_root=tree.root
            ),
        )
        for i, d in enumerate(signed)
    ]


_BATCH = _offline_batch(6)
# where a mutation lands: top-level members, the subject, the signature proof, the anchor
_PLACES = [
    ("id",),
    ("issuer",),
    ("type",),
    ("@context",),
    ("validFrom",),
    ("credentialSchema",),
    ("credentialSubject",),
    ("credentialSubject", "id"),
    ("credentialSubject", "name"),
    ("credentialSubject", "degree", "awardDate"),
    ("credentialSubject", "degree", "level"),
    ("proof",),
    ("proof", 0, "proofValue"),
    ("proof", 0, "verificationMethod"),
    ("proof", 0, "created"),
    ("proof", 0, "cryptosuite"),
    ("proof", 1, "merkleRoot"),
    ("proof", 1, "leafIndex"),
    ("proof", 1, "treeSize"),
    ("proof", 1, "path"),
    ("proof", 1, "chainId"),
]
_VALUES = st.one_of(
    st.just("<delete>"),
    st.none(),
    st.booleans(),
    st.integers(-2, 2**64),
    st.text(max_size=8),
    st.sampled_from(["2099-01-01", "2015-02-30", "did:key:z6MkNOTAKEY", "z3", "0x" + "ab" * 32]),
    st.lists(st.text(max_size=3), max_size=2),
    st.just({}),
)


def _mutated(doc: dict[str, Any], place: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for key in place[:-1]:
        node = node[key]
    if value == "<delete>" and isinstance(node, dict):
        node.pop(place[-1], None)
    else:
        node[place[-1]] = value
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(_BATCH) - 1),
            st.one_of(st.none(), st.tuples(st.sampled_from(_PLACES), _VALUES)),
            st.sampled_from(["doc", "doc", "doc", "unreadable", "not talentproof", "presentation"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_checks_1_to_4_stage_by_stage_equal_them_input_by_input(inputs):
    """``Verifier.prepare_many`` / ``prepare_items`` (the chunk's checks 1-4 one stage at a
    time) give the very ``Prepared`` of ``prepare`` / ``prepare_item`` input by input, on
    valid, mutated, unreadable and not-TalentProof inputs and presentations."""
    now = datetime.now(UTC)

    def verifier() -> Verifier:
        return Verifier.from_deployment(
            "0x5FbDB2315678afecb367f032d93F642f64180aa3", "http://127.0.0.1:9", clock=lambda: now
        )

    items = []
    for i, (which, mutation, how) in enumerate(inputs):
        doc = _BATCH[which] if mutation is None else _mutated(_BATCH[which], *mutation)
        if how == "unreadable":
            items.append(Item(f"f{i}", None, "expected JSON"))
        elif how == "not talentproof":
            items.append(Item(f"f{i}", None, "no TP1: prefix", not_talentproof=True))
        elif how == "presentation":
            vp = {"type": ["VerifiablePresentation"], "verifiableCredential": [doc, _BATCH[0]]}
            items.append(Item(f"f{i}", vp))
        else:
            items.append(Item(f"f{i}", doc))
    one_by_one, together = verifier(), verifier()
    want = [one_by_one.prepare_item(item) for item in items]
    assert together.prepare_items(items) == want
    singles = [(it.source, it.document, it.error, it.not_talentproof) for it in items]
    assert verifier().prepare_many(singles) == [
        one_by_one.prepare(s, d, e, invalid_input=n) for s, d, e, n in singles
    ]


@pytest.mark.parametrize("value", [True, False, 0, 1, 2.5])
def test_a_document_whose_type_is_no_list_or_text_is_invalid_not_a_crash(value):
    """Found by the stage-by-stage test: ``"type": true`` (or a number) raised TypeError in
    ``Item.is_presentation``, failing the whole folder run; it is a credential that fails
    checks 2-4, the same in a folder as alone."""
    verifier = Verifier.from_deployment(
        "0x5FbDB2315678afecb367f032d93F642f64180aa3", "http://127.0.0.1:9"
    )
    doc = _mutated(_BATCH[0], ("type",), value)
    item = Item("c.json", doc)
    assert not item.is_presentation
    report = verifier.verify_application([item])
    assert report.verdict is Verdict.INVALID
    assert verifier.prepare_items([item]) == [verifier.prepare_item(item)]
    summary = bulk.verify_files_bulk(verifier, [item], block=1, compact=True)[0]
    assert summary["verdict"] == "invalid" and summary["problem"].startswith("2. ")


def test_folder_with_the_parent_frozen_gives_the_same_results_and_unfreezes(
    vchain, tmp_path, monkeypatch
):
    """``bulk.FREEZE`` (the parent's objects frozen while the workers are forked and run) gives
    the results of the run without it, and leaves the collector as it found it."""
    import gc

    folder = tmp_path / "folder"
    folder.mkdir()
    for i, d in enumerate(mixed_credentials(vchain)):
        (folder / f"c{i:02d}.json").write_text(json.dumps(d))
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    monkeypatch.setattr(bulk, "CHUNK", 2)
    monkeypatch.setattr(bulk, "TASK", 2)
    runs = {}
    for freeze in (True, False):
        monkeypatch.setattr(bulk, "FREEZE", freeze)
        before = gc.isenabled()
        results, _, _ = bulk.run_folder(folder, rpc=vchain.rpc_url, trust=str(record), workers=2)
        assert gc.get_freeze_count() == 0 and gc.isenabled() == before
        runs[freeze] = results
    assert runs[True] == runs[False]
    assert [r["verdict"] for r in runs[True]] == ["valid"] + ["invalid"] * 5
