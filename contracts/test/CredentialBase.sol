// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {Roles} from "../src/Roles.sol";
import {LaurelWiring} from "../script/Wiring.sol";

/// @notice Shared setup: a real AccessManager wired like the deploy script, a registry and a few actors.
abstract contract CredentialBase is Test {
    AccessManager internal manager;
    CredentialRegistry internal reg;

    address internal admin = address(this);
    address internal governor = makeAddr("governor");
    address internal pauser = makeAddr("pauser");
    address internal recovery = makeAddr("recovery");
    address internal guardian = makeAddr("guardian");
    address internal issuer = makeAddr("issuer");
    address internal revoker = makeAddr("revoker");
    address internal outsider = makeAddr("outsider");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    uint16 internal constant ALL_FLAGS = 63;

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        manager = new AccessManager(admin);
        reg = new CredentialRegistry(address(manager), "Laurel Credentials", "LAUREL", "https://laurel.test/v1/metadata/31337/");
        LaurelWiring.wireRoles(manager);
        LaurelWiring.wireCredentials(manager, address(reg));
        manager.grantRole(Roles.GOVERNOR, governor, 0);
        manager.grantRole(Roles.PAUSER, pauser, 0);
        manager.grantRole(Roles.RECOVERY, recovery, 0);
        manager.grantRole(Roles.GUARDIAN, guardian, 0);
    }

    /// A plain policy: one-year validity, two-year maximum, every flag on, no cap, quota or prerequisite.
    function _policy(string memory name) internal pure returns (CredentialRegistry.TypePolicy memory p) {
        p.name = name;
        p.defaultValidity = 365 days;
        p.maxValidity = 730 days;
        p.renewalWindow = 30 days;
        p.flags = ALL_FLAGS;
    }

    /// Defines a type as the governor and grants issuer/revoker their roles on it.
    function _defineType(CredentialRegistry.TypePolicy memory p) internal returns (uint256 typeId) {
        vm.prank(governor);
        typeId = reg.defineType(p);
        vm.startPrank(governor);
        reg.setTypeRoles(typeId, issuer, reg.ROLE_ISSUER());
        reg.setTypeRoles(typeId, revoker, reg.ROLE_REVOKER());
        vm.stopPrank();
    }

    function _issue(uint256 typeId, address holder) internal returns (uint256 tokenId) {
        vm.prank(issuer);
        reg.issue(typeId, holder, 0, keccak256(abi.encode(holder, typeId)));
        tokenId = reg.tokenIdOf(holder, typeId);
    }

    /// `n` distinct fresh holders derived from `seed`.
    function _holders(uint256 n, uint256 seed) internal pure returns (address[] memory h) {
        h = new address[](n);
        for (uint256 i; i < n; ++i) {
            h[i] = address(uint160(uint256(keccak256(abi.encode(seed, i)))));
        }
    }

    function _entries(address[] memory holders, uint40 expiresAt) internal pure returns (uint256[] memory e) {
        e = new uint256[](holders.length);
        for (uint256 i; i < holders.length; ++i) {
            e[i] = uint256(uint160(holders[i])) | (uint256(expiresAt) << 160);
        }
    }

    function _evidence(uint256 n, uint256 seed) internal pure returns (bytes32[] memory ev) {
        ev = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            ev[i] = keccak256(abi.encode("evidence", seed, i));
        }
    }
}
