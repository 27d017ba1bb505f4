// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IIssuerRegistry} from "./IIssuerRegistry.sol";

/**
 * @title ICredentialAnchor
 * @notice Errors, events and external API of anchoring: Merkle roots of credential batches, and
 * the revocation and suspension of single credentials and of whole batches.
 * @dev Anchors are recorded per (issuer, root): an issuer can only ever anchor in its own
 * namespace, so no issuer can block (front-run) another's anchoring of the same root. Credential
 * status records are namespaced by issuer id too: an issuer's revocations only count for the
 * credentials it anchored, so no issuer can revoke another's credential. Revocation is final; a
 * suspension can be lifted.
 *
 * Who may act: anchoring and reinstating need an account of an active issuer; revoking and
 * suspending (single, list, batch) an account of an issuer that is active, suspended or removed
 * (an issuer can always withdraw its own credentials). Governors can revoke, suspend and
 * reinstate any issuer's credential with a reason (`governance*` functions); an issuer cannot
 * reinstate a credential that governance suspended. The status record says who acted.
 *
 * History kept on chain per (issuer, credential), exact for any past time from contract state:
 * the revocation time, the last suspension interval (in {credentialStatus}) and every earlier,
 * closed suspension interval ({credentialSuspensions}), each with who suspended.
 */
interface ICredentialAnchor {
    /// @notice Who changed a credential's status: its issuer's account or a governor.
    enum StatusActor {
        None,
        Issuer,
        Governance
    }

    /// @notice What the registry records about an anchored Merkle root (all zero if never anchored).
    struct AnchorRecord {
        uint32 issuerId;
        uint32 leafCount;
        uint64 blockNumber;
        uint64 anchoredAt;
        uint64 revokedAt;
    }

    /**
     * @notice Current status of one credential in one issuer's namespace (times 0 = never), one
     * storage slot: the revocation, and the last suspension interval `[suspendedAt,
     * reinstatedAt)` (open while `suspended`), with who revoked and who suspended.
     */
    struct CredentialStatusRecord {
        uint64 revokedAt;
        uint64 suspendedAt;
        uint64 reinstatedAt;
        uint32 suspensionCount;
        bool suspended;
        StatusActor revokedBy;
        StatusActor suspendedBy;
    }

    /// @notice A closed suspension interval `[suspendedAt, reinstatedAt)` of a credential.
    struct SuspensionInterval {
        uint64 suspendedAt;
        uint64 reinstatedAt;
        StatusActor suspendedBy;
    }

    /// @dev The caller's issuer already anchored `root`.
    error AnchorAlreadyAnchored(bytes32 root);
    /// @dev `account` does not act for any issuer.
    error AnchorUnauthorizedAccount(address account);
    /// @dev The caller's issuer `issuerId` has status `status`, not `Active` (anchor, reinstate).
    error AnchorIssuerNotActive(uint32 issuerId, IIssuerRegistry.IssuerStatus status);
    /// @dev An empty batch: a zero leaf count or an empty list of credential hashes.
    error AnchorEmptyBatch();
    /// @dev The all-zero root was given.
    error AnchorInvalidRoot();
    /// @dev `root` was never anchored by the caller's issuer.
    error AnchorNotAnchored(bytes32 root);
    /// @dev {revokeBatch}: the batch `root` is already revoked.
    error AnchorBatchAlreadyRevoked(bytes32 root);
    /// @dev `credentialHash` is already revoked in the namespace of issuer `issuerId` (final).
    error AnchorCredentialAlreadyRevoked(uint32 issuerId, bytes32 credentialHash);
    /// @dev `credentialHash` is already suspended in the namespace of issuer `issuerId`.
    error AnchorCredentialAlreadySuspended(uint32 issuerId, bytes32 credentialHash);
    /// @dev `credentialHash` is not suspended in the namespace of issuer `issuerId`.
    error AnchorCredentialNotSuspended(uint32 issuerId, bytes32 credentialHash);
    /// @dev An issuer tried to reinstate `credentialHash`, which governance suspended.
    error AnchorCredentialSuspendedByGovernance(uint32 issuerId, bytes32 credentialHash);
    /// @dev A governance status change was given an empty reason.
    error AnchorReasonRequired();

