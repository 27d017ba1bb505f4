"""Each registry read of the issuer's `ChainGateway` gives the values the chain holds, field by
field, on a real Anvil: the issuer record and the status it derives (``issuer_record``,
``issuer_state``), an anchor (``anchor_record``), credential statuses (``credential_statuses``,
``credential_record``), signing-key windows (``signing_keys``) and open credential types
(``open_credential_types``). What is expected comes from outside the registry's views: the
arguments governance and the issuer's account sent, the receipts' blocks and those blocks'
times; every timestamp, count and id is distinct from the others (the chain's clock is moved
between steps), so a field read into another's place fails a test.

And the errors the issuer's callers see: a node that does not answer is `LedgerUnavailable`
(what they catch), an address without the registry the ledger's `LedgerError` ('returned no
data'), an argument that is not 32 bytes a `ValueError` naming it."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from talentproof.issuer.chain import (
    AnchorInfo,
    ChainGateway,
    CredentialChainStatus,
    IssuerLedgerState,
)
from talentproof.issuer.errors import LedgerUnavailable
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.ledger.models import IssuerInfo, IssuerStatus, TimeWindow

from .test_institution_state import _governance
from .test_status_named_incremental import _rpc

pytestmark = [pytest.mark.integration]


def _h(label: str) -> bytes:
    return hashlib.sha256(f"test_chain_reads {label}".encode()).digest()


def _gateway(issuer_chain: dict[str, Any], **overrides: Any) -> ChainGateway:
    fields: dict[str, Any] = {
        "rpc_url": issuer_chain["rpc_url"],
        "deployment_file": issuer_chain["deployment_file"],
        "governor_key": issuer_chain["governor_key"],
        "rpc_timeout": 2.0,
    }
    fields.update(overrides)
    return ChainGateway(**fields)


def _later(issuer_chain: dict[str, Any], seconds: int) -> None:
    """Move the chain's clock on (the next block is at least ``seconds`` later)."""
    _rpc(issuer_chain, "evm_increaseTime", [seconds])


class _Chain:
    """One issuer set up on the session's Anvil by governance and its own account (the ledger's
    `RegistryClient`), with what each step's receipt says."""

    def __init__(self, issuer_chain: dict[str, Any]) -> None:
        from web3 import Web3

        from talentproof.ledger.client import RegistryClient
        from talentproof.ledger.deploy import Deployment

        self.gov = _governance(issuer_chain)
        account_key, account = ChainGateway.new_account()
        funding = self.gov._sender().send({"to": account, "value": 10**18}, label="fund")
        self.gov._sender().wait(funding)
        self.name = f"Chain Reads {account[-6:]}"
        self.did = f"did:web:reads-{account[-6:].lower()}.example"
        self.issuer_id = self.gov.register_issuer(self.name, self.did, [account])
        self.registered_at = self.time_of(self.gov.head())  # automine: its block is the head
        self.own = RegistryClient(
            Web3(Web3.HTTPProvider(issuer_chain["rpc_url"])),
            Deployment.load(issuer_chain["deployment_file"]),
            account_key,
        )

    def time_of(self, block: Any) -> int:
        return int(block.timestamp)

    def at(self, receipt: Any) -> int:
        """The block time of a receipt's block."""
        block = self.gov.block(receipt.block_number)
        assert block is not None
        return int(block.timestamp)


@pytest.fixture
def chain(issuer_chain: dict[str, Any]) -> _Chain:
    return _Chain(issuer_chain)


def test_anchor_record_is_the_anchors_issuer_leaves_block_and_time(
    issuer_chain: dict[str, Any], chain: _Chain
) -> None:
    root, other = _h("root"), _h("never anchored")
    _later(issuer_chain, 7)
    receipt = chain.own.anchor_root(root, 13)
    anchored_at = chain.at(receipt)
    assert len({chain.issuer_id, 13, receipt.block_number, anchored_at}) == 4  # all told apart
    gateway = _gateway(issuer_chain)
    assert gateway.anchor_record(root, chain.issuer_id) == AnchorInfo(
        issuer_id=chain.issuer_id,
        leaf_count=13,
        block_number=receipt.block_number,
        anchored_at=anchored_at,
    )
    assert gateway.anchor_record(other, chain.issuer_id) is None  # never anchored
    assert gateway.anchor_record(root, chain.issuer_id + 1000) is None  # another's namespace
    assert gateway.anchor_record(root, None) is None  # no issuer id known: no call


