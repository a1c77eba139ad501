// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ICredentialVerifier
/// @notice The one-call check employers (and the MembershipRegistry's eligibility rules) use.
interface ICredentialVerifier {
    /// @notice True iff `holder` holds a credential of `typeId` that is issued, not revoked, not suspended
    ///         and not past its expiry.
    function isValid(address holder, uint256 typeId) external view returns (bool);
    /// @notice The token id of `holder`'s credential of `typeId` (it is derived, so it exists for any pair).
    function tokenIdOf(address holder, uint256 typeId) external pure returns (uint256);
    /// @notice The ERC-721 contract that holds the tokens of `typeId`.
    function collectionOf(uint256 typeId) external view returns (address);
}
