// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/**
 * @title IIssuerRegistry
 * @notice Errors, events and external API of the issuer registry: accredited institutions, the
 * accounts acting for them, their Ed25519 signing keys and the credential types they may issue.
 * @dev Governors (see {IGovernance}) call every state-changing function. Times are UNIX seconds
 * (block timestamps); a window is `[validFrom, validUntil)` and `validUntil == 0` is open ended.
 *
 * History kept on chain, exact for any past time from contract state alone: one window per
 * (issuer, key) and per (issuer, type) (a key or a type cannot be registered twice for an issuer,
 * and a revocation or withdrawal only ends its window, so that one window is its whole history);
 * every suspension interval of an issuer (the last one in the issuer record, every earlier closed
 * one in {issuerSuspensions}); the registration and removal times. {issuerStatusAt} is exact for
 * every `t`. A DID names at most one issuer, for good (also after its removal).
 */
interface IIssuerRegistry {
    /// @notice Lifecycle of an issuer. `Suspended` can be reversed, `Removed` is final.
    enum IssuerStatus {
        None,
        Active,
        Suspended,
        Removed
    }

    /// @notice Everything the registry records about an issuer (0 = never happened).
    struct IssuerRecord {
        string name;
        string did;
        IssuerStatus status;
        uint64 registeredAt;
        uint64 suspendedAt;
        uint64 reinstatedAt;
        uint64 removedAt;
    }

    /// @notice A closed suspension interval `[suspendedAt, reinstatedAt)` of an issuer.
    struct IssuerSuspension {
        uint64 suspendedAt;
        uint64 reinstatedAt;
    }

    /// @dev No issuer has id `issuerId`.
    error IssuerUnknown(uint32 issuerId);
    /// @dev Issuer `issuerId` is removed; removal is final.
    error IssuerAlreadyRemoved(uint32 issuerId);
    /// @dev {suspendIssuer}: issuer `issuerId` is already suspended.
    error IssuerAlreadySuspended(uint32 issuerId);
    /// @dev {reinstateIssuer}: issuer `issuerId` is not suspended.
    error IssuerNotSuspended(uint32 issuerId);
    /// @dev The display name is empty.
    error IssuerInvalidName();
    /// @dev The DID is empty.
    error IssuerInvalidDid();
    /// @dev {registerIssuer}: `did` already names issuer `issuerId` (a DID names one issuer, for good).
    error IssuerDidAlreadyRegistered(string did, uint32 issuerId);
    /// @dev The zero address was given as an issuer account.
    error IssuerInvalidAccount(address account);
    /// @dev `account` already acts for issuer `issuerId`; an account acts for at most one issuer.
    error IssuerAccountAlreadyAssigned(address account, uint32 issuerId);
    /// @dev {removeIssuerAccount}: `account` does not act for issuer `issuerId`.
    error IssuerAccountNotAssigned(address account, uint32 issuerId);
    /// @dev Issuer `issuerId` already has the maximum number of accounts, `limit`.
    error IssuerAccountLimitReached(uint32 issuerId, uint256 limit);
    /// @dev The all-zero signing key or type id was given.
    error IssuerInvalidId();
    /// @dev `validUntil` is not zero and not after `validFrom`.
    error IssuerInvalidWindow(uint64 validFrom, uint64 validUntil);
    /// @dev {addSigningKey}: `publicKey` was already registered for issuer `issuerId`.
    error IssuerKeyAlreadyRegistered(uint32 issuerId, bytes32 publicKey);
    /// @dev `publicKey` was never registered for issuer `issuerId`.
    error IssuerKeyNotRegistered(uint32 issuerId, bytes32 publicKey);
    /// @dev {revokeSigningKey}: the key's window has already ended.
    error IssuerKeyAlreadyRevoked(uint32 issuerId, bytes32 publicKey);
    /// @dev {grantCredentialType}: `typeId` was already granted to issuer `issuerId`.
    error IssuerTypeAlreadyGranted(uint32 issuerId, bytes32 typeId);
    /// @dev `typeId` was never granted to issuer `issuerId`.
    error IssuerTypeNotGranted(uint32 issuerId, bytes32 typeId);
    /// @dev {withdrawCredentialType}: the type's window has already ended.
    error IssuerTypeAlreadyWithdrawn(uint32 issuerId, bytes32 typeId);

