"""Signed verification receipts: the verifier's decision, re-checkable later.

A receipt holds the report (every check, the verdict, the talent-list evaluation), the
credentials that were verified (with their anchor proofs), the trusted deployment, and the chain
id, block number and block hash the ledger was read at. The verifier signs the RFC 8785 (JCS)
form of all of it with its own Ed25519 key.

:func:`recheck_receipt` verifies the signature, then runs the same verification again with every
chain read pinned to the recorded block, and requires the same block hash and the same outcome
of every check (check 10, whose single-use challenge cannot be replayed, excepted). The node must
still serve the state of that block (Anvil and Ganache do; a pruned node may not). It then
evaluates the verdict, the outcome and the profession again from what it re-read (the verify
path's own code: :meth:`Verifier.conclude` and the policy), as of the receipt's application date,
and refuses a receipt whose recorded result differs: a valid signature proves who wrote the
result, not that it follows from the credentials. Checks 10 and 12 (a single-use challenge, a
travel document's number the receipt does not hold) are not re-run: their recorded results are
taken as recorded.

Anyone can sign a receipt with a key of their own: the signer is trusted only when the caller
names it (``expected_signer``; ``talentproof receipt check --verifier-key``). The summary says
whether it was (``trusted``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from talentproof.credential import jcs as c_jcs
from talentproof.credential.anchor import AnchorProof, attach_anchor
from talentproof.credential.errors import CredentialError
from talentproof.credential.keys import Ed25519PublicKey, Ed25519SigningKey
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.verifier.engine import ApplicationReport, Item, Verifier
from talentproof.verifier.errors import (
    ReceiptError,
    TrustConfigError,
    UnknownProfession,
    VerifierError,
)
from talentproof.verifier.policy import Policy, load_policy
from talentproof.verifier.report import CheckId, CheckResult, Status
from talentproof.verifier.trust import TrustedDeployment

RECEIPT_TYPE = "TalentProofVerificationReceipt"
KEY_TYPE = "TalentProofVerifierKey"
SIGNATURE_ALG = "Ed25519+JCS"


class TravelDocument(StrEnum):
    """A receipt's ``person.travelDocument``: whether the verifier compared the travel document
    (check 12, as recorded). The words signed receipts hold (`_person` writes them) and
    ``talentproof receipt check`` reads back."""

    MATCHED = "matched"
    DID_NOT_MATCH = "did not match"
    NOT_COMPARED = "not compared"


def generate_key_file(path: Path) -> str:
    """Write a new verifier key file (mode 0600); returns its public key id (z6Mk…)."""
    key = Ed25519SigningKey.generate()
    data = {
        "type": KEY_TYPE,
        "publicKeyMultibase": key.public_key.multibase,
        "secretKeyMultibase": key.multibase,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    return key.public_key.multibase


def load_key(path: Path) -> Ed25519SigningKey:
    """Read a verifier key file."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        if data.get("type") != KEY_TYPE:
            raise ValueError(f"type is {data.get('type')!r}")
        return Ed25519SigningKey.from_multibase(data["secretKeyMultibase"])
    except (OSError, ValueError, KeyError, AttributeError, CredentialError) as exc:
        raise ReceiptError(
            f"{path}: expected a verifier key file from 'talentproof verifier keygen' ({exc})"
        ) from exc


def _signing_input(receipt: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in receipt.items() if k != "signature"}
    try:
        return c_jcs.canonicalize(body)
    except CredentialError as exc:
        raise ReceiptError(f"the receipt cannot be canonicalized: {exc}") from exc


def sign_receipt(
    report: Any, key: Ed25519SigningKey, *, trust: TrustedDeployment, rpc_hint: str | None = None
) -> dict[str, Any]:
    """A signed receipt for an :class:`~talentproof.verifier.engine.ApplicationReport`."""
    body: dict[str, Any] = {
        "type": RECEIPT_TYPE,
        "version": 1,
        "issuedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verifier": {"keyId": key.public_key.multibase, "did": key.public_key.did_key},
        "trust": {"registry": trust.registry, "chainId": trust.chain_id},
        "report": report.to_json(include_credentials=True),
    }
    if rpc_hint:
        body["rpc"] = rpc_hint
    signature = key.sign(_signing_input(body))
    body["signature"] = {
        "alg": SIGNATURE_ALG,
        "keyId": key.public_key.multibase,
        "value": signature.hex(),
    }
    return body


