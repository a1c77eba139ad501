// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title OZSoulbound
/// @notice Gas baseline: a plain OpenZeppelin 5 ERC-721 made soulbound, with a per-token expiry.
/// @dev Deliberately minimal (no access control, no ERC-5192 events) so it is a fair lower bound for an OZ design.
contract OZSoulbound is ERC721 {
    /// @notice Thrown on any transfer between two non-zero addresses.
    error Soulbound();

    /// @notice Expiry timestamp of each token id.
    mapping(uint256 tokenId => uint64) public expiry;

    /// @notice Next token id to mint (starts at 1 so the counter write is a non-zero to non-zero update).
    uint256 public nextId = 1;

    /// @notice Deploys the baseline collection.
    constructor() ERC721("OZ Soulbound Baseline", "OZSB") {}

    /// @notice Mints one token per holder with sequential ids and stores each token's expiry.
    function issueBatch(address[] calldata holders, uint64[] calldata expiries) external {
        uint256 n = holders.length;
        require(n == expiries.length, "length");
        uint256 id = nextId;
        for (uint256 i; i < n; ++i) {
            _mint(holders[i], id);
            expiry[id] = expiries[i];
            unchecked {
                ++id;
            }
        }
        nextId = id;
    }

    /// @dev Mints and burns pass; any transfer between two non-zero addresses reverts.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0)) revert Soulbound();
    }
}

/// @title FloorBatch
/// @notice Gas floor: the least a batch issue can do, one fresh packed storage slot plus one ERC-721 Transfer log per holder.
contract FloorBatch {
    /// @notice The ERC-721 Transfer event, emitted once per holder.
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    /// @notice Packed record per holder: token id in the low 192 bits, expiry in the high 64 bits.
    mapping(address holder => uint256) public record;

    /// @notice Next token id to assign (starts at 1 so the counter write is a non-zero to non-zero update).
    uint256 public nextId = 1;

    /// @notice Writes one packed slot per holder and emits a mint Transfer for it.
    function issueBatch(address[] calldata holders, uint64[] calldata expiries) external {
        uint256 n = holders.length;
        require(n == expiries.length, "length");
        uint256 id = nextId;
        for (uint256 i; i < n; ++i) {
            address holder = holders[i];
            record[holder] = (uint256(expiries[i]) << 192) | id;
            emit Transfer(address(0), holder, id);
            unchecked {
                ++id;
            }
        }
        nextId = id;
    }
}
