// SPDX-License-Identifier: CC0-1.0
pragma solidity 0.8.30;

/// @title ERC-5192 Minimal Soulbound NFTs (interface id 0xb45a3c0e)
interface IERC5192 {
    /// @notice Emitted when the locking status is changed to locked (and at mint of a locked token).
    event Locked(uint256 tokenId);
    /// @notice Emitted when the locking status is changed to unlocked (and at mint of an unlocked token).
    event Unlocked(uint256 tokenId);

    /// @notice Returns the locking status of a token; reverts for tokens that do not exist.
    function locked(uint256 tokenId) external view returns (bool);
}
