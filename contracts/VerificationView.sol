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
        bytes32 issuerDidHash,
        bytes32 root,
        bytes32 credentialHash,
        bytes32 publicKey,
        bytes32 typeId,
        uint64 asOf
    ) public view virtual returns (CredentialVerdict memory verdict) {
        verdict.blockNumber = block.number;
        verdict.blockTimestamp = block.timestamp;
        verdict.asOf = asOf == 0 ? uint64(block.timestamp) : asOf;
        uint32 issuerId = _issuerIdOfDidHash(issuerDidHash);
        verdict.issuerId = issuerId;
        // Issuer id 0 (no issuer has that DID) has no anchors: anchoring needs an issuer account.
        AnchorRecord memory record = _anchorOf(issuerId, root);
        verdict.anchor = record;
        issuerId = record.issuerId;
        // Why: issuer id 0 means 'never anchored by this issuer' (an exact sentinel, not a balance
        // or a time).
        // slither-disable-next-line incorrect-equality,timestamp
        if (issuerId == 0) {
            return verdict;
        }
        _fillIssuer(verdict, issuerId, record.anchoredAt);
        _fillKeyAndType(verdict, issuerId, publicKey, typeId, record.anchoredAt);
        _fillStatus(verdict, issuerId, credentialHash);
        // slither `timestamp` (same finding as the directive above; a second directive would be
        // unused): read-only view: compares recorded times with the caller's as-of time, nothing is
        // decided on chain.
        verdict.batchRevoked = record.revokedAt != 0 && verdict.asOf >= record.revokedAt;
    }

    /// @dev The issuer's identity and its status now, at anchor time and as of `verdict.asOf`.
    function _fillIssuer(CredentialVerdict memory verdict, uint32 issuerId, uint64 anchoredAt) private view {
        (
            verdict.issuerName,
            verdict.issuerDid,
            verdict.issuerStatus,
            verdict.issuerStatusAtAnchor,
            verdict.issuerStatusAsOf
        ) = _issuerView(issuerId, anchoredAt, verdict.asOf);
    }

    /// @dev The key's and the type's windows and their validity at anchor time.
    function _fillKeyAndType(
        CredentialVerdict memory verdict,
        uint32 issuerId,
        bytes32 publicKey,
        bytes32 typeId,
        uint64 anchoredAt
    ) private view {
        Window memory key = _keyWindow(issuerId, publicKey);
        // Why: validFrom 0 marks an unregistered key or an ungranted type (a sentinel, not a time
        // comparison).
        // slither-disable-next-line timestamp
        verdict.keyRegistered = key.validFrom != 0;
        verdict.keyValidFrom = key.validFrom;
        verdict.keyValidUntil = key.validUntil;
        verdict.keyValidAtAnchor = _isWithin(key, anchoredAt); // isKeyValidAt, from the window read above

        Window memory typeWindow = _typeWindow(issuerId, typeId);
        // slither `timestamp` (same finding as the directive above; a second directive would be
        // unused): validFrom 0 marks an ungranted type (a sentinel, not a time comparison).
        verdict.typeGranted = typeWindow.validFrom != 0;
        verdict.typeValidFrom = typeWindow.validFrom;
        verdict.typeValidUntil = typeWindow.validUntil;
        verdict.typeAccreditedAtAnchor = _isWithin(typeWindow, anchoredAt); // isAccreditedAt, likewise
    }

    /// @dev The credential's status record and its exact status as of `verdict.asOf`.
    function _fillStatus(CredentialVerdict memory verdict, uint32 issuerId, bytes32 credentialHash) private view {
        CredentialStatusRecord memory status = _credentialStatus(issuerId, credentialHash);
        verdict.credentialStatus = status;
        (bool revoked, StatusActor suspendedBy, uint64 since) = _statusAt(
            issuerId,
            credentialHash,
            status,
            verdict.asOf
        );
        verdict.credentialRevoked = revoked;
        verdict.credentialRevokedBy = revoked ? status.revokedBy : StatusActor.None;
        // Why: compares the actor enum, not a time; slither taints it because _statusAt compares
        // recorded times with the caller's as-of time in a read-only view.
        // slither-disable-next-line timestamp
        verdict.credentialSuspended = suspendedBy != StatusActor.None;
        verdict.credentialSuspendedBy = suspendedBy;
        verdict.credentialSuspendedSince = since;
    }
}
