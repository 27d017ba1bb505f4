// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ICredentialAnchor} from "./interfaces/ICredentialAnchor.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";

/**
 * @title CredentialAnchor
 * @notice Merkle roots of credential batches, and revocation and suspension of credentials and
 * batches, by the accounts acting for active issuers.
 * @dev Gas layout: an anchor record and a credential status record each fill one storage slot,
 * and the caller is authorized from its one-slot account record (issuer id and a copy of the
 * issuer's status, see {IssuerRegistry}). Anchoring therefore costs the same for any leaf count,
 * and revoking many credentials costs one slot write each plus one event for the whole list.
 */
abstract contract CredentialAnchor is ICredentialAnchor, IssuerRegistry {
    mapping(bytes32 root => AnchorRecord) private _anchors;
    mapping(uint32 issuerId => mapping(bytes32 credentialHash => CredentialStatusRecord)) private _statuses;

    /// @inheritdoc ICredentialAnchor
    function anchorRoot(bytes32 root, uint32 leafCount) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        if (root == bytes32(0)) {
            revert AnchorInvalidRoot();
        }
        if (leafCount == 0) {
            revert AnchorEmptyBatch();
        }
        AnchorRecord storage record = _anchors[root];
        if (record.issuerId != 0) {
            revert AnchorAlreadyAnchored(root);
        }
        _anchors[root] = AnchorRecord({
            issuerId: issuerId,
            leafCount: leafCount,
            blockNumber: uint64(block.number),
            anchoredAt: uint64(block.timestamp),
            revokedAt: 0
        });
        emit RootAnchored(root, issuerId, leafCount);
    }

    /// @inheritdoc ICredentialAnchor
    function revokeBatch(bytes32 root) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        AnchorRecord storage record = _anchors[root];
        uint32 anchoredBy = record.issuerId;
        if (anchoredBy == 0) {
            revert AnchorNotAnchored(root);
        }
        // Why: compares issuer ids, not times; slither taints the whole storage record because
        // other fields of it hold block times.
        // slither-disable-next-line timestamp
        if (anchoredBy != issuerId) {
            revert AnchorUnauthorizedIssuer(root, anchoredBy);
        }
        if (record.revokedAt != 0) {
            revert AnchorBatchAlreadyRevoked(root);
        }
        record.revokedAt = uint64(block.timestamp);
        emit BatchRevoked(root, issuerId);
    }

    /// @inheritdoc ICredentialAnchor
    function revokeCredential(bytes32 credentialHash) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        _revoke(_statuses[issuerId], issuerId, credentialHash);
        emit CredentialRevoked(issuerId, credentialHash);
    }

    /// @inheritdoc ICredentialAnchor
    function revokeCredentials(bytes32[] calldata credentialHashes) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        uint256 count = _requireNotEmpty(credentialHashes);
        mapping(bytes32 => CredentialStatusRecord) storage statuses = _statuses[issuerId];
        for (uint256 i = 0; i < count; ) {
            _revoke(statuses, issuerId, credentialHashes[i]);
            // unchecked: i < count, the length of a calldata array, far below 2**256.
            unchecked {
                ++i;
            }
        }
        emit CredentialsRevoked(issuerId, credentialHashes);
    }

    /// @inheritdoc ICredentialAnchor
    function suspendCredential(bytes32 credentialHash) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        _suspend(_statuses[issuerId], issuerId, credentialHash);
        emit CredentialSuspended(issuerId, credentialHash);
    }

    /// @inheritdoc ICredentialAnchor
    function suspendCredentials(bytes32[] calldata credentialHashes) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        uint256 count = _requireNotEmpty(credentialHashes);
        mapping(bytes32 => CredentialStatusRecord) storage statuses = _statuses[issuerId];
        for (uint256 i = 0; i < count; ) {
            _suspend(statuses, issuerId, credentialHashes[i]);
            // unchecked: i < count, the length of a calldata array, far below 2**256.
            unchecked {
                ++i;
            }
        }
        emit CredentialsSuspended(issuerId, credentialHashes);
    }

    /// @inheritdoc ICredentialAnchor
    function reinstateCredential(bytes32 credentialHash) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        _reinstate(_statuses[issuerId], issuerId, credentialHash);
        emit CredentialReinstated(issuerId, credentialHash);
    }

    /// @inheritdoc ICredentialAnchor
    function reinstateCredentials(bytes32[] calldata credentialHashes) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        uint256 count = _requireNotEmpty(credentialHashes);
        mapping(bytes32 => CredentialStatusRecord) storage statuses = _statuses[issuerId];
        for (uint256 i = 0; i < count; ) {
            _reinstate(statuses, issuerId, credentialHashes[i]);
            // unchecked: i < count, the length of a calldata array, far below 2**256.
            unchecked {
                ++i;
            }
        }
        emit CredentialsReinstated(issuerId, credentialHashes);
    }

    /// @inheritdoc ICredentialAnchor
    function anchor(bytes32 root) public view virtual returns (AnchorRecord memory) {
        return _anchors[root];
    }

    /// @inheritdoc ICredentialAnchor
    function credentialStatus(uint32 issuerId, bytes32 credentialHash)
        public
        view
        virtual
        returns (CredentialStatusRecord memory)
    {
        return _statuses[issuerId][credentialHash];
    }

    /// @inheritdoc ICredentialAnchor
    function credentialStatusAt(uint32 issuerId, bytes32 credentialHash, uint64 t)
        public
        view
        virtual
        returns (bool revoked, bool suspended)
    {
        return _statusAt(_statuses[issuerId][credentialHash], t);
    }

    /// @dev (revoked, suspended) of `record` at time `t` (see {credentialStatusAt}).
    function _statusAt(CredentialStatusRecord memory record, uint64 t)
        internal
        pure
        returns (bool revoked, bool suspended)
    {
        revoked = record.revokedAt != 0 && t >= record.revokedAt;
        suspended =
            record.suspendedAt != 0 &&
            t >= record.suspendedAt &&
            (record.suspended || t < record.reinstatedAt);
    }

    /// @dev The issuer `account` acts for; reverts unless that issuer is active.
    function _requireActiveIssuer(address account) internal view returns (uint32) {
        (uint32 issuerId, IssuerStatus status) = _accountIssuer(account);
        // Why: 0 is the 'no issuer' sentinel of an id assigned by governance, not a balance or a
        // time.
        // slither-disable-next-line incorrect-equality,timestamp
        if (issuerId == 0) {
            revert AnchorUnauthorizedAccount(account);
        }
        // slither `timestamp` (same finding as the directive above; a second directive would be
        // unused): compares the status enum, not a time; slither taints the whole storage record
        // because other fields of it hold block times.
        if (status != IssuerStatus.Active) {
            revert AnchorIssuerNotActive(issuerId, status);
        }
        return issuerId;
    }

    /// @dev Revokes one credential in `statuses` (the namespace of issuer `issuerId`).
    function _revoke(
        mapping(bytes32 => CredentialStatusRecord) storage statuses,
        uint32 issuerId,
        bytes32 credentialHash
    ) private {
        CredentialStatusRecord storage record = statuses[credentialHash];
        if (record.revokedAt != 0) {
            revert AnchorCredentialAlreadyRevoked(issuerId, credentialHash);
        }
        record.revokedAt = uint64(block.timestamp);
    }

    /// @dev Suspends one credential in `statuses` (the namespace of issuer `issuerId`).
    function _suspend(
        mapping(bytes32 => CredentialStatusRecord) storage statuses,
        uint32 issuerId,
        bytes32 credentialHash
    ) private {
        CredentialStatusRecord storage record = statuses[credentialHash];
        if (record.revokedAt != 0) {
            revert AnchorCredentialAlreadyRevoked(issuerId, credentialHash);
        }
        if (record.suspended) {
            revert AnchorCredentialAlreadySuspended(issuerId, credentialHash);
        }
        record.suspendedAt = uint64(block.timestamp);
        record.suspended = true;
        // unchecked: one increment per suspension transaction; 2**32 of them is out of reach.
        unchecked {
            record.suspensionCount += 1;
        }
    }

    /// @dev Lifts the suspension of one credential in `statuses` (namespace of `issuerId`).
    function _reinstate(
        mapping(bytes32 => CredentialStatusRecord) storage statuses,
        uint32 issuerId,
        bytes32 credentialHash
    ) private {
        CredentialStatusRecord storage record = statuses[credentialHash];
        if (!record.suspended) {
            revert AnchorCredentialNotSuspended(issuerId, credentialHash);
        }
        record.reinstatedAt = uint64(block.timestamp);
        record.suspended = false;
    }

    /// @dev The length of `hashes`; reverts with {AnchorEmptyBatch} when it is 0.
    function _requireNotEmpty(bytes32[] calldata hashes) private pure returns (uint256 count) {
        count = hashes.length;
        if (count == 0) {
            revert AnchorEmptyBatch();
        }
    }

    /// @dev The stored status record of (`issuerId`, `credentialHash`).
    function _credentialStatus(uint32 issuerId, bytes32 credentialHash)
        internal
        view
        returns (CredentialStatusRecord memory)
    {
        return _statuses[issuerId][credentialHash];
    }
}