    /// @notice Issuer `issuerId` anchored the Merkle root `root` of `leafCount` credentials.
    event RootAnchored(bytes32 indexed root, uint32 indexed issuerId, uint32 leafCount);
    /// @notice `account`, acting for issuer `issuerId`, revoked every credential of the batch `root`.
    event BatchRevoked(bytes32 indexed root, uint32 indexed issuerId, address indexed account);
    /// @notice `account`, acting for issuer `issuerId`, revoked `credentialHash`.
    event CredentialRevoked(uint32 indexed issuerId, bytes32 indexed credentialHash, address indexed account);
    /// @notice `account`, acting for issuer `issuerId`, revoked every hash of `credentialHashes`.
    event CredentialsRevoked(uint32 indexed issuerId, address indexed account, bytes32[] credentialHashes);
    /// @notice `account`, acting for issuer `issuerId`, suspended `credentialHash`.
    event CredentialSuspended(uint32 indexed issuerId, bytes32 indexed credentialHash, address indexed account);
    /// @notice `account`, acting for issuer `issuerId`, suspended every hash of `credentialHashes`.
    event CredentialsSuspended(uint32 indexed issuerId, address indexed account, bytes32[] credentialHashes);
    /// @notice `account`, acting for issuer `issuerId`, lifted the suspension of `credentialHash`.
    event CredentialReinstated(uint32 indexed issuerId, bytes32 indexed credentialHash, address indexed account);
    /// @notice `account`, acting for issuer `issuerId`, lifted the suspension of every hash of
    /// `credentialHashes`.
    event CredentialsReinstated(uint32 indexed issuerId, address indexed account, bytes32[] credentialHashes);
    /// @notice Governor `governor` revoked every credential of the batch `root` of issuer
    /// `issuerId` for `reason`.
    event BatchRevokedByGovernance(
        bytes32 indexed root,
        uint32 indexed issuerId,
        address indexed governor,
        string reason
    );
    /// @notice Governor `governor` revoked `credentialHash` of issuer `issuerId` for `reason`.
    event CredentialRevokedByGovernance(
        uint32 indexed issuerId,
        bytes32 indexed credentialHash,
        address indexed governor,
        string reason
    );
    /// @notice Governor `governor` suspended `credentialHash` of issuer `issuerId` for `reason`.
    event CredentialSuspendedByGovernance(
        uint32 indexed issuerId,
        bytes32 indexed credentialHash,
        address indexed governor,
        string reason
    );
    /// @notice Governor `governor` lifted the suspension of `credentialHash` of issuer `issuerId`.
    event CredentialReinstatedByGovernance(
        uint32 indexed issuerId,
        bytes32 indexed credentialHash,
        address indexed governor,
        string reason
    );

    /**
     * @notice Anchors the Merkle root `root` of a batch of `leafCount` credentials, in the
     * caller's issuer namespace.
     * @dev Records the caller's issuer id, the leaf count, the block number and timestamp. Gas
     * does not depend on `leafCount`. Another issuer having anchored the same root does not
     * matter. Requirements: the caller acts for an active issuer; `root` is not zero and not yet
     * anchored by that issuer; `leafCount > 0`. Emits a {RootAnchored} event.
     */
    function anchorRoot(bytes32 root, uint32 leafCount) external;

    /**
     * @notice Revokes every credential of the batch `root` the caller's issuer anchored.
     * @dev Requirements: the caller acts for an issuer (active, suspended or removed) that
     * anchored `root`; the batch is not revoked yet. Emits a {BatchRevoked} event.
     */
    function revokeBatch(bytes32 root) external;

    /**
     * @notice Revokes `credentialHash` in the caller's issuer namespace (final).
     * @dev Requirements: the caller acts for an issuer (active, suspended or removed); the
     * credential is not revoked in that namespace yet. A suspended credential may be revoked.
     * Emits a {CredentialRevoked} event.
     */
    function revokeCredential(bytes32 credentialHash) external;

    /**
     * @notice Revokes every hash of `credentialHashes` in the caller's issuer namespace.
     * @dev All or nothing: reverts if any hash is already revoked (or repeated). Requirements as
     * {revokeCredential}; the list is not empty. Emits one {CredentialsRevoked} event.
     */
    function revokeCredentials(bytes32[] calldata credentialHashes) external;

