// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {MembershipRegistry} from "../src/MembershipRegistry.sol";
import {Roles} from "../src/Roles.sol";

/// @title LaurelWiring
/// @notice Which AccessManager role may call which restricted selector; shared by Deploy.s.sol and the tests.
/// @dev Must run while the caller holds the AccessManager ADMIN role with no execution delay.
library LaurelWiring {
    /// @notice Labels the roles and makes GUARDIAN the guardian (canceller) of GOVERNOR and RECOVERY.
    function wireRoles(AccessManager m) internal {
        m.labelRole(Roles.GOVERNOR, "GOVERNOR");
        m.labelRole(Roles.RECOVERY, "RECOVERY");
        m.labelRole(Roles.PAUSER, "PAUSER");
        m.labelRole(Roles.GUARDIAN, "GUARDIAN");
        m.setRoleGuardian(Roles.GOVERNOR, Roles.GUARDIAN);
        m.setRoleGuardian(Roles.RECOVERY, Roles.GUARDIAN);
        m.setRoleGuardian(Roles.PAUSER, Roles.GUARDIAN);
    }

    /// @notice Routes the CredentialRegistry's restricted selectors to their roles.
    function wireCredentials(AccessManager m, address registry) internal {
        bytes4[] memory gov = new bytes4[](6);
        gov[0] = CredentialRegistry.defineType.selector;
        gov[1] = CredentialRegistry.updateType.selector;
        gov[2] = CredentialRegistry.setTypeRoles.selector;
        gov[3] = CredentialRegistry.unpauseType.selector;
        gov[4] = CredentialRegistry.unpause.selector;
        gov[5] = CredentialRegistry.setBaseURI.selector;
        m.setTargetFunctionRole(registry, gov, Roles.GOVERNOR);

        bytes4[] memory pauser = new bytes4[](2);
        pauser[0] = CredentialRegistry.pauseType.selector;
        pauser[1] = CredentialRegistry.pause.selector;
        m.setTargetFunctionRole(registry, pauser, Roles.PAUSER);

        bytes4[] memory recovery = new bytes4[](1);
        recovery[0] = CredentialRegistry.recover.selector;
        m.setTargetFunctionRole(registry, recovery, Roles.RECOVERY);
    }

    /// @notice Routes the MembershipRegistry's restricted selectors to their roles.
    function wireMemberships(AccessManager m, address registry) internal {
        bytes4[] memory gov = new bytes4[](6);
        gov[0] = MembershipRegistry.defineTier.selector;
        gov[1] = MembershipRegistry.updateTier.selector;
        gov[2] = MembershipRegistry.setTierManager.selector;
        gov[3] = MembershipRegistry.unpauseTier.selector;
        gov[4] = MembershipRegistry.unpause.selector;
        gov[5] = MembershipRegistry.setBaseURI.selector;
        m.setTargetFunctionRole(registry, gov, Roles.GOVERNOR);

        bytes4[] memory pauser = new bytes4[](2);
        pauser[0] = MembershipRegistry.pauseTier.selector;
        pauser[1] = MembershipRegistry.pause.selector;
        m.setTargetFunctionRole(registry, pauser, Roles.PAUSER);
    }
}
