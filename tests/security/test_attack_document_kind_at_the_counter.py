"""Check 12 says which document's number matched (real Anvil).

The officer types (or scans) the number of the travel document in hand; the verifier opens each
credential's commitment with that number and the document type and issuing country the
credential states, and never learns which kind of document the officer holds. A number is
normalised (capitals; spaces and ``()-/.`` dropped), so different kinds of document can share
one: the HKID ``EA123456(7)`` and a passport numbered ``EA1234567`` both read ``EA1234567``.
An applicant holding someone else's credentials (and key) that commit to the HKID ``EA123456(7)``
shows a passport numbered ``EA1234567``: check 12 passed and said only "The travel document shown
is the one all 1 credential(s) name", though the credentials name an HKID, not the passport in
the officer's hand. It now names the kind of document matched ("an HKID issued by HK"), as its
failure names the kind expected, so the officer compares it with the document held.
"""

from __future__ import annotations

from typing import Any

import pytest

from talentproof.credential.person import commit_identity_document
from talentproof.verifier.engine import Item
from talentproof.verifier.report import CheckId, Status
from tests.chainkit import DEGREE, ID_SALT, PERSON, holder, issue

pytestmark = pytest.mark.integration


def test_attack_check_12_names_the_kind_of_document_that_matched(vchain: Any) -> None:
    hkid = {
        "documentType": "HKID",
        "issuingCountry": "HK",
        "commitment": commit_identity_document("HKID", "HK", "EA123456(7)", ID_SALT),
    }
    cred = issue(
        vchain,
        vchain.issuers["University of Hong Kong"],
        DEGREE,
        holder().public_key.did_key,
        person={**PERSON, "identityDocument": hkid},
    )
    # the passport in the officer's hand: EA1234567
    report = vchain.verifier().verify_application(
        [Item("degree", cred)], id_number="EA1234567", id_salt=ID_SALT
    )
    check = next(c for c in report.checks if c.id is CheckId.IDENTITY_DOCUMENT)
    assert check.status is Status.PASS, check.message  # the number does open the commitment
    assert "HKID" in check.message and "HK" in check.message, check.message
