// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {MembershipRegistry} from "../src/MembershipRegistry.sol";
import {Roles} from "../src/Roles.sol";
import {Deploy} from "../script/Deploy.s.sol";

/// @notice The deploy script's wiring and record, on a public-chain configuration and a dev one.
/// @dev A test runs the script without a broadcast, so the script contract itself makes the calls: it is the
///      deployer. Only test_config_delaysFromEnvironment reads or sets LAUREL_* environment variables (the
///      environment is shared by tests running in parallel); the others build their Config by hand.
contract DeployTest is Test {
    uint256 internal constant T0 = 1_750_000_000;

    Deploy internal script;
    address internal deployer;
    address internal separateAdmin = makeAddr("separateAdmin");
    address internal newcomer = makeAddr("newcomer");
    address internal newcomer2 = makeAddr("newcomer2");

    function setUp() public {
        vm.warp(T0);
        vm.chainId(8453);
        script = new Deploy();
        deployer = address(script);
    }

    /// The defaults of a public chain (2 d policy, 3 d recovery, 2 d admin, 3 d target admin), every role `holder`.
    function _publicConfig(address admin, address holder) internal view returns (Deploy.Config memory c) {
        c.deployer = deployer;
        c.admin = admin;
        c.governor = holder;
        c.pauser = holder;
        c.recovery = holder;
        c.guardian = holder;
        c.policyDelay = 2 days;
        c.recoveryDelay = 3 days;
        c.adminDelay = 2 days;
        c.targetAdminDelay = 3 days;
        c.baseURI = "https://laurel.test/v1/metadata/8453/";
        c.membershipBaseURI = "https://laurel.test/v1/membership-metadata/8453/";
    }

    function _recoverSelector() internal pure returns (bytes4[] memory sel) {
        sel = new bytes4[](1);
        sel[0] = CredentialRegistry.recover.selector;
    }

    function _reroute(Deploy.Deployment memory d) internal pure returns (bytes memory) {
        return abi.encodeCall(AccessManager.setTargetFunctionRole, (address(d.credentials), _recoverSelector(), 0));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Audit finding 1: a deployment without LAUREL_ADMIN left the deployer ADMIN with no delay
    // ------------------------------------------------------------------------------------------------------------

    /// The deployer that stays ADMIN gets the recorded admin delay: re-routing `recover` to ADMIN (and then
    /// calling it) must be scheduled and wait, instead of happening in one transaction.
    function test_deploy_singleKeyAdminHasTheRecordedDelay() public {
        Deploy.Deployment memory d = script.deploy(_publicConfig(deployer, deployer));
        AccessManager m = d.manager;
        (bool isAdmin, uint32 delay) = m.hasRole(Roles.ADMIN, deployer);
        assertTrue(isAdmin);
        assertEq(delay, 2 days, "the deployer-admin has the admin delay");

        // The finding's attack: one key re-routes recover to ADMIN and calls it at once. Both now need a schedule.
        bytes memory reroute = _reroute(d);
        bytes32 op = m.hashOperation(deployer, address(m), reroute);
        vm.prank(deployer);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, op));
        m.setTargetFunctionRole(address(d.credentials), _recoverSelector(), Roles.ADMIN);
        // Within the first five days the target admin delay is not yet in force: the admin delay applies.
        vm.prank(deployer);
        (, uint32 nonce) = m.schedule(address(m), reroute, 0);
        assertEq(m.getSchedule(op), T0 + 2 days);
        vm.prank(deployer);
        m.cancel(deployer, address(m), reroute);
        // From then on re-routing waits the target admin delay (3 days, the larger of the two).
        vm.warp(T0 + 5 days);
        vm.prank(deployer);
        (, nonce) = m.schedule(address(m), reroute, 0);
        assertEq(nonce, 2);
        assertEq(m.getSchedule(op), T0 + 5 days + 3 days);
        vm.warp(T0 + 8 days);
        vm.prank(deployer);
        m.execute(address(m), reroute);
        assertEq(m.getTargetFunctionRole(address(d.credentials), CredentialRegistry.recover.selector), Roles.ADMIN);
        // Even re-routed, ADMIN's own execution delay applies to recover.
        (bool immediate, uint32 wait) = m.canCall(deployer, address(d.credentials), CredentialRegistry.recover.selector);
        assertFalse(immediate);
        assertEq(wait, 2 days);
    }

    /// A separate admin: the deployer leaves, the admin has the admin delay; both registries have the target
    /// admin delay (pending until the setback), GOVERNOR and RECOVERY their grant delays.
    function test_deploy_separateAdminAndTargetAdminDelays() public {
        Deploy.Deployment memory d = script.deploy(_publicConfig(separateAdmin, separateAdmin));
        AccessManager m = d.manager;
        (bool deployerAdmin,) = m.hasRole(Roles.ADMIN, deployer);
        assertFalse(deployerAdmin, "the deployer renounced ADMIN");
        (bool isAdmin, uint32 delay) = m.hasRole(Roles.ADMIN, separateAdmin);
        assertTrue(isAdmin);
        assertEq(delay, 2 days);
        (, uint32 gov) = m.hasRole(Roles.GOVERNOR, separateAdmin);
        (, uint32 rec) = m.hasRole(Roles.RECOVERY, separateAdmin);
        assertEq(gov, 2 days);
        assertEq(rec, 3 days);
        vm.warp(T0 + 5 days);
        assertEq(m.getTargetAdminDelay(address(d.credentials)), 3 days);
        assertEq(m.getTargetAdminDelay(address(d.memberships)), 3 days);
        assertEq(m.getRoleGrantDelay(Roles.GOVERNOR), 2 days);
        assertEq(m.getRoleGrantDelay(Roles.RECOVERY), 3 days);
    }

    /// A dev chain keeps its zero delays: the deployer stays ADMIN with no delay and nothing is pending.
    function test_deploy_devChainHasNoDelays() public {
        Deploy.Config memory c = _publicConfig(deployer, deployer);
        (c.policyDelay, c.recoveryDelay, c.adminDelay, c.targetAdminDelay) = (0, 0, 0, 0);
        Deploy.Deployment memory d = script.deploy(c);
        (bool isAdmin, uint32 delay) = d.manager.hasRole(Roles.ADMIN, deployer);
        assertTrue(isAdmin);
        assertEq(delay, 0);
        assertEq(script.delaysEffectiveAt(c, d.manager, T0), T0, "nothing pending");
        vm.prank(deployer);
        d.manager.setTargetFunctionRole(address(d.credentials), _recoverSelector(), Roles.RECOVERY);
    }

    /// The record says what the manager holds: the admin delay read back from the manager, the target admin delay,
    /// and when the pending delays come into force.
    function test_write_recordIsTruthful() public {
        Deploy.Config memory c = _publicConfig(deployer, deployer);
        Deploy.Deployment memory d = script.deploy(c);
        // Matches the .gitignore'd scratch pattern of scripts/deploy.
        string memory path = "../deployments/.deploy.forge-test-record.json";
        script.write(c, d, path);
        string memory json = vm.readFile(path);
        vm.removeFile(path);
        (, uint32 actual) = d.manager.hasRole(Roles.ADMIN, deployer);
        assertEq(vm.parseJsonUint(json, ".delays.admin"), actual);
        assertEq(actual, 2 days);
        assertEq(vm.parseJsonUint(json, ".delays.policy"), 2 days);
        assertEq(vm.parseJsonUint(json, ".delays.recovery"), 3 days);
        assertEq(vm.parseJsonUint(json, ".delays.targetAdmin"), 3 days);
        assertEq(vm.parseJsonUint(json, ".minSetback"), 5 days);
        assertEq(vm.parseJsonUint(json, ".delaysEffectiveAt"), T0 + 5 days);
        assertEq(vm.parseJsonAddress(json, ".roles.admin"), deployer);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Audit finding 2: OZ AccessManager applies a grant delay set at deploy only after minSetback() (5 days)
    // ------------------------------------------------------------------------------------------------------------

    /// Documents the real behaviour: for five days after the deployment a GOVERNOR or RECOVERY grant takes effect
    /// at once, and a registry's selectors can be re-routed without the target admin delay; from then on both
    /// delays hold. The admin here has no execution delay of its own, to show the grant delay alone.
    function test_minSetback_grantAndTargetAdminDelaysPendingForFiveDays() public {
        Deploy.Config memory c = _publicConfig(separateAdmin, separateAdmin);
        c.adminDelay = 0;
        Deploy.Deployment memory d = script.deploy(c);
        AccessManager m = d.manager;
        assertEq(m.minSetback(), 5 days);
        assertEq(script.delaysEffectiveAt(c, m, T0), T0 + 5 days);

        // Day 0 to just before day 5: the grant delay reads 0, and a grant makes a member at once.
        vm.warp(T0 + 5 days - 1);
        assertEq(m.getRoleGrantDelay(Roles.GOVERNOR), 0);
        assertEq(m.getRoleGrantDelay(Roles.RECOVERY), 0);
        assertEq(m.getTargetAdminDelay(address(d.credentials)), 0);
        vm.startPrank(separateAdmin);
        m.grantRole(Roles.GOVERNOR, newcomer, 2 days);
        m.grantRole(Roles.RECOVERY, newcomer, 3 days);
        (bool gov,) = m.hasRole(Roles.GOVERNOR, newcomer);
        (bool rec,) = m.hasRole(Roles.RECOVERY, newcomer);
        assertTrue(gov && rec, "member at once: the grant delay is not in force yet");
        // ... and re-routing a selector needs no schedule.
        m.setTargetFunctionRole(address(d.credentials), _recoverSelector(), Roles.RECOVERY);
        vm.stopPrank();

        // Day 5: both delays are in force.
        vm.warp(T0 + 5 days);
        assertEq(m.getRoleGrantDelay(Roles.GOVERNOR), 2 days);
        assertEq(m.getRoleGrantDelay(Roles.RECOVERY), 3 days);
        assertEq(m.getTargetAdminDelay(address(d.credentials)), 3 days);
        vm.prank(separateAdmin);
        m.grantRole(Roles.GOVERNOR, newcomer2, 2 days);
        (gov,) = m.hasRole(Roles.GOVERNOR, newcomer2);
        assertFalse(gov, "the grant delay holds");
        vm.warp(T0 + 7 days);
        (gov,) = m.hasRole(Roles.GOVERNOR, newcomer2);
        assertTrue(gov);
        bytes32 op = m.hashOperation(separateAdmin, address(m), _reroute(d));
        vm.prank(separateAdmin);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, op));
        m.setTargetFunctionRole(address(d.credentials), _recoverSelector(), Roles.ADMIN);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Delays from the environment: out of range is an error naming the variable (it was truncated to 32 bits)
    // ------------------------------------------------------------------------------------------------------------

    function test_checkedDelay_rejectsWhatDoesNotFit() public {
        assertEq(script.checkedDelay("X", type(uint32).max), type(uint32).max);
        vm.expectRevert(abi.encodeWithSelector(Deploy.DelayOutOfRange.selector, "X", uint256(1) << 32));
        script.checkedDelay("X", uint256(1) << 32);
        // An unset variable gives the default.
        assertEq(script.envDelay("LAUREL_TEST_UNSET_DELAY", 3 days), 3 days);
    }

    /// The only test that touches the LAUREL_* delay variables (see the contract's note).
    function test_config_delaysFromEnvironment() public {
        string[4] memory names =
            ["LAUREL_POLICY_DELAY", "LAUREL_RECOVERY_DELAY", "LAUREL_ADMIN_DELAY", "LAUREL_TARGET_ADMIN_DELAY"];
        bool clean = true;
        for (uint256 i; i < 4; ++i) {
            if (vm.envExists(names[i])) clean = false;
        }
        if (vm.envExists("LAUREL_ADMIN")) clean = false;
        if (clean) {
            // Public-chain defaults; the target admin delay defaults to the larger of the policy and recovery delays.
            Deploy.Config memory c = script.config(deployer);
            assertEq(c.admin, deployer);
            assertEq(c.policyDelay, 2 days);
            assertEq(c.recoveryDelay, 3 days);
            assertEq(c.adminDelay, 2 days);
            assertEq(c.targetAdminDelay, 3 days);
            vm.chainId(31337);
            c = script.config(deployer);
            assertEq(c.policyDelay + c.recoveryDelay + c.adminDelay + c.targetAdminDelay, 0, "dev chain: no delays");
            vm.chainId(8453);
        } else {
            emit log("LAUREL_* variables set in the environment: defaults not checked");
        }
        vm.setEnv("LAUREL_POLICY_DELAY", "100");
        vm.setEnv("LAUREL_RECOVERY_DELAY", "200");
        vm.setEnv("LAUREL_ADMIN_DELAY", "300");
        vm.setEnv("LAUREL_TARGET_ADMIN_DELAY", "400");
        Deploy.Config memory e = script.config(deployer);
        assertEq(e.policyDelay, 100);
        assertEq(e.recoveryDelay, 200);
        assertEq(e.adminDelay, 300);
        assertEq(e.targetAdminDelay, 400);
        // 2^32 + 5 used to become 5 seconds; now each variable's overflow is refused by name.
        for (uint256 i; i < 4; ++i) {
            vm.setEnv(names[i], "4294967301");
            vm.expectRevert(abi.encodeWithSelector(Deploy.DelayOutOfRange.selector, names[i], uint256(4294967301)));
            script.config(deployer);
            vm.setEnv(names[i], "4294967295");
            script.config(deployer);
        }
    }
}
