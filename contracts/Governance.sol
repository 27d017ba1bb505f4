// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IGovernance} from "./interfaces/IGovernance.sol";

/**
 * @title Governance
 * @notice One admin and several governors, written in the style of OpenZeppelin's
 * `AccessControl` and `Ownable2Step` (no dependency on them).
 * @dev The deployer becomes the admin and the first governor. The admin is not implicitly a
 * governor: it may remove itself from the governors and still manage them.
 */
abstract contract Governance is IGovernance {
    address private _admin;
    address private _pendingAdmin;
    mapping(address account => bool) private _governors;
    uint256 private _governorCount;

    /// @dev Reverts with {GovernanceUnauthorizedAccount} unless the caller is the admin.
    modifier onlyAdmin() {
        _checkAdmin(msg.sender);
        _;
    }

    /// @dev Reverts with {GovernanceUnauthorizedGovernor} unless the caller is a governor.
    modifier onlyGovernor() {
        _checkGovernor(msg.sender);
        _;
    }

    /// @param initialAdmin The admin and first governor.
    constructor(address initialAdmin) {
        if (initialAdmin == address(0)) {
            revert GovernanceInvalidAccount(initialAdmin);
        }
        _admin = initialAdmin;
        emit AdminTransferred(address(0), initialAdmin);
        _addGovernor(initialAdmin, initialAdmin);
    }

    /// @inheritdoc IGovernance
    function admin() public view virtual returns (address) {
        return _admin;
    }

    /// @inheritdoc IGovernance
    function pendingAdmin() public view virtual returns (address) {
        return _pendingAdmin;
    }

    /// @inheritdoc IGovernance
    function isGovernor(address account) public view virtual returns (bool) {
        return _governors[account];
    }

    /// @inheritdoc IGovernance
    function governorCount() public view virtual returns (uint256) {
        return _governorCount;
    }

    /// @inheritdoc IGovernance
    function addGovernor(address account) public virtual onlyAdmin {
        if (account == address(0)) {
            revert GovernanceInvalidAccount(account);
        }
        if (_governors[account]) {
            revert GovernanceAlreadyGovernor(account);
        }
        _addGovernor(account, msg.sender);
    }

    /// @inheritdoc IGovernance
    function removeGovernor(address account) public virtual onlyAdmin {
        if (!_governors[account]) {
            revert GovernanceNotGovernor(account);
        }
        _governors[account] = false;
        // unchecked: `account` is a governor, so the count is at least 1.
        unchecked {
            _governorCount -= 1;
        }
        emit GovernorRemoved(account, msg.sender);
    }

    /// @inheritdoc IGovernance
    function transferAdmin(address newAdmin) public virtual onlyAdmin {
        if (newAdmin == address(0)) {
            revert GovernanceInvalidAccount(newAdmin);
        }
        if (newAdmin == _admin) {
            revert GovernanceAlreadyAdmin(newAdmin);
        }
        if (newAdmin == _pendingAdmin) {
            revert GovernanceAlreadyPendingAdmin(newAdmin);
        }
        _pendingAdmin = newAdmin;
        emit AdminTransferStarted(_admin, newAdmin);
    }

    /// @inheritdoc IGovernance
    function acceptAdmin() public virtual {
        address caller = msg.sender;
        if (caller != _pendingAdmin || caller == address(0)) {
            revert GovernanceUnauthorizedPendingAdmin(caller);
        }
        address previousAdmin = _admin;
        _admin = caller;
        delete _pendingAdmin;
        emit AdminTransferred(previousAdmin, caller);
    }

    /// @dev Records `account` as a governor added by `by`. Assumes it is not one yet.
    function _addGovernor(address account, address by) internal virtual {
        _governors[account] = true;
        // unchecked: one increment per distinct address; cannot reach 2**256.
        unchecked {
            _governorCount += 1;
        }
        emit GovernorAdded(account, by);
    }

    /// @dev Reverts with {GovernanceUnauthorizedAccount} unless `account` is the admin.
    function _checkAdmin(address account) internal view virtual {
        if (account != _admin) {
            revert GovernanceUnauthorizedAccount(account);
        }
    }

    /// @dev Reverts with {GovernanceUnauthorizedGovernor} unless `account` is a governor.
    function _checkGovernor(address account) internal view virtual {
        if (!_governors[account]) {
            revert GovernanceUnauthorizedGovernor(account);
        }
    }
}
