"""Property-based fuzzing (Hypothesis) of the talent-list policy parser (YAML and JSON).

A policy decides who is eligible, so its parser must be exact:

- random documents and random text raise only the verifier's own ``PolicyError`` (never
  KeyError / TypeError / AttributeError / ValueError / RecursionError...), with a message saying
  what was expected and where;
- the shipped policy mutated at any place (a value replaced by junk of another type, a key
  deleted, a key added, its text edited) is refused naming that place, or else evaluates every
  non-qualifying applicant exactly as not eligible as the original does: eligibility never
  appears by accident of parsing (a missing threshold read as 0, an empty or null filter read
  as "anything", a punctuation-only name contained in every text, a duplicated key);
- a regression example for each bug the fuzzing found.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from talentproof.verifier.errors import PolicyError
from talentproof.verifier.facts import DEGREE_LEVELS
from talentproof.verifier.policy import (
    DEFAULT_POLICY,
    FORMAT,
    Policy,
    PolicyInput,
    load_policy,
    parse_policy,
    parse_policy_text,
)
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, build, holder

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# whole-file YAML parses cost ~30 ms each (PyYAML's pure-Python safe loader)
FUZZ_TEXT = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_DEEP = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AS_OF = date(2026, 11, 1)


def shipped_text() -> str:
    return (
        resources.files("talentproof.verifier")
        .joinpath("professions", DEFAULT_POLICY)
        .read_text("utf-8")
    )


SHIPPED: dict[str, Any] = yaml.safe_load(shipped_text())


def refused(call: Any, *args: Any) -> PolicyError | None:
    """Run ``call``; None if it returned, the PolicyError if it raised one (any other exception
    propagates and fails the test). A PolicyError must say what was expected, and where."""
    try:
        call(*args)
    except PolicyError as exc:
        assert "expected" in str(exc) and exc.where and exc.expected, str(exc)
        return exc
    return None


# --------------------------------------------------------------------------- applicants

SUBJECT = holder().public_key.did_key


def _degree(level: str, field: str = "Computer Science") -> dict[str, Any]:
    return build(DEGREE, "did:web:uni.example.hk", SUBJECT, level=level, field=field)


def _job(employer: str, start: str, domains: list[str]) -> dict[str, Any]:
    return build(
        EMPLOYMENT,
        "did:web:firm.example.hk",
        SUBJECT,
        employer=employer,
        start=start,
        domains=domains,
    )


def _badge(name: str, alignment: list[dict[str, str]]) -> dict[str, Any]:
    # completed (validFrom) before the application date the applicants are judged at
    return build(
        BADGE,
        "did:web:hkib.example.hk",
        SUBJECT,
        name=name,
        alignment=alignment,
        valid_from=datetime(2025, 6, 1, tzinfo=UTC),
    )


#: The on-chain identity (DID, registered name) of the parties the applicants name.
SIGNERS = {
    "HSBC": ("did:web:hsbc.com", "HSBC"),
    "Acme Bakery": ("did:web:acme-bakery.example", "Acme Bakery"),
    "The University of Hong Kong": ("did:web:hku.hk", "The University of Hong Kong"),
    # chainkit.build's default institution (the session chain's university, as registered)
    "University of Hong Kong": ("did:web:hku.hk", "University of Hong Kong"),
}


def _signer(doc: dict[str, Any]) -> tuple[str, str]:
    subject = doc["credentialSubject"]
    if "employment" in subject:
        return SIGNERS[subject["employment"]["employer"]["name"]]
    if "degree" in subject:
        return SIGNERS[subject["degree"]["institution"]["name"]]
    return ("did:web:hkib.example.hk", "HKIB")


BFS = "blockchain in financial services"
ALIGNED = [
    {
        "targetName": "Blockchain in financial services",
        "targetUrl": "https://ecf.example.hk/x",
        "targetFramework": "ECF-Fintech",
        "targetCode": "DLT-FS",
    }
]
UNALIGNED = [
    {
        "targetName": "Pastry",
        "targetUrl": "https://cook.example.hk/x",
        "targetFramework": "Cooking",
        "targetCode": "PAS-1",
    }
]


def _applicants() -> dict[str, list[PolicyInput]]:
    """Applicants that each miss something (and one who meets everything, as a control)."""

    def inputs(*docs: dict[str, Any], verified: bool = True) -> list[PolicyInput]:
        """Each credential signed by the party it names, as registered on chain (honest issuers)."""
        return [PolicyInput(f"c{i}", d, verified, *_signer(d)) for i, d in enumerate(docs)]

    good_badge = _badge("Blockchain in Financial Services", ALIGNED)
    degree, job = _degree("master"), _job("HSBC", "2012-01-01", [BFS, "fintech"])
    return {
        # issue 11's false MEETS: OSL (accredited for employment) signs an employment naming HSBC
        "employer signed by another firm": [
            PolicyInput("c0", degree, True, *_signer(degree)),
            PolicyInput("c1", job, True, "did:web:osl.com", "OSL Digital Securities Limited"),
            PolicyInput("c2", good_badge, True, *_signer(good_badge)),
        ],
        "degree signed by another institution": [
            PolicyInput("c0", degree, True, "did:web:diploma-mill.example", "Diploma Mill"),
            PolicyInput("c1", job, True, *_signer(job)),
            PolicyInput("c2", good_badge, True, *_signer(good_badge)),
        ],
        "issuer identity unknown": [
            PolicyInput(f"c{i}", d, True) for i, d in enumerate((degree, job, good_badge))
        ],
        "qualified": inputs(
            _degree("master"), _job("HSBC", "2012-01-01", [BFS, "fintech"]), good_badge
        ),
        "associate degree": inputs(
            _degree("associate"), _job("HSBC", "2012-01-01", [BFS, "fintech"]), good_badge
        ),
        "two years": inputs(
            _degree("master"), _job("HSBC", "2024-09-01", [BFS, "fintech"]), good_badge
        ),
        "unlisted firm, no domain": inputs(
            _degree("master"), _job("Acme Bakery", "2012-01-01", ["baking"]), good_badge
        ),
        "no blockchain knowledge": inputs(
            _degree("master"),
            _job("HSBC", "2012-01-01", ["retail banking"]),
            _badge("Pastry", UNALIGNED),
        ),
        "nothing": [],
        "unverified": inputs(
            _degree("master"),
            _job("HSBC", "2012-01-01", [BFS, "fintech"]),
            good_badge,
            verified=False,
        ),
    }


APPLICANTS = _applicants()


def eligibility(policy: Policy) -> dict[tuple[int, str], bool]:
    """Met or not, by (profession position, applicant): positions survive a renamed id."""
    return {
        (i, who): policy.evaluate(pid, inputs, AS_OF).met
        for i, pid in enumerate(policy.professions)
        for who, inputs in APPLICANTS.items()
    }


BASELINE = eligibility(parse_policy(SHIPPED))


def test_baseline_applicants_cover_both_outcomes() -> None:
    """The property below means something: some applicants are eligible, most are not."""
    assert list(parse_policy(SHIPPED).professions) == ["hk-dlt-expert", "hk-fintech-professional"]
    assert BASELINE[(0, "qualified")] is True
    assert BASELINE[(1, "qualified")] is True
    # the same credentials signed by the wrong party, or with no on-chain identity, never count
    for who in ("employer signed by another firm", "issuer identity unknown"):
        assert BASELINE[(0, who)] is False, who
    assert BASELINE[(0, "degree signed by another institution")] is False
    assert BASELINE[(1, "degree signed by another institution")] is False
    not_met = [k for k, met in BASELINE.items() if not met]
    assert len(not_met) >= 10
    assert load_policy(None).professions.keys() == parse_policy(SHIPPED).professions.keys()


def assert_no_new_eligibility(policy: Policy, what: str) -> None:
    after = eligibility(policy)
    gained = [k for k, met in after.items() if met and not BASELINE.get(k, False)]
    assert not gained, f"{what}: applicants became eligible by accident of parsing: {gained}"


# --------------------------------------------------------------------------- strategies

KEYS = st.one_of(
    st.sampled_from(
        [
            "format",
            "name",
            "professions",
            "id",
            "title",
            "criteria",
            "degree",
            "employment",
            "badge",
            "any_of",
            "all_of",
            "min_level",
            "fields",
            "employers",
            "domains",
            "min_years",
            "alignments",
            "keywords",
            "achievement_types",
            "framework",
            "code",
            "did",
            "institutions",
            "source",
        ]
    ),
    st.text(max_size=8),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from([FORMAT, "bachelor", "master", "", " ", "!!!", "—", "5", "null"]),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=30,
)
# YAML also gives non-string keys (ints, booleans, null) to mappings
YAMLISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(KEYS, st.integers(-3, 3), st.booleans(), st.none()), inner, max_size=5
        ),
    ),
    max_leaves=30,
)


def criterion_like() -> st.SearchStrategy[Any]:
    """Criteria that are often almost right, so the fuzzing reaches deep into the parser."""
    body = st.dictionaries(
        st.sampled_from(
            [
                "min_level",
                "fields",
                "employers",
                "institutions",
                "domains",
                "min_years",
                "alignments",
                "keywords",
                "achievement_types",
                "extra",
            ]
        ),
        YAMLISH,
        max_size=4,
    )
    return st.fixed_dictionaries(
        {"id": st.one_of(st.just("c"), SCALARS), "title": st.just("T")},
        optional={k: st.one_of(body, YAMLISH) for k in ("degree", "employment", "badge", "any_of")},
    )


# --------------------------------------------------------------------------- random documents


@FUZZ
@given(YAMLISH)
def test_random_values_raise_only_policy_errors(doc: Any) -> None:
    refused(parse_policy, doc)


@FUZZ_DEEP
@given(
    name=SCALARS,
    professions=st.one_of(
        YAMLISH,
        st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.text(min_size=1, max_size=5),
                    "name": st.just("P"),
                    "criteria": st.lists(
                        st.one_of(criterion_like(), YAMLISH), min_size=1, max_size=3
                    ),
                },
                optional={"description": SCALARS, "source": SCALARS},
            ),
            min_size=1,
            max_size=2,
        ),
    ),
)
def test_random_policies_raise_only_policy_errors(name: Any, professions: Any) -> None:
    doc = {"format": FORMAT, "name": name, "professions": professions}
    exc = refused(parse_policy, doc)
    if exc is None:  # it parsed: it must evaluate, without crashing, for every applicant
        policy = parse_policy(doc)
        eligibility(policy)


@FUZZ
@given(st.text(max_size=300), st.sampled_from(["p.yaml", "p.json"]))
def test_random_text_raises_only_policy_errors(text: str, where: str) -> None:
    refused(parse_policy_text, text, where)


# --------------------------------------------------------------------------- mutations of the shipped policy


Path = tuple[Any, ...]


def _paths(node: Any, path: Path = ()) -> Iterator[Path]:
    if path:
        yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


ALL_PATHS = list(_paths(SHIPPED))


def _get(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _where(path: Path) -> str:
    """The parser's spelling of a place: professions[0].criteria[1].employment.min_years."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _related(where: str, path: Path) -> bool:
    """The error names the mutated place, one of its parents, or a place inside it."""
    target = _where(path)
    return where == "policy" or target.startswith(where) or where.startswith(target)


