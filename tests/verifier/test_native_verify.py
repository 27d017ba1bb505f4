"""Checks 1, 3 and 4 of a folder's plain credentials in one C call (credential/native_verify.c,
``bulk.prepare_files`` with ``bulk.NATIVE`` on) give the very checks of the Python path
(``Verifier.prepare_items``, its twin, ``bulk.NATIVE`` off): the same ``Prepared`` (findings,
credential, anchor, key, hash, why checks 5-8 are skipped) for issued credentials of every kind
and for their mutations (every member removed, duplicated or retyped, every character of the
signature, the Merkle root and a path hash changed, other text forms, forged anchors, wrong
keys, expired), and the same folder results end to end on a chain (revoked, forged, tampered).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from base58 import b58decode, b58encode

from talentproof.credential import integrity
from talentproof.credential.anchor import AnchorProof, attach_anchor, split_anchor
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.merkle import MerkleTree, credential_hash
from talentproof.verifier import bulk
from talentproof.verifier.engine import Verifier
from talentproof.verifier.inputs import item_from_bytes
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, anchor_batch, build, holder, issue, sign

NOW = datetime.now(UTC)
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ISSUER = Ed25519SigningKey.from_seed(bytes(range(32)))
STRANGER = Ed25519SigningKey.from_seed(bytes(range(1, 33)))
ED25519_L = 2**252 + 27742317777372353535851937790883648493  # the group order
ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _verifier() -> Verifier:
    return Verifier.from_deployment(REGISTRY, "http://127.0.0.1:9", clock=lambda: NOW)


def _batch() -> list[dict[str, Any]]:
    """Credentials of every kind as the issuer writes them (model builders, integrity.sign),
    one expired, Merkle-batched with their anchor proofs (no chain: checks 1-4 only)."""
    did = "did:web:uni.example"
    docs = [
        build(DEGREE, did, holder().public_key.did_key),
        build(EMPLOYMENT, did, holder().public_key.did_key),
        build(BADGE, did, holder().public_key.did_key),
        build(
            DEGREE,
            did,
            holder().public_key.did_key,
            valid_from=NOW - timedelta(days=30),
            valid_until=NOW - timedelta(days=1),
        ),
    ]
    signed = [sign(d, ISSUER) for d in docs]
    tree = MerkleTree([credential_hash(d) for d in signed])
    return [
        attach_anchor(
            d,
            AnchorProof.from_inclusion(
                tree.proof(i), chain_id=31337, registry=REGISTRY, merkle_root=tree.root
            ),
        )
        for i, d in enumerate(signed)
    ]


BATCH = _batch()
SIGNED = [split_anchor(d)[0] for d in BATCH]  # the same, without their anchor proofs


def _anchored(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``docs`` (signed, maybe altered) anchored anew, in one tree with a sibling: so that
    check 4 passes and a change is judged by the other checks alone. Those whose credential
    hash cannot be computed are left out."""
    out = []
    for d in docs:
        try:
            hashes = [credential_hash(d), credential_hash(SIGNED[0])]
        except Exception:  # (not hashable: checks 3 and 4 fail in both paths anyway)
            continue
        tree = MerkleTree(hashes)
        anchor = AnchorProof.from_inclusion(
            tree.proof(0), chain_id=31337, registry=REGISTRY, merkle_root=tree.root
        )
        proof = d.get("proof")
        entries = list(proof) if isinstance(proof, list) else [] if proof is None else [proof]
        out.append({**d, "proof": [*entries, anchor.to_json()]})
    return out


def _resigned(
    doc: dict[str, Any],
    options: dict[str, Any] | None = None,
    remove: tuple[str, ...] = (),
    body: dict[str, Any] | None = None,
    key: Ed25519SigningKey = ISSUER,
) -> dict[str, Any]:
    """``doc`` (signed, no anchor) with its proof options or body changed and signed again
    (validly: the signature itself verifies), then anchored anew."""
    proof = {k: v for k, v in doc["proof"].items() if k != "proofValue" and k not in remove}
    proof.update(options or {})
    unsigned = {**{k: v for k, v in doc.items() if k != "proof"}, **(body or {})}
    value = integrity.proof_value(key, integrity.hash_data(unsigned, proof))
    return _anchored([{**unsigned, "proof": {**proof, "proofValue": value}}])[0]


