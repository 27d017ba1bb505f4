"""Real credentials on a real chain for the ledger and verifier tests (the ``vchain`` and
``vchain_ganache`` fixtures of tests/conftest.py are built with `setup_chain` and `populate`).

Everything goes through the credential package (builders, eddsa-jcs-2022 signing, Merkle tree,
anchor proof) and the ledger client (register issuers, add keys, grant types, anchor roots),
exactly as an issuer would, without the issuer service.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account import Account

from talentproof.credential import examples, integrity, model
from talentproof.credential.anchor import AnchorProof, attach_anchor, split_anchor
from talentproof.credential.jcs import canonicalize
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.merkle import MerkleTree, credential_hash
from talentproof.ledger.client import RegistryClient
from talentproof.ledger.deploy import Deployment, deploy_registry
from talentproof.ledger.reader import RegistryReader
from talentproof.verifier.engine import Verifier
from talentproof.verifier.trust import TrustedDeployment

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

DEGREE = "DegreeCredential"
EMPLOYMENT = "EmploymentCredential"
BADGE = "OpenBadgeCredential"

_counter = itertools.count(1)

#: DIDs the shipped policy names (hk_talent_list.yaml): test issuers with these names register them.
#: The sample applicant (credential.examples: CHAN Tai Man, HKID A123456(7) with the example salt).
PERSON: dict[str, Any] = {
    "name": examples.PERSON_NAME,
    "birthDate": examples.BIRTH_DATE,
    "identityDocument": dict(examples.IDENTITY_DOCUMENT),
}
ID_NUMBER, ID_SALT = examples.ID_NUMBER, examples.ID_SALT
#: Another person: the same kind of identity document, a different commitment (the attacks that
#: mix one applicant's credentials with someone else's).
OTHER_PERSON: dict[str, Any] = {
    "name": "WONG Siu Ming",
    "birthDate": "1988-02-29",
    "identityDocument": {
        "documentType": "HKID",
        "issuingCountry": "HK",
        "commitment": "hmac-sha256:" + "B" * 43,
    },
}

KNOWN_DIDS = {"HSBC": "did:web:hsbc.com", "OSL Digital Securities Limited": "did:web:osl.com"}


def holder() -> Ed25519SigningKey:
    return Ed25519SigningKey.generate()


@dataclass
class Issuer:
    """An accredited issuer: its on-chain id, DID, signing key and its own client (account)."""

    issuer_id: int
    name: str
    did: str
    key: Ed25519SigningKey
    client: RegistryClient


@dataclass
class Chain:
    """A deployed registry on a running node, with helpers to issue and anchor credentials."""

    node: Any
    deployment: Deployment
    governor: RegistryClient
    accounts: list[tuple[str, str]]  # (address, private key) not yet given to an issuer
    issuers: dict[str, Issuer] = field(default_factory=dict)

    @property
    def rpc_url(self) -> str:
        return self.node.rpc_url

    def client_for(self, private_key: str, deployment: Deployment | None = None) -> RegistryClient:
        return RegistryClient(self.rpc_url, deployment or self.deployment, private_key)

    def add_issuer(
        self,
        name: str,
        types: tuple[str, ...],
        *,
        governor: RegistryClient | None = None,
        did: str | None = None,
        fresh_account: bool = False,
    ) -> Issuer:
        """Register an issuer with a key and ``types`` granted; its account is one of the node's
        own, or (``fresh_account``, or none left) a new one the node funds (`funded_account`)."""
        gov = governor or self.governor
        if fresh_account or not self.accounts:
            address, pk = self.funded_account()
        else:
            address, pk = self.accounts.pop(0)
        did = did or KNOWN_DIDS.get(name) or f"did:web:{name.lower().replace(' ', '-')}.example.hk"
        issuer_id = gov.register_issuer(name, did, [address])
        key = Ed25519SigningKey.generate()
        gov.add_signing_key(issuer_id, key.public_key.raw)
        for t in types:
            gov.grant_credential_type(issuer_id, t)
        issuer = Issuer(issuer_id, name, did, key, self.client_for(pk, gov.deployment))
        self.issuers[name] = issuer
        return issuer

    def funded_account(self) -> tuple[str, str]:
        """A new account (address, private key) given a balance by the development node (no
        transaction, so no account's nonce moves): for issuers beyond the node's own accounts
        (a session chain shared by many tests)."""
        account = Account.create()
        balance = hex(10**20)
        answer = self.rpc("anvil_setBalance", [account.address, balance])
        if "error" in answer:  # Ganache
            answer = self.rpc("evm_setAccountBalance", [account.address, balance])
        assert "error" not in answer, answer
        return account.address, account.key.to_0x_hex()

    def verifier(self, **kw: Any) -> Verifier:
        trust = TrustedDeployment.from_record(self.deployment.to_json())
        return Verifier(RegistryReader(self.rpc_url, trust.registry), trust, **kw)

    def save_deployment(self, directory: Path) -> Path:
        """The deployment record written to ``directory``/deployment.json (what ``verify
        --deployment`` / ``--trust`` and the verifier service's ``trust`` take); its path."""
        record = directory / "deployment.json"
        self.deployment.save(record)
        return record

    @contextmanager
    def service_client(
        self, record: Path | str, *, raise_server_exceptions: bool = True, **settings: Any
    ) -> Iterator[TestClient]:
        """A client of the verifier service (`create_app`) reading this chain and trusting the
        deployment ``record`` (`save_deployment`); ``settings``: more ServiceSettings fields."""
        from fastapi.testclient import TestClient

        from talentproof.verifier.service import ServiceSettings, create_app

        app = create_app(ServiceSettings(rpc_url=self.rpc_url, trust=str(record), **settings))
        with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
            yield client

    def rpc(self, method: str, params: list[Any]) -> Any:
        return self.governor.w3.provider.make_request(method, params)

    def latest_timestamp(self) -> int:
        return int(self.governor.w3.eth.get_block("latest")["timestamp"])

    def block_timestamp(self, number: int) -> int:
        return int(self.governor.w3.eth.get_block(number)["timestamp"])


def build(
    kind: str,
    issuer_did: str,
    subject: str,
    *,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An unsigned credential of ``kind`` for ``subject`` (a did:key)."""
    person = {**PERSON, **(fields.pop("person", None) or {})}
    fields.update(
        subject_name=person["name"],
        birth_date=person["birthDate"],
        identity_document=person["identityDocument"],
    )
    return _build_kind(
        kind, issuer_did, subject, valid_from=valid_from, valid_until=valid_until, **fields
    )


def _build_kind(
    kind: str,
    issuer_did: str,
    subject: str,
    *,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    n = next(_counter)
    vf = valid_from or datetime.now(UTC) - timedelta(days=1)
    common = {
        "id": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
        "valid_from": vf,
        "valid_until": valid_until,
        "subject_name": fields["subject_name"],
        "birth_date": fields["birth_date"],
        "identity_document": fields["identity_document"],
    }
    if kind == DEGREE:
        return model.degree_credential(
            issuer_did,
            subject,
            fields.get("level", "bachelor"),
            fields.get("field", "Computer Science"),
            # the session chain's university, as registered: a degree it signs names itself
            fields.get("institution", "University of Hong Kong"),
            fields.get("award_date", "2015-06-30"),
            **common,
        )
    if kind == EMPLOYMENT:
        return model.employment_credential(
            issuer_did,
            subject,
            employer_name=fields.get("employer", "HSBC"),
            employer_registration_id="HK-0000001",
            role=fields.get("role", "Blockchain engineer"),
            seniority=fields.get("seniority", "senior"),
            start_date=fields.get("start", "2015-01-01"),
            end_date=fields.get("end"),
            responsibilities=["Designed settlement systems on a permissioned ledger"],
            domains=fields.get("domains", ["blockchain in financial services"]),
            **common,
        )
    return model.open_badge_credential(
        {"id": issuer_did, "name": fields.get("issuer_name", "HKIB")},
        subject,
        achievement_id=f"https://hkib.example.hk/achievements/{n}",
        name=fields.get("name", "Blockchain in Financial Services"),
        description="Applying distributed ledgers to payments, settlement and trade finance.",
        criteria="Passed the assessment.",
        alignment=fields.get(
            "alignment",
            [
                {
                    "targetName": "Blockchain in financial services",
                    "targetUrl": "https://ecf.example.hk/dlt-fs",
                    "targetFramework": "ECF-Fintech",
                    "targetCode": "DLT-FS",
                }
            ],
        ),
        **common,
    )


def sign(doc: Mapping[str, Any], key: Ed25519SigningKey) -> dict[str, Any]:
    return integrity.sign(
        dict(doc),
        key,
        verification_method=key.public_key.verification_method,
        created=datetime.now(UTC).replace(microsecond=0),
    )


def resign_receipt(receipt: Mapping[str, Any], key: Ed25519SigningKey) -> dict[str, Any]:
    """A verification receipt signed again by ``key`` (as its editor, or a verifier signing a
    lie, would): ``verifier`` and ``signature`` name ``key``."""
    out = copy.deepcopy(dict(receipt))
    out.pop("signature")
    out["verifier"] = {"keyId": key.public_key.multibase, "did": key.public_key.did_key}
    # the signed form: RFC 8785 of everything but the signature (verifier/receipt.py)
    out["signature"] = {
        "alg": "Ed25519+JCS",
        "keyId": key.public_key.multibase,
        "value": key.sign(canonicalize(out)).hex(),
    }
    return out


def sign_presentation(
    doc: Mapping[str, Any],
    key: Ed25519SigningKey,
    *,
    challenge: str,
    domain: str,
    created: datetime | None = None,
) -> dict[str, Any]:
    """``doc`` signed as a presentation by ``key`` (an authentication proof bound to
    ``challenge`` and ``domain``), whoever its credentials are about: what
    ``create_presentation`` refuses to make."""
    return integrity.sign(
        dict(doc),
        key,
        verification_method=key.public_key.verification_method,
        created=created or datetime.now(UTC).replace(microsecond=0),
        proof_purpose="authentication",
        challenge=challenge,
        domain=domain,
    )


def anchor_batch(
    signed: list[dict[str, Any]],
    client: RegistryClient | None,
    deployment: Deployment,
    *,
    chain_id: int | None = None,
) -> list[dict[str, Any]]:
    """Merkle-batch signed credentials, anchor the root with ``client`` (None: do not anchor)."""
    hashes = [credential_hash(d) for d in signed]
    tree = MerkleTree(hashes)
    if client is not None:
        client.anchor_root(tree.root, tree.size)
    out = []
    for i, d in enumerate(signed):
        proof = AnchorProof.from_inclusion(
            tree.proof(i),
            chain_id=chain_id or deployment.chain_id,
            registry=deployment.registry,
            merkle_root=tree.root,
        )
        out.append(attach_anchor(d, proof))
    return out


def issue(
    chain: Chain,
    issuer: Issuer,
    kind: str,
    subject: str,
    *,
    key: Ed25519SigningKey | None = None,
    batch_with: int = 0,
    **fields: Any,
) -> dict[str, Any]:
    """Build, sign, anchor (in a batch with ``batch_with`` other credentials) and return one credential.

    A degree's institution and an employment's employer default to the issuer itself (as an
    honest issuer writes them); pass ``institution=`` / ``employer=`` to claim another party.
    ``person`` overrides entries of :data:`PERSON`; ``tweak(subject)`` edits the subject before
    signing (for facts the builders refuse).
    """
    if kind == DEGREE:
        fields.setdefault("institution", issuer.name)
    elif kind == EMPLOYMENT:
        fields.setdefault("employer", issuer.name)
    tweak = fields.pop("tweak", None)
    doc = build(kind, issuer.did, subject, **fields)
    if tweak is not None:  # what an issuer's builder would refuse (e.g. an impossible date)
        tweak(doc["credentialSubject"])
    docs = [sign(doc, key or issuer.key)]
    for _ in range(batch_with):
        docs.append(sign(build(kind, issuer.did, holder().public_key.did_key), issuer.key))
    return anchor_batch(docs, issuer.client, chain.deployment)[0]


def setup_chain(node: Any) -> Chain:
    keys = list(node.private_keys)
    accounts = list(zip(node.accounts, keys, strict=True))
    deployment = deploy_registry(node.rpc_url, keys[0])
    governor = RegistryClient(node.rpc_url, deployment, keys[0])
    return Chain(node=node, deployment=deployment, governor=governor, accounts=accounts[1:])


def populate(chain: Chain) -> Chain:
    """Three accredited issuers: a university (degrees), a bank (employment), HKIB (badges)."""
    chain.add_issuer("University of Hong Kong", (DEGREE,))
    chain.add_issuer("HSBC", (EMPLOYMENT,))
    chain.add_issuer("HKIB", (BADGE,))
    return chain


def mixed_credentials(chain: Chain) -> list[dict[str, Any]]:
    """Good and bad credentials: valid, revoked, tampered, forged key, unanchored, malformed."""
    uni = chain.issuers["University of Hong Kong"]
    good = issue(chain, uni, DEGREE, holder().public_key.did_key, batch_with=3)
    revoked = issue(chain, uni, DEGREE, holder().public_key.did_key)
    uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
    tampered = copy.deepcopy(good)
    tampered["credentialSubject"]["degree"]["field"] = "Medicine"
    stranger = Ed25519SigningKey.generate()
    forged = anchor_batch(
        [sign(build(DEGREE, uni.did, holder().public_key.did_key), stranger)],
        uni.client,
        chain.deployment,
    )[0]
    unanchored = sign(build(DEGREE, uni.did, holder().public_key.did_key), uni.key)
    bad_holder = copy.deepcopy(good)
    bad_holder["credentialSubject"]["id"] = "did:key:z6MkNOTAKEY"
    return [good, revoked, tampered, forged, unanchored, bad_holder]


def dlt_expert_credentials(chain: Chain, subject: str) -> dict[str, dict[str, Any]]:
    """``subject``'s anchored degree (University of Hong Kong), employment (HSBC, since 2012)
    and training badge (HKIB): what the hk-dlt-expert profession asks for."""
    return {
        "degree": issue(chain, chain.issuers["University of Hong Kong"], DEGREE, subject),
        "employment": issue(chain, chain.issuers["HSBC"], EMPLOYMENT, subject, start="2012-01-01"),
        "training": issue(chain, chain.issuers["HKIB"], BADGE, subject),
    }