def _junk_for(value: Any) -> st.SearchStrategy[Any]:
    """Values of another type than ``value`` (or degenerate values of its type)."""
    others: list[Any] = [
        None,
        True,
        False,
        0,
        -1,
        2.5,
        math.nan,
        math.inf,
        "",
        "   ",
        "!!!",
        "5",
        [],
        {},
        ["x"],
        {"x": 1},
    ]
    if isinstance(value, bool):
        keep = [x for x in others if not isinstance(x, bool)]
    elif isinstance(value, (int, float)):
        keep = [x for x in others if isinstance(x, (str, list, dict, bool)) or x is None] + [
            math.nan,
            math.inf,
            -1,
        ]
    elif isinstance(value, str):
        keep = [x for x in others if not isinstance(x, str)] + ["", "   ", "!!!", "—"]
    elif isinstance(value, list):
        keep = [x for x in others if not isinstance(x, list)] + [[]]
    else:
        keep = [x for x in others if not isinstance(x, dict)] + [{}]
    return st.sampled_from(keep)


@FUZZ
@given(st.data())
def test_junk_value_anywhere_is_refused_or_changes_no_eligibility(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(ALL_PATHS), label="path")
    doc = copy.deepcopy(SHIPPED)
    parent = _get(doc, path[:-1])
    parent[path[-1]] = data.draw(_junk_for(parent[path[-1]]), label="junk")
    exc = refused(parse_policy, doc)
    if exc is not None:
        assert _related(exc.where, path), (exc.where, _where(path), str(exc))
        return
    assert_no_new_eligibility(parse_policy(doc), f"junk at {_where(path)}")