    /// @notice Issuer `issuerId` was registered with `name` and `did`.
    event IssuerRegistered(uint32 indexed issuerId, string name, string did);
    /// @notice `account` now acts for issuer `issuerId`.
    event IssuerAccountAdded(uint32 indexed issuerId, address indexed account);
    /// @notice `account` no longer acts for issuer `issuerId`.
    event IssuerAccountRemoved(uint32 indexed issuerId, address indexed account);
    /// @notice `publicKey` (Ed25519) was registered for issuer `issuerId` with its window.
    event SigningKeyAdded(uint32 indexed issuerId, bytes32 indexed publicKey, uint64 validFrom, uint64 validUntil);
    /// @notice `publicKey` of issuer `issuerId` stopped being valid at `revokedAt`.
    event SigningKeyRevoked(uint32 indexed issuerId, bytes32 indexed publicKey, uint64 revokedAt);
    /// @notice Issuer `issuerId` was accredited for `typeId` over the window.
    event CredentialTypeGranted(uint32 indexed issuerId, bytes32 indexed typeId, uint64 validFrom, uint64 validUntil);
    /// @notice Issuer `issuerId` stopped being accredited for `typeId` at `withdrawnAt`.
    event CredentialTypeWithdrawn(uint32 indexed issuerId, bytes32 indexed typeId, uint64 withdrawnAt);
    /// @notice Issuer `issuerId` was suspended at `suspendedAt`.
    event IssuerSuspended(uint32 indexed issuerId, uint64 suspendedAt);
    /// @notice Issuer `issuerId` was reinstated at `reinstatedAt`.
    event IssuerReinstated(uint32 indexed issuerId, uint64 reinstatedAt);
    /// @notice Issuer `issuerId` was removed at `removedAt` (final).
    event IssuerRemoved(uint32 indexed issuerId, uint64 removedAt);

    /**
     * @notice Registers an active issuer and the accounts acting for it.
     * @dev Requirements: the caller is a governor; `name` and `did` are not empty; no issuer (even
     * a removed one) was registered with `did` (byte-for-byte, see {issuerIdOfDid}); each account
     * is not zero and not assigned to an issuer; at most {MAX_ACCOUNTS_PER_ISSUER} accounts.
     * Emits {IssuerRegistered}, then {IssuerAccountAdded} per account.
     * @return issuerId The new id, assigned from 1.
     */
    function registerIssuer(string calldata name, string calldata did, address[] calldata accounts)
        external
        returns (uint32 issuerId);

    /**
     * @notice Lets `account` act for issuer `issuerId` (anchor, revoke, suspend).
     * @dev Requirements: the caller is a governor; the issuer exists and is not removed; `account`
     * is not zero and not assigned to any issuer. Emits an {IssuerAccountAdded} event.
     */
    function addIssuerAccount(uint32 issuerId, address account) external;

    /**
     * @notice Stops `account` acting for issuer `issuerId`; it may then be assigned again.
     * @dev Requirements: the caller is a governor; `account` acts for `issuerId`. Also allowed for
     * a removed issuer, to free its accounts. Emits an {IssuerAccountRemoved} event.
     */
    function removeIssuerAccount(uint32 issuerId, address account) external;

    /**
     * @notice Registers the Ed25519 public key `publicKey` for issuer `issuerId`.
     * @dev Requirements: the caller is a governor; the issuer exists and is not removed; the key is
     * not zero and was never registered for this issuer (re-adding a revoked key reverts, so a
     * key has one window, its whole history); the window is well formed.
     * `validFrom == 0` means the current block timestamp. Emits a {SigningKeyAdded} event.
     */
    function addSigningKey(uint32 issuerId, bytes32 publicKey, uint64 validFrom, uint64 validUntil) external;

    /**
     * @notice Ends the window of `publicKey` now: credentials anchored before stay valid.
     * @dev Requirements: the caller is a governor; the key is registered for the issuer and its
     * window has not ended. Works for removed issuers too. Emits a {SigningKeyRevoked} event.
     */
    function revokeSigningKey(uint32 issuerId, bytes32 publicKey) external;

