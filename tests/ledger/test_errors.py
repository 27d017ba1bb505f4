"""Typed revert decoding from the registry ABI (no chain needed)."""

from __future__ import annotations

import pickle

import pytest
from eth_abi import encode
from eth_utils import keccak

from talentproof.ledger import errors
from talentproof.ledger.artifacts import load_artifact
from talentproof.ledger.errors import (
    ContractPanic,
    ContractRevert,
    ErrorDecoder,
    LedgerError,
    RevertedWithReason,
    revert_class,
    revert_data_from,
)

ABI = load_artifact("TalentProofRegistry").abi


def _data(signature: str, types: list[str], values: list[object]) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


def test_decodes_custom_error_with_named_args() -> None:
    root = bytes(range(32))
    exc = ErrorDecoder(ABI).decode(
        _data("AnchorAlreadyAnchored(bytes32)", ["bytes32"], [root]), function="anchorRoot"
    )
    assert isinstance(exc, ContractRevert)
    assert type(exc).__name__ == "AnchorAlreadyAnchored"
    assert exc.error_name == "AnchorAlreadyAnchored"
    assert exc.args_dict == {"root": root}
    assert "anchorRoot reverted with AnchorAlreadyAnchored(root=0x000102" in str(exc)


def test_decodes_address_and_enum_args() -> None:
    account = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    exc = ErrorDecoder(ABI).decode(
        _data("GovernanceUnauthorizedGovernor(address)", ["address"], [account])
    )
    assert exc is not None and exc.args_dict == {"account": account}
    exc2 = ErrorDecoder(ABI).decode(
        _data("AnchorIssuerNotActive(uint32,uint8)", ["uint32", "uint8"], [7, 2])
    )
    assert exc2 is not None and exc2.args_dict == {"issuerId": 7, "status": 2}


def test_generated_classes_are_importable_and_stable() -> None:
    from talentproof.ledger.errors import AnchorAlreadyAnchored  # type: ignore[attr-defined]

    assert AnchorAlreadyAnchored is revert_class("AnchorAlreadyAnchored")
    assert issubclass(AnchorAlreadyAnchored, ContractRevert)
    assert issubclass(AnchorAlreadyAnchored, LedgerError)
    exc = ErrorDecoder(ABI).decode(
        _data("AnchorAlreadyAnchored(bytes32)", ["bytes32"], [b"\x01" * 32])
    )
    with pytest.raises(AnchorAlreadyAnchored) as info:
        raise exc  # type: ignore[misc]
    assert info.value.args_dict["root"] == b"\x01" * 32


def test_names_not_in_the_abi_are_not_importable() -> None:
    with pytest.raises(AttributeError):
        errors.AnchorTotallyMadeUp  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ValueError):
        revert_class("not an identifier")


def test_builtin_error_and_panic() -> None:
    dec = ErrorDecoder(ABI)
    reason = dec.decode(_data("Error(string)", ["string"], ["nope"]))
    assert isinstance(reason, RevertedWithReason) and reason.args_dict == {"reason": "nope"}
    panic = dec.decode(_data("Panic(uint256)", ["uint256"], [0x11]))
    assert isinstance(panic, ContractPanic) and panic.args_dict == {"code": 0x11}


def test_unknown_or_short_data_is_not_decoded() -> None:
    dec = ErrorDecoder(ABI)
    assert dec.decode(b"\xde\xad\xbe\xef" + bytes(32)) is None
    assert dec.decode(b"\x01\x02") is None
    assert dec.decode(None) is None
    assert dec.decode("0xzz") is None


def test_every_abi_error_has_a_decoder_entry() -> None:
    names = {e["name"] for e in ABI if e["type"] == "error"}
    assert names and names <= set(ErrorDecoder(ABI).error_names)


def test_reverts_pickle_across_processes() -> None:
    exc = ErrorDecoder(ABI).decode(
        _data("IssuerUnknown(uint32)", ["uint32"], [9]), function="issuer"
    )
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and back.args_dict == {"issuerId": 9} and str(back) == str(exc)


def test_revert_data_is_found_in_web3_and_cause_chains() -> None:
    from web3.exceptions import ContractCustomError

    payload = _data("IssuerUnknown(uint32)", ["uint32"], [3])
    assert (
        revert_data_from(ContractCustomError("0x" + payload.hex(), data="0x" + payload.hex()))
        == payload
    )
    try:
        try:
            raise RuntimeError(payload)
        except RuntimeError as inner:
            raise ValueError("execution reverted") from inner
    except ValueError as outer:
        assert revert_data_from(outer) == payload


def test_decodes_the_issue_11_errors() -> None:
    from talentproof.ledger.errors import (  # type: ignore[attr-defined]
        AnchorCredentialSuspendedByGovernance,
        AnchorReasonRequired,
        IssuerDidAlreadyRegistered,
    )

    decoder = ErrorDecoder(ABI)
    exc = decoder.decode(
        _data("IssuerDidAlreadyRegistered(string,uint32)", ["string", "uint32"], ["did:web:a", 3]),
        function="registerIssuer",
    )
    assert isinstance(exc, IssuerDidAlreadyRegistered)
    assert exc.args_dict == {"did": "did:web:a", "issuerId": 3}
    exc = decoder.decode(_data("AnchorReasonRequired()", [], []))
    assert isinstance(exc, AnchorReasonRequired) and exc.args_dict == {}
    digest = bytes(range(32))
    exc = decoder.decode(
        _data(
            "AnchorCredentialSuspendedByGovernance(uint32,bytes32)",
            ["uint32", "bytes32"],
            [1, digest],
        )
    )
    assert isinstance(exc, AnchorCredentialSuspendedByGovernance)
    assert exc.args_dict == {"issuerId": 1, "credentialHash": digest}
    # the error the per-issuer anchors made unreachable is gone from the ABI
    assert "AnchorUnauthorizedIssuer" not in decoder.error_names