THRESHOLDS = [p for p in ALL_PATHS if p[-1] in ("min_level", "min_years")]


@pytest.mark.parametrize("path", THRESHOLDS, ids=_where)
def test_deleting_any_threshold_is_refused_naming_it(path: Path) -> None:
    doc = copy.deepcopy(SHIPPED)
    del _get(doc, path[:-1])[path[-1]]
    exc = refused(parse_policy, doc)
    assert exc is not None, f"{_where(path)} deleted, and the policy still parsed"
    assert exc.where == _where(path)


@FUZZ
@given(st.data())
def test_deleting_any_key_or_item_raises_only_policy_errors(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(ALL_PATHS), label="path")
    doc = copy.deepcopy(SHIPPED)
    del _get(doc, path[:-1])[path[-1]]
    exc = refused(parse_policy, doc)
    if exc is None:
        eligibility(parse_policy(doc))  # a valid, different policy: it still evaluates


@FUZZ
@given(
    st.data(), st.one_of(st.text(min_size=1, max_size=10), st.integers(), st.booleans(), st.none())
)
def test_an_added_key_anywhere_is_refused_naming_it(data: st.DataObject, key: Any) -> None:
    mappings = [p for p in [(), *ALL_PATHS] if isinstance(_get(SHIPPED, p), dict)]
    path = data.draw(st.sampled_from(mappings), label="mapping")
    target = _get(SHIPPED, path)
    assume(key not in target)
    doc = copy.deepcopy(SHIPPED)
    _get(doc, path)[key] = "x"
    exc = refused(parse_policy, doc)
    if (
        isinstance(key, str)
        and key in ("degree", "employment", "badge", "any_of", "all_of")
        and "id" in target
    ):
        assert exc is not None  # a second criterion kind: "exactly one of the keys ..."
        return
    assert exc is not None, f"key {key!r} added at {_where(path) or 'the root'} was accepted"
    assert exc.found == str(key) or key in ("description", "source"), str(exc)


