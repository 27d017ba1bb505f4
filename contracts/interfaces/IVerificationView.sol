// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ICredentialAnchor} from "./ICredentialAnchor.sol";
import {IIssuerRegistry} from "./IIssuerRegistry.sol";

/**
 * @title IVerificationView
 * @notice The single read a verifier needs: everything the registry knows about one credential,
 * answered by one `eth_call`, together with the block it was read at.
 */
interface IVerificationView {
    /**
     * @notice The registry's answer about one credential.
     * @dev "At anchor time" means at `anchor.anchoredAt` (the block timestamp of {anchorRoot});
     * "as of" means at `asOf`. The issuer is the one registered with the credential's issuer DID
     * (`issuerId`, 0 when no issuer has that DID); the anchor is that issuer's anchor of the root.
     * When the root was never anchored by that issuer, `anchor.issuerId == 0` and every issuer,
     * key, type and status field is zero / false (`issuerId` still names the resolved issuer).
     * Every "as of" field is exact for any time: the registry keeps every suspension interval.
     */
    struct CredentialVerdict {
        /// The anchor record of the root (issuerId 0 = never anchored).
        ICredentialAnchor.AnchorRecord anchor;
        /// The anchoring issuer's display name and DID.
        string issuerName;
        string issuerDid;
        /// The anchoring issuer's status when read, and at anchor time.
        IIssuerRegistry.IssuerStatus issuerStatus;
        IIssuerRegistry.IssuerStatus issuerStatusAtAnchor;
        /// The signing key: registered to the anchoring issuer, its window, valid at anchor time.
        bool keyRegistered;
        uint64 keyValidFrom;
        uint64 keyValidUntil;
        bool keyValidAtAnchor;
        /// The credential type: granted to the anchoring issuer, its window, accredited at anchor time.
        bool typeGranted;
        uint64 typeValidFrom;
        uint64 typeValidUntil;
        bool typeAccreditedAtAnchor;
        /// The credential's status in the anchoring issuer's namespace, as of `asOf`.
        bool credentialRevoked;
        bool credentialSuspended;
        /// The raw status record behind those two flags.
        ICredentialAnchor.CredentialStatusRecord credentialStatus;
        /// Whether the whole batch was revoked as of `asOf`.
        bool batchRevoked;
        /// The time the answer is for (the `asOf` argument, or the block timestamp when it was 0).
        uint64 asOf;
        /// The block the answer was read at.
        uint256 blockNumber;
        uint256 blockTimestamp;
        /// The issuer registered with the DID whose hash was asked (0 = no such issuer).
        uint32 issuerId;
        /// Who had revoked the credential as of `asOf` (`None` when not revoked then).
        ICredentialAnchor.StatusActor credentialRevokedBy;
        /// Who had suspended the credential as of `asOf` (`None` when not suspended then), and the
        /// start of that suspension interval (0 when not suspended then; it may be an earlier
        /// interval than the one in `credentialStatus`).
        ICredentialAnchor.StatusActor credentialSuspendedBy;
        uint64 credentialSuspendedSince;
        /// The anchoring issuer's status as of `asOf`.
        IIssuerRegistry.IssuerStatus issuerStatusAsOf;
    }

    /**
     * @notice Everything about the credential `credentialHash` of the issuer whose DID hashes to
     * `issuerDidHash` (`keccak256` of the DID's UTF-8 bytes, the credential's `issuer`), anchored
     * by that issuer under `root`, signed with the Ed25519 key `publicKey`, of type `typeId`, as of
     * time `asOf` (0 = now).
     * @dev Checks nothing itself and never reverts on unknown values: the verifier decides. It does
     * not check that `credentialHash` is a leaf of `root`: the verifier recomputes the root from
     * the inclusion proof. Only the named issuer's anchor of `root` counts, so another issuer
     * anchoring the same root changes nothing.
     */
    function verifyCredential(
        bytes32 issuerDidHash,
        bytes32 root,
        bytes32 credentialHash,
        bytes32 publicKey,
        bytes32 typeId,
        uint64 asOf
    ) external view returns (CredentialVerdict memory);
}
