// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IVerificationView} from "../interfaces/IVerificationView.sol";

/**
 * @title VerificationBatch
 * @notice Many {IVerificationView-verifyCredential} reads in one `eth_call`, all at one block.
 * @dev Never deployed: a reader places this contract's runtime code at an unused address through
 * an `eth_call` state override, for that call only (`talentproof.ledger.reader`). Each answer is
 * the registry's own ABI-encoded verdict, byte for byte what a separate `eth_call` of
 * {IVerificationView-verifyCredential} at the same block returns (the view reads no
 * `msg.sender`), so one decoder serves both reads. That separate call per credential is the
 * reference twin (`RegistryReader(..., batch_views=False)`; tests/ledger/test_views_call.py
 * compares the two on Anvil and Ganache, bench/verifier_perf.py both costs).
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
     * @return The raw return data of each call (empty when `registry` has no code).
     * @dev What it does, in plain Solidity (the same answer, and the same revert):
     *
     *     bytes[] memory verdicts = new bytes[](queries.length);
     *     for (uint256 i = 0; i < queries.length; ++i) {
     *         Query calldata q = queries[i];
     *         (bool ok, bytes memory verdict) = address(registry).staticcall(
     *             abi.encodeCall(
     *                 IVerificationView.verifyCredential,
     *                 (q.issuerDidHash, q.root, q.credentialHash, q.publicKey, q.typeId, asOf)
     *             )
     *         );
     *         if (!ok) revert VerificationFailed(i, verdict);
     *         verdicts[i] = verdict;
     *     }
     *     return verdicts;
     *
     * Written in assembly because that loop costs the node about a fifth of its CPU per
     * credential in a bulk read: it allocates each call's input and copies each answer twice
     * (into a `bytes` and again into the return data). Here one input buffer is reused and each
     * answer is copied once, straight into its place in the ABI encoding of `bytes[]`, which is
     * returned from assembly. Memory (the function never returns to Solidity code): 0x00 the
     * error selector; 0x80..0x144 the call's input (selector, the query's five words, `asOf`);
     * from 0x160 the answer: offset 0x20, length n, n offsets relative to 0x1a0, then each
     * verdict as its length and its bytes zero-padded to a word.
     *
     * Shared encoding: the credentials of one anchored batch mostly get byte-identical verdicts
     * (the view names the batch, issuer, key, type and status, not the credential). Every
     * verdict is still the registry's own answer to its own call; when it is byte for byte the
     * verdict written last (same length, every word equal), its offset points at that one
     * instead of writing a copy. The ABI decoding of `bytes[]` (offsets, then each item) gives
     * the same items either way: only the answer's size changes (node output, transfer,
     * decoding). tests/ledger/test_views_call.py checks the items against one call each.
     */
    function verifyCredentials(IVerificationView registry, Query[] calldata queries, uint64 asOf)
        external
        view
        returns (bytes[] memory)
    {
        bytes4 viewSelector = IVerificationView.verifyCredential.selector;
        bytes4 failed = VerificationFailed.selector;
        // Why: see @dev above (the calldata was checked by the ABI decoder; memory is this call's).
        // slither-disable-next-line assembly
        assembly {
            mstore(0x00, failed)
            mstore(0x80, viewSelector)
            mstore(0x124, asOf)
            mstore(0x160, 0x20)
            mstore(0x180, queries.length)
            let p := add(0x1a0, shl(5, queries.length)) // where the next verdict goes
            let last := 0 // where the verdict written last is (0: none yet)
            for {
                let i := 0
            } lt(i, queries.length) {
                i := add(i, 1)
            } {
                calldatacopy(0x84, add(queries.offset, mul(i, 160)), 160)
                if iszero(staticcall(gas(), registry, 0x80, 196, 0, 0)) {
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
                let at := p
                if last {
                    if eq(mload(last), n) {
                        // byte for byte: both are zero-padded, so equal words are equal bytes.
                        // `diff` ORs the XOR of each pair of words, four pairs a turn while four
                        // remain, then one; `d` is last - p (wrapping: add(k, d) is k's twin).
                        let d := sub(last, p)
                        let k := add(p, 0x20)
                        let end := add(k, and(add(n, 31), not(31)))
                        let diff := 0
                        for {} and(iszero(diff), lt(add(k, 0x60), end)) {
                            k := add(k, 0x80)
                        } {
                            diff := or(
                                or(xor(mload(k), mload(add(k, d))), xor(mload(add(k, 0x20)), mload(add(add(k, 0x20), d)))),
                                or(xor(mload(add(k, 0x40)), mload(add(add(k, 0x40), d))), xor(mload(add(k, 0x60)), mload(add(add(k, 0x60), d))))
                            )
                        }
                        for {} and(iszero(diff), lt(k, end)) {
                            k := add(k, 0x20)
                        } {
                            diff := xor(mload(k), mload(add(k, d)))
                        }
                        if iszero(diff) {
                            at := last
                        }
                    }
                }
                mstore(add(0x1a0, shl(5, i)), sub(at, 0x1a0))
                if eq(at, p) {
                    last := p
                    p := add(p, add(0x20, and(add(n, 31), not(31))))
                }
            }
            return(0x160, sub(p, 0x160))
        }
    }
}
