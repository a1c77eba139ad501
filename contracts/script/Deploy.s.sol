// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script} from "forge-std/Script.sol";
import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {MembershipRegistry} from "../src/MembershipRegistry.sol";
import {Roles} from "../src/Roles.sol";
import {LaurelWiring} from "./Wiring.sol";

/// @title Deploy
/// @notice Deploys Laurel (AccessManager, CredentialRegistry, MembershipRegistry) to any RPC and writes deployments/<chainId>.json.
/// @dev Configuration comes from the environment (the key never from argv):
///      LAUREL_DEPLOYER_KEY   private key that pays for and signs the deployment (required)
///      LAUREL_ADMIN          AccessManager admin (default: the deployer)
///      LAUREL_GOVERNOR       policy changes (default: admin)    LAUREL_PAUSER    emergency pause (default: admin)
///      LAUREL_RECOVERY       wallet recovery (default: admin)   LAUREL_GUARDIAN  cancels scheduled ops (default: admin)
///      LAUREL_POLICY_DELAY   seconds GOVERNOR calls wait (default 0 on chain 31337, else 2 days)
///      LAUREL_RECOVERY_DELAY seconds RECOVERY calls wait (default 0 on chain 31337, else 3 days)
///      LAUREL_ADMIN_DELAY    seconds ADMIN calls wait once the deployer has left (default 0 on 31337, else 2 days)
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
        string baseURI;
        string membershipBaseURI;
    }

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
        c.policyDelay = uint32(vm.envOr("LAUREL_POLICY_DELAY", dev ? uint256(0) : 2 days));
        c.recoveryDelay = uint32(vm.envOr("LAUREL_RECOVERY_DELAY", dev ? uint256(0) : 3 days));
        c.adminDelay = uint32(vm.envOr("LAUREL_ADMIN_DELAY", dev ? uint256(0) : 2 days));
        c.baseURI = vm.envOr(
            "LAUREL_BASE_URI", string.concat("http://127.0.0.1:8787/v1/metadata/", vm.toString(block.chainid), "/")
        );
        c.membershipBaseURI = vm.envOr(
            "LAUREL_MEMBERSHIP_BASE_URI",
            string.concat("http://127.0.0.1:8787/v1/membership-metadata/", vm.toString(block.chainid), "/")
        );
    }

    /// @notice Deploys and wires everything; the caller (broadcaster) must be `c.deployer`.
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
        // New grants of the delayed roles only take effect after the same delay.
        d.manager.setGrantDelay(Roles.GOVERNOR, c.policyDelay);
        d.manager.setGrantDelay(Roles.RECOVERY, c.recoveryDelay);

        if (c.admin != c.deployer) {
            d.manager.grantRole(Roles.ADMIN, c.admin, c.adminDelay);
            d.manager.renounceRole(Roles.ADMIN, c.deployer);
        }
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
        delays = vm.serializeUint(delays, "admin", c.adminDelay);

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
        string memory json = vm.serializeString(o, "delays", delays);
        vm.writeJson(json, path);
    }
}