@FUZZ_TEXT
@given(st.data())
def test_edited_policy_text_raises_only_policy_errors(data: st.DataObject) -> None:
    text = shipped_text()
    lines = text.splitlines(keepends=True)
    op = data.draw(
        st.sampled_from(["delete line", "duplicate line", "edit char", "insert char"]), label="op"
    )
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    if op == "delete line":
        lines.pop(i)
    elif op == "duplicate line":
        lines.insert(i, lines[i])
    else:
        line = lines[i]
        j = data.draw(st.integers(0, max(len(line) - 1, 0)), label="column")
        c = data.draw(st.sampled_from(list(":-[]{}#&*!|>'\"%@ \t\nx0")), label="char")
        lines[i] = line[:j] + c + line[j + (op == "edit char") :]
    edited = "".join(lines)
    exc = refused(parse_policy_text, edited, "edited.yaml")
    if exc is None:
        policy = parse_policy_text(edited, "edited.yaml")
        if op == "duplicate line" and re.match(r"\s*[A-Za-z_]+:( |$)", lines[i]):
            # a duplicated "key: value" line is a duplicate key
            raise AssertionError(f"duplicated line {lines[i]!r} was accepted")
        eligibility(policy)


@FUZZ
@given(st.data())
def test_json_policies_are_fuzzed_the_same_way(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(ALL_PATHS), label="path")
    doc = copy.deepcopy(SHIPPED)
    parent = _get(doc, path[:-1])
    junk = data.draw(
        _junk_for(parent[path[-1]]).filter(
            lambda v: not (isinstance(v, float) and not math.isfinite(v))
        )
    )
    parent[path[-1]] = junk
    exc = refused(parse_policy_text, json.dumps(doc), "policy.json")
    if exc is None:
        assert_no_new_eligibility(
            parse_policy_text(json.dumps(doc), "policy.json"), f"json junk at {_where(path)}"
        )
    else:
        assert _related(exc.where, path), (exc.where, _where(path))


