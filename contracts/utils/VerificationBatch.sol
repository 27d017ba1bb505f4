// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ICredentialAnchor} from "../interfaces/ICredentialAnchor.sol";
import {IVerificationView} from "../interfaces/IVerificationView.sol";

/**
 * @title VerificationBatch
 * @notice Many {IVerificationView-verifyCredential} answers in one `eth_call`, all at one block.
 * @dev Never deployed: a reader places this contract's runtime code at an unused address through
 * an `eth_call` state override, for that call only (`talentproof.ledger.reader`). Each answer is
 * byte for byte what a separate `eth_call` of {IVerificationView-verifyCredential} at the same
 * block returns (the view reads no `msg.sender`), so one decoder serves both reads. That separate
 * call per credential is the reference twin (`RegistryReader(..., batch_views=False)`;
 * tests/ledger/test_views_call.py compares the two on Anvil and Ganache, bench/verifier_perf.py
 * both costs).
 *
 * Groups: the credentials of one anchored batch share issuer, root, signing key and type (a
 * "group"), and the registry's verdict differs between them only in the credential's status
 * (`credentialStatus` and what it decides as of `asOf`: revoked, suspended, by whom, since when),
 * read from {ICredentialAnchor-credentialStatus} in the anchoring issuer's namespace. A credential
 * whose status record there is empty (never revoked, never suspended: no history either) gets
 * exactly the verdict of any other such credential of its group. So the verdict is read in full
 * for the first credential of a group, and when its own status record is empty (or the root is
 * not anchored by the DID's issuer, `anchor.issuerId == 0`: the view then names no status at
 * all) it becomes the group's template; each following credential of the group costs one
 * `credentialStatus` read, and shares the template's encoding when its record is empty. Any
 * other credential (a record that is not empty, a status read that fails or answers otherwise)
 * is read in full. Only the template of the last group is kept: queries of one group should be
 * adjacent (the reader orders them so); in any order every answer stays exact.
 */