def test_credential_statuses_and_records_say_who_did_what_when(
    issuer_chain: dict[str, Any], chain: _Chain
) -> None:
    own_revoked, gov_suspended, own_suspended, reinstated, untouched = (
        _h(f"{chain.issuer_id} {n}")
        for n in ("own revoked", "gov suspended", "own", "reinstated", "none")
    )
    batch, revoked_batch = _h(f"{chain.issuer_id} batch"), _h(f"{chain.issuer_id} revoked")
    chain.own.anchor_root(batch, 2)
    chain.own.anchor_root(revoked_batch, 3)
    _later(issuer_chain, 11)
    revoked_at = chain.at(chain.own.revoke_credential(own_revoked))
    _later(issuer_chain, 17)
    gov_suspended_at = chain.at(
        chain.gov.governance_suspend_credential(chain.issuer_id, gov_suspended, "inquiry")
    )
    _later(issuer_chain, 23)
    own_suspended_at = chain.at(chain.own.suspend_credential(own_suspended))
    _later(issuer_chain, 3)
    once_suspended_at = chain.at(chain.own.suspend_credential(reinstated))
    chain.own.reinstate_credential(reinstated)  # suspended no more; its suspension time kept
    _later(issuer_chain, 29)
    batch_revoked_at = chain.at(chain.own.revoke_batch(revoked_batch))
    assert len({revoked_at, gov_suspended_at, own_suspended_at, batch_revoked_at}) == 4

    gateway = _gateway(issuer_chain)
    hashes = [own_revoked, gov_suspended, own_suspended, reinstated, untouched]
    assert gateway.credential_statuses(chain.issuer_id, hashes) == [
        (True, False),
        (False, True),
        (False, True),
        (False, False),
        (False, False),
    ]
    assert gateway.credential_statuses(chain.issuer_id, []) == []
    # another issuer's namespace holds none of them
    assert gateway.credential_statuses(chain.issuer_id + 1000, hashes) == [(False, False)] * 5

    # (credential, batch root) -> (revoked_at, revoked_by, suspended, suspended_at,
    # suspended_by, batch_revoked_at)
    expected = {
        (own_revoked, batch): (revoked_at, "issuer", False, 0, None, 0),
        (gov_suspended, revoked_batch): (
            0,
            None,
            True,
            gov_suspended_at,
            "governance",
            batch_revoked_at,
        ),
        (own_suspended, None): (0, None, True, own_suspended_at, "issuer", 0),
        (reinstated, batch): (0, None, False, once_suspended_at, "issuer", 0),
        (untouched, _h("no such root")): (0, None, False, 0, None, 0),  # never anchored
    }
    for (digest, root), fields in expected.items():
        got = gateway.credential_record(chain.issuer_id, digest, root)
        assert got == CredentialChainStatus(*fields), (digest.hex(), root)
    assert gateway.credential_record(
        chain.issuer_id, untouched, revoked_batch
    ).revoked  # with its batch


def test_signing_key_windows_and_open_credential_types(
    issuer_chain: dict[str, Any], chain: _Chain
) -> None:
    now = chain.time_of(chain.gov.head())
    current, scheduled, unknown = _h("current key"), _h("scheduled key"), _h("unknown key")
    added_at = chain.at(chain.gov.add_signing_key(chain.issuer_id, current, 0, now + 5000))
    chain.gov.add_signing_key(chain.issuer_id, scheduled, now + 3000, now + 9000)
    open_, later, withdrawn, never = (f"ReadsType{n}" for n in ("Open", "Later", "Gone", "Never"))
    chain.gov.grant_credential_type(chain.issuer_id, open_, 0, 0)
    chain.gov.grant_credential_type(chain.issuer_id, later, now + 4000, now + 8000)
    chain.gov.grant_credential_type(chain.issuer_id, withdrawn, 0, 0)
    _later(issuer_chain, 5)
    chain.gov.withdraw_credential_type(chain.issuer_id, withdrawn)

    gateway = _gateway(issuer_chain)
    records = gateway.signing_keys(chain.issuer_id, [current, scheduled, unknown])
    assert records.issuer_id == chain.issuer_id
    assert records.now == chain.time_of(chain.gov.head())
    assert records.windows == {
        current: TimeWindow(added_at, now + 5000),
        scheduled: TimeWindow(now + 3000, now + 9000),
        unknown: TimeWindow(0, 0),
    }
    assert [records.state(k) for k in (current, scheduled, unknown)] == [
        "valid",
        "not_yet_valid",
        "unregistered",
    ]
    names = [never, withdrawn, later, open_]
    assert gateway.open_credential_types(chain.issuer_id, names) == [later, open_]
    assert gateway.open_credential_types(chain.issuer_id, []) == []


