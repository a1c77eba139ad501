// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Roles
/// @notice AccessManager role ids shared by Laurel's registries and deploy script.
/// @dev Per-type issuer/revoker roles and per-tier manager roles are kept by the registries themselves
///      (AccessManager roles are per function, not per argument); granting them is a governed call.
library Roles {
    /// @notice AccessManager's built-in admin role: manages every other role and delay.
    uint64 internal constant ADMIN = 0;
    /// @notice Policy changes: define/update credential types and tiers, grant per-type roles, base URIs.
    uint64 internal constant GOVERNOR = 1;
    /// @notice Governed recovery: moves a lost wallet's credentials to a new address.
    uint64 internal constant RECOVERY = 2;
    /// @notice Emergency stop: may pause (never unpause) a type, a tier or a whole registry.
    uint64 internal constant PAUSER = 3;
    /// @notice Guardian of GOVERNOR and RECOVERY: may cancel their scheduled operations.
    uint64 internal constant GUARDIAN = 4;
}