    /**
     * @notice Suspends `credentialHash` in the caller's issuer namespace until reinstated.
     * @dev Requirements: the caller acts for an issuer (active, suspended or removed); the
     * credential is neither revoked nor suspended in that namespace. The previous (closed)
     * suspension interval, if any, moves to {credentialSuspensions}. Emits {CredentialSuspended}.
     */
    function suspendCredential(bytes32 credentialHash) external;

    /**
     * @notice Suspends every hash of `credentialHashes` in the caller's issuer namespace.
     * @dev All or nothing; requirements as {suspendCredential}; the list is not empty.
     * Emits one {CredentialsSuspended} event.
     */
    function suspendCredentials(bytes32[] calldata credentialHashes) external;

    /**
     * @notice Lifts the suspension of `credentialHash` in the caller's issuer namespace.
     * @dev Requirements: the caller acts for an active issuer; the credential is suspended in
     * that namespace (and so not revoked), and not by governance. Emits {CredentialReinstated}.
     */
    function reinstateCredential(bytes32 credentialHash) external;

    /**
     * @notice Lifts the suspension of every hash of `credentialHashes`.
     * @dev All or nothing; requirements as {reinstateCredential}; the list is not empty.
     * Emits one {CredentialsReinstated} event.
     */
    function reinstateCredentials(bytes32[] calldata credentialHashes) external;

    /**
     * @notice Governance revokes every credential of the batch `root` issuer `issuerId` anchored
     * (final), e.g. a fraudulent issuer's, whose credentials' hashes governance does not know.
     * @dev Requirements: the caller is a governor; the issuer exists (any status); `reason` is not
     * empty; that issuer anchored `root`; the batch is not revoked yet. Emits
     * {BatchRevokedByGovernance}.
     */
    function governanceRevokeBatch(uint32 issuerId, bytes32 root, string calldata reason) external;

    /**
     * @notice Governance revokes `credentialHash` in the namespace of issuer `issuerId` (final).
     * @dev Requirements: the caller is a governor; the issuer exists (any status); `reason` is not
     * empty; the credential is not revoked yet. Emits {CredentialRevokedByGovernance}.
     */
    function governanceRevokeCredential(uint32 issuerId, bytes32 credentialHash, string calldata reason) external;

    /**
     * @notice Governance suspends `credentialHash` in the namespace of issuer `issuerId`; only
     * governance can then reinstate it. A suspension the issuer holds is taken over: the issuer's
     * interval ends and governance's begins at this block.
     * @dev Requirements: the caller is a governor; the issuer exists; `reason` is not empty; the
     * credential is not revoked, nor suspended by governance. Emits {CredentialSuspendedByGovernance}.
     */
    function governanceSuspendCredential(uint32 issuerId, bytes32 credentialHash, string calldata reason) external;

    /**
     * @notice Governance lifts the suspension of `credentialHash` of issuer `issuerId` (whoever
     * suspended it).
     * @dev Requirements: the caller is a governor; the issuer exists; `reason` is not empty; the
     * credential is suspended. Emits {CredentialReinstatedByGovernance}.
     */
    function governanceReinstateCredential(uint32 issuerId, bytes32 credentialHash, string calldata reason)
        external;

    /// @notice The anchor record of `root` by issuer `issuerId`; `issuerId == 0` in it means never.
    function anchor(uint32 issuerId, bytes32 root) external view returns (AnchorRecord memory);

    /// @notice The status record of `credentialHash` in the namespace of issuer `issuerId`.
    function credentialStatus(uint32 issuerId, bytes32 credentialHash)
        external
        view
        returns (CredentialStatusRecord memory);

    /**
     * @notice The closed suspension intervals of `credentialHash` (namespace of `issuerId`) before
     * its last suspension, in time order; the last one is in {credentialStatus}.
     */
    function credentialSuspensions(uint32 issuerId, bytes32 credentialHash)
        external
        view
        returns (SuspensionInterval[] memory);

    /**
     * @notice Whether `credentialHash` was revoked or suspended at time `t` in the namespace of
     * issuer `issuerId`.
     * @dev Exact for every `t`: the revocation time, the last suspension interval and every
     * earlier one ({credentialSuspensions}) are kept.
     */
    function credentialStatusAt(uint32 issuerId, bytes32 credentialHash, uint64 t)
        external
        view
        returns (bool revoked, bool suspended);
}
