// SPDX-License-Identifier: CC0-1.0
pragma solidity 0.8.30;

/// @title ERC-5643 Subscription NFTs (interface id 0x8c65f84d)
interface IERC5643 {
    /// @notice Emitted when a subscription's expiration date changes.
    event SubscriptionUpdate(uint256 indexed tokenId, uint64 expiration);

    /// @notice Renews the subscription of a token by `duration` seconds.
    function renewSubscription(uint256 tokenId, uint64 duration) external payable;
    /// @notice Cancels the subscription of a token.
    function cancelSubscription(uint256 tokenId) external payable;
    /// @notice Returns the expiration date of the subscription.
    function expiresAt(uint256 tokenId) external view returns (uint64);
    /// @notice Returns whether the subscription can be renewed.
    function isRenewable(uint256 tokenId) external view returns (bool);
}