def test_issuer_record_and_state_follow_registration_suspension_and_removal(
    issuer_chain: dict[str, Any], chain: _Chain
) -> None:
    gateway = _gateway(issuer_chain)
    iid = chain.issuer_id
    expected = IssuerInfo(
        iid, chain.name, chain.did, IssuerStatus.ACTIVE, chain.registered_at, 0, 0, 0
    )
    assert gateway.issuer_record(iid) == expected
    _check_state(gateway.issuer_state(iid), iid, "active", chain.registered_at)

    _later(issuer_chain, 31)
    suspended_at = chain.at(chain.gov.suspend_issuer(iid))
    _later(issuer_chain, 37)
    reinstated_at = chain.at(chain.gov.reinstate_issuer(iid))
    _later(issuer_chain, 41)
    suspended_again = chain.at(chain.gov.suspend_issuer(iid))
    assert len({chain.registered_at, suspended_at, reinstated_at, suspended_again}) == 4
    rec = gateway.issuer_record(iid)
    assert (rec.status, rec.registered_at, rec.suspended_at, rec.reinstated_at, rec.removed_at) == (
        IssuerStatus.SUSPENDED,
        chain.registered_at,
        suspended_again,
        reinstated_at,
        0,
    )
    state = gateway.issuer_state(iid)
    _check_state(state, iid, "suspended", suspended_again)
    assert not state.may_issue
    assert gateway.cached_issuer_state(iid, max_age=60) == state

    _later(issuer_chain, 43)
    removed_at = chain.at(chain.gov.remove_issuer(iid))
    assert gateway.issuer_record(iid).removed_at == removed_at
    _check_state(gateway.issuer_state(iid), iid, "removed", removed_at)

    nobody = gateway.issuer_record(iid + 1000)  # no issuer holds the id
    assert nobody == IssuerInfo(iid + 1000, "", "", IssuerStatus.NONE, 0, 0, 0, 0)
    state = gateway.issuer_state(iid + 1000)
    assert (state.status, state.since, state.may_issue) == ("none", None, True)


def _check_state(state: IssuerLedgerState, issuer_id: int, status: str, since: int) -> None:
    assert (state.issuer_id, state.status) == (issuer_id, status)
    assert state.since is not None and int(state.since.timestamp()) == since


# -- errors ---------------------------------------------------------------------------------


def _reads(gateway: ChainGateway, issuer_id: int) -> dict[str, Any]:
    """Each registry read of the gateway, as a call."""
    key, digest, root = _h("a key"), _h("a credential"), _h("a root")
    return {
        "issuer_record": lambda: gateway.issuer_record(issuer_id),
        "issuer_state": lambda: gateway.issuer_state(issuer_id),
        "anchor_record": lambda: gateway.anchor_record(root, issuer_id),
        "credential_statuses": lambda: gateway.credential_statuses(issuer_id, [digest]),
        "credential_record": lambda: gateway.credential_record(issuer_id, digest, root),
        "signing_keys": lambda: gateway.signing_keys(issuer_id, [key]),
        "open_credential_types": lambda: gateway.open_credential_types(issuer_id, ["X"]),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_node_that_does_not_answer_is_ledger_unavailable_for_every_read(
    issuer_chain: dict[str, Any],
) -> None:
    gateway = _gateway(issuer_chain, rpc_url=f"http://127.0.0.1:{_free_port()}", rpc_timeout=0.5)
    for name, read in _reads(gateway, 1).items():
        with pytest.raises(LedgerUnavailable) as caught:
            read()
        assert isinstance(caught.value.__cause__, ChainUnavailable), name


def test_an_address_without_the_registry_is_the_ledgers_error_for_every_read(
    issuer_chain: dict[str, Any], tmp_path: Path
) -> None:
    record = json.loads(Path(issuer_chain["deployment_file"]).read_text())
    record["registry"] = ChainGateway.new_account()[1]  # an account: no code
    elsewhere = tmp_path / "deployment.json"
    elsewhere.write_text(json.dumps(record))
    gateway = _gateway(issuer_chain, deployment_file=elsewhere)
    for name, read in _reads(gateway, 1).items():
        with pytest.raises(LedgerError, match="returned no data") as caught:
            read()
        assert not isinstance(caught.value, ChainUnavailable), name


@pytest.mark.parametrize(
    ("read", "what"),
    [
        (lambda g: g.anchor_record(b"\x01" * 31, 1), "Merkle root"),
        (lambda g: g.credential_statuses(1, [b"\x01" * 31]), "credential hash"),
        (lambda g: g.credential_record(1, b"\x01" * 33, None), "credential hash"),
        (lambda g: g.credential_record(1, b"\x01" * 32, b"\x01" * 31), "Merkle root"),
        (lambda g: g.signing_keys(1, [b"\x01" * 31]), "signing key"),
    ],
)
def test_an_argument_that_is_not_32_bytes_is_refused_naming_it(
    issuer_chain: dict[str, Any], read: Any, what: str
) -> None:
    with pytest.raises(ValueError, match=f"{what} must be 32 bytes"):
        read(_gateway(issuer_chain))
