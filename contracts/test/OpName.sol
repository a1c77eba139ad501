// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice The text of an operation label kept as a left-aligned `bytes32` (the invariant handlers' counters).
function opName(bytes32 op) pure returns (string memory) {
    uint256 len;
    while (len < 32 && op[len] != 0) ++len;
    bytes memory b = new bytes(len);
    for (uint256 i; i < len; ++i) {
        b[i] = op[i];
    }
    return string(b);
}