def verify_receipt_signature(
    receipt: Mapping[str, Any], expected_signer: str | None = None
) -> Ed25519PublicKey:
    """Check the receipt's signature (and signer, if given); returns the signer's key."""
    if not isinstance(receipt, Mapping) or receipt.get("type") != RECEIPT_TYPE:
        raise ReceiptError(f"expected a {RECEIPT_TYPE} JSON object")
    sig = receipt.get("signature")
    if not isinstance(sig, Mapping) or sig.get("alg") != SIGNATURE_ALG:
        raise ReceiptError(f"expected a signature with alg {SIGNATURE_ALG!r}")
    try:
        key = Ed25519PublicKey.from_multibase(str(sig.get("keyId")))
        value = bytes.fromhex(str(sig.get("value")))
    except (CredentialError, ValueError) as exc:
        raise ReceiptError(f"malformed signature: {exc}") from exc
    if expected_signer is not None:
        wanted = expected_signer.removeprefix("did:key:").split("#")[0]
        if wanted != key.multibase:
            raise ReceiptError(f"signed by {key.multibase}, not by the expected verifier {wanted}")
    try:
        key.verify(value, _signing_input(receipt))
    except CredentialError as exc:
        raise ReceiptError(
            "the receipt's signature is invalid: it was altered after signing"
        ) from exc
    return key


