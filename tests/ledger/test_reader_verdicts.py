"""The ledger reader's verdicts equal the generic eth-abi decoding of one ``eth_call`` each
(a degree's level-scoped accreditations, ``type_scopes``, each read by one more such call)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from talentproof.credential.types import KINDS, scoped_types
from talentproof.ledger._internal.verdict import VerdictCodec
from talentproof.ledger.chain import did_hash, type_id
from talentproof.ledger.errors import LedgerError
from talentproof.ledger.models import CredentialVerdict, TypeAccreditation
from talentproof.ledger.reader import RegistryReader
from tests.chainkit import DEGREE, holder, issue

pytestmark = pytest.mark.integration


def _query(doc, key):
    plain, anchor = split_anchor(doc)
    return (
        did_hash(doc["issuer"]),
        anchor.merkle_root,
        credential_hash(plain),
        key,
        type_id(DEGREE),
    )


def _eth_call(reader: RegistryReader, data: bytes, tag: str) -> tuple[Any, bytes]:
    header, result = reader.batch(
        [
            ("eth_getBlockByNumber", [tag, False]),
            ("eth_call", [{"to": reader.registry, "data": "0x" + data.hex()}, tag]),
        ]
    )
    return header, bytes.fromhex(result[2:])


def reference_verdict(reader: RegistryReader, q: Any, as_of: int, block: int) -> CredentialVerdict:
    """The reference twin: eth-abi (``ledger.abi``) decoding of one ``eth_call`` of the view."""
    fn = reader.abi.function("verifyCredential")
    header, raw = _eth_call(reader, fn.encode(*q, as_of), hex(block))
    verdict = CredentialVerdict.from_struct(
        fn.decode(raw), block_hash=bytes.fromhex(header["hash"][2:])
    )
    kind = next(k for k in KINDS if type_id(k) == q[4])
    if not scoped_types(kind):
        return verdict
    scopes = []
    for name in scoped_types(kind):
        _, data = _eth_call(
            reader, fn.encode(q[0], q[1], q[2], q[3], type_id(name), as_of), hex(block)
        )
        s = CredentialVerdict.from_struct(fn.decode(data))
        scopes.append(
            TypeAccreditation(
                name,
                s.type_granted,
                s.type_valid_from,
                s.type_valid_until,
                s.type_accredited_at_anchor,
            )
        )
    return replace(verdict, type_scopes=tuple(scopes))


def test_fast_codec_matches_the_reader(vchain):
    uni = vchain.issuers["University of Hong Kong"]
    reader = RegistryReader(vchain.rpc_url, vchain.deployment.registry)
    good = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    revoked = issue(vchain, uni, DEGREE, holder().public_key.did_key)
    uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
    college = vchain.issuers.get("Reader Scoped College") or vchain.add_issuer(
        "Reader Scoped College",
        (f"{DEGREE}#level=associate", f"{DEGREE}#level=master"),
        fresh_account=True,
    )
    scoped = issue(vchain, college, DEGREE, holder().public_key.did_key, level="doctorate")
    queries = [
        _query(scoped, college.key.public_key.raw),
        _query(good, uni.key.public_key.raw),
        _query(revoked, uni.key.public_key.raw),
        _query(good, b"\x07" * 32),  # unregistered key
        (
            did_hash(uni.did),
            b"\x01" * 32,
            b"\x02" * 32,
            b"\x03" * 32,
            type_id(DEGREE),
        ),  # never anchored
        (
            did_hash("did:web:unknown.example"),
            *_query(good, uni.key.public_key.raw)[1:],
        ),  # unknown DID
    ]
    block = reader.block_number()
    fast = reader.verify_credentials(queries, 0, block)
    slow = [reference_verdict(reader, q, 0, block) for q in queries]
    assert fast == slow
    assert [reader.verify_credential(*q, as_of=0, block=block) for q in queries] == slow
    levels = [(s.name, s.granted, s.accredited_at_anchor) for s in fast[0].type_scopes]
    assert levels == [
        (f"{DEGREE}#level=associate", True, True),
        (f"{DEGREE}#level=bachelor", False, False),
        (f"{DEGREE}#level=master", True, True),
        (f"{DEGREE}#level=doctorate", False, False),
    ]
    assert not fast[0].type_granted and fast[1].type_accredited_at_anchor
    fast = fast[1:]
    assert fast[0].issuer_name == "University of Hong Kong" and fast[0].key_registered
    assert fast[1].credential_revoked and not fast[2].key_registered and not fast[3].anchored
    assert fast[0].issuer_id == uni.issuer_id and fast[3].issuer_id == uni.issuer_id
    assert (fast[4].issuer_id, fast[4].anchored) == (0, False)
    assert reader.verify_credential(*queries[0]).anchor == slow[0].anchor


def test_fast_codec_refuses_malformed_results(vchain):
    reader = RegistryReader(vchain.rpc_url, vchain.deployment.registry)
    codec = VerdictCodec(reader.abi.abi)
    _, raw = _eth_call(
        reader,
        codec.encode(b"\x00" * 32, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, b"\x04" * 32, 0),
        "latest",
    )
    codec.decode(raw)  # well formed
    with pytest.raises(LedgerError, match=r"truncated|past the end"):
        codec.decode(raw[:100])
    bad_bool = bytearray(raw)
    # keyRegistered is the 6th head word of the struct (after the 5-word anchor... ) -> set 2
    head = int.from_bytes(raw[:32], "big")
    pos = head + 32 * (5 + 2 + 2)  # anchor, two string offsets, two enums
    bad_bool[pos + 31] = 2
    with pytest.raises(LedgerError, match="key_registered"):
        codec.decode(bytes(bad_bool))
