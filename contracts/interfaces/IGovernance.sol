// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/**
 * @title IGovernance
 * @notice Errors, events and external API of the governance module: one admin, several governors.
 * @dev The admin adds and removes governors and hands its role over in two steps
 * ({transferAdmin} then {acceptAdmin}). Governors manage issuers (see {IIssuerRegistry}).
 */
interface IGovernance {
    /// @dev `account` called an admin-only function and is not the admin.
    error GovernanceUnauthorizedAccount(address account);
    /// @dev `account` called a governor-only function and is not a governor.
    error GovernanceUnauthorizedGovernor(address account);
    /// @dev `account` called {acceptAdmin} and is not the pending admin.
    error GovernanceUnauthorizedPendingAdmin(address account);
    /// @dev The zero address was given where an account is required.
    error GovernanceInvalidAccount(address account);
    /// @dev {addGovernor}: `account` is already a governor.
    error GovernanceAlreadyGovernor(address account);
    /// @dev {removeGovernor}: `account` is not a governor.
    error GovernanceNotGovernor(address account);
    /// @dev {transferAdmin}: `account` is already the admin.
    error GovernanceAlreadyAdmin(address account);
    /// @dev {transferAdmin}: `account` is already the pending admin.
    error GovernanceAlreadyPendingAdmin(address account);

    /// @notice `governor` became a governor; `by` is the admin that added it.
    event GovernorAdded(address indexed governor, address indexed by);
    /// @notice `governor` stopped being a governor; `by` is the admin that removed it.
    event GovernorRemoved(address indexed governor, address indexed by);
    /// @notice `admin` proposed `pendingAdmin` as the next admin.
    event AdminTransferStarted(address indexed admin, address indexed pendingAdmin);
    /// @notice The admin role passed from `previousAdmin` to `newAdmin`.
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);

    /// @notice The current admin.
    function admin() external view returns (address);

    /// @notice The account proposed by {transferAdmin}, or the zero address when none is pending.
    function pendingAdmin() external view returns (address);

    /// @notice Whether `account` is a governor.
    function isGovernor(address account) external view returns (bool);

    /// @notice How many governors there are.
    function governorCount() external view returns (uint256);

    /**
     * @notice Makes `account` a governor.
     * @dev Requirements: the caller is the admin; `account` is not zero and not yet a governor.
     * Emits a {GovernorAdded} event.
     */
    function addGovernor(address account) external;

    /**
     * @notice Takes the governor role away from `account`.
     * @dev Requirements: the caller is the admin; `account` is a governor.
     * Emits a {GovernorRemoved} event.
     */
    function removeGovernor(address account) external;

    /**
     * @notice Proposes `newAdmin` as the next admin; it takes over when it calls {acceptAdmin}.
     * @dev Requirements: the caller is the admin; `newAdmin` is not zero, not the admin and not
     * already pending. A later call replaces the pending admin. Emits {AdminTransferStarted}.
     */
    function transferAdmin(address newAdmin) external;

    /**
     * @notice Completes the transfer started by {transferAdmin}: the caller becomes the admin.
     * @dev Requirements: the caller is the pending admin. Emits an {AdminTransferred} event.
     */
    function acceptAdmin() external;
}
