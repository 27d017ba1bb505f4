// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IIssuerRegistry} from "./IIssuerRegistry.sol";

/**
 * @title ICredentialAnchor
 * @notice Errors, events and external API of anchoring: Merkle roots of credential batches, and
 * the revocation and suspension of single credentials and of whole batches.
 * @dev Every state-changing function is called by an account acting for an active issuer (see
 * {IIssuerRegistry-addIssuerAccount}). Credential status records are namespaced by the caller's
 * issuer id: an issuer's revocations only count for the credentials it anchored, so no issuer can
 * revoke another's credential. Revocation is final; a suspension can be lifted.
 *
 * History kept on chain per (issuer, credential): the revocation time and the last suspension
 * interval (plus how many suspensions there were). Earlier suspension intervals are only in the
 * {CredentialSuspended} / {CredentialsSuspended} and {CredentialReinstated} /
 * {CredentialsReinstated} events, whose block timestamps give the times.
 */
interface ICredentialAnchor {
    /// @notice What the registry records about an anchored Merkle root (all zero if never anchored).
    struct AnchorRecord {
        uint32 issuerId;
        uint32 leafCount;
        uint64 blockNumber;
        uint64 anchoredAt;
        uint64 revokedAt;
    }

    /// @notice Status of one credential in one issuer's namespace (times 0 = never).
    struct CredentialStatusRecord {
        uint64 revokedAt;
        uint64 suspendedAt;
        uint64 reinstatedAt;
        uint32 suspensionCount;
        bool suspended;
    }

    /// @dev `root` was already anchored.
    error AnchorAlreadyAnchored(bytes32 root);
    /// @dev `account` does not act for any issuer.
    error AnchorUnauthorizedAccount(address account);
    /// @dev The caller's issuer `issuerId` has status `status`, not `Active`.
    error AnchorIssuerNotActive(uint32 issuerId, IIssuerRegistry.IssuerStatus status);
    /// @dev An empty batch: a zero leaf count or an empty list of credential hashes.
    error AnchorEmptyBatch();
    /// @dev The all-zero root was given.
    error AnchorInvalidRoot();
    /// @dev `root` was never anchored.
    error AnchorNotAnchored(bytes32 root);
    /// @dev {revokeBatch}: `root` was anchored by issuer `issuerId`, not by the caller's issuer.
    error AnchorUnauthorizedIssuer(bytes32 root, uint32 issuerId);
    /// @dev {revokeBatch}: the batch `root` is already revoked.
    error AnchorBatchAlreadyRevoked(bytes32 root);
    /// @dev `credentialHash` is already revoked by issuer `issuerId` (revocation is final).
    error AnchorCredentialAlreadyRevoked(uint32 issuerId, bytes32 credentialHash);
    /// @dev `credentialHash` is already suspended by issuer `issuerId`.
    error AnchorCredentialAlreadySuspended(uint32 issuerId, bytes32 credentialHash);
    /// @dev `credentialHash` is not suspended by issuer `issuerId`.
    error AnchorCredentialNotSuspended(uint32 issuerId, bytes32 credentialHash);

    /// @notice Issuer `issuerId` anchored the Merkle root `root` of `leafCount` credentials.
    event RootAnchored(bytes32 indexed root, uint32 indexed issuerId, uint32 leafCount);
    /// @notice Issuer `issuerId` revoked every credential of the batch `root`.
    event BatchRevoked(bytes32 indexed root, uint32 indexed issuerId);
    /// @notice Issuer `issuerId` revoked `credentialHash`.
    event CredentialRevoked(uint32 indexed issuerId, bytes32 indexed credentialHash);
    /// @notice Issuer `issuerId` revoked every hash of `credentialHashes`, in one transaction.
    event CredentialsRevoked(uint32 indexed issuerId, bytes32[] credentialHashes);
    /// @notice Issuer `issuerId` suspended `credentialHash`.
    event CredentialSuspended(uint32 indexed issuerId, bytes32 indexed credentialHash);
    /// @notice Issuer `issuerId` suspended every hash of `credentialHashes`.
    event CredentialsSuspended(uint32 indexed issuerId, bytes32[] credentialHashes);
    /// @notice Issuer `issuerId` lifted the suspension of `credentialHash`.
    event CredentialReinstated(uint32 indexed issuerId, bytes32 indexed credentialHash);
    /// @notice Issuer `issuerId` lifted the suspension of every hash of `credentialHashes`.
    event CredentialsReinstated(uint32 indexed issuerId, bytes32[] credentialHashes);

    /**
     * @notice Anchors the Merkle root `root` of a batch of `leafCount` credentials.
     * @dev Records the caller's issuer id, the leaf count, the block number and timestamp. Gas
     * does not depend on `leafCount`. Requirements: the caller acts for an active issuer; `root`
     * is not zero and not yet anchored; `leafCount > 0`. Emits a {RootAnchored} event.
     */
    function anchorRoot(bytes32 root, uint32 leafCount) external;

    /**
     * @notice Revokes every credential of the batch `root` at once.
     * @dev Requirements: the caller acts for the active issuer that anchored `root`; the batch is
     * not revoked yet. Emits a {BatchRevoked} event.
     */
    function revokeBatch(bytes32 root) external;

    /**
     * @notice Revokes `credentialHash` in the caller's issuer namespace (final).
     * @dev Requirements: the caller acts for an active issuer; the credential is not revoked by
     * that issuer yet. A suspended credential may be revoked. Emits a {CredentialRevoked} event.
     */
    function revokeCredential(bytes32 credentialHash) external;

    /**
     * @notice Revokes every hash of `credentialHashes` in the caller's issuer namespace.
     * @dev All or nothing: reverts if any hash is already revoked (or repeated). Requirements as
     * {revokeCredential}; the list is not empty. Emits one {CredentialsRevoked} event.
     */
    function revokeCredentials(bytes32[] calldata credentialHashes) external;

    /**
     * @notice Suspends `credentialHash` in the caller's issuer namespace until {reinstateCredential}.
     * @dev Requirements: the caller acts for an active issuer; the credential is neither revoked
     * nor suspended by that issuer. Emits a {CredentialSuspended} event.
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
     * @dev Requirements: the caller acts for an active issuer; the credential is suspended by that
     * issuer (and so not revoked). Emits a {CredentialReinstated} event.
     */
    function reinstateCredential(bytes32 credentialHash) external;

    /**
     * @notice Lifts the suspension of every hash of `credentialHashes`.
     * @dev All or nothing; requirements as {reinstateCredential}; the list is not empty.
     * Emits one {CredentialsReinstated} event.
     */
    function reinstateCredentials(bytes32[] calldata credentialHashes) external;

    /// @notice The anchor record of `root`; `issuerId == 0` means never anchored.
    function anchor(bytes32 root) external view returns (AnchorRecord memory);

    /// @notice The status record of `credentialHash` in the namespace of issuer `issuerId`.
    function credentialStatus(uint32 issuerId, bytes32 credentialHash)
        external
        view
        returns (CredentialStatusRecord memory);

    /**
     * @notice Whether issuer `issuerId` had revoked or suspended `credentialHash` at time `t`.
     * @dev `revoked` is exact for every `t`. `suspended` is exact for the last suspension interval
     * and after it; for a `t` before it, `false` is returned and the events hold the answer
     * (`suspensionCount > 1` in {credentialStatus} says such earlier intervals exist).
     */
    function credentialStatusAt(uint32 issuerId, bytes32 credentialHash, uint64 t)
        external
        view
        returns (bool revoked, bool suspended);
}
