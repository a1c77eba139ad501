// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script} from "forge-std/Script.sol";
import {console} from "forge-std/console.sol";
import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {MembershipRegistry} from "../src/MembershipRegistry.sol";
import {Roles} from "../src/Roles.sol";
import {LaurelWiring} from "./Wiring.sol";

/// @title Deploy
/// @notice Deploys Laurel (AccessManager, CredentialRegistry, MembershipRegistry) to any RPC and writes deployments/<chainId>.json.
/// @dev Configuration comes from the environment (the key never from argv):
///      LAUREL_DEPLOYER_KEY   private key that pays for and signs the deployment (required)
///      LAUREL_ADMIN          AccessManager admin (default: the deployer, which then keeps ADMIN with LAUREL_ADMIN_DELAY)
///      LAUREL_GOVERNOR       policy changes (default: admin)    LAUREL_PAUSER    emergency pause (default: admin)
///      LAUREL_RECOVERY       wallet recovery (default: admin)   LAUREL_GUARDIAN  cancels scheduled ops (default: admin)
///      LAUREL_POLICY_DELAY   seconds GOVERNOR calls wait (default 0 on chain 31337, else 2 days)
///      LAUREL_RECOVERY_DELAY seconds RECOVERY calls wait (default 0 on chain 31337, else 3 days)
///      LAUREL_ADMIN_DELAY    seconds ADMIN calls wait, whoever holds ADMIN after the deployment, the deployer
///                            included (default 0 on 31337, else 2 days)
///      LAUREL_TARGET_ADMIN_DELAY seconds re-routing a registry's selectors (setTargetFunctionRole, setTargetClosed,
///                            updateAuthority) waits (default 0 on 31337, else the larger of the policy and recovery
///                            delays)
///      Every delay must fit in 32 bits (seconds); a larger value is refused with DelayOutOfRange naming the variable.
///      Grant delays and target admin delays set here take effect only AccessManager.minSetback() (5 days) after the
///      deployment (OpenZeppelin); the record's `delaysEffectiveAt` says when, and docs/contracts.md what holds before.
///      LAUREL_BASE_URI       credential metadata base URI (default http://127.0.0.1:8787/v1/metadata/<chainId>/)
///      LAUREL_MEMBERSHIP_BASE_URI membership metadata base URI (default http://127.0.0.1:8787/v1/membership-metadata/<chainId>/)
///      LAUREL_DEPLOYMENT_OUT output file (default ../deployments/<chainId>.json, relative to contracts/)
contract Deploy is Script {
    /// @notice Who holds which role, and the delays; filled from the environment by {config}.
    struct Config {
        address deployer;
        address admin;
        address governor;
        address pauser;
        address recovery;
        address guardian;
        uint32 policyDelay;
        uint32 recoveryDelay;
        uint32 adminDelay;
        uint32 targetAdminDelay;
        string baseURI;
        string membershipBaseURI;
    }

    /// @notice A delay variable held a value that does not fit in 32 bits (AccessManager delays are uint32 seconds).
    error DelayOutOfRange(string variable, uint256 value);

    /// @notice What {deploy} created.
    struct Deployment {
        AccessManager manager;
        CredentialRegistry credentials;
        MembershipRegistry memberships;
        uint256 deployBlock;
    }

    /// @notice Entry point for `forge script script/Deploy.s.sol --broadcast`.
    function run() external returns (Deployment memory d) {
        uint256 key = vm.envUint("LAUREL_DEPLOYER_KEY");
        Config memory c = config(vm.addr(key));
        vm.startBroadcast(key);
        d = deploy(c);
        vm.stopBroadcast();
        if (block.chainid != 31337 && c.adminDelay == 0) {
            console.log("Warning: LAUREL_ADMIN_DELAY is 0: ADMIN can re-route any selector and call it at once.");
        }
        explain(c, d);
        string memory out = vm.envOr(
            "LAUREL_DEPLOYMENT_OUT", string.concat("../deployments/", vm.toString(block.chainid), ".json")
        );
        write(c, d, out);
    }

    /// @notice Reads the configuration from the environment, with the defaults documented above.
    function config(address deployer) public view returns (Config memory c) {
        bool dev = block.chainid == 31337;
        c.deployer = deployer;
        c.admin = vm.envOr("LAUREL_ADMIN", deployer);
        c.governor = vm.envOr("LAUREL_GOVERNOR", c.admin);
        c.pauser = vm.envOr("LAUREL_PAUSER", c.admin);
        c.recovery = vm.envOr("LAUREL_RECOVERY", c.admin);
        c.guardian = vm.envOr("LAUREL_GUARDIAN", c.admin);
        c.policyDelay = envDelay("LAUREL_POLICY_DELAY", dev ? uint256(0) : 2 days);
        c.recoveryDelay = envDelay("LAUREL_RECOVERY_DELAY", dev ? uint256(0) : 3 days);
        c.adminDelay = envDelay("LAUREL_ADMIN_DELAY", dev ? uint256(0) : 2 days);
        c.targetAdminDelay = envDelay(
            "LAUREL_TARGET_ADMIN_DELAY", c.policyDelay > c.recoveryDelay ? c.policyDelay : c.recoveryDelay
        );
        c.baseURI = vm.envOr(
            "LAUREL_BASE_URI", string.concat("http://127.0.0.1:8787/v1/metadata/", vm.toString(block.chainid), "/")
        );
        c.membershipBaseURI = vm.envOr(
            "LAUREL_MEMBERSHIP_BASE_URI",
            string.concat("http://127.0.0.1:8787/v1/membership-metadata/", vm.toString(block.chainid), "/")
        );
    }

    /// @notice The delay in seconds held by environment variable `name` (`dflt` when unset); reverts with
    ///         DelayOutOfRange(name, value) when it does not fit in 32 bits, instead of truncating it.
    function envDelay(string memory name, uint256 dflt) public view returns (uint32) {
        return checkedDelay(name, vm.envOr(name, dflt));
    }

    /// @notice `value` as a uint32 delay; reverts with DelayOutOfRange(name, value) when it does not fit.
    function checkedDelay(string memory name, uint256 value) public pure returns (uint32) {
        if (value > type(uint32).max) revert DelayOutOfRange(name, value);
        return uint32(value);
    }

    /// @notice Deploys and wires everything; the caller (broadcaster) must be `c.deployer`.
    /// @dev ADMIN ends with `c.adminDelay` whoever holds it: a separate admin is granted it, and a deployer that
    ///      stays admin (no LAUREL_ADMIN) is given it as the last step, so no key can re-route `recover` or a
    ///      GOVERNOR selector and call it at once. Re-routing a registry's selectors also waits `c.targetAdminDelay`
    ///      (setTargetAdminDelay; in force minSetback() after the deployment, like the grant delays).
    function deploy(Config memory c) public returns (Deployment memory d) {
        d.deployBlock = block.number;
        // The deployer administers the manager while wiring, then hands ADMIN over (if it is someone else).
        d.manager = new AccessManager(c.deployer);
        d.credentials = new CredentialRegistry(address(d.manager), "Laurel Credentials", "LAUREL", c.baseURI);
        d.memberships = new MembershipRegistry(address(d.manager), d.credentials, c.membershipBaseURI);

        LaurelWiring.wireRoles(d.manager);
        LaurelWiring.wireCredentials(d.manager, address(d.credentials));
        LaurelWiring.wireMemberships(d.manager, address(d.memberships));

        // Execution delays: members of these roles must schedule, wait, then execute; GUARDIAN may cancel.
        d.manager.grantRole(Roles.GOVERNOR, c.governor, c.policyDelay);
        d.manager.grantRole(Roles.RECOVERY, c.recovery, c.recoveryDelay);
        d.manager.grantRole(Roles.PAUSER, c.pauser, 0);
        d.manager.grantRole(Roles.GUARDIAN, c.guardian, 0);
        // New grants of the delayed roles only take effect after the same delay (from minSetback() on).
        d.manager.setGrantDelay(Roles.GOVERNOR, c.policyDelay);
        d.manager.setGrantDelay(Roles.RECOVERY, c.recoveryDelay);
        // Re-routing a registry's selectors to another role waits too (from minSetback() on).
        if (c.targetAdminDelay != 0) {
            d.manager.setTargetAdminDelay(address(d.credentials), c.targetAdminDelay);
            d.manager.setTargetAdminDelay(address(d.memberships), c.targetAdminDelay);
        }

        if (c.admin != c.deployer) {
            d.manager.grantRole(Roles.ADMIN, c.admin, c.adminDelay);
            d.manager.renounceRole(Roles.ADMIN, c.deployer);
        } else if (c.adminDelay != 0) {
            // A single key stays admin: it gets the recorded delay at once (raising an execution delay has no
            // setback). The last ADMIN call without a delay: from here on the deployer schedules like any admin.
            d.manager.grantRole(Roles.ADMIN, c.deployer, c.adminDelay);
        }
    }

    /// @notice When the grant and target admin delays set by {deploy} are in force: `deployedAt` + minSetback() if
    ///         any was set (OpenZeppelin applies a raised grant or target admin delay only after the setback), else
    ///         `deployedAt` (nothing pending).
    function delaysEffectiveAt(Config memory c, AccessManager m, uint256 deployedAt) public view returns (uint256) {
        bool pending = c.policyDelay != 0 || c.recoveryDelay != 0 || c.targetAdminDelay != 0;
        return pending ? deployedAt + m.minSetback() : deployedAt;
    }

    /// @notice Prints what holds until the delays are in force (forge script output; scripts/deploy says it too).
    function explain(Config memory c, Deployment memory d) public view {
        uint256 at = delaysEffectiveAt(c, d.manager, block.timestamp);
        if (at == block.timestamp) return;
        console.log("Until unix time %s (AccessManager.minSetback(), 5 days after this deployment):", at);
        console.log("  the grant delays of GOVERNOR and RECOVERY and the target admin delays of both registries are");
        console.log("  not yet in force: an ADMIN grant of GOVERNOR or RECOVERY makes its grantee a member at once, and");
        console.log("  re-routing a registry selector waits only ADMIN's own execution delay (%s s).", c.adminDelay);
        console.log("  The execution delays of the roles granted here apply from the start.");
    }

    /// @notice Writes the deployment record the service reads (every address, the deploy block, the roles).
    function write(Config memory c, Deployment memory d, string memory path) public {
        string memory roles = "roles";
        vm.serializeAddress(roles, "admin", c.admin);
        vm.serializeAddress(roles, "governor", c.governor);
        vm.serializeAddress(roles, "pauser", c.pauser);
        vm.serializeAddress(roles, "recovery", c.recovery);
        roles = vm.serializeAddress(roles, "guardian", c.guardian);

        string memory ids = "roleIds";
        vm.serializeUint(ids, "admin", Roles.ADMIN);
        vm.serializeUint(ids, "governor", Roles.GOVERNOR);
        vm.serializeUint(ids, "recovery", Roles.RECOVERY);
        vm.serializeUint(ids, "pauser", Roles.PAUSER);
        ids = vm.serializeUint(ids, "guardian", Roles.GUARDIAN);

        string memory delays = "delays";
        vm.serializeUint(delays, "policy", c.policyDelay);
        vm.serializeUint(delays, "recovery", c.recoveryDelay);
        vm.serializeUint(delays, "targetAdmin", c.targetAdminDelay);
        // ADMIN's execution delay, whoever holds ADMIN (the deployer included): what the manager says.
        (, uint32 adminDelay) = d.manager.hasRole(Roles.ADMIN, c.admin);
        delays = vm.serializeUint(delays, "admin", adminDelay);

        string memory o = "deployment";
        vm.serializeUint(o, "chainId", block.chainid);
        vm.serializeUint(o, "deployBlock", d.deployBlock);
        vm.serializeAddress(o, "deployer", c.deployer);
        vm.serializeAddress(o, "accessManager", address(d.manager));
        vm.serializeAddress(o, "credentialRegistry", address(d.credentials));
        vm.serializeAddress(o, "membershipRegistry", address(d.memberships));
        vm.serializeString(o, "baseURI", c.baseURI);
        vm.serializeString(o, "membershipBaseURI", c.membershipBaseURI);
        vm.serializeString(o, "roles", roles);
        vm.serializeString(o, "roleIds", ids);
        // Grant delays and target admin delays apply only from here (scripts/deploy recomputes it from the block
        // the transactions landed in); see docs/contracts.md for what holds before.
        vm.serializeUint(o, "minSetback", d.manager.minSetback());
        vm.serializeUint(o, "delaysEffectiveAt", delaysEffectiveAt(c, d.manager, block.timestamp));
        string memory json = vm.serializeString(o, "delays", delays);
        vm.writeJson(json, path);
    }
}