contract VerificationBatch {
    /// @notice One credential to read: the arguments of `verifyCredential` but `asOf`.
    struct Query {
        bytes32 issuerDidHash;
        bytes32 root;
        bytes32 credentialHash;
        bytes32 publicKey;
        bytes32 typeId;
    }

    /// @notice The registry's `verifyCredential` reverted for query `index` (`reason`: its revert data).
    error VerificationFailed(uint256 index, bytes reason);

    /**
     * @notice `registry.verifyCredential(q..., asOf)` for each query `q`, in order.
     * @return The answer for each query (empty when `registry` has no code).
     * @dev What it does, in plain Solidity (the same answers, and the same revert):
     *
     *     bytes[] memory verdicts = new bytes[](queries.length);
     *     uint256 t = type(uint256).max; // the template's index (none yet)
     *     uint256 tIssuer; // its anchor's issuer id
     *     for (uint256 i = 0; i < queries.length; ++i) {
     *         Query calldata q = queries[i];
     *         if (t < i && _sameGroup(q, queries[t])
     *                 && (tIssuer == 0 || _statusIsEmpty(registry, tIssuer, q.credentialHash))) {
     *             verdicts[i] = verdicts[t];
     *             continue;
     *         }
     *         (bool ok, bytes memory verdict) = address(registry).staticcall(
     *             abi.encodeCall(
     *                 IVerificationView.verifyCredential,
     *                 (q.issuerDidHash, q.root, q.credentialHash, q.publicKey, q.typeId, asOf)
     *             )
     *         );
     *         if (!ok) revert VerificationFailed(i, verdict);
     *         verdicts[i] = verdict;
     *         // the group's template, if the group goes on: a verdict is one dynamic tuple
     *         // (its first word the offset 0x20), whose first head word is anchor.issuerId
     *         if (i + 1 < queries.length && _sameGroup(q, queries[i + 1])
     *                 && verdict.length >= 64 && _word(verdict, 0) == 0x20) {
     *             uint256 issuerId = _word(verdict, 1);
     *             if (issuerId == 0 || _statusIsEmpty(registry, issuerId, q.credentialHash)) {
     *                 (t, tIssuer) = (i, issuerId);
     *             }
     *         }
     *     }
     *     return verdicts;
     *
     * where `_sameGroup(a, b)` compares issuerDidHash, root, publicKey and typeId; `_word(b, k)`
     * is the k-th 32-byte word of `b`; and `_statusIsEmpty` is true when the static call
     * `ICredentialAnchor(registry).credentialStatus(issuerId, hash)` succeeds with exactly the
     * seven words of a record, all zero (false when it reverts or answers anything else).
     *
     * Written in assembly because the node runs it for every credential of a bulk read: one input
     * buffer per call is reused, each answer read in full is copied once, straight into its place
     * in the ABI encoding of `bytes[]`, which is returned from assembly, and a credential sharing
     * its group's verdict is written as an offset pointing at the template's encoding (the ABI
     * decoding of `bytes[]` gives the same items; only the answer's size changes). Memory (the
     * function never returns to Solidity code): 0x00 the error selector; 0x20, 0x40, 0x60 the
     * template (its query's calldata offset, 0 for none; its verdict's place; its anchor's issuer
     * id), kept in memory for want of stack slots; 0x80..0xc4 the status
     * call's input (selector, issuer id, credential hash); 0xe0..0x1a4 the view call's input
     * (selector, the query's five words, `asOf`); from 0x1c0 the answer: offset 0x20, length n,
     * n offsets relative to 0x200, then each verdict read in full as its length and its bytes
     * zero-padded to a word; a status read's 7 words land past the end, where the next verdict
     * would go.
     */
    function verifyCredentials(IVerificationView registry, Query[] calldata queries, uint64 asOf)
        external
        view
        returns (bytes[] memory)
    {
        {
            bytes4 failed = VerificationFailed.selector;
            bytes4 statusSelector = ICredentialAnchor.credentialStatus.selector;
            bytes4 viewSelector = IVerificationView.verifyCredential.selector;
            // Why: the two calls' input buffers (see @dev above; memory is this call's).
            // slither-disable-next-line assembly
            assembly {
                mstore(0x00, failed)
                mstore(0x80, statusSelector)
                mstore(0xe0, viewSelector)
            }
        }
        // Why: see @dev above (the calldata was checked by the ABI decoder; memory is this call's).
        // slither-disable-next-line assembly
        assembly {
            // Whether queries at calldata offsets a and b share issuerDidHash, root, publicKey and
            // typeId (words 0, 1, 3 and 4 of a query).
            function sameGroup(a, b) -> same {
                same := and(
                    and(eq(calldataload(a), calldataload(b)), eq(calldataload(add(a, 0x20)), calldataload(add(b, 0x20)))),
                    and(eq(calldataload(add(a, 0x60)), calldataload(add(b, 0x60))), eq(calldataload(add(a, 0x80)), calldataload(add(b, 0x80))))
                )
            }
            // Whether reg.credentialStatus(issuerId, credentialHash) answers an empty record:
            // exactly seven words, all zero (written at `out`, scratch memory).
            function statusIsEmpty(reg, issuerId, credentialHash, out) -> empty {
                mstore(0x84, issuerId)
                mstore(0xa4, credentialHash)
                if staticcall(gas(), reg, 0x80, 0x44, out, 0xe0) {
                    if eq(returndatasize(), 0xe0) {
                        empty := iszero(
                            or(
                                or(or(mload(out), mload(add(out, 0x20))), or(mload(add(out, 0x40)), mload(add(out, 0x60)))),
                                or(or(mload(add(out, 0x80)), mload(add(out, 0xa0))), mload(add(out, 0xc0)))
                            )
                        )
                    }
                }
            }

            mstore(0x184, asOf)
            mstore(0x1c0, 0x20)
            mstore(0x1e0, queries.length)
            let p := add(0x200, shl(5, queries.length)) // where the next verdict goes
            // The template (in memory, for the stack): 0x20 its query's calldata offset (0: none
            // yet), 0x40 where its verdict is, 0x60 its anchor's issuer id.
            mstore(0x20, 0)
            for {
                let i := 0
            } lt(i, queries.length) {
                i := add(i, 1)
            } {
                let q := add(queries.offset, mul(i, 160))
                let at := 0 // where this query's verdict is (0: not read yet)
                if mload(0x20) {
                    if sameGroup(q, mload(0x20)) {
                        switch mload(0x60)
                        case 0 {
                            at := mload(0x40)
                        }
                        default {
                            if statusIsEmpty(registry, mload(0x60), calldataload(add(q, 0x40)), p) {
                                at := mload(0x40)
                            }
                        }
                    }
                }
                if iszero(at) {
                    calldatacopy(0xe4, q, 160)
                    if iszero(staticcall(gas(), registry, 0xe0, 196, 0, 0)) {
                        // revert VerificationFailed(i, returndata)
                        mstore(p, mload(0x00))
                        mstore(add(p, 4), i)
                        mstore(add(p, 36), 0x40)
                        mstore(add(p, 68), returndatasize())
                        returndatacopy(add(p, 100), 0, returndatasize())
                        revert(p, add(100, and(add(returndatasize(), 31), not(31))))
                    }
                    let n := returndatasize()
                    mstore(p, n)
                    mstore(add(add(p, 0x20), and(n, not(31))), 0) // the last word's padding is zero
                    returndatacopy(add(p, 0x20), 0, n)
                    at := p
                    p := add(p, add(0x20, and(add(n, 31), not(31))))
                    // The group's template, if the group goes on: the verdict is the ABI encoding
                    // of one dynamic tuple (offset 0x20), whose first word is anchor.issuerId.
                    if lt(add(i, 1), queries.length) {
                        if and(sameGroup(q, add(q, 160)), and(gt(n, 0x3f), eq(mload(add(at, 0x20)), 0x20))) {
                            let issuerId := mload(add(at, 0x40))
                            let empty := 1 // the root not anchored by the DID's issuer: no status
                            if issuerId {
                                empty := statusIsEmpty(registry, issuerId, calldataload(add(q, 0x40)), p)
                            }
                            if empty {
                                mstore(0x20, q)
                                mstore(0x40, at)
                                mstore(0x60, issuerId)
                            }
                        }
                    }
                }
                mstore(add(0x200, shl(5, i)), sub(at, 0x200))
            }
            return(0x1c0, sub(p, 0x1c0))
        }
    }
}
