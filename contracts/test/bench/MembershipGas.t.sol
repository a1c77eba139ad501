// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CredentialBase} from "../CredentialBase.sol";
import {MembershipRegistry} from "../../src/MembershipRegistry.sol";
import {LaurelWiring} from "../../script/Wiring.sol";

/// @notice Gas of Laurel's membership operations, one measured transaction per test (run with --isolate).
///         Eligibility is checked against the real CredentialRegistry.
contract MembershipGasBench is CredentialBase {
    MembershipRegistry internal mem;
    address internal tierManager = makeAddr("tierManager");
    uint256 internal plainTier;
    uint256 internal gatedTier;
    uint256 internal credType;

    function setUp() public override {
        super.setUp();
        mem = new MembershipRegistry(address(manager), reg, "https://laurel.test/v1/membership/31337/");
        LaurelWiring.wireMemberships(manager, address(mem));
        credType = _defineType(_policy("Graduate"));
        vm.startPrank(governor);
        plainTier = mem.defineTier(_tier("Community", new uint256[](0)));
        uint256[] memory elig = new uint256[](1);
        elig[0] = credType;
        gatedTier = mem.defineTier(_tier("Alumni", elig));
        mem.setTierManager(plainTier, tierManager, true);
        mem.setTierManager(gatedTier, tierManager, true);
        vm.stopPrank();
    }

    function _tier(string memory name, uint256[] memory elig) internal pure returns (MembershipRegistry.TierPolicy memory p) {
        p.name = name;
        p.duration = 365 days;
        p.holderRenewable = true;
        p.eligibility = elig;
    }

    function test_gas_membership_grant_batch100() public {
        address[] memory h = _holders(100, 11);
        vm.prank(tierManager);
        mem.grantBatch(plainTier, h);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(mem.isActive(h[99], plainTier));
        emit log_named_uint("membership_grant_batch100_per_item", (used - 21_000) / 100);
    }

    function test_gas_membership_grant_eligible_batch100() public {
        address[] memory h = _holders(100, 12);
        vm.prank(issuer);
        reg.issueBatch(credType, _entries(h, 0), _evidence(100, 12));
        vm.prank(tierManager);
        mem.grantBatch(gatedTier, h);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(mem.isActive(h[0], gatedTier));
        emit log_named_uint("membership_grant_eligible_batch100_per_item", (used - 21_000) / 100);
    }

    function test_gas_membership_renew() public {
        vm.prank(tierManager);
        mem.grant(plainTier, alice);
        vm.warp(block.timestamp + 300 days);
        uint256 tokenId = mem.tokenIdOf(alice, plainTier);
        vm.prank(tierManager);
        mem.renewSubscription(tokenId, 365 days);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertEq(mem.expiresAt(tokenId), uint64(block.timestamp - 300 days + 730 days));
        emit log_named_uint("membership_renew_single_tx", used);
    }

    /// A global pause rewrites every manager word's copy of the pause flag; measured at the MAX_MANAGERS cap.
    function test_gas_membership_pause_max_managers() public {
        uint256 max = mem.MAX_MANAGERS();
        address[] memory accounts = _holders(max, 98);
        vm.startPrank(governor);
        for (uint256 i; i < max - 2; ++i) {
            mem.setTierManager(i % 2 == 0 ? plainTier : gatedTier, accounts[i], true);
        }
        vm.stopPrank();
        assertEq(mem.managers().length, max);
        vm.prank(pauser);
        mem.pause();
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(mem.paused());
        emit log_named_uint("membership_pause_256_managers_tx", used);
    }

    function test_gas_membership_renew_by_holder() public {
        vm.prank(tierManager);
        mem.grant(plainTier, alice);
        vm.warp(block.timestamp + 300 days);
        uint256 tokenId = mem.tokenIdOf(alice, plainTier);
        vm.prank(alice);
        mem.renewSubscription(tokenId, 365 days);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(mem.isActive(alice, plainTier));
        emit log_named_uint("membership_renew_by_holder_single_tx", used);
    }
}