def test_the_shipped_policy_round_trips_through_json() -> None:
    assert eligibility(parse_policy_text(json.dumps(SHIPPED), "p.json")) == BASELINE


# --------------------------------------------------------------------------- regressions


def _one(criterion_body: dict[str, Any], kind: str = "employment") -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": "x",
        "professions": [
            {"id": "p", "name": "P", "criteria": [{"id": "c", "title": "C", kind: criterion_body}]}
        ],
    }


W = "professions[0].criteria[0]"


@pytest.mark.parametrize(
    ("doc", "where", "was"),
    [
        # TypeError while sorting mixed key types for the error message
        (
            {
                "format": FORMAT,
                "name": "x",
                "professions": [
                    {
                        "id": "p",
                        "name": "P",
                        "criteria": [{"id": "c", "title": "C", 1: "x", "zz": 2}],
                    }
                ],
            },
            W,
            "TypeError",
        ),
        (_one({"min_level": "master", 1: 2, "b": 3}, "degree"), f"{W}.degree", "TypeError"),
        # employers: a string was iterated character by character; an int raised TypeError
        (
            _one({"employers": "HSBC", "min_years": 1}),
            f"{W}.employment.employers",
            "accepted as H, S, B, C",
        ),
        (_one({"employers": 5, "min_years": 1}), f"{W}.employment.employers", "TypeError"),
        # issue 11: firms by name (matched the name a credential asserts) are refused: by DID only
        (
            _one({"employers": [{"name": "HSBC"}], "min_years": 1}),
            f"{W}.employment.employers[0].did",
            "name matched",
        ),
        (
            _one({"employers": [{"did": "HSBC", "name": "HSBC"}], "min_years": 1}),
            f"{W}.employment.employers[0].did",
            "not a DID",
        ),
        (
            _one({"min_level": "bachelor", "institutions": []}, "degree"),
            f"{W}.degree.institutions",
            "any university",
        ),
        # alignments: an int raised TypeError; a non-string framework crashed evaluate()
        (_one({"alignments": 5}, "badge"), f"{W}.badge.alignments", "TypeError"),
        (
            _one({"alignments": [{"framework": 5}]}, "badge"),
            f"{W}.badge.alignments[0].framework",
            "AttributeError in evaluate",
        ),
        # a name with no letters normalizes to "", which is "in" every text: matched anything
        (_one({"keywords": ["!!!"]}, "badge"), f"{W}.badge.keywords[0]", "any badge met it"),
        (
            _one({"min_level": "bachelor", "fields": ["."]}, "degree"),
            f"{W}.degree.fields[0]",
            "any field met it",
        ),
        # empty or null filter lists read as "no filter"
        (
            _one({"min_level": "bachelor", "fields": []}, "degree"),
            f"{W}.degree.fields",
            "any field met it",
        ),
        (
            _one({"domains": None, "min_years": 5}),
            f"{W}.employment.domains",
            "any employment met it",
        ),
        (
            _one({"alignments": [{"framework": None, "code": "DLT-FS"}]}, "badge"),
            f"{W}.badge.alignments[0].framework",
            "any framework met it",
        ),
        # thresholds: missing read as 0; NaN / infinity accepted
        (_one({"domains": ["fintech"]}), f"{W}.employment.min_years", "read as 0 years"),
        (
            _one({"domains": ["fintech"], "min_years": math.nan}),
            f"{W}.employment.min_years",
            "never met, silently",
        ),
        (
            _one({"domains": ["fintech"], "min_years": math.inf}),
            f"{W}.employment.min_years",
            "never met, silently",
        ),
        # an unknown top-level key was ignored (a misspelt "professions" section, say)
        ({**_one({"domains": ["fintech"], "min_years": 1}), "profesions": []}, "policy", "ignored"),
        # a criterion id repeated inside an any_of made evidence ambiguous
        (
            _one([{"id": "c", "title": "A", "degree": {"min_level": "master"}}], "any_of"),
            "professions[0].criteria",
            "accepted",
        ),
    ],
)
def test_regression_malformed_policy_is_refused_naming_the_field(
    doc: dict[str, Any], where: str, was: str
) -> None:
    exc = refused(parse_policy, doc)
    assert exc is not None, f"accepted (before the fix: {was})"
    assert exc.where == where, str(exc)


