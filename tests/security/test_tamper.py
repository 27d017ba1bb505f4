"""A tamper corpus against the verifier, from real credentials anchored on a real Anvil node.

Every case starts from a valid credential (signed with eddsa-jcs-2022, Merkle-batched, its root
anchored by an accredited issuer) and changes one thing. Every case must be rejected, and by the
RIGHT check: the first failing check of the report is the one the kind of change calls for (see
:func:`expected_check`), and the verdict is ``invalid``.

- every single-field change of the anchored JSON (each leaf changed, each field deleted, a field
  added to each object and an item to each list), for a degree, an employment and an Open Badge
  credential, one of them signed with the issuer's ``did:web#z6Mk…`` verification method;
- every single-character change of a QR text payload and every byte of its binary payload
  flipped (two ways) and re-encoded;
- signature proofs and anchor proofs swapped between credentials;
- a credential re-anchored in another issuer's batch (issuer B anchors a tree holding A's hash);
- a bound presentation replayed with another challenge, or to a verifier of another domain.

Cases are generated in-process and verified through the engine in-process against one Anvil
(bulk API: one pinned block, batched reads). The corpus size is printed (``-s``) and recorded
as the ``tamper_cases`` user property of each corpus test.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from talentproof.credential import integrity
from talentproof.credential import qr as c_qr
from talentproof.credential.anchor import AnchorProof, split_anchor
from talentproof.credential.errors import CredentialError
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.merkle import MerkleTree, credential_hash
from talentproof.credential.model import validate_credential
from talentproof.credential.presentation import create_presentation
from talentproof.verifier.bulk import verify_items_bulk
from talentproof.verifier.engine import DEFAULT_DOMAIN, Item, Verifier
from talentproof.verifier.inputs import item_from_text
from talentproof.verifier.report import CheckId, CredentialReport, Status, Verdict
from tests.chainkit import (
    BADGE,
    DEGREE,
    EMPLOYMENT,
    Chain,
    Issuer,
    anchor_batch,
    build,
    holder,
    setup_chain,
)

pytestmark = pytest.mark.integration

ADDED = "tamperedField"
_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


# --------------------------------------------------------------------------- the chain


@dataclass
class World:
    """One registry on the session's Anvil with issuers and valid anchored credentials."""

    chain: Chain
    verifier: Verifier
    uni: Issuer
    hsbc: Issuer
    hkib: Issuer
    cityu: Issuer
    holder_key: Ed25519SigningKey
    creds: dict[str, dict[str, Any]]  # valid anchored credentials, by name


def _sign(doc: Mapping[str, Any], issuer: Issuer, *, issuer_method: bool) -> dict[str, Any]:
    key = issuer.key
    method = (
        f"{issuer.did}#{key.public_key.multibase}"
        if issuer_method
        else key.public_key.verification_method
    )
    return integrity.sign(
        dict(doc), key, verification_method=method, created=datetime.now(UTC).replace(microsecond=0)
    )


def _issue_batch(
    chain: Chain, issuer: Issuer, docs: Sequence[Mapping[str, Any]], *, issuer_method: bool = False
) -> list[dict[str, Any]]:
    signed = [_sign(d, issuer, issuer_method=issuer_method) for d in docs]
    return anchor_batch(signed, issuer.client, chain.deployment)


