// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IVerificationView} from "./interfaces/IVerificationView.sol";
import {CredentialAnchor} from "./CredentialAnchor.sol";

/**
 * @title VerificationView
 * @notice {verifyCredential}: one read that answers everything about one credential.
 */
abstract contract VerificationView is IVerificationView, CredentialAnchor {
    /// @inheritdoc IVerificationView
    function verifyCredential(
        bytes32 root,
        bytes32 credentialHash,
        bytes32 publicKey,
        bytes32 typeId,
        uint64 asOf
    ) public view virtual returns (CredentialVerdict memory verdict) {
        verdict.blockNumber = block.number;
        verdict.blockTimestamp = block.timestamp;
        verdict.asOf = asOf == 0 ? uint64(block.timestamp) : asOf;
        AnchorRecord memory record = anchor(root);
        verdict.anchor = record;
        uint32 issuerId = record.issuerId;
        // Why: issuer id 0 means 'never anchored' (an exact sentinel, not a balance or a time).
        // slither-disable-next-line incorrect-equality,timestamp
        if (issuerId == 0) {
            return verdict;
        }
        uint64 anchoredAt = record.anchoredAt;
        (verdict.issuerName, verdict.issuerDid) = _issuerIdentity(issuerId);
        verdict.issuerStatus = _issuerStatus(issuerId);
        verdict.issuerStatusAtAnchor = issuerStatusAt(issuerId, anchoredAt);

        Window memory key = _keyWindow(issuerId, publicKey);
        // slither `timestamp` (same finding as the directive above; a second directive would be
        // unused): validFrom 0 marks an unregistered key (a sentinel, not a time comparison).
        verdict.keyRegistered = key.validFrom != 0;
        verdict.keyValidFrom = key.validFrom;
        verdict.keyValidUntil = key.validUntil;
        verdict.keyValidAtAnchor = isKeyValidAt(issuerId, publicKey, anchoredAt);

        Window memory typeWindow = _typeWindow(issuerId, typeId);
        // slither `timestamp` (same finding as the directive above; a second directive would be
        // unused): validFrom 0 marks an ungranted type (a sentinel, not a time comparison).
        verdict.typeGranted = typeWindow.validFrom != 0;
        verdict.typeValidFrom = typeWindow.validFrom;
        verdict.typeValidUntil = typeWindow.validUntil;
        verdict.typeAccreditedAtAnchor = isAccreditedAt(issuerId, typeId, anchoredAt);

        CredentialStatusRecord memory status = _credentialStatus(issuerId, credentialHash);
        verdict.credentialStatus = status;
        (verdict.credentialRevoked, verdict.credentialSuspended) = _statusAt(status, verdict.asOf);
        // slither `timestamp` (same finding as the directive above; a second directive would be
        // unused): read-only view: compares recorded times with the caller's as-of time, nothing is
        // decided on chain.
        verdict.batchRevoked = record.revokedAt != 0 && verdict.asOf >= record.revokedAt;
    }
}
