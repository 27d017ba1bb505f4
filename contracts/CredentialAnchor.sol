// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ICredentialAnchor} from "./interfaces/ICredentialAnchor.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";

/**
 * @title CredentialAnchor
 * @notice Merkle roots of credential batches, per issuer, and the revocation and suspension of
 * credentials and batches by their issuer's accounts or by governance, with their whole history.
 * @dev Gas layout: an anchor record and a credential's current status record each fill one
 * storage slot, and the caller is authorized from its one-slot account record (issuer id and a
 * copy of the issuer's status, see {IssuerRegistry}). Anchoring therefore costs the same for any
 * leaf count, and a credential's first status change writes one fresh slot. A closed suspension
 * interval is appended to the credential's past intervals (one slot each) only when a new
 * suspension starts, so the current record plus that list hold every interval exactly.
 */
abstract contract CredentialAnchor is ICredentialAnchor, IssuerRegistry {
    mapping(uint32 issuerId => mapping(bytes32 root => AnchorRecord)) private _anchors;
    mapping(uint32 issuerId => mapping(bytes32 credentialHash => CredentialStatusRecord)) private _statuses;
    // The closed suspension intervals before the current record's, by index 0 .. count - 1 where
    // count is the record's suspensionCount - 1 (no separate length slot: a later suspension
    // writes one slot).
    mapping(uint32 issuerId => mapping(bytes32 credentialHash => mapping(uint256 index => SuspensionInterval)))
        private _pastCredentialSuspensions;

    /// @inheritdoc ICredentialAnchor
    function anchorRoot(bytes32 root, uint32 leafCount) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        if (root == bytes32(0)) {
            revert AnchorInvalidRoot();
        }
        if (leafCount == 0) {
            revert AnchorEmptyBatch();
        }
        AnchorRecord storage record = _anchors[issuerId][root];
        if (record.issuerId != 0) {
            revert AnchorAlreadyAnchored(root);
        }
        _anchors[issuerId][root] = AnchorRecord({
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
        uint32 issuerId = _requireIssuerAccount(msg.sender);
        _revokeBatch(issuerId, root);
        emit BatchRevoked(root, issuerId, msg.sender);
    }

    /// @inheritdoc ICredentialAnchor
    function governanceRevokeBatch(uint32 issuerId, bytes32 root, string calldata reason)
        public
        virtual
        onlyGovernor
    {
        _requireGovernanceAction(issuerId, reason);
        _revokeBatch(issuerId, root);
        emit BatchRevokedByGovernance(root, issuerId, msg.sender, reason);
    }

    /// @inheritdoc ICredentialAnchor
    function revokeCredential(bytes32 credentialHash) public virtual {
        uint32 issuerId = _requireIssuerAccount(msg.sender);
        _revoke(_statuses[issuerId], issuerId, credentialHash, StatusActor.Issuer);
        emit CredentialRevoked(issuerId, credentialHash, msg.sender);
    }

    /// @inheritdoc ICredentialAnchor
    function revokeCredentials(bytes32[] calldata credentialHashes) public virtual {
        uint32 issuerId = _requireIssuerAccount(msg.sender);
        uint256 count = _requireNotEmpty(credentialHashes);
        mapping(bytes32 => CredentialStatusRecord) storage statuses = _statuses[issuerId];
        for (uint256 i = 0; i < count; ) {
            _revoke(statuses, issuerId, credentialHashes[i], StatusActor.Issuer);
            // unchecked: i < count, the length of a calldata array, far below 2**256.
            unchecked {
                ++i;
            }
        }
        emit CredentialsRevoked(issuerId, msg.sender, credentialHashes);
    }

    /// @inheritdoc ICredentialAnchor
    function suspendCredential(bytes32 credentialHash) public virtual {
        uint32 issuerId = _requireIssuerAccount(msg.sender);
        _suspend(issuerId, credentialHash, StatusActor.Issuer);
        emit CredentialSuspended(issuerId, credentialHash, msg.sender);
    }

    /// @inheritdoc ICredentialAnchor
    function suspendCredentials(bytes32[] calldata credentialHashes) public virtual {
        uint32 issuerId = _requireIssuerAccount(msg.sender);
        uint256 count = _requireNotEmpty(credentialHashes);
        for (uint256 i = 0; i < count; ) {
            _suspend(issuerId, credentialHashes[i], StatusActor.Issuer);
            // unchecked: i < count, the length of a calldata array, far below 2**256.
            unchecked {
                ++i;
            }
        }
        emit CredentialsSuspended(issuerId, msg.sender, credentialHashes);
    }

    /// @inheritdoc ICredentialAnchor
    function reinstateCredential(bytes32 credentialHash) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        _reinstate(_statuses[issuerId], issuerId, credentialHash, StatusActor.Issuer);
        emit CredentialReinstated(issuerId, credentialHash, msg.sender);
    }

    /// @inheritdoc ICredentialAnchor
    function reinstateCredentials(bytes32[] calldata credentialHashes) public virtual {
        uint32 issuerId = _requireActiveIssuer(msg.sender);
        uint256 count = _requireNotEmpty(credentialHashes);
        mapping(bytes32 => CredentialStatusRecord) storage statuses = _statuses[issuerId];
        for (uint256 i = 0; i < count; ) {
            _reinstate(statuses, issuerId, credentialHashes[i], StatusActor.Issuer);
            // unchecked: i < count, the length of a calldata array, far below 2**256.
            unchecked {
                ++i;
            }
        }
        emit CredentialsReinstated(issuerId, msg.sender, credentialHashes);
    }

    /// @inheritdoc ICredentialAnchor
    function governanceRevokeCredential(uint32 issuerId, bytes32 credentialHash, string calldata reason)
        public
        virtual
        onlyGovernor
    {
        _requireGovernanceAction(issuerId, reason);
        _revoke(_statuses[issuerId], issuerId, credentialHash, StatusActor.Governance);
        emit CredentialRevokedByGovernance(issuerId, credentialHash, msg.sender, reason);
    }

    /// @inheritdoc ICredentialAnchor
    function governanceSuspendCredential(uint32 issuerId, bytes32 credentialHash, string calldata reason)
        public
        virtual
        onlyGovernor
    {
        _requireGovernanceAction(issuerId, reason);
        _suspend(issuerId, credentialHash, StatusActor.Governance);
        emit CredentialSuspendedByGovernance(issuerId, credentialHash, msg.sender, reason);
    }

    /// @inheritdoc ICredentialAnchor
    function governanceReinstateCredential(uint32 issuerId, bytes32 credentialHash, string calldata reason)
        public
        virtual
        onlyGovernor
    {
        _requireGovernanceAction(issuerId, reason);
        _reinstate(_statuses[issuerId], issuerId, credentialHash, StatusActor.Governance);
        emit CredentialReinstatedByGovernance(issuerId, credentialHash, msg.sender, reason);
    }

    /// @inheritdoc ICredentialAnchor
    function anchor(uint32 issuerId, bytes32 root) public view virtual returns (AnchorRecord memory) {
        return _anchors[issuerId][root];
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
    function credentialSuspensions(uint32 issuerId, bytes32 credentialHash)
        public
        view
        virtual
        returns (SuspensionInterval[] memory past)
    {
        uint256 count = _pastCount(_statuses[issuerId][credentialHash].suspensionCount);
        mapping(uint256 => SuspensionInterval) storage stored = _pastCredentialSuspensions[issuerId][credentialHash];
        past = new SuspensionInterval[](count);
        // Why: a loop over a counter; slither taints it because the record it comes from holds
        // block times.
        // slither-disable-next-line timestamp
        for (uint256 i = 0; i < count; ++i) {
            past[i] = stored[i];
        }
    }

    /// @inheritdoc ICredentialAnchor
    function credentialStatusAt(uint32 issuerId, bytes32 credentialHash, uint64 t)
        public
        view
        virtual
        returns (bool revoked, bool suspended)
    {
        StatusActor suspendedBy;
        (revoked, suspendedBy, ) = _statusAt(issuerId, credentialHash, _statuses[issuerId][credentialHash], t);
        // Why: compares the actor enum, not a time; slither taints it because _statusAt compares
        // recorded times with the caller's time in a read-only view.
        // slither-disable-next-line timestamp
        suspended = suspendedBy != StatusActor.None;
    }

    /**
     * @dev Whether `record` (of `credentialHash` in the namespace of `issuerId`) was revoked at
     * time `t`, who had suspended it at `t` (`None` when it was not suspended then) and since when
     * (0 when not suspended).
     */
    function _statusAt(uint32 issuerId, bytes32 credentialHash, CredentialStatusRecord memory record, uint64 t)
        internal
        view
        returns (bool revoked, StatusActor suspendedBy, uint64 suspendedSince)
    {
        // Why: read-only view: compares recorded times with the caller's time, nothing is decided
        // on chain.
        // slither-disable-next-line timestamp
        revoked = record.revokedAt != 0 && t >= record.revokedAt;
        uint64 suspendedAt = record.suspendedAt;
        // Why: 0 is the 'never suspended' sentinel of a recorded time, not a balance.
        // slither-disable-next-line incorrect-equality
        if (suspendedAt == 0) {
            return (revoked, StatusActor.None, 0);
        }
        if (t >= suspendedAt) {
            if (record.suspended || t < record.reinstatedAt) {
                return (revoked, record.suspendedBy, suspendedAt);
            }
            return (revoked, StatusActor.None, 0);
        }
        // Before the last interval: binary search of the closed ones, for the last starting at or
        // before `t`.
        mapping(uint256 => SuspensionInterval) storage past = _pastCredentialSuspensions[issuerId][credentialHash];
        uint256 low = 0;
        uint256 high = _pastCount(record.suspensionCount);
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (past[mid].suspendedAt <= t) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        if (low != 0 && t < past[low - 1].reinstatedAt) {
            suspendedBy = past[low - 1].suspendedBy;
            suspendedSince = past[low - 1].suspendedAt;
        }
    }

    /// @dev The issuer `account` acts for, whatever its status; reverts for other accounts.
    function _requireIssuerAccount(address account) internal view returns (uint32 issuerId) {
        (issuerId, ) = _accountIssuer(account);
        // Why: 0 is the 'no issuer' sentinel of an id assigned by governance, not a balance or a
        // time.
        // slither-disable-next-line incorrect-equality,timestamp
        if (issuerId == 0) {
            revert AnchorUnauthorizedAccount(account);
        }
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

    /// @dev A governance status change: the issuer must exist and the reason must not be empty.
    function _requireGovernanceAction(uint32 issuerId, string calldata reason) private view {
        _requireKnown(issuerId);
        if (bytes(reason).length == 0) {
            revert AnchorReasonRequired();
        }
    }

    /// @dev Revokes issuer `issuerId`'s batch `root` now: it must be anchored and not revoked yet.
    function _revokeBatch(uint32 issuerId, bytes32 root) private {
        AnchorRecord storage record = _anchors[issuerId][root];
        if (record.issuerId == 0) {
            revert AnchorNotAnchored(root);
        }
        if (record.revokedAt != 0) {
            revert AnchorBatchAlreadyRevoked(root);
        }
        record.revokedAt = uint64(block.timestamp);
    }

    /// @dev Revokes one credential in `statuses` (the namespace of issuer `issuerId`).
    function _revoke(
        mapping(bytes32 => CredentialStatusRecord) storage statuses,
        uint32 issuerId,
        bytes32 credentialHash,
        StatusActor actor
    ) private {
        CredentialStatusRecord storage record = statuses[credentialHash];
        if (record.revokedAt != 0) {
            revert AnchorCredentialAlreadyRevoked(issuerId, credentialHash);
        }
        record.revokedAt = uint64(block.timestamp);
        record.revokedBy = actor;
    }

    /// @dev Suspends one credential (namespace of issuer `issuerId`); a previous, closed interval
    /// moves to the credential's past intervals first. Governance takes over a suspension the
    /// issuer holds: the issuer's interval ends and governance's starts at this block (else an
    /// issuer suspending first would keep the power to lift what governance meant to hold).
    function _suspend(uint32 issuerId, bytes32 credentialHash, StatusActor actor) private {
        CredentialStatusRecord storage record = _statuses[issuerId][credentialHash];
        if (record.revokedAt != 0) {
            revert AnchorCredentialAlreadyRevoked(issuerId, credentialHash);
        }
        if (record.suspended) {
            if (actor != StatusActor.Governance || record.suspendedBy != StatusActor.Issuer) {
                revert AnchorCredentialAlreadySuspended(issuerId, credentialHash);
            }
            record.reinstatedAt = uint64(block.timestamp); // the issuer's interval ends here
        }
        uint64 previous = record.suspendedAt;
        if (previous != 0) {
            _pastCredentialSuspensions[issuerId][credentialHash][_pastCount(record.suspensionCount)] = SuspensionInterval({
                suspendedAt: previous,
                reinstatedAt: record.reinstatedAt,
                suspendedBy: record.suspendedBy
            });
        }
        record.suspendedAt = uint64(block.timestamp);
        record.suspended = true;
        record.suspendedBy = actor;
        // unchecked: one increment per suspension transaction; 2**32 of them is out of reach.
        unchecked {
            record.suspensionCount += 1;
        }
    }

    /// @dev Lifts the suspension of one credential in `statuses` (namespace of `issuerId`); an
    /// issuer cannot lift a suspension by governance.
    function _reinstate(
        mapping(bytes32 => CredentialStatusRecord) storage statuses,
        uint32 issuerId,
        bytes32 credentialHash,
        StatusActor actor
    ) private {
        CredentialStatusRecord storage record = statuses[credentialHash];
        if (!record.suspended) {
            revert AnchorCredentialNotSuspended(issuerId, credentialHash);
        }
        if (actor == StatusActor.Issuer && record.suspendedBy == StatusActor.Governance) {
            revert AnchorCredentialSuspendedByGovernance(issuerId, credentialHash);
        }
        record.reinstatedAt = uint64(block.timestamp);
        record.suspended = false;
    }

    /// @dev How many closed intervals precede the current one of a record with `suspensionCount`.
    function _pastCount(uint32 suspensionCount) private pure returns (uint256) {
        // Why: a counter compared with 0 (never suspended), not a balance or a time; slither taints
        // it because the record it comes from holds block times.
        // slither-disable-next-line incorrect-equality,timestamp
        return suspensionCount == 0 ? 0 : uint256(suspensionCount) - 1;
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

    /// @dev The anchor record of `root` by issuer `issuerId`.
    function _anchorOf(uint32 issuerId, bytes32 root) internal view returns (AnchorRecord memory) {
        return _anchors[issuerId][root];
    }
}