@pytest.fixture(scope="module")
def world(anvil_node: Any) -> World:
    chain = setup_chain(anvil_node)
    uni = chain.add_issuer("University of Hong Kong", (DEGREE,))
    hsbc = chain.add_issuer("HSBC", (EMPLOYMENT,))
    hkib = chain.add_issuer("HKIB", (BADGE,))
    cityu = chain.add_issuer("City University", (DEGREE,))  # accredited for the same type as uni
    hk = holder()
    me = hk.public_key.did_key
    others = [holder().public_key.did_key for _ in range(4)]
    # a degree in a batch of 5 (leaf 0: tree sizes 5..8 give the same path shape)
    degrees = _issue_batch(
        chain, uni, [build(DEGREE, uni.did, s) for s in [me, *others]], issuer_method=True
    )
    employment = _issue_batch(
        chain,
        hsbc,
        [
            build(EMPLOYMENT, hsbc.did, me, start="2012-01-01"),
            build(EMPLOYMENT, hsbc.did, others[0]),
        ],
    )
    badge = _issue_batch(chain, hkib, [build(BADGE, hkib.did, me)])
    lone = _issue_batch(
        chain, uni, [build(DEGREE, uni.did, others[1]), build(DEGREE, uni.did, others[2])]
    )
    creds = {
        "degree": degrees[0],
        "degree-same-batch": degrees[1],
        "degree-other-batch": lone[0],
        "employment": employment[0],
        "badge": badge[0],
    }
    world = World(chain, chain.verifier(), uni, hsbc, hkib, cityu, hk, creds)
    for name, doc in creds.items():  # the corpus starts from valid credentials only
        report = world.verifier.verify_document(doc)
        assert report.verdict is Verdict.VALID, (name, [c.message for c in report.checks])
    return world


# --------------------------------------------------------------------------- the oracle


def first_failure(report: CredentialReport) -> CheckId | None:
    return next((c.id for c in report.checks if c.status is Status.FAIL), None)


def _schema_refuses(doc: Mapping[str, Any]) -> bool:
    """The credential package's own (jsonschema) validator, independent of the engine's fast path,
    and its impossible-fact rules (a date that is not a calendar date, a fact in the future),
    which check 2 also applies (issue 11)."""
    try:
        validate_credential(doc)
    except CredentialError:
        return True
    from datetime import UTC, datetime

    from talentproof.credential.claims import fact_problems

    return bool(fact_problems(doc, datetime.now(UTC).date()))


def expected_check(original: Mapping[str, Any], changed: Any) -> CheckId | None:
    """The first check a change must fail, from what the change touched (None: no real change).

    - the anchor entry no longer parses (a field missing, added, mistyped, a wrong purpose) or
      the document is not an object: check 1, parse;
    - anything signed (the credential body, its signature proof, the proof set's shape): check
      2 when the credential package's schema validator refuses the result, else check 3;
    - the Merkle part of the anchor (root, leaf index, path) or the anchor removed: check 4;
    - the chain binding (chain id, registry address) or the claimed batch size: check 5;
    - the registry address respelled in another letter case only: not a change (same address).
    """
    if not isinstance(changed, Mapping):
        return CheckId.PARSE
    try:
        doc, anchor = split_anchor(changed)
    except CredentialError:
        return CheckId.PARSE
    base_doc, base = split_anchor(original)
    assert base is not None
    if _unwrapped(doc) != _unwrapped(base_doc):
        return CheckId.SCHEMA if _schema_refuses(doc) else CheckId.SIGNATURE
    if anchor is None:
        return CheckId.INCLUSION
    if (anchor.merkle_root, anchor.leaf_index, anchor.path) != (
        base.merkle_root,
        base.leaf_index,
        base.path,
    ):
        return CheckId.INCLUSION
    if anchor.chain_id != base.chain_id or anchor.registry.lower() != base.registry.lower():
        return CheckId.ANCHOR
    if anchor.tree_size != base.tree_size:
        # a size whose audit path has another length is refused offline (4); a size the path
        # cannot tell apart only by the anchored leaf count (5)
        same_shape = _path_length(anchor.leaf_index, anchor.tree_size) == len(anchor.path)
        return CheckId.ANCHOR if same_shape else CheckId.INCLUSION
    return None


def _unwrapped(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """A proof set of one entry read as that entry (removing the anchor from ``[sig, anchor]``
    leaves ``[sig]``: the same signed content; its credential hash differs, failing check 4)."""
    proof = doc.get("proof")
    return {**doc, "proof": proof[0]} if isinstance(proof, list) and len(proof) == 1 else doc


def _path_length(index: int, size: int) -> int:
    """Hashes in the RFC 9162 (section 2.1.3) audit path of leaf ``index`` in a tree of ``size``."""
    if size <= 1:
        return 0
    split = 1 << ((size - 1).bit_length() - 1)  # the largest power of two below size
    return 1 + (
        _path_length(index, split) if index < split else _path_length(index - split, size - split)
    )


# --------------------------------------------------------------------------- single-field changes


Path = tuple[Any, ...]


def _walk(node: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))


