// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IIssuerRegistry} from "./interfaces/IIssuerRegistry.sol";
import {Governance} from "./Governance.sol";

/**
 * @title IssuerRegistry
 * @notice Accredited issuers, the accounts acting for them, their signing keys and credential
 * types, each with a validity window, and their status history.
 * @dev Each account record holds a copy of its issuer's status, so that the hot paths of
 * {CredentialAnchor} (anchor, revoke) read one storage slot to authorize the caller. Status
 * changes update every account of the issuer; {MAX_ACCOUNTS_PER_ISSUER} bounds that loop.
 */
abstract contract IssuerRegistry is IIssuerRegistry, Governance {
    /// @notice The most accounts one issuer may have.
    uint256 public constant MAX_ACCOUNTS_PER_ISSUER = 16;

    /// @dev Slot 0: status, suspensionOpen and three times; slot 1: removedAt; then the strings.
    struct IssuerData {
        IssuerStatus status;
        // True from a suspension until the reinstatement; stays true when removed while suspended.
        bool suspensionOpen;
        uint64 registeredAt;
        uint64 suspendedAt;
        uint64 reinstatedAt;
        uint64 removedAt;
        string name;
        string did;
    }

    /// @dev One slot: the issuer an account acts for, a copy of the issuer's status, and the
    /// account's position in the issuer's account list.
    struct AccountData {
        uint32 issuerId;
        IssuerStatus status;
        uint8 index;
    }

    /// @dev One slot. `validFrom != 0` for every registered window.
    struct Window {
        uint64 validFrom;
        uint64 validUntil;
    }

    uint32 private _issuerCount;
    mapping(uint32 issuerId => IssuerData) private _issuers;
    mapping(uint32 issuerId => address[]) private _issuerAccountList;
    mapping(address account => AccountData) private _accounts;
    mapping(uint32 issuerId => mapping(bytes32 publicKey => Window)) private _keys;
    mapping(uint32 issuerId => mapping(bytes32 typeId => Window)) private _types;
    mapping(bytes32 didHash => uint32 issuerId) private _issuerIdByDid;
    mapping(uint32 issuerId => IssuerSuspension[]) private _pastIssuerSuspensions;

    /// @inheritdoc IIssuerRegistry
    function registerIssuer(string calldata name, string calldata did, address[] calldata accounts)
        public
        virtual
        onlyGovernor
        returns (uint32 issuerId)
    {
        if (bytes(name).length == 0) {
            revert IssuerInvalidName();
        }
        if (bytes(did).length == 0) {
            revert IssuerInvalidDid();
        }
        if (accounts.length > MAX_ACCOUNTS_PER_ISSUER) {
            revert IssuerAccountLimitReached(_issuerCount + 1, MAX_ACCOUNTS_PER_ISSUER);
        }
        bytes32 didHash = keccak256(bytes(did));
        uint32 existing = _issuerIdByDid[didHash];
        if (existing != 0) {
            revert IssuerDidAlreadyRegistered(did, existing);
        }
        issuerId = ++_issuerCount;
        _issuerIdByDid[didHash] = issuerId;
        IssuerData storage data = _issuers[issuerId];
        data.status = IssuerStatus.Active;
        data.registeredAt = uint64(block.timestamp);
        data.name = name;
        data.did = did;
        emit IssuerRegistered(issuerId, name, did);
        for (uint256 i = 0; i < accounts.length; ++i) {
            _addAccount(issuerId, IssuerStatus.Active, accounts[i]);
        }
    }

    /// @inheritdoc IIssuerRegistry
    function addIssuerAccount(uint32 issuerId, address account) public virtual onlyGovernor {
        IssuerStatus status = _requireNotRemoved(issuerId);
        if (_issuerAccountList[issuerId].length >= MAX_ACCOUNTS_PER_ISSUER) {
            revert IssuerAccountLimitReached(issuerId, MAX_ACCOUNTS_PER_ISSUER);
        }
        _addAccount(issuerId, status, account);
    }

    /// @inheritdoc IIssuerRegistry
    function removeIssuerAccount(uint32 issuerId, address account) public virtual onlyGovernor {
        AccountData memory data = _accounts[account];
        if (data.issuerId != issuerId || issuerId == 0) {
            revert IssuerAccountNotAssigned(account, issuerId);
        }
        address[] storage list = _issuerAccountList[issuerId];
        address last = list[list.length - 1];
        list[data.index] = last;
        _accounts[last].index = data.index;
        list.pop();
        delete _accounts[account];
        emit IssuerAccountRemoved(issuerId, account);
    }

    /// @inheritdoc IIssuerRegistry
    function addSigningKey(uint32 issuerId, bytes32 publicKey, uint64 validFrom, uint64 validUntil)
        public
        virtual
        onlyGovernor
    {
        _requireNotRemoved(issuerId);
        Window storage window = _keys[issuerId][publicKey];
        if (window.validFrom != 0) {
            revert IssuerKeyAlreadyRegistered(issuerId, publicKey);
        }
        (validFrom, validUntil) = _openWindow(window, publicKey, validFrom, validUntil);
        emit SigningKeyAdded(issuerId, publicKey, validFrom, validUntil);
    }

    /// @inheritdoc IIssuerRegistry
    function revokeSigningKey(uint32 issuerId, bytes32 publicKey) public virtual onlyGovernor {
        _requireKnown(issuerId);
        Window storage window = _keys[issuerId][publicKey];
        if (window.validFrom == 0) {
            revert IssuerKeyNotRegistered(issuerId, publicKey);
        }
        if (_hasEnded(window)) {
            revert IssuerKeyAlreadyRevoked(issuerId, publicKey);
        }
        window.validUntil = uint64(block.timestamp);
        emit SigningKeyRevoked(issuerId, publicKey, uint64(block.timestamp));
    }

    /// @inheritdoc IIssuerRegistry
    function grantCredentialType(uint32 issuerId, bytes32 typeId, uint64 validFrom, uint64 validUntil)
        public
        virtual
        onlyGovernor
    {
        _requireNotRemoved(issuerId);
        Window storage window = _types[issuerId][typeId];
        if (window.validFrom != 0) {
            revert IssuerTypeAlreadyGranted(issuerId, typeId);
        }
        (validFrom, validUntil) = _openWindow(window, typeId, validFrom, validUntil);
        emit CredentialTypeGranted(issuerId, typeId, validFrom, validUntil);
    }

    /// @inheritdoc IIssuerRegistry
    function withdrawCredentialType(uint32 issuerId, bytes32 typeId) public virtual onlyGovernor {
        _requireKnown(issuerId);
        Window storage window = _types[issuerId][typeId];
        if (window.validFrom == 0) {
            revert IssuerTypeNotGranted(issuerId, typeId);
        }
        if (_hasEnded(window)) {
            revert IssuerTypeAlreadyWithdrawn(issuerId, typeId);
        }
        window.validUntil = uint64(block.timestamp);
        emit CredentialTypeWithdrawn(issuerId, typeId, uint64(block.timestamp));
    }

    /// @inheritdoc IIssuerRegistry
    function suspendIssuer(uint32 issuerId) public virtual onlyGovernor {
        IssuerStatus status = _requireNotRemoved(issuerId);
        // Why: exact match on the status enum is intended; slither taints the whole storage record
        // because other fields of it hold block times.
        // slither-disable-next-line incorrect-equality,timestamp
        if (status == IssuerStatus.Suspended) {
            revert IssuerAlreadySuspended(issuerId);
        }
        IssuerData storage data = _issuers[issuerId];
        uint64 previous = data.suspendedAt;
        if (previous != 0) {
            // The previous interval is closed (the issuer is active): keep it for as-of queries.
            _pastIssuerSuspensions[issuerId].push(IssuerSuspension({suspendedAt: previous, reinstatedAt: data.reinstatedAt}));
        }
        data.suspendedAt = uint64(block.timestamp);
        data.suspensionOpen = true;
        _setStatus(issuerId, IssuerStatus.Suspended);
        emit IssuerSuspended(issuerId, uint64(block.timestamp));
    }

    /// @inheritdoc IIssuerRegistry
    function reinstateIssuer(uint32 issuerId) public virtual onlyGovernor {
        IssuerStatus status = _requireNotRemoved(issuerId);
        // Why: compares the status enum, not a time; slither taints the whole storage record
        // because other fields of it hold block times.
        // slither-disable-next-line timestamp
        if (status != IssuerStatus.Suspended) {
            revert IssuerNotSuspended(issuerId);
        }
        IssuerData storage data = _issuers[issuerId];
        data.reinstatedAt = uint64(block.timestamp);
        data.suspensionOpen = false;
        _setStatus(issuerId, IssuerStatus.Active);
        emit IssuerReinstated(issuerId, uint64(block.timestamp));
    }

    /// @inheritdoc IIssuerRegistry
    function removeIssuer(uint32 issuerId) public virtual onlyGovernor {
        _requireNotRemoved(issuerId);
        _issuers[issuerId].removedAt = uint64(block.timestamp);
        _setStatus(issuerId, IssuerStatus.Removed);
        emit IssuerRemoved(issuerId, uint64(block.timestamp));
    }

    /// @inheritdoc IIssuerRegistry
    function issuer(uint32 issuerId) public view virtual returns (IssuerRecord memory record) {
        IssuerData storage data = _issuers[issuerId];
        record.name = data.name;
        record.did = data.did;
        record.status = data.status;
        record.registeredAt = data.registeredAt;
        record.suspendedAt = data.suspendedAt;
        record.reinstatedAt = data.reinstatedAt;
        record.removedAt = data.removedAt;
    }

    /// @inheritdoc IIssuerRegistry
    function issuerCount() public view virtual returns (uint32) {
        return _issuerCount;
    }

    /// @inheritdoc IIssuerRegistry
    function issuerIdOfDid(string calldata did) public view virtual returns (uint32) {
        return _issuerIdByDid[keccak256(bytes(did))];
    }

    /// @inheritdoc IIssuerRegistry
    function issuerSuspensions(uint32 issuerId) public view virtual returns (IssuerSuspension[] memory) {
        return _pastIssuerSuspensions[issuerId];
    }

    /// @inheritdoc IIssuerRegistry
    function issuerOfAccount(address account) public view virtual returns (uint32) {
        return _accounts[account].issuerId;
    }

    /// @inheritdoc IIssuerRegistry
    function issuerAccounts(uint32 issuerId) public view virtual returns (address[] memory) {
        return _issuerAccountList[issuerId];
    }

    /// @inheritdoc IIssuerRegistry
    function signingKey(uint32 issuerId, bytes32 publicKey)
        public
        view
        virtual
        returns (uint64 validFrom, uint64 validUntil)
    {
        Window memory window = _keys[issuerId][publicKey];
        return (window.validFrom, window.validUntil);
    }

    /// @inheritdoc IIssuerRegistry
    function credentialType(uint32 issuerId, bytes32 typeId)
        public
        view
        virtual
        returns (uint64 validFrom, uint64 validUntil)
    {
        Window memory window = _types[issuerId][typeId];
        return (window.validFrom, window.validUntil);
    }

    /// @inheritdoc IIssuerRegistry
    function isKeyValidAt(uint32 issuerId, bytes32 publicKey, uint64 t) public view virtual returns (bool) {
        return _isWithin(_keys[issuerId][publicKey], t);
    }

    /// @inheritdoc IIssuerRegistry
    function isAccreditedAt(uint32 issuerId, bytes32 typeId, uint64 t) public view virtual returns (bool) {
        return _isWithin(_types[issuerId][typeId], t);
    }

    /// @inheritdoc IIssuerRegistry
    function issuerStatusAt(uint32 issuerId, uint64 t) public view virtual returns (IssuerStatus) {
        return _issuerStatusAt(_issuers[issuerId], issuerId, t);
    }

    /// @dev The issuer registered with the DID whose keccak256 is `didHash`, or 0.
    function _issuerIdOfDidHash(bytes32 didHash) internal view returns (uint32) {
        return _issuerIdByDid[didHash];
    }

    /// @dev Whether `t` lies in one of the closed intervals `past` (in time order, disjoint):
    /// binary search for the last interval starting at or before `t`.
    function _inPastSuspension(IssuerSuspension[] storage past, uint64 t) private view returns (bool) {
        uint256 low = 0;
        uint256 high = past.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (past[mid].suspendedAt <= t) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low != 0 && t < past[low - 1].reinstatedAt;
    }

    /// @dev The issuer `account` acts for and that issuer's current status (0 and None if none).
    function _accountIssuer(address account) internal view virtual returns (uint32, IssuerStatus) {
        AccountData memory data = _accounts[account];
        return (data.issuerId, data.status);
    }

    /**
     * @dev What the verification view reads of issuer `issuerId`: its display name and DID, its
     * current status, and its status at `t1` and at `t2` ({issuerStatusAt}). The record's storage
     * location is hashed once for all of them (each {issuerStatusAt} call hashes it again).
     */
    function _issuerView(uint32 issuerId, uint64 t1, uint64 t2)
        internal
        view
        returns (string memory name, string memory did, IssuerStatus current, IssuerStatus at1, IssuerStatus at2)
    {
        IssuerData storage data = _issuers[issuerId];
        name = data.name;
        did = data.did;
        current = data.status;
        at1 = _issuerStatusAt(data, issuerId, t1);
        at2 = _issuerStatusAt(data, issuerId, t2);
    }

    /// @dev {issuerStatusAt} of issuer `issuerId`, whose record is `data`.
    function _issuerStatusAt(IssuerData storage data, uint32 issuerId, uint64 t) private view returns (IssuerStatus) {
        if (data.status == IssuerStatus.None || t < data.registeredAt) {
            return IssuerStatus.None;
        }
        if (data.removedAt != 0 && t >= data.removedAt) {
            return IssuerStatus.Removed;
        }
        uint64 suspendedAt = data.suspendedAt;
        if (suspendedAt == 0) {
            // Never suspended, so no past interval either: {suspendIssuer} keeps an interval only
            // when it finds an earlier suspendedAt, which it never resets to 0.
            return IssuerStatus.Active;
        }
        if (t >= suspendedAt) {
            return (data.suspensionOpen || t < data.reinstatedAt) ? IssuerStatus.Suspended : IssuerStatus.Active;
        }
        return _inPastSuspension(_pastIssuerSuspensions[issuerId], t) ? IssuerStatus.Suspended : IssuerStatus.Active;
    }

    /// @dev Assigns `account` to issuer `issuerId`, whose status is `status`.
    function _addAccount(uint32 issuerId, IssuerStatus status, address account) private {
        if (account == address(0)) {
            revert IssuerInvalidAccount(account);
        }
        uint32 current = _accounts[account].issuerId;
        // Why: 0 is the 'unassigned' sentinel of an issuer id; slither taints the whole storage
        // record because other fields of it hold block times.
        // slither-disable-next-line timestamp
        if (current != 0) {
            revert IssuerAccountAlreadyAssigned(account, current);
        }
        address[] storage list = _issuerAccountList[issuerId];
        // The callers bound the list to MAX_ACCOUNTS_PER_ISSUER (16), so the index fits a uint8.
        _accounts[account] = AccountData({issuerId: issuerId, status: status, index: uint8(list.length)});
        list.push(account);
        emit IssuerAccountAdded(issuerId, account);
    }

    /// @dev Sets the status of issuer `issuerId` and its copy in every account acting for it.
    function _setStatus(uint32 issuerId, IssuerStatus status) private {
        _issuers[issuerId].status = status;
        address[] storage list = _issuerAccountList[issuerId];
        uint256 length = list.length;
        for (uint256 i = 0; i < length; ++i) {
            _accounts[list[i]].status = status;
        }
    }

    /// @dev Fills a fresh `window` (validFrom 0 = now) after checking it; returns what was stored.
    function _openWindow(Window storage window, bytes32 id, uint64 validFrom, uint64 validUntil)
        private
        returns (uint64, uint64)
    {
        if (id == bytes32(0)) {
            revert IssuerInvalidId();
        }
        // Why: 0 means 'now' by the interface; the window bounds are compared to each other, no
        // miner can move them.
        // slither-disable-next-line timestamp
        if (validFrom == 0) {
            validFrom = uint64(block.timestamp);
        }
        // slither `timestamp` (same finding as the directive above): compares the two bounds of a
        // window given by governance with each other.
        if (validUntil != 0 && validUntil <= validFrom) {
            revert IssuerInvalidWindow(validFrom, validUntil);
        }
        window.validFrom = validFrom;
        window.validUntil = validUntil;
        return (validFrom, validUntil);
    }

    /// @dev The status of issuer `issuerId`; reverts if it is unknown or removed.
    function _requireNotRemoved(uint32 issuerId) private view returns (IssuerStatus status) {
        status = _requireKnown(issuerId);
        // Why: exact match on the status enum is intended; slither taints the whole storage record
        // because other fields of it hold block times.
        // slither-disable-next-line incorrect-equality,timestamp
        if (status == IssuerStatus.Removed) {
            revert IssuerAlreadyRemoved(issuerId);
        }
    }

    /// @dev The status of issuer `issuerId`; reverts with {IssuerUnknown} if it does not exist.
    function _requireKnown(uint32 issuerId) internal view returns (IssuerStatus status) {
        status = _issuers[issuerId].status;
        // Why: exact match on the status enum is intended; slither taints the whole storage record
        // because other fields of it hold block times.
        // slither-disable-next-line incorrect-equality,timestamp
        if (status == IssuerStatus.None) {
            revert IssuerUnknown(issuerId);
        }
    }

    /// @dev Whether `window` has ended by now.
    function _hasEnded(Window storage window) private view returns (bool) {
        uint64 validUntil = window.validUntil;
        // Why: windows are governance decisions spanning days to years; the seconds a block
        // producer can shift a timestamp (bounded by consensus, validators are governed on a
        // permissioned network) do not matter.
        // slither-disable-next-line timestamp
        return validUntil != 0 && validUntil <= block.timestamp;
    }

    /// @dev Whether `t` lies in `[validFrom, validUntil)` of a registered window.
    function _isWithin(Window memory window, uint64 t) internal pure returns (bool) {
        uint64 validFrom = window.validFrom;
        uint64 validUntil = window.validUntil;
        // Why: 0 is the 'unregistered' (validFrom) and 'open-ended' (validUntil) sentinel, not a
        // balance; the bounds are governance decisions compared with a caller's time in a view.
        // slither-disable-next-line incorrect-equality,timestamp
        return validFrom != 0 && t >= validFrom && (validUntil == 0 || t < validUntil);
    }

    /// @dev The key window of (`issuerId`, `publicKey`).
    function _keyWindow(uint32 issuerId, bytes32 publicKey) internal view returns (Window memory) {
        return _keys[issuerId][publicKey];
    }

    /// @dev The type window of (`issuerId`, `typeId`).
    function _typeWindow(uint32 issuerId, bytes32 typeId) internal view returns (Window memory) {
        return _types[issuerId][typeId];
    }
}