    /**
     * @notice Accredits issuer `issuerId` for credential type `typeId` (keccak256 of the type name).
     * @dev Requirements: the caller is a governor; the issuer exists and is not removed; the type
     * was never granted to this issuer (no re-grant after a withdrawal, so a type has one window,
     * its whole history); the window is well formed (`validFrom == 0` means now).
     * Emits a {CredentialTypeGranted} event.
     */
    function grantCredentialType(uint32 issuerId, bytes32 typeId, uint64 validFrom, uint64 validUntil) external;

    /**
     * @notice Ends the accreditation of issuer `issuerId` for `typeId` now.
     * @dev Requirements: the caller is a governor; the type is granted and its window has not
     * ended. Emits a {CredentialTypeWithdrawn} event.
     */
    function withdrawCredentialType(uint32 issuerId, bytes32 typeId) external;

    /**
     * @notice Suspends issuer `issuerId`: its accounts can no longer anchor or reinstate
     * credentials (they can still revoke and suspend its own credentials).
     * @dev Requirements: the caller is a governor; the issuer is active. The previous (closed)
     * suspension interval, if any, moves to {issuerSuspensions}. Emits {IssuerSuspended}.
     */
    function suspendIssuer(uint32 issuerId) external;

    /**
     * @notice Lifts the suspension of issuer `issuerId`.
     * @dev Requirements: the caller is a governor; the issuer is suspended. Emits {IssuerReinstated}.
     */
    function reinstateIssuer(uint32 issuerId) external;

    /**
     * @notice Removes issuer `issuerId` for good.
     * @dev Requirements: the caller is a governor; the issuer is active or suspended.
     * Emits an {IssuerRemoved} event.
     */
    function removeIssuer(uint32 issuerId) external;

    /// @notice The record of issuer `issuerId` (status `None` when unknown).
    function issuer(uint32 issuerId) external view returns (IssuerRecord memory);

    /// @notice How many issuers were registered; ids run from 1 to this number.
    function issuerCount() external view returns (uint32);

    /// @notice The issuer registered with exactly `did`, or 0 (stored by `keccak256(bytes(did))`).
    function issuerIdOfDid(string calldata did) external view returns (uint32);

    /**
     * @notice The closed suspension intervals of issuer `issuerId` before its last suspension, in
     * time order (the last one, open or closed, is in {issuer}).
     */
    function issuerSuspensions(uint32 issuerId) external view returns (IssuerSuspension[] memory);

    /// @notice The issuer `account` acts for, or 0.
    function issuerOfAccount(address account) external view returns (uint32);

    /// @notice The accounts acting for issuer `issuerId`, in no particular order.
    function issuerAccounts(uint32 issuerId) external view returns (address[] memory);

    /// @notice The window of `publicKey` for issuer `issuerId`; `validFrom == 0` if never registered.
    function signingKey(uint32 issuerId, bytes32 publicKey) external view returns (uint64 validFrom, uint64 validUntil);

    /// @notice The accreditation window of issuer `issuerId` for `typeId`; zeros if never granted.
    function credentialType(uint32 issuerId, bytes32 typeId) external view returns (uint64 validFrom, uint64 validUntil);

    /// @notice Whether `publicKey` was a valid signing key of issuer `issuerId` at time `t` (exact:
    /// a key has one window).
    function isKeyValidAt(uint32 issuerId, bytes32 publicKey, uint64 t) external view returns (bool);

    /// @notice Whether issuer `issuerId` was accredited for `typeId` at time `t` (exact: a type has
    /// one window).
    function isAccreditedAt(uint32 issuerId, bytes32 typeId, uint64 t) external view returns (bool);

    /**
     * @notice The status of issuer `issuerId` at time `t`.
     * @dev Exact for any `t`: `None` before registration, `Removed` from removal on, `Suspended`
     * inside any suspension interval (the last one or one of {issuerSuspensions}), else `Active`.
     */
    function issuerStatusAt(uint32 issuerId, uint64 t) external view returns (IssuerStatus);
}
