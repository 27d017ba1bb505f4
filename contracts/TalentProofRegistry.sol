// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {VerificationView} from "./VerificationView.sol";
import {Governance} from "./Governance.sol";

/**
 * @title TalentProofRegistry
 * @notice The one deployed TalentProof contract: governance, the issuer registry, anchoring of
 * credential batches with revocation and suspension, and the verification view.
 * @dev Not upgradeable. Composed of the abstract modules {Governance}, {IssuerRegistry},
 * {CredentialAnchor} and {VerificationView}; no cross-contract calls, so anchoring stays cheap.
 * The deployer becomes the admin and the first governor.
 */
contract TalentProofRegistry is VerificationView {
    constructor() Governance(msg.sender) {}
}
