"""Artifacts as package data, their hash, error selectors, and the paris bytecode on py-evm."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3

from talentproof.ledger.artifacts import (
    Artifact,
    ArtifactError,
    abi_signature,
    artifact_hash,
    error_selectors,
    load_artifact,
)

# Opcodes that "paris" must not contain: PUSH0 (shanghai), TLOAD/TSTORE/MCOPY (cancun).
POST_PARIS = {0x5F: "PUSH0", 0x5C: "TLOAD", 0x5D: "TSTORE", 0x5E: "MCOPY"}


def opcodes(code: bytes) -> list[int]:
    """The opcodes of `code`, skipping PUSH data and the trailing CBOR metadata."""
    cbor_length = int.from_bytes(code[-2:], "big")
    body = code[: len(code) - cbor_length - 2]
    ops, i = [], 0
    while i < len(body):
        op = body[i]
        ops.append(op)
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return ops


def test_load_artifact_reads_package_data():
    artifact = load_artifact("TalentProofRegistry")
    assert isinstance(artifact, Artifact)
    raw = (
        resources.files("talentproof.contracts")
        .joinpath("build/TalentProofRegistry.json")
        .read_bytes()
    )
    assert artifact.sha256 == hashlib.sha256(raw).hexdigest()
    assert artifact_hash("TalentProofRegistry") == "sha256:" + artifact.sha256
    assert artifact.compiler.startswith("0.8.37+commit.")
    assert artifact.bytecode.endswith(artifact.deployed_bytecode[-20:])
    with pytest.raises(AttributeError):
        artifact.name = "x"  # type: ignore[misc]


def test_unknown_or_malformed_names_are_refused():
    with pytest.raises(ArtifactError, match="no artifact for contract 'Nope'"):
        load_artifact("Nope")
    with pytest.raises(ArtifactError, match="expected a contract name"):
        load_artifact("../build/x")


def test_error_selectors_cover_every_custom_error():
    abi = load_artifact("TalentProofRegistry").abi
    selectors = error_selectors(abi)
    errors = [e for e in abi if e["type"] == "error"]
    assert len(selectors) == len(errors) > 30
    assert (
        selectors[keccak(text="AnchorAlreadyAnchored(bytes32)")[:4]]["name"]
        == "AnchorAlreadyAnchored"
    )
    assert abi_signature(selectors[keccak(text="AnchorIssuerNotActive(uint32,uint8)")[:4]]) == (
        "AnchorIssuerNotActive(uint32,uint8)"
    )
    # component prefixes only
    assert all(e["name"].startswith(("Governance", "Issuer", "Anchor")) for e in errors)


def test_abi_signature_of_tuples():
    abi = load_artifact("TalentProofRegistry").abi
    entry = next(e for e in abi if e.get("name") == "anchor")
    assert abi_signature(entry) == "anchor(uint32,bytes32)"
    view = next(e for e in abi if e.get("name") == "verifyCredential")
    assert abi_signature(view) == "verifyCredential(bytes32,bytes32,bytes32,bytes32,bytes32,uint64)"


def test_bytecode_is_paris_only():
    artifact = load_artifact("TalentProofRegistry")
    for code in (artifact.bytecode, artifact.deployed_bytecode):
        found = {POST_PARIS[op] for op in opcodes(code) if op in POST_PARIS}
        assert not found, f"post-paris opcodes in the bytecode: {sorted(found)}"
    # sanity of the walker: it sees the usual opcodes and the CBOR names the compiler
    assert 0x55 in opcodes(artifact.deployed_bytecode)  # SSTORE
    assert b"solc" in artifact.deployed_bytecode[-16:]


def test_py_evm_default_fork_runs_the_paris_bytecode():
    w3 = Web3(EthereumTesterProvider())
    artifact = load_artifact("TalentProofRegistry")
    factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor().transact({"from": w3.eth.accounts[0]})
    )
    assert receipt.status == 1
    assert bytes(w3.eth.get_code(receipt.contractAddress)) == artifact.deployed_bytecode
    registry = w3.eth.contract(address=receipt.contractAddress, abi=list(artifact.abi))
    assert registry.functions.admin().call() == w3.eth.accounts[0]