def _both(texts: list[bytes]) -> tuple[list[Any], list[Any], int]:
    """(the C path's checks 1-4 of each text, the twin's, how many the C path answered)."""
    items = [item_from_bytes(t, f"f{i}.json") for i, t in enumerate(texts)]
    answers = [
        bulk.native_offline()(it.document) if it.document is not None and it.error is None else None
        for it in items
    ]
    answered = sum(1 for a in answers if a is not None and bulk.created_accepted(a[9]))
    on = bulk.prepare_files(_verifier(), items)
    off = _verifier().prepare_items(items)
    return on, off, answered


def _assert_same(texts: list[bytes]) -> int:
    on, off, answered = _both(texts)
    for text, a, b in zip(texts, on, off, strict=True):
        assert a == b, text[:300]
        assert repr(a) == repr(b), text[:300]  # (== takes True for 1: the reprs do not)
    return answered


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def _replaced(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    parent = _get(out, path[:-1])
    if value is _REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def _dumps_duplicating(node: Any, path: tuple[Any, ...], value: Any) -> str:
    """JSON text of ``node`` with the member at ``path`` written twice (the second ``value``)."""
    if isinstance(node, dict):
        parts = [
            f"{json.dumps(k)}: {_dumps_duplicating(v, path[1:] if path and path[0] == k else (), value)}"
            for k, v in node.items()
        ]
        if len(path) == 1:
            parts.append(f"{json.dumps(path[0])}: {json.dumps(value)}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(node, list):
        return (
            "["
            + ", ".join(
                _dumps_duplicating(v, path[1:] if path and path[0] == i else (), value)
                for i, v in enumerate(node)
            )
            + "]"
        )
    return json.dumps(node)


_REMOVE = object()
_RETYPES = [None, True, False, 0, 1, -1, 2**64, 1.5, "", "x", [], {}, ["x"], {"a": 1}]


def test_the_c_path_answers_for_every_issued_credential_with_the_same_checks():
    """Every kind, expired or not: answered by the C path, with the twin's very checks."""
    texts = [json.dumps(d).encode() for d in BATCH]
    assert _assert_same(texts) == len(texts)


@pytest.mark.parametrize("which", range(len(BATCH)))
def test_every_member_removed_or_retyped(which):
    """In the anchored file as it is (the anchor proof no longer matching a change elsewhere),
    and with every change to the credential and its signature proof anchored anew (so that
    checks 2 and 3 alone judge it)."""
    doc = BATCH[which]
    texts = []
    for path in _paths(doc):
        texts.append(json.dumps(_replaced(doc, path, _REMOVE)).encode())
        for value in _RETYPES:
            if value != _get(doc, path) or type(value) is not type(_get(doc, path)):
                texts.append(json.dumps(_replaced(doc, path, value)).encode())
    signed = SIGNED[which]
    changed = []
    for path in _paths(signed):
        changed.append(_replaced(signed, path, _REMOVE))
        for value in _RETYPES:
            if value != _get(signed, path) or type(value) is not type(_get(signed, path)):
                changed.append(_replaced(signed, path, value))
    texts += [json.dumps(d).encode() for d in _anchored(changed)]
    answered = _assert_same(texts)
    assert answered < len(texts) // 4


@pytest.mark.parametrize("which", range(len(BATCH)))
def test_every_member_duplicated(which):
    doc = BATCH[which]
    texts = []
    for path in _paths(doc):
        if isinstance(path[-1], str):
            value = _get(doc, path)
            texts.append(_dumps_duplicating(doc, path, value).encode())
            texts.append(_dumps_duplicating(doc, path, "other").encode())
    on, off, answered = _both(texts)
    assert on == off
    assert answered == 0  # (refused as duplicates before any check: unreadable, both paths)


def _proof_texts(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    signature, anchor = doc["proof"]
    value = signature["proofValue"]
    for i in range(1, len(value)):  # every character of the signature, to its neighbour
        c = ALPHABET[(ALPHABET.index(value[i]) + 1) % 58]
        yield _replaced(doc, ("proof", 0, "proofValue"), value[:i] + c + value[i + 1 :])
    for bad in (
        "",
        "z",
        "Z" + value[1:],
        value + "1",
        "z1" + value[1:],
        value[:-1],
        value + "0",
        "z" + "1" * 88,
        "z" + "z" * 88,
        value.replace(value[5], "é", 1),
    ):
        yield _replaced(doc, ("proof", 0, "proofValue"), bad)
    root = anchor["merkleRoot"]
    for i in range(2, len(root)):
        c = "0" if root[i] != "0" else "1"
        yield _replaced(doc, ("proof", 1, "merkleRoot"), root[:i] + c + root[i + 1 :])
    yield _replaced(doc, ("proof", 1, "merkleRoot"), root.upper().replace("0X", "0x"))
    for k, h in enumerate(anchor["path"]):
        for i in range(2, len(h)) if k == 0 else (2, 40, len(h) - 1):
            c = "f" if h[i] != "f" else "e"
            path = list(anchor["path"])
            path[k] = h[:i] + c + h[i + 1 :]
            yield _replaced(doc, ("proof", 1, "path"), path)
    path = anchor["path"]
    yield _replaced(doc, ("proof", 1, "path"), path[::-1])
    yield _replaced(doc, ("proof", 1, "path"), path[:-1])
    yield _replaced(doc, ("proof", 1, "path"), [*path, path[0]])
    yield _replaced(doc, ("proof", 1, "path"), [p.upper().replace("0X", "0x") for p in path])
    yield _replaced(doc, ("proof", 1, "path"), [" " + p[1:] for p in path])
    for name, values in (
        ("leafIndex", [anchor["leafIndex"] + 1, anchor["leafIndex"] - 1, 3, 4, 2**32, -1]),
        ("treeSize", [anchor["treeSize"] + 1, anchor["treeSize"] - 1, 1, 2**32, 2**32 - 1]),
        ("chainId", [1, 2**64 - 1, 2**64, 0, -5]),
        (
            "registry",
            [
                REGISTRY.lower(),
                REGISTRY[:-1],
                REGISTRY + "0",
                "0X" + REGISTRY[2:],
                REGISTRY[:-1] + "g",
                REGISTRY[:-1] + "G",
                REGISTRY[:-1] + "\n",
            ],
        ),
        ("proofPurpose", ["authentication", "assertionMethod "]),
        ("type", ["TalentProofAnchorX", "DataIntegrityProof"]),
    ):
        for v in values:
            yield _replaced(doc, ("proof", 1, name), v)
    for name, values in (
        ("created", ["2026-13-01T00:00:00Z", "yesterday", "2026-12-01", "2026-12-01T00:00:00"]),
        (
            "verificationMethod",
            [
                STRANGER.public_key.verification_method,
                ISSUER.public_key.did_key,
                "did:web:uni.example#" + ISSUER.public_key.multibase,
                "did:key:z6MkNOTAKEY#z6MkNOTAKEY",
            ],
        ),
        ("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022 "]),
        ("proofPurpose", ["authentication"]),
        ("type", ["DataIntegrityProofX", "TalentProofAnchor"]),
        (
            "@context",
            [
                [],
                ["https://www.w3.org/ns/credentials/v2"],
                "https://www.w3.org/ns/credentials/v2",
                [*doc["@context"], "x"],
                doc["@context"][::-1],
            ],
        ),
    ):
        for v in values:
            yield _replaced(doc, ("proof", 0, name), v)
    for extra in (
        {"expires": "2099-01-01T00:00:00Z"},
        {"expires": "2000-01-01T00:00:00Z"},
        {"challenge": "x"},
        {"domain": "x"},
        {"nonce": 1},
    ):
        yield _replaced(doc, ("proof", 0), {**signature, **extra})
        yield _replaced(doc, ("proof", 1), {**anchor, **extra})
    yield _replaced(doc, ("proof",), [anchor, signature])
    yield _replaced(doc, ("proof",), [signature])
    yield _replaced(doc, ("proof",), signature)
    yield _replaced(doc, ("proof",), [signature, anchor, anchor])
    yield _replaced(doc, ("proof",), [signature, signature])
    yield _replaced(doc, ("type",), ["VerifiableCredential", "VerifiablePresentation"])
    yield _replaced(doc, ("type",), ["VerifiablePresentation", doc["type"][-1]])
    yield _replaced(doc, ("@context",), [*doc["@context"], "https://example.org/x"])


@pytest.mark.parametrize("which", range(len(BATCH)))
def test_signature_merkle_and_proof_fields_changed(which):
    changed = list(_proof_texts(BATCH[which]))
    # the signature proof's changes anchored anew too (check 3 alone judges them)
    signature = BATCH[which]["proof"][0]
    anew = _anchored(
        [
            split_anchor(d)[0]
            for d in changed
            if _splits(d) and split_anchor(d)[0].get("proof") != signature
        ]
    )
    assert len(anew) > 90
    assert _assert_same([json.dumps(d).encode() for d in anew]) == 0
    texts = [json.dumps(d).encode() for d in changed]
    answered = _assert_same(texts)
    # only what checks 1-4 do not refuse: the hex in upper case, a registry in lower case,
    # another chain id, a tree size with the same path, another @context entry after the
    # signed ones (the chain checks decide those)
    assert 1 <= answered <= 8


def _splits(doc: dict[str, Any]) -> bool:
    try:
        return split_anchor(doc)[1] is not None
    except Exception:
        return False


def test_validly_signed_proofs_of_other_forms():
    """Signatures that verify, over proofs or documents of forms the issuer does not write:
    an expired or future expiry, a challenge, a domain, another cryptosuite, purpose or type, a
    proof @context that does not start the document's, no proof @context, no created, a
    created that is no date, a presentation type, a stranger's key; and S + L (the same
    signature, its scalar not reduced)."""
    doc = SIGNED[0]
    ctx = doc["@context"]
    texts = [
        _resigned(doc, {"expires": "2000-01-01T00:00:00Z"}),
        _resigned(doc, {"expires": "2999-01-01T00:00:00Z"}),
        _resigned(doc, {"challenge": "abc"}),
        _resigned(doc, {"domain": "talentproof-verifier"}),
        _resigned(doc, {"cryptosuite": "eddsa-rdfc-2022"}),
        _resigned(doc, {"proofPurpose": "authentication"}),
        _resigned(doc, {"type": "Ed25519Signature2020"}),
        _resigned(doc, {"@context": ["https://example.org/other"]}),
        _resigned(doc, {"@context": [*ctx, "https://example.org/more"]}),
        _resigned(doc, {"@context": ctx[0]}),
        _resigned(doc, {"@context": []}),
        _resigned(doc, remove=("@context",)),
        _resigned(doc, remove=("created",)),
        _resigned(doc, {"created": "not a date"}),
        _resigned(doc, {"created": "2026-12-01"}),
        _resigned(doc, {"created": 5}),
        _resigned(doc, body={"type": ["VerifiableCredential", "VerifiablePresentation"]}),
        _resigned(doc, body={"type": ["VerifiablePresentation", "DegreeCredential"]}),
        _resigned(doc, body={"@context": [*ctx[::-1]]}),
        _resigned(doc, body={"@context": ctx[0]}),
        _resigned(doc, body={"type": "DegreeCredential"}),
        _resigned(
            doc, {"verificationMethod": STRANGER.public_key.verification_method}, key=STRANGER
        ),
        _resigned(
            doc, {"verificationMethod": "did:web:uni.example#" + ISSUER.public_key.multibase}
        ),
        _resigned(doc),  # (the same form, signed again: answered)
    ]
    raw = b58decode(doc["proof"]["proofValue"][1:])
    big = int.from_bytes(raw[32:], "little") + ED25519_L
    unreduced = {
        **doc["proof"],
        "proofValue": "z" + b58encode(raw[:32] + big.to_bytes(32, "little")).decode(),
    }
    texts += _anchored([{**doc, "proof": unreduced}])
    answered = _assert_same([json.dumps(d).encode() for d in texts])
    assert answered == 4  # the last one, the stranger, the did:web method, the extra @context


def test_forged_anchors_and_wrong_keys():
    """Another credential's anchor, a path and index of another leaf, signed by a stranger with
    the issuer's method named, re-signed by a stranger naming itself."""
    a, b = BATCH[0], BATCH[1]
    swapped = copy.deepcopy(a)
    swapped["proof"][1] = copy.deepcopy(b["proof"][1])
    unsigned = copy.deepcopy(split_anchor(a)[0])
    del unsigned["proof"]
    by_stranger = sign(unsigned, STRANGER)
    claimed = copy.deepcopy(by_stranger)
    claimed["proof"]["verificationMethod"] = a["proof"][0]["verificationMethod"]
    tree = MerkleTree([credential_hash(by_stranger), credential_hash(claimed)])
    own = [
        attach_anchor(
            d,
            AnchorProof.from_inclusion(
                tree.proof(i), chain_id=31337, registry=REGISTRY, merkle_root=tree.root
            ),
        )
        for i, d in enumerate((by_stranger, claimed))
    ]
    texts = [json.dumps(d).encode() for d in (swapped, *own)]
    on, off, _ = _both(texts)
    assert on == off
    assert off[1][0].findings[2].status.value == "pass"  # a stranger's own valid signature
    assert off[2][0].findings[2].status.value == "fail"


@pytest.mark.parametrize("which", range(len(BATCH)))
def test_other_text_forms_of_the_same_credential(which):
    doc = BATCH[which]
    plain = json.dumps(doc)
    texts = [
        json.dumps(doc, indent=2),
        json.dumps(doc, separators=(",", ":")),
        json.dumps(doc, ensure_ascii=False),
        " \n" + plain,
        plain + "\n\t ",
        "\ufeff" + plain,
        plain.replace('"proof"', '"\\u0070roof"', 1),
        plain.replace('"type"', '"\\u0074ype"'),
        plain.replace('"leafIndex": ', '"leafIndex": -0, "x": ', 1),
        plain.replace('"chainId": 31337', '"chainId": 31337.0', 1),
        plain.replace('"chainId": 31337', '"chainId": 3.1337e4', 1),
        plain.replace('"treeSize": 4', '"treeSize": 4e0', 1),
        plain.replace("eddsa-jcs-2022", "eddsa\\u002djcs-2022", 1),
        plain.replace("TalentProofAnchor", "TalentProof\\u0041nchor", 1),
        plain + "x",
        plain[:-1],
        "[" + plain + "]",
        plain.replace(doc["proof"][0]["proofValue"], doc["proof"][0]["proofValue"] + "\\u0000"),
    ]
    on, off, answered = _both([t.encode() for t in texts])
    assert on == off
    assert [repr(x) for x in on] == [repr(x) for x in off]
    assert answered >= 8  # the escaped and re-spaced forms of an unchanged credential pass


def test_presentations_unreadable_and_other_inputs_go_the_python_way():
    vp = {
        "@context": BATCH[0]["@context"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [BATCH[0]],
    }
    texts = [
        json.dumps(vp).encode(),
        b"{not json",
        b"TP1:abc",
        b"[]",
        b"{}",
        json.dumps({"credential": BATCH[0], "status": "anchored"}).encode(),
    ]
    assert _assert_same(texts) == 0


@pytest.mark.integration
def test_folder_results_with_the_c_path_on_and_off(vchain, tmp_path, monkeypatch):
    """A folder of valid, revoked, tampered, forged, unanchored, expired and malformed files and a
    presentation: the same results, compact and full, with the C path on and off."""
    from tests.chainkit import mixed_credentials

    uni = vchain.issuers["University of Hong Kong"]
    batch = anchor_batch(
        [sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key) for _ in range(5)],
        uni.client,
        vchain.deployment,
    )
    uni.client.revoke_credential(credential_hash(split_anchor(batch[1])[0]))
    expired = issue(
        vchain,
        uni,
        DEGREE,
        holder().public_key.did_key,
        valid_from=datetime.now(UTC) - timedelta(days=30),
        valid_until=datetime.now(UTC) - timedelta(days=1),
    )
    hsbc = issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, holder().public_key.did_key)
    wrong_chain = anchor_batch(
        [sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key)],
        uni.client,
        vchain.deployment,
        chain_id=5,
    )[0]
    folder = tmp_path / "folder"
    folder.mkdir()
    docs = [*batch, expired, hsbc, wrong_chain, *mixed_credentials(vchain)]
    for i, d in enumerate(docs):
        (folder / f"c{i:02d}.json").write_text(json.dumps(d))
    (folder / "vp.json").write_text(
        json.dumps(
            {
                "@context": batch[0]["@context"],
                "type": ["VerifiablePresentation"],
                "verifiableCredential": [batch[0]],
            }
        )
    )
    (folder / "broken.json").write_text("{not json")
    record = tmp_path / "deployment.json"
    vchain.deployment.save(record)
    as_of = datetime.fromtimestamp(
        max(vchain.latest_timestamp() + 1, int(datetime.now(UTC).timestamp())), UTC
    )
    monkeypatch.setattr(bulk, "CHUNK", 4)
    monkeypatch.setattr(bulk, "TASK", 8)
    results = {}
    for native in (True, False):
        monkeypatch.setattr(bulk, "NATIVE", native)
        for full in (False, True):
            got, _, _ = bulk.run_folder(
                folder, rpc=vchain.rpc_url, trust=str(record), as_of=as_of, workers=2, full=full
            )
            results[native, full] = got
    assert results[True, False] == results[False, False]
    assert results[True, True] == results[False, True]
    # in this process too (one worker), counting what the C path answered: the valid files
    # (offline on the parsed documents: NATIVE_BYTES off, which would parse and check them in
    # one call, tests/verifier/test_native_file_bytes.py)
    monkeypatch.setattr(bulk, "NATIVE", True)
    monkeypatch.setattr(bulk, "NATIVE_BYTES", False)
    answers: list[Any] = []
    offline = bulk.native_offline()

    def counted(doc: Any) -> Any:
        answer = offline(doc)
        answers.append(answer)
        return answer

    monkeypatch.setattr(bulk, "native_offline", lambda: counted)
    one, _, _ = bulk.run_folder(
        folder, rpc=vchain.rpc_url, trust=str(record), as_of=as_of, workers=1
    )
    assert one == results[False, False]
    assert sum(a is not None for a in answers) >= 8
    verdicts = {r["source"]: r["verdict"] for r in results[True, False]}
    assert [verdicts[f"c{i:02d}.json"] for i in range(len(batch))] == [
        "valid",
        "invalid",
        "valid",
        "valid",
        "valid",
    ]
    assert verdicts["c05.json"] != "valid"  # expired
    assert verdicts["c06.json"] == "valid"  # another issuer, another kind
    assert verdicts["c07.json"] != "valid"  # anchored on another chain id