def _outcomes(report_json: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    out = []
    for r in report_json["credentials"]:
        out.append(
            (
                str(r.get("credentialHash")),
                [(c["id"], c["status"]) for c in r["checks"] if c["id"] != CheckId.BINDING.value],
            )
        )
    # check 12 compared the number on the travel document, which the receipt does not keep (the
    # report says only whether it matched): it is not re-run
    out.append(
        (
            "application",
            [
                (c["id"], c["status"])
                for c in report_json.get("checks") or ()
                if c["id"] != CheckId.IDENTITY_DOCUMENT.value
            ],
        )
    )
    return out


def recheck_receipt(
    receipt: Mapping[str, Any],
    *,
    rpc: str,
    expected_signer: str | None = None,
    trusted_deployment: TrustedDeployment | None = None,
    verifier: Any = None,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Verify the signature, then re-run the verification pinned to the recorded block, then
    evaluate the verdict, outcome and profession again from what was re-read.

    Raises ReceiptError when anything differs; returns a summary on success (``trusted``: the
    signer is ``expected_signer``; without it any key's receipt re-checks, untrusted).
    The chain is re-read through the registry the receipt records (``trust``): with
    ``trusted_deployment`` (the caller's own, as ``talentproof verify --deployment`` takes it)
    the recorded registry, and chain id when it names one, must be it (ReceiptError before any
    read); without it the recorded one is taken as the signer recorded it (``deployment`` in
    the summary: ``pinned`` False). ``verifier`` overrides the one built from ``rpc`` and the
    deployment; ``policy`` is the talent-list policy the profession is evaluated with (default:
    the shipped one).
    """
    signer = verify_receipt_signature(receipt, expected_signer)
    try:
        return _recheck(receipt, signer, rpc, expected_signer, trusted_deployment, verifier, policy)
    except (VerifierError, LedgerError):  # ReceiptError among them: said as they are
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, CredentialError) as exc:
        # anyone can sign a receipt: one whose report is not what a verifier writes does not
        # re-check, and says what could not be read (never a traceback)
        raise ReceiptError(
            f"its report is not one a verifier writes ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _recheck(
    receipt: Mapping[str, Any],
    signer: Ed25519PublicKey,
    rpc: str,
    expected_signer: str | None,
    trusted_deployment: TrustedDeployment | None,
    verifier: Any,
    policy: Policy | None,
) -> dict[str, Any]:
    """`recheck_receipt` once the signature is checked."""
    report = receipt.get("report")
    trust_data = receipt.get("trust")
    if not isinstance(report, Mapping) or not isinstance(trust_data, Mapping):
        raise ReceiptError("expected report and trust sections")
    chain = report.get("chain")
    if not isinstance(chain, Mapping):
        raise ReceiptError("the receipt names no block: the ledger was not read when it was made")
    trust = _recorded_deployment(trust_data, chain)
    if trusted_deployment is not None:
        _require_deployment(trust, trusted_deployment)
    if verifier is None:
        verifier = Verifier.from_deployment(trust, rpc)
    listed = report.get("credentials")
    if not (isinstance(listed, list) and listed and all(isinstance(r, Mapping) for r in listed)):
        raise ReceiptError("expected report.credentials, a non-empty list of credential reports")
    items = []
    for r in listed:
        cred = r.get("credential")
        if cred is None:
            items.append(Item(r["source"], None, "unreadable when verified"))
            continue
        doc = dict(cred)
        if r.get("anchor"):
            doc = attach_anchor(doc, AnchorProof.from_json(r["anchor"]))
        items.append(Item(r["source"], doc))
    as_of = datetime.fromisoformat(str(report["asOf"]))
    chain_as_of = int(report.get("chainAsOf") or 0)
    if chain_as_of not in (0, _chain_second(as_of)):
        # a verifier asks the chain as of the as-of's own second, or (no as-of) as of the block
        # read: any other pair judged status at one time and says it judged at another
        raise ReceiptError(
            f"its chain was read as of {chain_as_of}, not as of its as-of time {report['asOf']} "
            f"({_chain_second(as_of)}) nor of its block: not a pair a verifier writes"
        )
    again = verifier.verify_application(
        items,
        as_of=as_of,
        at_block=int(chain["blockNumber"]),
        chain_as_of=chain_as_of,
    )
    if again.chain is None:  # an infrastructure failure, not a receipt that fails (exit 3)
        reasons = {
            c.message for r in again.credentials for c in r.checks if c.status.value == "error"
        }
        raise ChainUnavailable(
            f"{rpc}: block {chain['blockNumber']} could not be read"
            + (f" ({'; '.join(sorted(reasons))[:300]})" if reasons else "")
        )
    if again.chain.block_hash != chain["blockHash"]:
        raise ReceiptError(
            f"block {chain['blockNumber']} has hash {again.chain.block_hash} on this node, "
            f"the receipt recorded {chain['blockHash']}: a different or reorganised chain"
        )
    if int(again.chain.chain_id) != int(chain["chainId"]):
        raise ReceiptError(
            f"the node is chain {again.chain.chain_id}, the receipt recorded {chain['chainId']}"
        )
    mine = _outcomes(again.to_json())
    theirs = _outcomes(report)
    if mine != theirs:
        diff = [
            f"{a[0]}: now {dict(a[1])} vs recorded {dict(b[1])}"
            for a, b in zip(mine, theirs, strict=False)
            if a != b
        ]
        raise ReceiptError("the checks do not come out the same: " + "; ".join(diff)[:500])
    result = _reevaluate(receipt, report, again, verifier, as_of, policy)
    return {
        "signer": signer.multibase,
        "trusted": expected_signer is not None,
        "verdict": result.verdict.value,
        "outcome": result.outcome.outcome.value,
        "profession": result.profession.profession_id if result.profession else None,
        "credentials": len(report["credentials"]),
        "person": _person(result),
        "blockNumber": int(chain["blockNumber"]),
        "blockHash": chain["blockHash"],
        # when the verdict holds: the receipt's as-of time and the time its block was sealed
        # (not the credentials' status now, which verifying them reads)
        "asOf": str(report["asOf"]),
        "blockTimestamp": int(again.chain.block_timestamp),
        "deployment": {
            "registry": trust.registry,
            "chainId": trust.chain_id,
            "pinned": trusted_deployment is not None,
        },
    }


def _person(result: ApplicationReport) -> dict[str, Any] | None:
    """Whom the receipt is about, as its re-read credentials name them, and whether the verifier
    compared the travel document (check 12, as recorded): what an auditor matches against the
    person presenting the receipt."""
    person = result.person
    if not person:
        return None
    check = next((c for c in result.checks if c.id is CheckId.IDENTITY_DOCUMENT), None)
    if check is None or check.status not in (Status.PASS, Status.FAIL):
        compared = TravelDocument.NOT_COMPARED
    elif check.status is Status.PASS:
        compared = TravelDocument.MATCHED
    else:
        compared = TravelDocument.DID_NOT_MATCH
    return {
        "name": person.get("name"),
        "birthDate": person.get("birthDate"),
        "documentType": person.get("documentType"),
        "issuingCountry": person.get("issuingCountry"),
        "travelDocument": compared.value,  # (a plain str in the signed JSON)
    }


def _recorded_deployment(
    trust_data: Mapping[str, Any], chain: Mapping[str, Any]
) -> TrustedDeployment:
    """The deployment the receipt says it was verified against: its registry, on the chain id
    its trust names (a verifier given a bare registry address names none: the chain id of the
    block it read, which the re-check requires of the node)."""
    try:
        chain_id = trust_data.get("chainId")
        return TrustedDeployment(
            registry=str(trust_data["registry"]),
            chain_id=int(chain["chainId"] if chain_id is None else chain_id),
        )
    except (KeyError, TypeError, ValueError, TrustConfigError) as exc:
        raise ReceiptError(f"the receipt's trust section cannot be read: {exc}") from None


def _chain_second(as_of: datetime) -> int:
    """The time a verifier sends the chain for an explicit ``as_of`` (`Verifier.verify_application`:
    its second, 1 at the earliest: the chain reads uint64 times, 0 meaning its block's time)."""
    return max(1, int(as_of.timestamp()))


def _require_deployment(recorded: TrustedDeployment, trusted: TrustedDeployment) -> None:
    """Refuse a receipt verified against another deployment than the caller's."""
    same_chain = trusted.chain_id is None or trusted.chain_id == recorded.chain_id
    if trusted.same_registry(recorded.registry) and same_chain:
        return
    yours = f"registry {trusted.registry}" + (
        f" on chain {trusted.chain_id}" if trusted.chain_id is not None else ""
    )
    raise ReceiptError(
        f"it was verified against registry {recorded.registry} on chain {recorded.chain_id}, "
        f"not the deployment you trust ({yours}): its credentials were checked against "
        "another registry's issuers"
    )


def _issued_on(receipt: Mapping[str, Any]) -> datetime:
    """When the receipt says it was made (no later than now): the verification date the policy
    caps an ongoing employment at, as the verifier's clock did."""
    try:
        issued = datetime.fromisoformat(str(receipt["issuedAt"]).replace("Z", "+00:00"))
    except (KeyError, ValueError) as exc:
        raise ReceiptError(f"expected issuedAt, an ISO date-time ({exc})") from None
    if issued.tzinfo is None:
        raise ReceiptError(f"expected issuedAt with a time zone, found {receipt['issuedAt']!r}")
    return min(issued.astimezone(UTC), datetime.now(UTC))


def _profession_summary(report: ApplicationReport) -> tuple[Any, ...] | None:
    prof = report.profession
    if prof is None:
        return None
    return (prof.profession_id, prof.as_of, prof.met, tuple((c.id, c.met) for c in prof.criteria))


def _reevaluate(
    receipt: Mapping[str, Any],
    report: Mapping[str, Any],
    again: ApplicationReport,
    verifier: Verifier,
    as_of: datetime,
    policy: Policy | None,
) -> ApplicationReport:
    """The application's result evaluated again from the re-read credential reports, with the
    verify path's own code; raises ReceiptError when the recorded one differs."""
    try:
        recorded = ApplicationReport.from_json(report)
        app_date = report.get("applicationDate")
        application_date = date.fromisoformat(str(app_date)) if app_date else None
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ReceiptError(f"the receipt's report cannot be read: {exc!r}") from None
    if len(recorded.credentials) != len(again.credentials):
        raise ReceiptError("the receipt's report does not list the credentials it holds")
    # check 10 (a single-use challenge) cannot be replayed: its recorded result stands
    reports = []
    for now, then in zip(again.credentials, recorded.credentials, strict=True):
        kept: dict[CheckId, CheckResult] = {c.id: c for c in then.checks if c.id is CheckId.BINDING}
        reports.append(
            dataclasses.replace(now, checks=tuple(kept.get(c.id, c) for c in now.checks))
        )
    profession = recorded.profession.profession_id if recorded.profession else None
    pol = None
    if profession is not None:
        pol = policy if policy is not None else load_policy(None)
        try:
            pol.profession(profession)
        except UnknownProfession:
            raise ReceiptError(
                f"the receipt evaluates profession {profession!r}, which the policy "
                f"{pol.source or pol.name!r} does not define: pass the policy the verifier used "
                "(--policy)"
            ) from None
    # the policy's "today" (an ongoing employment is not known to last beyond it) is the day
    # the receipt was made, as the verifier's clock said then
    issued = _issued_on(receipt)
    at_issue = dataclasses.replace(verifier, clock=lambda: issued)
    result = at_issue.conclude(
        reports,
        again.chain,
        as_of_dt=as_of,
        as_of_chain=again.chain_as_of,
        policy=pol,
        profession=profession,
        application_date=application_date,
        # check 12 compared a travel document's number the receipt does not hold: as recorded
        # (a failure of it keeps the profession unmet, as when the receipt was made)
        recorded=tuple(c for c in recorded.checks if c.id is CheckId.IDENTITY_DOCUMENT),
    )
    differs = []
    if result.verdict.value != report.get("verdict"):
        differs.append(f"verdict {result.verdict.value}, recorded {report.get('verdict')}")
    recorded_outcome = (report.get("outcome") or {}).get("code")
    if result.outcome.outcome.value != recorded_outcome:
        differs.append(
            f"outcome {result.outcome.outcome.value} ({result.outcome.reason}), "
            f"recorded {recorded_outcome}"
        )
    if _profession_summary(result) != _profession_summary(recorded):
        now_p, then_p = result.profession, recorded.profession
        differs.append(
            "profession "
            + (f"{now_p.profession_id} met={now_p.met}" if now_p else "none")
            + ", recorded "
            + (f"{then_p.profession_id} met={then_p.met}" if then_p else "none")
        )
    if differs:
        raise ReceiptError(
            "the recorded result does not follow from the credentials re-read at its block: "
            "evaluated again, " + "; ".join(differs)[:600]
        )
    return result