def _parent(doc: Any, path: Path) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


_HEX = "0123456789abcdef"


def _other_char(c: str) -> str:
    """A different character of the same class (hex digit, digit, letter), so formats survive."""
    if c in _HEX:
        return _HEX[(_HEX.index(c) + 1) % 16]
    if c in _HEX.upper():
        return _HEX.upper()[(_HEX.upper().index(c) + 1) % 16]
    if c.isdigit():
        return str((int(c) + 1) % 10)
    if c.isalpha() and c.isascii():
        base = "a" if c.islower() else "A"
        return chr((ord(c) - ord(base) + 1) % 26 + ord(base))
    return "x" if c != "x" else "y"


def _changed_strings(value: str) -> list[str]:
    out = [value + "x"]
    if value:
        i = len(value) // 2
        out.append(value[:i] + _other_char(value[i]) + value[i + 1 :])
        out.append(value[:-1] + _other_char(value[-1]))
    else:
        out.append("x")
    return list(dict.fromkeys(v for v in out if v != value))


def single_field_changes(doc: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(description, changed copy) for every single-field change of ``doc``."""
    for path, value in _walk(doc):
        where = "/".join(map(str, path)) or "(root)"
        if isinstance(value, bool):
            replacements: list[Any] = [not value]
        elif isinstance(value, int):
            replacements = [value + 1, value - 1] if value > 0 else [value + 1]
        elif isinstance(value, float):
            replacements = [value + 0.5]
        elif isinstance(value, str):
            replacements = _changed_strings(value)
        elif value is None:
            replacements = ["x"]
        else:
            replacements = []
        for new in replacements:
            changed = copy.deepcopy(dict(doc))
            _parent(changed, path)[path[-1]] = new
            yield f"change {where} to {new!r:.40}", changed
        if path:  # delete this field / list item
            changed = copy.deepcopy(dict(doc))
            del _parent(changed, path)[path[-1]]
            yield f"delete {where}", changed
        if isinstance(value, dict):  # add a field
            changed = copy.deepcopy(dict(doc))
            target = changed
            for step in path:
                target = target[step]
            target[ADDED] = "x"
            yield f"add {where}/{ADDED}", changed
        elif isinstance(value, list):  # add an item
            changed = copy.deepcopy(dict(doc))
            target = changed
            for step in path:
                target = target[step]
            target.append(copy.deepcopy(value[-1]) if value else "x")
            yield f"append to {where}", changed


def _judge(
    world: World, original: Mapping[str, Any], cases: Sequence[tuple[str, Any, Item]]
) -> dict[str, int]:
    """Verify every case in bulk; assert each fails at its expected check. Returns counts by check."""
    reports = verify_items_bulk(world.verifier, [item for _, _, item in cases])
    counts: dict[str, int] = {}
    wrong = []
    for (what, changed, _), report in zip(cases, reports, strict=True):
        want = expected_check(original, changed)
        got = first_failure(report)
        if want is None:  # not a change of meaning (an address respelled): must stay valid
            ok = report.verdict is Verdict.VALID
            key = "equivalent"
        else:
            ok = got is want and report.verdict is Verdict.INVALID
            key = want.value
            if ok and want in (CheckId.SCHEMA, CheckId.SIGNATURE):
                # whatever the schema says, a change to signed content always breaks the signature
                ok = report.check(CheckId.SIGNATURE).status is Status.FAIL
        if not ok:
            wrong.append(
                (
                    what,
                    want,
                    got,
                    report.verdict,
                    [c.message for c in report.checks if c.status is Status.FAIL][:2],
                )
            )
        counts[key] = counts.get(key, 0) + 1
    assert not wrong, f"{len(wrong)} of {len(cases)} cases misjudged, e.g. {wrong[:5]}"
    return counts


def _report(record_property: Any, name: str, counts: Mapping[str, int]) -> None:
    total = sum(counts.values())
    record_property("tamper_cases", total)
    print(f"\n[tamper] {name}: {total} cases, first failing check: {dict(sorted(counts.items()))}")


@pytest.mark.parametrize("name", ["degree", "employment", "badge"])
def test_every_single_field_change_fails_the_right_check(
    world: World, name: str, record_property: Any
) -> None:
    original = world.creds[name]
    cases = [
        (what, changed, Item(what, changed)) for what, changed in single_field_changes(original)
    ]
    assert len(cases) > 80
    counts = _judge(world, original, cases)
    # every kind of failure the corpus is meant to provoke is actually provoked
    for check in (
        CheckId.PARSE,
        CheckId.SCHEMA,
        CheckId.SIGNATURE,
        CheckId.INCLUSION,
        CheckId.ANCHOR,
    ):
        assert counts.get(check.value, 0) > 0, (check, counts)
    assert counts.get("equivalent", 0) == 0  # single-field changes never keep the meaning
    _report(record_property, f"single-field changes of the {name} credential", counts)


# --------------------------------------------------------------------------- QR payloads


def _decoded_or_none(text: str) -> Any:
    try:
        return c_qr.decode_payload(text)
    except CredentialError:
        return None


def _qr_cases(texts: Sequence[tuple[str, str]]) -> list[tuple[str, Any, Item]]:
    return [(what, _decoded_or_none(t), item_from_text(t, what)) for what, t in texts]


@pytest.mark.parametrize("name", ["degree", "badge"])
def test_every_character_of_a_qr_text_changed_is_rejected(
    world: World, name: str, record_property: Any
) -> None:
    original = world.creds[name]
    text = c_qr.encode_payload(original)
    assert c_qr.decode_payload(text) == original
    variants = []
    for i, c in enumerate(text):
        pool = _B45 if i >= len(c_qr.PREFIX) else "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ:"
        new = pool[(pool.index(c) + 1 + i) % len(pool)] if c in pool else "0"
        if new == c:
            new = pool[(pool.index(c) + 1) % len(pool)]
        variants.append((f"QR char {i} {c!r}->{new!r}", text[:i] + new + text[i + 1 :]))
    counts = _judge(world, original, _qr_cases(variants))
    for check in (CheckId.PARSE, CheckId.SIGNATURE, CheckId.INCLUSION, CheckId.ANCHOR):
        assert counts.get(check.value, 0) > 0, (check, counts)
    _report(record_property, f"QR text character changes ({name}, {len(text)} characters)", counts)


@pytest.mark.parametrize("name", ["degree", "employment"])
def test_every_byte_of_the_binary_payload_flipped_is_rejected(
    world: World, name: str, record_property: Any
) -> None:
    original = world.creds[name]
    text = c_qr.encode_payload(original)
    payload = c_qr.b45decode(text[len(c_qr.PREFIX) :])
    variants = []
    for i in range(len(payload)):
        for mask in (0x01, 0xFF):
            flipped = payload[:i] + bytes([payload[i] ^ mask]) + payload[i + 1 :]
            variants.append(
                (f"payload byte {i} ^ {mask:#04x}", c_qr.PREFIX + c_qr.b45encode(flipped))
            )
    counts = _judge(world, original, _qr_cases(variants))
    # the header's parts reach their own checks: the chain id and address (5), the Merkle data
    # (4), the signature bytes (3), the compressed JSON (1 or 3)
    for check in (CheckId.PARSE, CheckId.SIGNATURE, CheckId.INCLUSION, CheckId.ANCHOR):
        assert counts.get(check.value, 0) > 0, (check, counts)
    _report(record_property, f"binary payload byte flips ({name}, {len(payload)} bytes)", counts)


# --------------------------------------------------------------------------- swapped proofs


def _checks(report: CredentialReport) -> dict[CheckId, Status]:
    return {c.id: c.status for c in report.checks}


def test_proofs_swapped_between_credentials_fail_signature_or_inclusion(
    world: World, record_property: Any
) -> None:
    a, b, c = (
        world.creds["degree"],
        world.creds["degree-same-batch"],
        world.creds["degree-other-batch"],
    )
    cases = {
        # B's body with A's signature proof (and B's own anchor)
        "signature of A on B": ({**b, "proof": [a["proof"][0], b["proof"][1]]}, CheckId.SIGNATURE),
        # both proofs of A on B
        "proof set of A on B": ({**b, "proof": copy.deepcopy(a["proof"])}, CheckId.SIGNATURE),
        # B signed, with the anchor proof of A (same batch: same root, another leaf)
        "anchor of A (same batch) on B": (
            {**b, "proof": [b["proof"][0], a["proof"][1]]},
            CheckId.INCLUSION,
        ),
        # B signed, with the anchor proof of C (another anchored batch)
        "anchor of C (other batch) on B": (
            {**b, "proof": [b["proof"][0], c["proof"][1]]},
            CheckId.INCLUSION,
        ),
        # an employment credential with a degree's anchor
        "anchor of a degree on an employment credential": (
            {
                **world.creds["employment"],
                "proof": [world.creds["employment"]["proof"][0], a["proof"][1]],
            },
            CheckId.INCLUSION,
        ),
    }
    reports = verify_items_bulk(world.verifier, [Item(k, doc) for k, (doc, _) in cases.items()])
    for (what, (_, want)), report in zip(cases.items(), reports, strict=True):
        assert first_failure(report) is want, (what, [x.message for x in report.checks])
        assert report.verdict is Verdict.INVALID
        if want is CheckId.INCLUSION:  # the signature itself is intact: only the anchor lies
            assert _checks(report)[CheckId.SIGNATURE] is Status.PASS, what
    _report(record_property, "swapped proofs", {"cases": len(cases)})


# --------------------------------------------------------------------------- re-anchoring


def _reanchor(world: World, victim: Mapping[str, Any], squatter: Issuer) -> dict[str, Any]:
    """Issuer ``squatter`` anchors a batch holding the victim's credential hash; return the
    victim's credential carrying an anchor proof of that batch."""
    signed, _ = split_anchor(victim)
    filler = [
        credential_hash({"id": f"urn:uuid:filler-{squatter.name}-{i}", "proof": {}})
        for i in range(3)
    ]
    tree = MerkleTree([*filler[:1], credential_hash(signed), *filler[1:]])
    squatter.client.anchor_root(tree.root, tree.size)
    proof = AnchorProof.from_inclusion(
        tree.proof(1),
        chain_id=world.chain.deployment.chain_id,
        registry=world.chain.deployment.registry,
        merkle_root=tree.root,
    )
    from talentproof.credential.anchor import attach_anchor

    return attach_anchor(signed, proof)


def test_credential_reanchored_under_another_issuers_root_fails_the_anchor_check(
    world: World,
) -> None:
    """Anchors are per issuer and the verifier reads the anchor of the issuer the credential
    names (by its DID): a batch another issuer anchored is not that issuer's anchor, whatever it
    holds, so check 5 fails and checks 6-8 are not reached."""
    victim = world.creds["degree"]
    cases = {
        # HSBC is not accredited for degrees at all
        "re-anchored by an issuer of another type": _reanchor(world, victim, world.hsbc),
        # City University IS accredited for degrees, but is not the credential's issuer
        "re-anchored by an issuer of the same type": _reanchor(world, victim, world.cityu),
    }
    reports = verify_items_bulk(world.verifier, [Item(k, d) for k, d in cases.items()])
    for (what, _), report in zip(cases.items(), reports, strict=True):
        st = _checks(report)
        assert [st[c] for c in (CheckId.SIGNATURE, CheckId.INCLUSION)] == [Status.PASS] * 2, what
        assert first_failure(report) is CheckId.ANCHOR, (what, [x.message for x in report.checks])
        assert [st[c] for c in (CheckId.ISSUER, CheckId.KEY, CheckId.STATUS)] == [
            Status.SKIPPED
        ] * 3, what
        assert "not anchored" in report.check(CheckId.ANCHOR).message
        assert report.verdict is Verdict.INVALID
    # the original, anchored by its own issuer, is still valid
    assert world.verifier.verify_document(victim).verdict is Verdict.VALID


# --------------------------------------------------------------------------- presentation replay


def _vp(world: World, challenge: str, domain: str) -> dict[str, Any]:
    return create_presentation(
        [world.creds["degree"], world.creds["employment"]],
        world.holder_key,
        challenge=challenge,
        domain=domain,
        created=datetime.now(UTC).replace(microsecond=0),
    )


def _bound(world: World, verifier: Verifier, vp: Any, challenge: str) -> Any:
    return verifier.verify_application([Item("presentation", vp)], challenge=challenge)


def test_presentation_replayed_with_another_challenge_or_domain_fails_binding(world: World) -> None:
    vp = _vp(world, "nonce-1", DEFAULT_DOMAIN)
    from_qr = c_qr.decode_payload(c_qr.encode_payload(vp))
    # control: bound to this verifier's challenge and domain, it passes
    for doc in (vp, from_qr):
        good = _bound(world, world.verifier, doc, "nonce-1")
        assert good.verdict is Verdict.VALID, [
            c.message for r in good.credentials for c in r.checks
        ]
    other_domain = world.chain.verifier(domain="border.example.hk")
    replays = {
        "another challenge": _bound(world, world.verifier, vp, "nonce-2"),
        "another challenge (QR)": _bound(world, world.verifier, from_qr, "nonce-2"),
        "another domain": _bound(world, other_domain, vp, "nonce-1"),
        "another domain (QR)": _bound(world, other_domain, from_qr, "nonce-1"),
    }
    for what, report in replays.items():
        assert report.verdict is Verdict.INVALID, what
        assert len(report.credentials) == 2
        for r in report.credentials:
            assert first_failure(r) is CheckId.BINDING, (what, [c.message for c in r.checks])
            msg = r.check(CheckId.BINDING).message
            assert (
                ("ChallengeMismatch" in msg) if "challenge" in what else ("DomainMismatch" in msg)
            ), msg
    # a presentation whose challenge was edited after signing: the holder's signature breaks
    edited = copy.deepcopy(vp)
    edited["proof"]["challenge"] = "nonce-2"
    report = _bound(world, world.verifier, edited, "nonce-2")
    assert report.verdict is Verdict.INVALID
    for r in report.credentials:
        assert first_failure(r) is CheckId.BINDING
        assert "AlteredDocument" in r.check(CheckId.BINDING).message


# --------------------------------------------------------------------------- regressions


def test_regression_tree_size_the_path_cannot_tell_apart_fails_the_anchor_check(
    world: World,
) -> None:
    """Bug found by this corpus: leaf 0 of a batch of 5 has the same Merkle path in trees of 5
    to 8 leaves, so a proof claiming 6 recomputed the right root and the credential verified.
    Check 5 now compares the claimed tree size with the anchored leaf count."""
    doc = copy.deepcopy(world.creds["degree"])
    assert doc["proof"][1]["leafIndex"] == 0 and doc["proof"][1]["treeSize"] == 5
    for size in (6, 7, 8):
        doc["proof"][1]["treeSize"] = size
        report = world.verifier.verify_document(doc)
        assert first_failure(report) is CheckId.ANCHOR
        assert _checks(report)[CheckId.INCLUSION] is Status.PASS
        assert f"claims a batch of {size} credentials" in report.check(CheckId.ANCHOR).message
        assert "has 5" in report.check(CheckId.ANCHOR).message


@pytest.mark.parametrize(
    "change",
    [
        {"proofPurpose": "authentication"},
        {"proofPurpose": None},
        {ADDED: "x"},
        {"merkleRootNote": "0x00"},
    ],
)
def test_regression_anchor_entry_with_a_foreign_field_or_purpose_fails_parse(
    world: World, change: dict[str, Any]
) -> None:
    """Bug found by this corpus: the anchor entry is neither signed nor hashed, and an added
    field or another proofPurpose was ignored, so the altered credential verified."""
    doc = copy.deepcopy(world.creds["degree"])
    for k, v in change.items():
        if v is None:
            del doc["proof"][1][k]
        else:
            doc["proof"][1][k] = v
    report = world.verifier.verify_document(doc)
    assert first_failure(report) is CheckId.PARSE
    assert report.verdict is Verdict.INVALID
    assert "anchor proof" in report.check(CheckId.PARSE).message
