"""Requirements as composable policy objects, typed check outcomes with their English apart, and
the one constructor (issue 13.4)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from talentproof.verifier import checks
from talentproof.verifier.checks import Reason
from talentproof.verifier.engine import Verifier
from talentproof.verifier.errors import InputError, TrustConfigError
from talentproof.verifier.messages import TEMPLATES, render
from talentproof.verifier.report import CheckId, Status
from talentproof.verifier.requirements import (
    DEFAULT_DOMAIN,
    AllOf,
    AsOf,
    AtBlock,
    Challenge,
    Domain,
    MinConfirmations,
    Requirements,
)

REGISTRY = "0x" + "11" * 20


def test_requirements_compose_in_order() -> None:
    base = Requirements()
    assert (base.min_confirmations, base.domain, base.challenge, base.as_of, base.at_block) == (
        1,
        DEFAULT_DOMAIN,
        None,
        None,
        None,
    )
    when = date(2026, 1, 1)
    req = base.with_(
        AllOf(MinConfirmations(6), Domain("border.example")),
        Challenge("c1"),
        AsOf(when),
        AtBlock(42, 0),
    )
    assert req == Requirements(6, "border.example", "c1", None, when, 42, 0)
    assert (
        base.with_(MinConfirmations(2), MinConfirmations(3)).min_confirmations == 3
    )  # a later one wins


def test_requirements_refuse_misuse() -> None:
    with pytest.raises(ValueError, match="at least one"):
        AllOf()  # an empty AND would require nothing
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError):
            MinConfirmations(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Domain("")


def test_from_deployment_is_the_constructor() -> None:
    v = Verifier.from_deployment(
        REGISTRY, "http://127.0.0.1:9", MinConfirmations(3), Domain("border.example")
    )
    assert (v.trust.registry, v.min_confirmations, v.domain) == (REGISTRY, 3, "border.example")
    assert v.requirements == Requirements(min_confirmations=3, domain="border.example")
    assert Verifier.from_deployment(REGISTRY, "http://127.0.0.1:9").requirements == Requirements()
    with pytest.raises(TrustConfigError):
        Verifier.from_deployment("not-a-file.json", "http://127.0.0.1:9")
    with pytest.raises(InputError, match="--rpc"):
        Verifier.from_deployment(REGISTRY, "ws://127.0.0.1:9")


def test_checks_return_typed_outcomes_and_messages_speak_them() -> None:
    as_of = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    expired = checks.validity({"validUntil": "2025-01-01T00:00:00Z"}, as_of)
    assert (expired.check, expired.status, expired.reason) == (
        CheckId.VALIDITY,
        Status.FAIL,
        Reason.EXPIRED,
    )
    assert (
        render(expired).message
        == "Expired on 2025-01-01 00:00 UTC (checked as of 2026-01-01 10:00 UTC)."
    )
    found, doc, anchor = checks.parse(None, "no QR code found")
    assert (found.reason, doc, anchor) == (Reason.UNREADABLE, None, None)
    assert render(found).message == "The credential could not be read: no QR code found."
    assert set(TEMPLATES) == set(Reason)  # every outcome has its sentence


@pytest.mark.integration
def test_requirement_objects_and_keywords_give_one_report(vchain) -> None:  # type: ignore[no-untyped-def]
    from talentproof.verifier.engine import Item
    from tests.chainkit import DEGREE, anchor_batch, build, holder, sign

    uni = vchain.issuers["University of Hong Kong"]
    (doc,) = anchor_batch(
        [sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key)],
        uni.client,
        vchain.deployment,
    )
    now = datetime.now(UTC)
    v = vchain.verifier(clock=lambda: now)
    block = v.reader.block_number()
    when = date(2030, 1, 1)
    by_keyword = v.verify_application([Item("c", doc)], as_of=when, challenge="c1", at_block=block)
    by_object = v.verify_application([Item("c", doc)], AsOf(when), Challenge("c1"), AtBlock(block))
    assert by_object.to_json() == by_keyword.to_json()
    assert (
        by_object.credentials[0].check(CheckId.BINDING).status is Status.FAIL
    )  # a bare credential
    strict = v.verify_application([Item("c", doc)], MinConfirmations(10**6))
    assert strict.credentials[0].check(CheckId.ANCHOR).status is Status.FAIL
    assert v.min_confirmations == 1  # a per-verification requirement leaves the verifier as it was
