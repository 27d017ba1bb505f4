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
 * `msg.sender`), so one decoder serves both reads.
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
     * @return verdicts The raw return data of each call (empty when `registry` has no code).
     */
    function verifyCredentials(IVerificationView registry, Query[] calldata queries, uint64 asOf)
        external
        view
        returns (bytes[] memory verdicts)
    {
        verdicts = new bytes[](queries.length);
        for (uint256 i = 0; i < queries.length; ++i) {
            Query calldata q = queries[i];
            (bool ok, bytes memory verdict) = address(registry).staticcall(
                abi.encodeCall(
                    IVerificationView.verifyCredential,
                    (q.issuerDidHash, q.root, q.credentialHash, q.publicKey, q.typeId, asOf)
                )
            );
            if (!ok) revert VerificationFailed(i, verdict);
            verdicts[i] = verdict;
        }
    }
}