def test_regression_duplicate_keys_are_refused_in_yaml_and_json(tmp_path: Any) -> None:
    """PyYAML and json keep the last of two equal keys: the file said 5 years and 0 years."""
    yaml_text = shipped_text().replace(
        "          min_years: 5\n", "          min_years: 5\n          min_years: 0\n", 1
    )
    assert yaml_text != shipped_text()
    (tmp_path / "p.yaml").write_text(yaml_text)
    exc = refused(load_policy, tmp_path / "p.yaml")
    assert exc is not None and "duplicate key" in str(exc)
    json_text = json.dumps({"format": FORMAT, "name": "x", "professions": []}).replace(
        '"name"', f'"format": "{FORMAT}", "name"'
    )
    (tmp_path / "p.json").write_text(json_text)
    exc = refused(load_policy, tmp_path / "p.json")
    assert exc is not None and "duplicate key" in str(exc)


def test_regression_unreadable_files_are_policy_errors(tmp_path: Any) -> None:
    """A non-UTF-8 file raised UnicodeDecodeError; deep nesting raised RecursionError."""
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert refused(load_policy, tmp_path / "latin1.yaml") is not None
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    assert refused(load_policy, tmp_path / "deep.json") is not None
    deep: Any = {"id": "leaf", "title": "L", "degree": {"min_level": "master"}}
    for i in range(50):
        deep = {"id": f"n{i}", "title": "N", "any_of": [deep]}
    exc = refused(parse_policy, _one([deep], "all_of"))
    assert exc is not None and "nested at most" in str(exc)


def test_regression_explicit_zero_years_is_still_allowed() -> None:
    """The fix requires the threshold to be written, not to be positive."""
    policy = parse_policy(_one({"domains": ["fintech"], "min_years": 0}))
    assert policy.professions["p"].criteria[0].min_years == 0.0
    assert DEGREE_LEVELS[0] == "associate"
