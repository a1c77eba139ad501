// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {CredentialBase} from "./CredentialBase.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {IERC5192} from "../src/interfaces/IERC5192.sol";
import {Roles} from "../src/Roles.sol";

/// @notice A minimal smart-account issuer: accepts its owner's ECDSA signature (ERC-1271), unless told to refuse.
contract ERC1271Wallet is IERC1271 {
    address public immutable owner;
    bool public refuse;

    constructor(address owner_) {
        owner = owner_;
    }

    function setRefuse(bool r) external {
        require(msg.sender == owner, "not owner");
        refuse = r;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (refuse) return 0xffffffff;
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }
}

/// @notice Unit tests of every CredentialRegistry operation and rejection.
contract CredentialRegistryTest is CredentialBase {
    uint256 internal constant T0 = 1_750_000_000;
    uint40 internal constant U40 = type(uint40).max;
    uint256 internal constant GRANTS_SLOT = 4; // storage slot of `_grants` (forge inspect storageLayout)

    uint16 internal constant F_RENEWABLE = 1;
    uint16 internal constant F_REVOCABLE = 2;
    uint16 internal constant F_SUSPENDABLE = 4;
    uint16 internal constant F_RENOUNCEABLE = 8;
    uint16 internal constant F_REISSUE_EXPIRY = 16;
    uint16 internal constant F_REISSUE_REVOCATION = 32;

    uint8 internal constant ISSUER = 1;
    uint8 internal constant REVOKER = 2;

    uint256 internal t1; // plain: 365 d validity, 730 d max, 30 d renewal window, every flag
    address internal carol = makeAddr("carol");
    address internal issuer2 = makeAddr("issuer2");

    function setUp() public override {
        super.setUp();
        t1 = _defineType(_policy("Rust Fundamentals"));
    }

    // =============================================================================================
    // helpers
    // =============================================================================================

    function _err(bytes4 sel) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(sel);
    }

    function _unauth(address who) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, who);
    }

    function _invalidPolicy(string memory what) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(CredentialRegistry.InvalidPolicy.selector, what);
    }

    function _define(CredentialRegistry.TypePolicy memory p) internal returns (uint256) {
        vm.prank(governor);
        return reg.defineType(p);
    }

    function _capped(uint32 cap) internal returns (uint256) {
        CredentialRegistry.TypePolicy memory p = _policy("Capped");
        p.maxSupply = cap;
        return _defineType(p);
    }

    function _prereqType() internal returns (uint256) {
        CredentialRegistry.TypePolicy memory p = _policy("Advanced");
        p.prerequisites = new uint256[](1);
        p.prerequisites[0] = t1;
        return _defineType(p);
    }

    function _grantWord(uint256 typeId, address account) internal view returns (uint256) {
        return uint256(vm.load(address(reg), keccak256(abi.encode(_tid(typeId, account), GRANTS_SLOT))));
    }

    function _one(address h) internal pure returns (address[] memory a) {
        a = new address[](1);
        a[0] = h;
    }

    function _revoke(uint256 tokenId, uint8 reason) internal {
        vm.prank(revoker);
        reg.revoke(tokenId, reason);
    }

    function _suspend(uint256 tokenId, uint8 reason) internal {
        vm.prank(revoker);
        reg.suspend(tokenId, reason);
    }

    function _hasTopic(Vm.Log[] memory logs, bytes32 topic0) internal view returns (bool) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(reg) && logs[i].topics.length != 0 && logs[i].topics[0] == topic0) {
                return true;
            }
        }
        return false;
    }


    // =============================================================================================
    // governance: access control
    // =============================================================================================

    function test_governance_outsiderRejectedEverywhere() public {
        _expectAllGovernanceUnauthorized(outsider);
    }

    function test_governance_perTypeRoleHoldersAreNotGovernance() public {
        _expectAllGovernanceUnauthorized(issuer);
        _expectAllGovernanceUnauthorized(revoker);
    }

    function _expectAllGovernanceUnauthorized(address who) internal {
        // alice has a live credential, so recover(alice, who) would succeed for RECOVERY.
        if (!reg.isValid(alice, t1)) _issue(t1, alice);
        CredentialRegistry.TypePolicy memory p = _policy("X");
        bytes memory u = _unauth(who);
        vm.startPrank(who);
        vm.expectRevert(u);
        reg.defineType(p);
        vm.expectRevert(u);
        reg.updateType(t1, p);
        vm.expectRevert(u);
        reg.setTypeRoles(t1, who, ISSUER);
        vm.expectRevert(u);
        reg.pause();
        vm.expectRevert(u);
        reg.unpause();
        vm.expectRevert(u);
        reg.pauseType(t1);
        vm.expectRevert(u);
        reg.unpauseType(t1);
        vm.expectRevert(u);
        reg.setBaseURI("ipfs://evil/");
        vm.expectRevert(u);
        reg.recover(alice, who);
        vm.stopPrank();
    }

    function test_governance_pauserCanPauseButNotUnpause() public {
        vm.startPrank(pauser);
        vm.expectEmit(address(reg));
        emit CredentialRegistry.PauseSet(true);
        reg.pause();
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.TypePauseSet(t1, true);
        reg.pauseType(t1);
        vm.expectRevert(_unauth(pauser));
        reg.unpause();
        vm.expectRevert(_unauth(pauser));
        reg.unpauseType(t1);
        vm.expectRevert(_unauth(pauser));
        reg.defineType(_policy("P"));
        vm.expectRevert(_unauth(pauser));
        reg.recover(alice, bob);
        vm.stopPrank();
        assertTrue(reg.paused());
        (bool tp,) = reg.typeState(t1);
        assertTrue(tp);

        vm.startPrank(governor);
        vm.expectEmit(address(reg));
        emit CredentialRegistry.PauseSet(false);
        reg.unpause();
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.TypePauseSet(t1, false);
        reg.unpauseType(t1);
        vm.stopPrank();
        assertFalse(reg.paused());
        (tp,) = reg.typeState(t1);
        assertFalse(tp);
    }

    function test_governance_governorCannotPauseOrRecover() public {
        _issue(t1, alice);
        vm.startPrank(governor);
        vm.expectRevert(_unauth(governor));
        reg.pause();
        vm.expectRevert(_unauth(governor));
        reg.pauseType(t1);
        vm.expectRevert(_unauth(governor));
        reg.recover(alice, bob);
        vm.stopPrank();
        vm.prank(recovery);
        vm.expectRevert(_unauth(recovery));
        reg.defineType(_policy("R"));
        vm.prank(guardian);
        vm.expectRevert(_unauth(guardian));
        reg.defineType(_policy("G"));
    }

    function test_pauseType_unpauseType_unknownType() public {
        vm.prank(pauser);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.pauseType(99);
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.unpauseType(99);
    }

    // =============================================================================================
    // governance with an execution delay (AccessManager schedule / execute / cancel)
    // =============================================================================================

    function test_delayedGovernor_scheduleExecuteAndCancel() public {
        address slowGov = makeAddr("slowGov");
        manager.grantRole(Roles.GOVERNOR, slowGov, 2 days);
        bytes memory data = abi.encodeCall(CredentialRegistry.defineType, (_policy("Delayed")));
        bytes32 opId = manager.hashOperation(slowGov, address(reg), data);

        // A direct call needs a schedule.
        vm.prank(slowGov);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, opId));
        reg.defineType(_policy("Delayed"));

        // Schedule, try early, then execute after the delay.
        vm.prank(slowGov);
        manager.schedule(address(reg), data, 0);
        assertEq(manager.getSchedule(opId), uint48(block.timestamp + 2 days));
        vm.warp(block.timestamp + 2 days - 1);
        vm.prank(slowGov);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotReady.selector, opId));
        manager.execute(address(reg), data);
        vm.warp(block.timestamp + 1);
        vm.prank(slowGov);
        manager.execute(address(reg), data);
        assertEq(reg.typeCount(), 2);
        assertEq(reg.typePolicy(2).name, "Delayed");

        // Executed once: a second execute has no schedule.
        vm.prank(slowGov);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, opId));
        manager.execute(address(reg), data);

        // The guardian cancels a scheduled operation; it can no longer execute.
        bytes memory data2 = abi.encodeCall(CredentialRegistry.setBaseURI, ("ipfs://new/"));
        bytes32 opId2 = manager.hashOperation(slowGov, address(reg), data2);
        vm.prank(slowGov);
        manager.schedule(address(reg), data2, 0);
        // An outsider may not cancel it.
        vm.prank(outsider);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessManager.AccessManagerUnauthorizedCancel.selector,
                outsider,
                slowGov,
                address(reg),
                CredentialRegistry.setBaseURI.selector
            )
        );
        manager.cancel(slowGov, address(reg), data2);
        vm.prank(guardian);
        manager.cancel(slowGov, address(reg), data2);
        assertEq(manager.getSchedule(opId2), 0);
        vm.warp(block.timestamp + 3 days);
        vm.prank(slowGov);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, opId2));
        manager.execute(address(reg), data2);
        vm.prank(slowGov);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, opId2));
        reg.setBaseURI("ipfs://new/");
        assertEq(reg.baseURI(), "https://laurel.test/v1/metadata/31337/");
    }

    function test_delayedGovernor_directCallConsumesMaturedSchedule() public {
        address slowGov = makeAddr("slowGov");
        manager.grantRole(Roles.GOVERNOR, slowGov, 2 days);
        bytes memory data = abi.encodeCall(CredentialRegistry.defineType, (_policy("Direct")));
        vm.prank(slowGov);
        manager.schedule(address(reg), data, 0);
        vm.warp(block.timestamp + 2 days);
        vm.prank(slowGov);
        assertEq(reg.defineType(_policy("Direct")), 2);
    }

    // =============================================================================================
    // defineType / updateType: policy validation
    // =============================================================================================

    function test_defineType_idsEventAndPolicy() public {
        CredentialRegistry.TypePolicy memory p = _policy("Second");
        p.uri = "ipfs://second";
        p.maxSupply = 10;
        p.quotaLimit = 3;
        p.quotaPeriod = 1 days;
        p.prerequisites = new uint256[](1);
        p.prerequisites[0] = t1;
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.TypeDefined(2, p);
        assertEq(_define(p), 2);
        assertEq(reg.typeCount(), 2);
        CredentialRegistry.TypePolicy memory q = reg.typePolicy(2);
        assertEq(q.name, "Second");
        assertEq(q.uri, "ipfs://second");
        assertEq(q.defaultValidity, 365 days);
        assertEq(q.maxValidity, 730 days);
        assertEq(q.renewalWindow, 30 days);
        assertEq(q.maxSupply, 10);
        assertEq(q.quotaLimit, 3);
        assertEq(q.quotaPeriod, 1 days);
        assertEq(q.flags, ALL_FLAGS);
        assertEq(q.prerequisites.length, 1);
        assertEq(q.prerequisites[0], t1);
        (bool isPaused, uint256 supply) = reg.typeState(2);
        assertFalse(isPaused);
        assertEq(supply, 0);
    }

    function test_defineType_invalidPolicies() public {
        CredentialRegistry.TypePolicy memory p = _policy("");
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("name: empty"));
        reg.defineType(p);

        p = _policyFlags("X", 64);
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("flags: unknown bits"));
        reg.defineType(p);

        p = _policy("X");
        p.defaultValidity = 0; // maxValidity set, default missing
        vm.prank(governor);
        vm.expectRevert(
            _invalidPolicy("defaultValidity: must be set and at most maxValidity when maxValidity is set")
        );
        reg.defineType(p);

        p.defaultValidity = 730 days + 1; // default above max
        vm.prank(governor);
        vm.expectRevert(
            _invalidPolicy("defaultValidity: must be set and at most maxValidity when maxValidity is set")
        );
        reg.defineType(p);

        p = _policyFlags("X", F_RENEWABLE);
        p.defaultValidity = 0;
        p.maxValidity = 0;
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("flags: renewable needs a defaultValidity"));
        reg.defineType(p);

        // A failed define does not consume an id.
        assertEq(reg.typeCount(), 1);
        assertEq(_define(_policy("ok")), 2);
    }

    function test_defineType_tooManyPrerequisites() public {
        for (uint256 i; i < 7; ++i) {
            _define(_policy("base"));
        }
        assertEq(reg.typeCount(), 8);
        CredentialRegistry.TypePolicy memory p = _policy("Eight");
        p.prerequisites = new uint256[](8);
        for (uint256 i; i < 8; ++i) {
            p.prerequisites[i] = i + 1;
        }
        assertEq(_define(p), 9); // MAX_PREREQUISITES is allowed
        p.prerequisites = new uint256[](9);
        for (uint256 i; i < 9; ++i) {
            p.prerequisites[i] = i + 1;
        }
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("prerequisites: too many"));
        reg.defineType(p);
        assertEq(reg.MAX_PREREQUISITES(), 8);
    }

    function test_defineType_invalidPrerequisites() public {
        CredentialRegistry.TypePolicy memory p = _policy("X");
        p.prerequisites = new uint256[](1);

        p.prerequisites[0] = 2; // itself (the next id)
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidPrerequisite.selector, 2));
        reg.defineType(p);

        p.prerequisites[0] = 3; // a later id
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidPrerequisite.selector, 3));
        reg.defineType(p);

        p.prerequisites[0] = 0; // type 0 never exists
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidPrerequisite.selector, 0));
        reg.defineType(p);

        p.prerequisites[0] = type(uint256).max; // unknown
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidPrerequisite.selector, type(uint256).max));
        reg.defineType(p);

        p.prerequisites = new uint256[](2);
        p.prerequisites[0] = t1;
        p.prerequisites[1] = t1; // duplicate
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidPrerequisite.selector, t1));
        reg.defineType(p);
    }

    function test_updateType_replacesPolicyAndSyncsGrants() public {
        uint256 id = _issue(t1, alice);
        CredentialRegistry.TypePolicy memory p = _policyFlags("Rust Fundamentals v2", ALL_FLAGS & ~F_REVOCABLE);
        p.defaultValidity = 10 days;
        p.maxValidity = 20 days;
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.TypeUpdated(t1, p);
        vm.prank(governor);
        reg.updateType(t1, p);
        assertEq(reg.typePolicy(t1).name, "Rust Fundamentals v2");

        // The revoker's grant now carries the new flags: revocation is off.
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRevocable.selector, t1));
        reg.revoke(id, 1);
        // The issuer's grant carries the new default validity (fast path).
        _issue(t1, bob);
        assertEq(reg.credentialOf(bob, t1).expiresAt, block.timestamp + 10 days);
        // ... and the new maximum.
        vm.prank(issuer);
        vm.expectRevert(
            abi.encodeWithSelector(
                CredentialRegistry.ExpiryBeyondMax.selector, block.timestamp + 21 days, block.timestamp + 20 days
            )
        );
        reg.issue(t1, carol, uint64(block.timestamp + 21 days), bytes32(0));

        // A quota added by an update is enforced at once.
        p.quotaLimit = 1;
        p.quotaPeriod = 0;
        vm.prank(governor);
        reg.updateType(t1, p);
        _issue(t1, carol);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t1, issuer, 1));
        reg.issue(t1, makeAddr("dave"), 0, bytes32(0));
    }

    /// Audit finding: updateType changes every token's tokenURI (a type URI, the name in the metadata) with no
    /// ERC-4906 event. It now emits BatchMetadataUpdate over exactly the type's token-id range.
    function test_updateType_emitsBatchMetadataUpdateOverTheTypeRange() public {
        uint256 t2 = _defineType(_policy("Second"));
        uint256 id = _issue(t2, alice);
        CredentialRegistry.TypePolicy memory p = _policy("Second, renamed");
        p.uri = "ipfs://second-v2";
        uint256 from = t2 << 160;
        uint256 to = (t2 << 160) | type(uint160).max;
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.TypeUpdated(t2, p);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC4906.BatchMetadataUpdate(from, to);
        vm.prank(governor);
        reg.updateType(t2, p);
        assertEq(reg.tokenURI(id), "ipfs://second-v2");
        // The range holds every token id of the type and none of another.
        assertTrue(from <= id && id <= to);
        assertEq(reg.tokenIdOf(address(type(uint160).max), t2), to);
        assertGt(reg.tokenIdOf(address(0), t2 + 1), to);
        assertLt(reg.tokenIdOf(address(type(uint160).max), t1), from);
    }

    function test_updateType_rejections() public {
        CredentialRegistry.TypePolicy memory p = _policy("X");
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.updateType(99, p);

        // A cap cannot be added...
        p.maxSupply = 5;
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("maxSupply: a cap cannot be added or removed"));
        reg.updateType(t1, p);

        // ... nor removed, nor set below the live supply.
        uint256 capped = _capped(5);
        _issue(capped, alice);
        _issue(capped, bob);
        _issue(capped, carol);
        p = _policy("Capped");
        p.maxSupply = 0;
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("maxSupply: a cap cannot be added or removed"));
        reg.updateType(capped, p);
        p.maxSupply = 2;
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("maxSupply: below the live supply"));
        reg.updateType(capped, p);
        p.maxSupply = 3; // == supply is fine
        vm.prank(governor);
        reg.updateType(capped, p);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.SupplyExhausted.selector, capped, 3));
        reg.issue(capped, makeAddr("dave"), 0, bytes32(0));

        // Prerequisites must be earlier types: itself and later ones are rejected.
        p = _policy("X");
        p.prerequisites = new uint256[](1);
        p.prerequisites[0] = t1;
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidPrerequisite.selector, t1));
        reg.updateType(t1, p);
        p.prerequisites[0] = capped;
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidPrerequisite.selector, capped));
        reg.updateType(t1, p);
        // Validation errors also apply to updates.
        p = _policy("");
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("name: empty"));
        reg.updateType(t1, p);
    }

    // =============================================================================================
    // setTypeRoles / grants
    // =============================================================================================

    function test_setTypeRoles_grantRevokeAndList() public {
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.TypeRolesSet(t1, issuer2, ISSUER | REVOKER);
        _grant(t1, issuer2, ISSUER | REVOKER);
        assertEq(reg.rolesOf(t1, issuer2), 3);
        assertEq(reg.rolesOf(t1, issuer), ISSUER);
        assertEq(reg.rolesOf(t1, revoker), REVOKER);
        assertEq(reg.rolesOf(t1, outsider), 0);

        uint256[] memory g = reg.grants();
        assertEq(g.length, 3);
        assertEq(g[0], _tid(t1, issuer));
        assertEq(g[1], _tid(t1, revoker));
        assertEq(g[2], _tid(t1, issuer2));

        // Changing roles of an existing grant keeps the list.
        _grant(t1, issuer2, REVOKER);
        assertEq(reg.grants().length, 3);
        assertEq(reg.rolesOf(t1, issuer2), REVOKER);

        // Removing the first grant swaps the last into its place.
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.TypeRolesSet(t1, issuer, 0);
        _grant(t1, issuer, 0);
        g = reg.grants();
        assertEq(g.length, 2);
        assertEq(g[0], _tid(t1, issuer2));
        assertEq(g[1], _tid(t1, revoker));
        assertEq(reg.rolesOf(t1, issuer), 0);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, issuer));
        reg.issue(t1, alice, 0, bytes32(0));

        // Removing the last one, and removing a non-grant, are fine.
        _grant(t1, revoker, 0);
        _grant(t1, outsider, 0);
        g = reg.grants();
        assertEq(g.length, 1);
        assertEq(g[0], _tid(t1, issuer2));
    }

    function test_setTypeRoles_rejections() public {
        vm.startPrank(governor);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.setTypeRoles(99, alice, ISSUER);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 0));
        reg.setTypeRoles(0, alice, ISSUER);
        vm.expectRevert(_err(CredentialRegistry.ZeroAddress.selector));
        reg.setTypeRoles(t1, address(0), ISSUER);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidRoles.selector, 4));
        reg.setTypeRoles(t1, alice, 4);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidRoles.selector, 255));
        reg.setTypeRoles(t1, alice, 255);
        vm.stopPrank();
    }

    function test_setTypeRoles_tooManyGrants() public {
        uint256 max = reg.MAX_GRANTS();
        assertEq(max, 256);
        vm.startPrank(governor);
        for (uint256 i = reg.grants().length; i < max; ++i) {
            reg.setTypeRoles(t1, address(uint160(0x10000 + i)), ISSUER);
        }
        assertEq(reg.grants().length, max);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.TooManyGrants.selector, max));
        reg.setTypeRoles(t1, alice, ISSUER);
        // Changing an existing grant is still fine; removing one frees a place.
        reg.setTypeRoles(t1, issuer, ISSUER | REVOKER);
        reg.setTypeRoles(t1, address(uint160(0x10000 + 100)), 0);
        reg.setTypeRoles(t1, alice, ISSUER);
        vm.stopPrank();
        assertEq(reg.grants().length, max);
        assertEq(reg.rolesOf(t1, alice), ISSUER);
    }

    /// The fast-path mask (_G_FAST_MASK = 0x1f01) is ROLE_ISSUER plus every bit that forces the checked path:
    /// check on the stored grant words that each condition sets exactly the bit the mask names.
    function test_grantWord_fastMaskBits() public {
        uint256 fastMask = 0x1f01;
        assertEq(fastMask, 1 | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12));
        assertEq(_grantWord(t1, issuer) & fastMask, 1, "plain issuer grant takes the fast path");
        assertEq(_grantWord(t1, revoker) & 0xff, REVOKER);

        vm.prank(pauser);
        reg.pauseType(t1);
        assertEq(_grantWord(t1, issuer) & fastMask, 1 | (1 << 8));
        vm.prank(pauser);
        reg.pause();
        assertEq(_grantWord(t1, issuer) & fastMask, 1 | (1 << 8) | (1 << 9));
        assertEq(_grantWord(t1, revoker) & fastMask, (1 << 8) | (1 << 9));
        vm.startPrank(governor);
        reg.unpause();
        reg.unpauseType(t1);
        vm.stopPrank();
        assertEq(_grantWord(t1, issuer) & fastMask, 1);

        uint256 pre = _prereqType();
        assertEq(_grantWord(pre, issuer) & fastMask, 1 | (1 << 10));
        uint256 capped = _capped(3);
        assertEq(_grantWord(capped, issuer) & fastMask, 1 | (1 << 11));
        CredentialRegistry.TypePolicy memory q = _policy("Quota");
        q.quotaLimit = 1;
        uint256 quota = _defineType(q);
        assertEq(_grantWord(quota, issuer) & fastMask, 1 | (1 << 12));
        // Policy values copied into the grant: defaultValidity (bit 16), maxValidity (56), flags (232).
        uint256 g = _grantWord(t1, issuer);
        assertEq((g >> 16) & U40, 365 days);
        assertEq((g >> 56) & U40, 730 days);
        assertEq(uint16(g >> 232), ALL_FLAGS);
    }

    // =============================================================================================
    // setBaseURI / tokenURI / metadata
    // =============================================================================================

    function test_setBaseURI_andTokenURI() public {
        uint256 id = _issue(t1, alice);
        assertEq(reg.tokenURI(id), string.concat("https://laurel.test/v1/metadata/31337/", vm.toString(id)));
        vm.expectEmit(address(reg));
        emit CredentialRegistry.BaseURISet("ipfs://base/");
        vm.expectEmit(address(reg));
        emit IERC4906.BatchMetadataUpdate(0, type(uint256).max);
        vm.prank(governor);
        reg.setBaseURI("ipfs://base/");
        assertEq(reg.baseURI(), "ipfs://base/");
        assertEq(reg.tokenURI(id), string.concat("ipfs://base/", vm.toString(id)));

        CredentialRegistry.TypePolicy memory p = _policy("WithUri");
        p.uri = "ipfs://type-uri.json";
        uint256 t2 = _defineType(p);
        uint256 id2 = _issue(t2, alice);
        assertEq(reg.tokenURI(id2), "ipfs://type-uri.json");

        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, _tid(t1, bob)));
        reg.tokenURI(_tid(t1, bob));
        _revoke(id, 0);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, id));
        reg.tokenURI(id);
    }

    function test_nameSymbol() public view {
        assertEq(reg.name(), "Laurel Credentials");
        assertEq(reg.symbol(), "LAUREL");
    }

    // =============================================================================================
    // issue: success paths
    // =============================================================================================

    function test_issue_fastPath_mintsWithDefaultExpiryAndEvents() public {
        uint256 id = _tid(t1, alice);
        uint256 exp = block.timestamp + 365 days;
        bytes32 ev = keccak256("alice evidence");
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(address(0), alice, id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC5192.Locked(id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Issued(id, uint256(uint160(issuer)) | (exp << 160), ev);
        vm.prank(issuer);
        reg.issue(t1, alice, 0, ev);

        assertEq(reg.tokenIdOf(alice, t1), id);
        assertEq(reg.ownerOf(id), alice);
        assertEq(reg.balanceOf(alice), 1);
        assertTrue(reg.isValid(alice, t1));
        assertTrue(reg.locked(id));
        CredentialRegistry.Credential memory c = reg.credentialOf(alice, t1);
        assertEq(c.tokenId, id);
        assertEq(c.holder, alice);
        assertEq(c.typeId, t1);
        assertEq(c.issuer, issuer);
        assertEq(c.issuedAt, T0);
        assertEq(c.expiresAt, exp);
        assertEq(c.status, reg.STATUS_ACTIVE());
        assertEq(c.reason, 0);
        assertTrue(c.valid);
    }

    function test_issue_slowPath_explicitExpiry() public {
        uint256 id = _tid(t1, alice);
        uint256 exp = block.timestamp + 10 days;
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(address(0), alice, id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC5192.Locked(id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Issued(id, uint256(uint160(issuer)) | (exp << 160), bytes32(uint256(7)));
        vm.prank(issuer);
        reg.issue(t1, alice, uint64(exp), bytes32(uint256(7)));
        assertEq(reg.credentialOf(alice, t1).expiresAt, exp);
        assertTrue(reg.isValid(alice, t1));
        vm.warp(exp - 1);
        assertTrue(reg.isValid(alice, t1));
        vm.warp(exp);
        assertFalse(reg.isValid(alice, t1));
        assertEq(reg.ownerOf(id), alice); // expired credentials are still owned
        assertTrue(reg.recordOf(id).status == 1 && !reg.recordOf(id).valid);
    }

    function test_issue_neverExpiringType() public {
        CredentialRegistry.TypePolicy memory p = _policyFlags("Forever", ALL_FLAGS & ~F_RENEWABLE);
        p.defaultValidity = 0;
        p.maxValidity = 0;
        uint256 t = _defineType(p);
        _issue(t, alice);
        assertEq(reg.credentialOf(alice, t).expiresAt, 0);
        vm.warp(uint256(U40) + 1);
        assertTrue(reg.isValid(alice, t));
        // With no maxValidity any 40-bit expiry is accepted.
        vm.warp(T0);
        _issueAt(t, bob, U40);
        assertEq(reg.credentialOf(bob, t).expiresAt, U40);
    }

    function test_issue_maxExpiryBoundaryAccepted() public {
        _issueAt(t1, alice, uint64(block.timestamp + 730 days));
        assertEq(reg.credentialOf(alice, t1).expiresAt, block.timestamp + 730 days);
        _issueAt(t1, bob, uint64(block.timestamp + 1));
        assertTrue(reg.isValid(bob, t1));
    }

    // =============================================================================================
    // issue: rejections
    // =============================================================================================

    function test_issue_notIssuer() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, outsider));
        reg.issue(t1, alice, 0, bytes32(0));
        // The revoker role does not allow issuing.
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, revoker));
        reg.issue(t1, alice, 0, bytes32(0));
        // Nor with an explicit expiry (slow path).
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, outsider));
        reg.issue(t1, alice, uint64(block.timestamp + 1 days), bytes32(0));
    }

    function test_issue_issuerOfTypeACannotIssueTypeB() public {
        vm.prank(governor);
        uint256 t2 = reg.defineType(_policy("B"));
        _grant(t2, issuer2, ISSUER);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t2, issuer));
        reg.issue(t2, alice, 0, bytes32(0));
        vm.prank(issuer2);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, issuer2));
        reg.issue(t1, alice, 0, bytes32(0));
        vm.prank(issuer2);
        reg.issue(t2, alice, 0, bytes32(0));
        assertTrue(reg.isValid(alice, t2));
        assertFalse(reg.isValid(alice, t1));
    }

    function test_issue_unknownType() public {
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.issue(99, alice, 0, bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 0));
        reg.issue(0, alice, 0, bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.issueBatch(99, _entries(_one(alice), 0), _evidence(1, 0));
    }

    /// A type id of 2^96 or more would alias a real type's grant key (typeId << 160 drops the high bits).
    function test_typeIdOutOfRange_neverAliases() public {
        _issue(t1, alice);
        uint256 high = (uint256(1) << 96) | t1;
        bytes memory e = abi.encodeWithSelector(CredentialRegistry.TypeIdOutOfRange.selector, high);

        vm.prank(issuer);
        vm.expectRevert(e);
        reg.issue(high, bob, 0, bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(e);
        reg.issue(high, bob, uint64(block.timestamp + 1 days), bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(e);
        reg.issueBatch(high, _entries(_one(bob), 0), _evidence(1, 0));
        vm.prank(revoker);
        vm.expectRevert(e);
        reg.revokeBatch(high, _one(alice), 1);
        // An outsider gets the same answer (not NotIssuer of an aliased type).
        vm.prank(outsider);
        vm.expectRevert(e);
        reg.issue(high, bob, 0, bytes32(0));

        vm.expectRevert(e);
        reg.tokenIdOf(alice, high);
        vm.expectRevert(e);
        reg.credentialOf(alice, high);
        assertFalse(reg.isValid(alice, high));
        assertTrue(reg.isValid(alice, t1));
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, high));
        reg.collectionOf(high);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, high));
        reg.renounce(high);
        // The role and quota views do not alias either.
        vm.expectRevert(e);
        reg.rolesOf(high, issuer);
        vm.expectRevert(e);
        reg.quotaRemaining(high, issuer);
        assertFalse(reg.isValid(bob, t1));
    }

    function test_issue_prerequisites() public {
        uint256 t2 = _prereqType();
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MissingPrerequisite.selector, alice, t1));
        reg.issue(t2, alice, 0, bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MissingPrerequisite.selector, alice, t1));
        reg.issueBatch(t2, _entries(_one(alice), 0), _evidence(1, 0));

        _issue(t1, alice);
        _issue(t2, alice);
        assertTrue(reg.isValid(alice, t2));

        // A batch checks each holder.
        address[] memory hs = new address[](2);
        hs[0] = bob;
        hs[1] = carol;
        _issue(t1, bob);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MissingPrerequisite.selector, carol, t1));
        reg.issueBatch(t2, _entries(hs, 0), _evidence(2, 0));
        _issue(t1, carol);
        vm.prank(issuer);
        reg.issueBatch(t2, _entries(hs, 0), _evidence(2, 0));
        assertTrue(reg.isValid(carol, t2));
    }

    function test_issue_prerequisiteExpiredRevokedSuspendedRenouncedDoNotCount() public {
        uint256 t2 = _prereqType();
        address dave = makeAddr("dave");
        address erin = makeAddr("erin");
        _issueAt(t1, alice, uint64(block.timestamp + 1 days)); // will expire
        _revoke(_issue(t1, bob), 1);
        _suspend(_issue(t1, carol), 2);
        _issue(t1, dave);
        vm.prank(dave);
        reg.renounce(t1);
        _issue(t1, erin);
        vm.warp(block.timestamp + 1 days);

        address[4] memory bad = [alice, bob, carol, dave];
        for (uint256 i; i < 4; ++i) {
            vm.prank(issuer);
            vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MissingPrerequisite.selector, bad[i], t1));
            reg.issue(t2, bad[i], 0, bytes32(0));
        }
        _issue(t2, erin);
        // Reinstated: counts again.
        vm.prank(revoker);
        reg.reinstate(_tid(t1, carol));
        _issue(t2, carol);
        assertTrue(reg.isValid(carol, t2));
    }

    function test_issue_alreadyIssued() public {
        uint256 id = _issue(t1, alice);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.AlreadyIssued.selector, id));
        reg.issue(t1, alice, 0, bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.AlreadyIssued.selector, id));
        reg.issue(t1, alice, uint64(block.timestamp + 5 days), bytes32(0));
        // Suspended and not expired: still AlreadyIssued.
        _suspend(id, 1);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.AlreadyIssued.selector, id));
        reg.issue(t1, alice, 0, bytes32(0));
        // Another issuer of the type gets the same answer.
        _grant(t1, issuer2, ISSUER);
        vm.prank(issuer2);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.AlreadyIssued.selector, id));
        reg.issue(t1, alice, 0, bytes32(0));
    }

    function test_issue_reissueNotAllowedAfterExpiry() public {
        uint256 t = _defineType(_policyFlags("NoReissue", ALL_FLAGS & ~F_REISSUE_EXPIRY));
        uint256 id = _issue(t, alice);
        vm.warp(block.timestamp + 365 days);
        assertFalse(reg.isValid(alice, t));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ReissueNotAllowed.selector, id, 1));
        reg.issue(t, alice, 0, bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ReissueNotAllowed.selector, id, 1));
        reg.issueBatch(t, _entries(_one(alice), 0), _evidence(1, 0));
    }

    function test_issue_expiredSuspendedIsNeverReissued() public {
        uint256 id = _issue(t1, alice);
        _suspend(id, 4);
        vm.warp(block.timestamp + 366 days);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ReissueNotAllowed.selector, id, 2));
        reg.issue(t1, alice, 0, bytes32(0));
    }

    function test_issue_reissueAfterExpiryInPlace() public {
        uint256 id = _issue(t1, alice);
        vm.warp(block.timestamp + 400 days);
        _grant(t1, issuer2, ISSUER);
        uint256 exp = block.timestamp + 365 days;
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC4906.MetadataUpdate(id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Issued(id, uint256(uint160(issuer2)) | (exp << 160), bytes32("again"));
        vm.prank(issuer2);
        reg.issue(t1, alice, 0, bytes32("again"));
        Vm.Log[] memory logs = _regLogs(vm.getRecordedLogs());
        assertEq(logs.length, 2);
        assertEq(logs[0].topics[0], IERC4906.MetadataUpdate.selector);
        assertEq(logs[1].topics[0], CredentialRegistry.Issued.selector);
        assertFalse(_hasTopic(logs, IERC721.Transfer.selector), "no Transfer for an in-place re-issue");
        assertFalse(_hasTopic(logs, IERC5192.Locked.selector), "no Locked for an in-place re-issue");

        CredentialRegistry.Credential memory c = reg.credentialOf(alice, t1);
        assertEq(c.issuer, issuer2);
        assertEq(c.issuedAt, block.timestamp);
        assertEq(c.expiresAt, exp);
        assertEq(c.status, 1);
        assertTrue(c.valid);
        assertEq(reg.balanceOf(alice), 1);
    }

    function test_issue_reissueAfterExpiryInPlace_batchAndCapped() public {
        uint256 t = _capped(1);
        uint256 id = _issue(t, alice);
        vm.warp(block.timestamp + 365 days);
        // At the cap, an in-place re-issue mints nothing, so it is allowed.
        vm.recordLogs();
        vm.prank(issuer);
        reg.issueBatch(t, _entries(_one(alice), 0), _evidence(1, 3));
        Vm.Log[] memory logs = _regLogs(vm.getRecordedLogs());
        assertFalse(_hasTopic(logs, IERC721.Transfer.selector));
        assertTrue(_hasTopic(logs, IERC4906.MetadataUpdate.selector));
        (, uint256 supply) = reg.typeState(t);
        assertEq(supply, 1);
        assertTrue(reg.isValid(alice, t));
        assertEq(reg.ownerOf(id), alice);
    }

    function test_issue_afterRevocation() public {
        uint256 t = _defineType(_policyFlags("NoReissue", ALL_FLAGS & ~F_REISSUE_REVOCATION));
        uint256 id = _issue(t, alice);
        _revoke(id, 9);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ReissueNotAllowed.selector, id, 3));
        reg.issue(t, alice, 0, bytes32(0));

        // With the flag: a fresh mint (Transfer + Locked), reason cleared.
        uint256 id1 = _issue(t1, alice);
        _revoke(id1, 9);
        assertEq(reg.balanceOf(alice), 0);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(address(0), alice, id1);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC5192.Locked(id1);
        _issue(t1, alice);
        assertEq(reg.ownerOf(id1), alice);
        assertEq(reg.credentialOf(alice, t1).reason, 0);
        assertEq(reg.credentialOf(alice, t1).status, 1);
        assertEq(reg.balanceOf(alice), 1); // t1 live again; t still revoked
    }

    function test_issue_afterRenounceAndRecovery_needReissueFlag() public {
        uint256 t = _defineType(_policyFlags("NoReissue", ALL_FLAGS & ~F_REISSUE_REVOCATION));
        uint256 idA = _issue(t, alice);
        vm.prank(alice);
        reg.renounce(t);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ReissueNotAllowed.selector, idA, 4));
        reg.issue(t, alice, 0, bytes32(0));

        uint256 idB = _issue(t, bob);
        vm.prank(recovery);
        reg.recover(bob, carol);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ReissueNotAllowed.selector, idB, 5));
        reg.issue(t, bob, 0, bytes32(0));
    }

    function test_issue_supplyCap() public {
        uint256 t = _capped(2);
        _issue(t, alice);
        _issue(t, bob);
        (, uint256 supply) = reg.typeState(t);
        assertEq(supply, 2);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.SupplyExhausted.selector, t, 2));
        reg.issue(t, carol, 0, bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.SupplyExhausted.selector, t, 2));
        reg.issueBatch(t, _entries(_one(carol), 0), _evidence(1, 0));
        // A revocation frees a place.
        _revoke(_tid(t, alice), 0);
        (, supply) = reg.typeState(t);
        assertEq(supply, 1);
        _issue(t, carol);
        (, supply) = reg.typeState(t);
        assertEq(supply, 2);
        // Expired tokens still count (they are live).
        vm.warp(block.timestamp + 400 days);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.SupplyExhausted.selector, t, 2));
        reg.issue(t, makeAddr("dave"), 0, bytes32(0));
    }

    function test_issueBatch_supplyCap() public {
        uint256 t = _capped(3);
        address[] memory hs = _holders(4, 11);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.SupplyExhausted.selector, t, 3));
        reg.issueBatch(t, _entries(hs, 0), _evidence(4, 0));
        address[] memory three = _holders(3, 11);
        vm.prank(issuer);
        reg.issueBatch(t, _entries(three, 0), _evidence(3, 0));
        (, uint256 supply) = reg.typeState(t);
        assertEq(supply, 3);
    }

    function test_issue_quota() public {
        CredentialRegistry.TypePolicy memory p = _policy("Quota");
        p.quotaLimit = 2;
        p.quotaPeriod = 1 days;
        uint256 t = _defineType(p);
        assertEq(reg.quotaRemaining(t, issuer), 2);
        assertEq(reg.quotaRemaining(t1, issuer), type(uint256).max);

        _issue(t, alice);
        uint256 start = block.timestamp;
        assertEq(reg.quotaRemaining(t, issuer), 1);
        vm.warp(block.timestamp + 1 hours);
        // A failed issuance does not use the quota.
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.AlreadyIssued.selector, _tid(t, alice)));
        reg.issue(t, alice, 0, bytes32(0));
        assertEq(reg.quotaRemaining(t, issuer), 1);
        _issue(t, bob);
        assertEq(reg.quotaRemaining(t, issuer), 0);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, issuer, 2));
        reg.issue(t, carol, 0, bytes32(0));

        // Another issuer has its own quota.
        _grant(t, issuer2, ISSUER);
        assertEq(reg.quotaRemaining(t, issuer2), 2);
        vm.prank(issuer2);
        reg.issue(t, carol, 0, bytes32(0));
        assertEq(reg.quotaRemaining(t, issuer2), 1);

        // The period starts at the first issuance; the quota resets exactly one period later.
        vm.warp(start + 1 days - 1);
        assertEq(reg.quotaRemaining(t, issuer), 0);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, issuer, 2));
        reg.issue(t, makeAddr("dave"), 0, bytes32(0));
        vm.warp(start + 1 days);
        assertEq(reg.quotaRemaining(t, issuer), 2);
        _issue(t, makeAddr("dave"));
        assertEq(reg.quotaRemaining(t, issuer), 1);

        // A batch counts every entry.
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, issuer, 2));
        reg.issueBatch(t, _entries(_holders(2, 5), 0), _evidence(2, 0));
        vm.prank(issuer);
        reg.issueBatch(t, _entries(_holders(1, 5), 0), _evidence(1, 0));
        assertEq(reg.quotaRemaining(t, issuer), 0);
    }

    function test_issue_lifetimeQuota() public {
        CredentialRegistry.TypePolicy memory p = _policy("Lifetime");
        p.quotaLimit = 1;
        p.quotaPeriod = 0;
        uint256 t = _defineType(p);
        _issue(t, alice);
        vm.warp(block.timestamp + 3650 days);
        assertEq(reg.quotaRemaining(t, issuer), 0);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, issuer, 1));
        reg.issue(t, bob, 0, bytes32(0));
        // Removing and re-granting the role does not reset the counter.
        _grant(t, issuer, 0);
        _grant(t, issuer, ISSUER);
        assertEq(reg.quotaRemaining(t, issuer), 0);
    }

    function test_issue_invalidExpiry() public {
        uint256 nowTs = block.timestamp;
        bytes memory e;
        e = abi.encodeWithSelector(CredentialRegistry.InvalidExpiry.selector, nowTs);
        vm.prank(issuer);
        vm.expectRevert(e);
        reg.issue(t1, alice, uint64(nowTs), bytes32(0));
        e = abi.encodeWithSelector(CredentialRegistry.InvalidExpiry.selector, nowTs - 1);
        vm.prank(issuer);
        vm.expectRevert(e);
        reg.issue(t1, alice, uint64(nowTs - 1), bytes32(0));
        e = abi.encodeWithSelector(CredentialRegistry.InvalidExpiry.selector, uint256(1) << 40);
        vm.prank(issuer);
        vm.expectRevert(e);
        reg.issue(t1, alice, uint64(1 << 40), bytes32(0));
        e = abi.encodeWithSelector(CredentialRegistry.InvalidExpiry.selector, type(uint64).max);
        vm.prank(issuer);
        vm.expectRevert(e);
        reg.issue(t1, alice, type(uint64).max, bytes32(0));
        // In a batch too.
        e = abi.encodeWithSelector(CredentialRegistry.InvalidExpiry.selector, nowTs);
        vm.prank(issuer);
        vm.expectRevert(e);
        reg.issueBatch(t1, _entries(_one(alice), uint40(nowTs)), _evidence(1, 0));
    }

    function test_issue_expiryBeyondMax() public {
        uint256 latest = block.timestamp + 730 days;
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ExpiryBeyondMax.selector, latest + 1, latest));
        reg.issue(t1, alice, uint64(latest + 1), bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ExpiryBeyondMax.selector, latest + 1, latest));
        reg.issueBatch(t1, _entries(_one(alice), uint40(latest + 1)), _evidence(1, 0));
    }

    function test_issue_zeroHolder() public {
        vm.prank(issuer);
        vm.expectRevert(_err(CredentialRegistry.ZeroAddress.selector));
        reg.issue(t1, address(0), 0, bytes32(0));
        vm.prank(issuer);
        vm.expectRevert(_err(CredentialRegistry.ZeroAddress.selector));
        reg.issue(t1, address(0), uint64(block.timestamp + 1), bytes32(0));
    }

    // =============================================================================================
    // issueBatch
    // =============================================================================================

    function test_issueBatch_mintsAndEmitsResolvedEntries() public {
        address[] memory hs = _holders(3, 42);
        uint256[] memory e = _entries(hs, 0);
        uint256 explicitExp = block.timestamp + 7 days;
        e[1] |= explicitExp << 160;
        bytes32[] memory ev = _evidence(3, 42);
        uint256 defExp = block.timestamp + 365 days;
        uint256[] memory resolved = new uint256[](3);
        resolved[0] = uint256(uint160(hs[0])) | (defExp << 160);
        resolved[1] = e[1];
        resolved[2] = uint256(uint160(hs[2])) | (defExp << 160);

        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(true, true, true, true, address(reg));
            emit IERC721.Transfer(address(0), hs[i], _tid(t1, hs[i]));
            vm.expectEmit(true, true, true, true, address(reg));
            emit IERC5192.Locked(_tid(t1, hs[i]));
        }
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.IssuedBatch(t1, issuer, resolved, ev);
        vm.prank(issuer);
        reg.issueBatch(t1, e, ev);

        for (uint256 i; i < 3; ++i) {
            CredentialRegistry.Credential memory c = reg.credentialOf(hs[i], t1);
            assertEq(c.expiresAt, resolved[i] >> 160);
            assertEq(c.issuer, issuer);
            assertEq(c.issuedAt, block.timestamp);
            assertEq(reg.ownerOf(_tid(t1, hs[i])), hs[i]);
            assertTrue(reg.isValid(hs[i], t1));
        }
    }

    function test_issueBatch_shapeRejections() public {
        vm.startPrank(issuer);
        vm.expectRevert(_err(CredentialRegistry.EmptyBatch.selector));
        reg.issueBatch(t1, new uint256[](0), new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.LengthMismatch.selector, 2, 3));
        reg.issueBatch(t1, _entries(_holders(2, 1), 0), _evidence(3, 1));
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.LengthMismatch.selector, 2, 0));
        reg.issueBatch(t1, _entries(_holders(2, 1), 0), new bytes32[](0));
        uint256 max = reg.MAX_BATCH();
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.BatchTooLarge.selector, max + 1, max));
        reg.issueBatch(t1, _entries(_holders(max + 1, 1), 0), _evidence(max + 1, 1));
        vm.stopPrank();
    }

    function test_issueBatch_maxBatchAccepted() public {
        uint256 max = reg.MAX_BATCH();
        address[] memory hs = _holders(max, 77);
        vm.prank(issuer);
        reg.issueBatch(t1, _entries(hs, 0), _evidence(max, 77));
        assertTrue(reg.isValid(hs[0], t1));
        assertTrue(reg.isValid(hs[max - 1], t1));
    }

    function test_issueBatch_malformedEntries() public {
        address[] memory hs = new address[](2);
        hs[0] = alice;
        hs[1] = bob;
        uint256[] memory e = _entries(hs, 0);

        e[1] = uint256(uint160(bob)) | (uint256(1) << 200); // bit above the 40-bit expiry
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MalformedEntry.selector, 1, e[1]));
        reg.issueBatch(t1, e, _evidence(2, 0));

        e[1] = uint256(uint160(bob)) | (uint256(1) << 255);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MalformedEntry.selector, 1, e[1]));
        reg.issueBatch(t1, e, _evidence(2, 0));

        e[1] = uint256(block.timestamp + 1 days) << 160; // zero holder
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MalformedEntry.selector, 1, e[1]));
        reg.issueBatch(t1, e, _evidence(2, 0));

        e[0] = type(uint256).max;
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MalformedEntry.selector, 0, e[0]));
        reg.issueBatch(t1, e, _evidence(2, 0));
        assertFalse(reg.isValid(alice, t1));
    }

    function test_issueBatch_duplicateHolder() public {
        address[] memory hs = new address[](3);
        hs[0] = alice;
        hs[1] = bob;
        hs[2] = alice;
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.AlreadyIssued.selector, _tid(t1, alice)));
        reg.issueBatch(t1, _entries(hs, 0), _evidence(3, 0));
        assertEq(reg.balanceOf(alice), 0);
        assertEq(reg.balanceOf(bob), 0);
    }

    function test_issueBatch_roleRejections() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, outsider));
        reg.issueBatch(t1, _entries(_one(alice), 0), _evidence(1, 0));
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, revoker));
        reg.issueBatch(t1, _entries(_one(alice), 0), _evidence(1, 0));
    }

    // =============================================================================================
    // pauses
    // =============================================================================================

    function _pausedOps(bytes memory expected, uint256 t) internal {
        // Prepare: alice active (in the renewal window later), bob suspended, a signed request by a key issuer.
        (address sigIssuer, uint256 pk) = makeAddrAndKey("sigIssuer");
        CredentialRegistry.Issuance memory r = _request(t, carol, sigIssuer, 1);
        bytes memory sig = _sign(pk, r);
        uint256 idA = _tid(t, alice);
        uint256 idB = _tid(t, bob);

        vm.startPrank(issuer);
        vm.expectRevert(expected);
        reg.issue(t, carol, 0, bytes32(0)); // fast-path shaped call
        vm.expectRevert(expected);
        reg.issue(t, carol, uint64(block.timestamp + 1 days), bytes32(0));
        vm.expectRevert(expected);
        reg.issueBatch(t, _entries(_one(carol), 0), _evidence(1, 0));
        vm.expectRevert(expected);
        reg.renew(idA, 0);
        vm.stopPrank();
        vm.prank(outsider);
        vm.expectRevert(expected);
        reg.issueWithSig(r, sig);
        CredentialRegistry.BatchIssuance memory b = _batchRequest(t, _one(carol), sigIssuer, 2);
        bytes memory bsig = _signBatch(pk, b);
        vm.prank(outsider);
        vm.expectRevert(expected);
        reg.issueBatchWithSig(b, bsig);
        vm.prank(revoker);
        vm.expectRevert(expected);
        reg.reinstate(idB);
    }

    /// A pause (of the type, then of the registry) stops issuance and reinstatement but not suspension or
    /// revocation, one by one or in a batch: what a leaked issuer key minted can be withdrawn at once.
    function test_pause_revocationAndSuspensionStillWork() public {
        address dave = makeAddr("dave");
        uint256 a = _issue(t1, alice);
        uint256 b = _issue(t1, bob);
        _issue(t1, carol);
        _issue(t1, dave);
        vm.prank(pauser);
        reg.pauseType(t1);
        vm.startPrank(revoker);
        reg.suspend(a, 4);
        assertFalse(reg.isValid(alice, t1), "suspended while the type is paused");
        reg.revoke(b, 5);
        assertFalse(reg.isValid(bob, t1), "revoked while the type is paused");
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.TypePaused.selector, t1));
        reg.reinstate(a);
        vm.stopPrank();
        vm.prank(pauser);
        reg.pause();
        vm.startPrank(revoker);
        reg.revoke(a, 5);
        address[] memory hs = new address[](2);
        hs[0] = carol;
        hs[1] = dave;
        reg.revokeBatch(t1, hs, 6);
        vm.stopPrank();
        assertEq(reg.balanceOf(alice) + reg.balanceOf(bob) + reg.balanceOf(carol) + reg.balanceOf(dave), 0);
        assertFalse(reg.isValid(carol, t1) || reg.isValid(dave, t1), "revoked in a batch while paused");
        vm.prank(issuer);
        vm.expectRevert(_err(CredentialRegistry.RegistryPaused.selector));
        reg.issue(t1, makeAddr("eve"), 0, bytes32(0));
    }

    function _preparePauseFixture(uint256 t) internal returns (address sigIssuer) {
        (sigIssuer,) = makeAddrAndKey("sigIssuer");
        _grant(t, sigIssuer, ISSUER);
        _issue(t, alice);
        _suspend(_issue(t, bob), 3);
        vm.warp(block.timestamp + 340 days); // inside alice's renewal window
    }

    function test_pause_registryBlocksEveryRoleOperation() public {
        _preparePauseFixture(t1);
        uint256 t2 = _defineType(_policy("Other"));
        vm.prank(pauser);
        reg.pause();
        _pausedOps(_err(CredentialRegistry.RegistryPaused.selector), t1);
        // A grant made while paused is paused too.
        _grant(t2, issuer2, ISSUER);
        vm.prank(issuer2);
        vm.expectRevert(_err(CredentialRegistry.RegistryPaused.selector));
        reg.issue(t2, alice, 0, bytes32(0));
        // The holder may still renounce.
        vm.prank(alice);
        reg.renounce(t1);

        vm.prank(governor);
        reg.unpause();
        vm.prank(issuer2);
        reg.issue(t2, alice, 0, bytes32(0));
        vm.prank(revoker);
        reg.reinstate(_tid(t1, bob));
        assertTrue(reg.isValid(bob, t1));
    }

    function test_pause_typeBlocksOnlyThatType() public {
        _preparePauseFixture(t1);
        uint256 t2 = _defineType(_policy("Other"));
        vm.prank(pauser);
        reg.pauseType(t1);
        _pausedOps(abi.encodeWithSelector(CredentialRegistry.TypePaused.selector, t1), t1);
        _issue(t2, carol);
        // Registry pause takes precedence in the reported error.
        vm.prank(pauser);
        reg.pause();
        vm.prank(issuer);
        vm.expectRevert(_err(CredentialRegistry.RegistryPaused.selector));
        reg.issue(t1, carol, 0, bytes32(0));
        vm.startPrank(governor);
        reg.unpause();
        vm.stopPrank();
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.TypePaused.selector, t1));
        reg.issue(t1, carol, 0, bytes32(0));
        vm.prank(governor);
        reg.unpauseType(t1);
        _issue(t1, carol);
        vm.prank(issuer);
        reg.renew(_tid(t1, alice), 0);
    }

    function test_pause_updateTypeKeepsPauseBits() public {
        vm.prank(pauser);
        reg.pauseType(t1);
        vm.prank(governor);
        reg.updateType(t1, _policy("Updated while paused"));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.TypePaused.selector, t1));
        reg.issue(t1, alice, 0, bytes32(0));
    }

    // =============================================================================================
    // issueWithSig
    // =============================================================================================

    function test_issueWithSig_domain() public view {
        (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifying,
            bytes32 salt,
            uint256[] memory ext
        ) = reg.eip712Domain();
        assertEq(fields, hex"0f");
        assertEq(name, "Laurel CredentialRegistry");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(reg));
        assertEq(salt, bytes32(0));
        assertEq(ext.length, 0);
        assertEq(reg.ISSUANCE_TYPEHASH(), ISSUANCE_TYPEHASH);
    }

    function test_issueWithSig_validEoaRelayedByOutsider() public {
        (address sigIssuer, uint256 pk) = makeAddrAndKey("sigIssuer");
        _grant(t1, sigIssuer, ISSUER);
        CredentialRegistry.Issuance memory r = _request(t1, alice, sigIssuer, 5);
        r.expiresAt = uint64(block.timestamp + 30 days);
        bytes memory sig = _sign(pk, r);
        uint256 id = _tid(t1, alice);
        assertFalse(reg.nonceUsed(sigIssuer, 5));

        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(address(0), alice, id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC5192.Locked(id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Issued(id, uint256(uint160(sigIssuer)) | (uint256(r.expiresAt) << 160), r.evidenceHash);
        vm.prank(outsider);
        assertEq(reg.issueWithSig(r, sig), id);

        CredentialRegistry.Credential memory c = reg.credentialOf(alice, t1);
        assertEq(c.issuer, sigIssuer);
        assertEq(c.expiresAt, r.expiresAt);
        assertTrue(c.valid);
        assertTrue(reg.nonceUsed(sigIssuer, 5));
        assertFalse(reg.nonceUsed(sigIssuer, 4));
        assertFalse(reg.nonceUsed(sigIssuer, 5 + 256));

        // Replay (even to a fresh holder would need a new signature): NonceAlreadyUsed.
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, sigIssuer, 5));
        reg.issueWithSig(r, sig);

        // Nonces are independent bits: 5 + 256 is a fresh nonce in the next word.
        CredentialRegistry.Issuance memory r2 = _request(t1, bob, sigIssuer, 5 + 256);
        vm.prank(bob);
        reg.issueWithSig(r2, _sign(pk, r2));
        assertTrue(reg.nonceUsed(sigIssuer, 261));
        // Default expiry when expiresAt = 0.
        assertEq(reg.credentialOf(bob, t1).expiresAt, block.timestamp + 365 days);
    }

    function test_issueWithSig_rejections() public {
        (address sigIssuer, uint256 pk) = makeAddrAndKey("sigIssuer");
        (address stranger, uint256 strangerPk) = makeAddrAndKey("stranger");
        _grant(t1, sigIssuer, ISSUER);

        // Signed by someone else.
        CredentialRegistry.Issuance memory r = _request(t1, alice, sigIssuer, 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidSignature.selector, sigIssuer));
        reg.issueWithSig(r, _sign(strangerPk, r));

        // A field changed after signing.
        bytes memory sig = _sign(pk, r);
        r.holder = bob;
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidSignature.selector, sigIssuer));
        reg.issueWithSig(r, sig);
        r.holder = alice;

        // Garbage signature.
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidSignature.selector, sigIssuer));
        reg.issueWithSig(r, hex"1234");

        // The signer holds no issuer role.
        CredentialRegistry.Issuance memory rs = _request(t1, alice, stranger, 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, stranger));
        reg.issueWithSig(rs, _sign(strangerPk, rs));

        // Expired deadline (the deadline itself is still fine).
        CredentialRegistry.Issuance memory rd = _request(t1, alice, sigIssuer, 2);
        rd.deadline = block.timestamp - 1;
        bytes memory sigd = _sign(pk, rd);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.SignatureExpired.selector, rd.deadline));
        reg.issueWithSig(rd, sigd);
        rd.deadline = block.timestamp;
        vm.prank(outsider);
        reg.issueWithSig(rd, _sign(pk, rd));

        // Unknown type, out-of-range type, zero holder: same errors as issue.
        CredentialRegistry.Issuance memory ru = _request(99, bob, sigIssuer, 3);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.issueWithSig(ru, _sign(pk, ru));
        ru = _request((uint256(1) << 96) | t1, bob, sigIssuer, 3);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.TypeIdOutOfRange.selector, ru.typeId));
        reg.issueWithSig(ru, _sign(pk, ru));
        ru = _request(t1, address(0), sigIssuer, 3);
        vm.prank(outsider);
        vm.expectRevert(_err(CredentialRegistry.ZeroAddress.selector));
        reg.issueWithSig(ru, _sign(pk, ru));
        ru = _request(t1, bob, sigIssuer, 3);
        ru.expiresAt = uint64(1) << 40;
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidExpiry.selector, uint256(1) << 40));
        reg.issueWithSig(ru, _sign(pk, ru));
        // A failed request leaves its nonce unused.
        assertFalse(reg.nonceUsed(sigIssuer, 3));
    }

    function test_issueWithSig_erc1271Wallet() public {
        (address owner, uint256 ownerPk) = makeAddrAndKey("walletOwner");
        (, uint256 strangerPk) = makeAddrAndKey("stranger");
        ERC1271Wallet wallet = new ERC1271Wallet(owner);
        _grant(t1, address(wallet), ISSUER);

        // The wallet says no to a stranger's signature.
        CredentialRegistry.Issuance memory r = _request(t1, alice, address(wallet), 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidSignature.selector, address(wallet)));
        reg.issueWithSig(r, _sign(strangerPk, r));

        // The owner's signature is accepted.
        vm.prank(outsider);
        uint256 id = reg.issueWithSig(r, _sign(ownerPk, r));
        assertEq(reg.ownerOf(id), alice);
        assertEq(reg.credentialOf(alice, t1).issuer, address(wallet));
        assertTrue(reg.nonceUsed(address(wallet), 1));

        // When the wallet refuses, even the owner's signature fails.
        vm.prank(owner);
        wallet.setRefuse(true);
        CredentialRegistry.Issuance memory r2 = _request(t1, bob, address(wallet), 2);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidSignature.selector, address(wallet)));
        reg.issueWithSig(r2, _sign(ownerPk, r2));
        vm.prank(owner);
        wallet.setRefuse(false);
        vm.prank(outsider);
        reg.issueWithSig(r2, _sign(ownerPk, r2));
        assertTrue(reg.isValid(bob, t1));
    }

    function test_issueWithSig_quotaChargedToSigner() public {
        CredentialRegistry.TypePolicy memory p = _policy("Quota");
        p.quotaLimit = 1;
        p.quotaPeriod = 1 days;
        uint256 t = _defineType(p);
        (address sigIssuer, uint256 pk) = makeAddrAndKey("sigIssuer");
        _grant(t, sigIssuer, ISSUER);
        CredentialRegistry.Issuance memory r = _request(t, alice, sigIssuer, 1);
        vm.prank(outsider);
        reg.issueWithSig(r, _sign(pk, r));
        assertEq(reg.quotaRemaining(t, sigIssuer), 0);
        assertEq(reg.quotaRemaining(t, outsider), type(uint256).max); // outsider holds no grant
        r = _request(t, bob, sigIssuer, 2);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, sigIssuer, 1));
        reg.issueWithSig(r, _sign(pk, r));
    }

    // =============================================================================================
    // cancelling nonces (audit finding: an issuer could not cancel an outstanding signed issuance)
    // =============================================================================================

    function test_cancelNonce_signatureWithItReverts() public {
        (address sigIssuer, uint256 pk) = makeAddrAndKey("sigIssuer");
        _grant(t1, sigIssuer, ISSUER);
        CredentialRegistry.Issuance memory r = _request(t1, alice, sigIssuer, 7);
        bytes memory sig = _sign(pk, r);
        address[] memory hs = _holders(3, 77);
        CredentialRegistry.BatchIssuance memory b = _batchRequest(t1, hs, sigIssuer, 8);
        bytes memory bsig = _signBatch(pk, b);

        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.NoncesCancelled(sigIssuer, 0, 1 << 7);
        vm.prank(sigIssuer);
        reg.cancelNonce(7);
        assertTrue(reg.nonceUsed(sigIssuer, 7));
        assertFalse(reg.nonceUsed(sigIssuer, 8));
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, sigIssuer, 7));
        reg.issueWithSig(r, sig);

        vm.prank(sigIssuer);
        reg.cancelNonce(8);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, sigIssuer, 8));
        reg.issueBatchWithSig(b, bsig);
        assertFalse(reg.isValid(alice, t1));
        assertFalse(reg.isValid(hs[0], t1));

        // Cancelling again (or a used nonce) changes nothing and says so: no bit newly cancelled.
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.NoncesCancelled(sigIssuer, 0, 0);
        vm.prank(sigIssuer);
        reg.cancelNonce(7);

        // Nonces are per signer: someone else cancelling "nonce 9" does not touch the issuer's.
        CredentialRegistry.Issuance memory r9 = _request(t1, bob, sigIssuer, 9);
        vm.prank(outsider);
        reg.cancelNonce(9);
        assertTrue(reg.nonceUsed(outsider, 9));
        vm.prank(outsider);
        reg.issueWithSig(r9, _sign(pk, r9));
        assertTrue(reg.isValid(bob, t1));
    }

    function test_cancelNonces_wordMask() public {
        (address sigIssuer, uint256 pk) = makeAddrAndKey("sigIssuer");
        _grant(t1, sigIssuer, ISSUER);
        // Nonce 256 * 3 + 1 used by a relayed issuance; then word 3 cancelled with bits 0, 1 and 255.
        CredentialRegistry.Issuance memory used = _request(t1, alice, sigIssuer, 769);
        vm.prank(outsider);
        reg.issueWithSig(used, _sign(pk, used));
        uint256 mask = 1 | 2 | (1 << 255);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.NoncesCancelled(sigIssuer, 3, 1 | (1 << 255)); // 769 was already used
        vm.prank(sigIssuer);
        reg.cancelNonces(3, mask);
        assertTrue(reg.nonceUsed(sigIssuer, 768));
        assertTrue(reg.nonceUsed(sigIssuer, 1023));
        assertFalse(reg.nonceUsed(sigIssuer, 770));
        assertFalse(reg.nonceUsed(sigIssuer, 1024));
        CredentialRegistry.Issuance memory r = _request(t1, bob, sigIssuer, 1023);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, sigIssuer, 1023));
        reg.issueWithSig(r, _sign(pk, r));
        r = _request(t1, bob, sigIssuer, 770);
        vm.prank(outsider);
        reg.issueWithSig(r, _sign(pk, r));
    }

    // =============================================================================================
    // issueBatchWithSig (audit finding: a relayer could not submit an issuer's signed batch)
    // =============================================================================================

    function test_issueBatchWithSig_typehash() public view {
        assertEq(reg.BATCH_ISSUANCE_TYPEHASH(), BATCH_ISSUANCE_TYPEHASH);
    }

    function test_issueBatchWithSig_issuesAllWithSignerAsIssuer() public {
        (address sigIssuer, uint256 pk) = makeAddrAndKey("sigIssuer");
        _grant(t1, sigIssuer, ISSUER);
        address[] memory hs = _holders(3, 5);
        CredentialRegistry.BatchIssuance memory b = _batchRequest(t1, hs, sigIssuer, 11);
        b.holdersAndExpiries[1] |= (block.timestamp + 10 days) << 160; // one explicit expiry
        bytes memory sig = _signBatch(pk, b);
        uint256[] memory resolved = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            resolved[i] = uint160(hs[i]) | ((i == 1 ? block.timestamp + 10 days : block.timestamp + 365 days) << 160);
        }
        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(true, true, true, true, address(reg));
            emit IERC721.Transfer(address(0), hs[i], _tid(t1, hs[i]));
            vm.expectEmit(true, true, true, true, address(reg));
            emit IERC5192.Locked(_tid(t1, hs[i]));
        }
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.IssuedBatch(t1, sigIssuer, resolved, b.evidenceHashes);
        vm.prank(outsider);
        reg.issueBatchWithSig(b, sig);
        for (uint256 i; i < 3; ++i) {
            CredentialRegistry.Credential memory c = reg.credentialOf(hs[i], t1);
            assertEq(c.issuer, sigIssuer);
            assertEq(c.issuedAt, block.timestamp);
            assertEq(c.expiresAt, resolved[i] >> 160);
            assertTrue(c.valid);
        }
        assertTrue(reg.nonceUsed(sigIssuer, 11));
        // Replay: the nonce is used (shared with issueWithSig).
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, sigIssuer, 11));
        reg.issueBatchWithSig(b, sig);
        CredentialRegistry.Issuance memory r = _request(t1, alice, sigIssuer, 11);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, sigIssuer, 11));
        reg.issueWithSig(r, _sign(pk, r));
    }

    function test_issueBatchWithSig_rejections() public {
        (address sigIssuer, uint256 pk) = makeAddrAndKey("sigIssuer");
        (address stranger, uint256 strangerPk) = makeAddrAndKey("stranger");
        _grant(t1, sigIssuer, ISSUER);
        address[] memory hs = _holders(2, 6);
        CredentialRegistry.BatchIssuance memory b = _batchRequest(t1, hs, sigIssuer, 1);
        bytes memory good = _signBatch(pk, b);
        bytes memory invalid = abi.encodeWithSelector(CredentialRegistry.InvalidSignature.selector, sigIssuer);

        // Wrong signer.
        vm.prank(outsider);
        vm.expectRevert(invalid);
        reg.issueBatchWithSig(b, _signBatch(strangerPk, b));

        // Tampered after signing: a holder, an expiry, an evidence hash, an appended entry, the type, the nonce.
        b.holdersAndExpiries[0] = uint160(outsider);
        vm.prank(outsider);
        vm.expectRevert(invalid);
        reg.issueBatchWithSig(b, good);
        b.holdersAndExpiries[0] = uint160(hs[0]) | ((block.timestamp + 1 days) << 160);
        vm.prank(outsider);
        vm.expectRevert(invalid);
        reg.issueBatchWithSig(b, good);
        b.holdersAndExpiries[0] = uint160(hs[0]);
        b.evidenceHashes[1] = bytes32(uint256(1));
        vm.prank(outsider);
        vm.expectRevert(invalid);
        reg.issueBatchWithSig(b, good);
        b.evidenceHashes = _evidence(2, 1);
        CredentialRegistry.BatchIssuance memory longer = _batchRequest(t1, _holders(3, 6), sigIssuer, 1);
        longer.evidenceHashes[0] = b.evidenceHashes[0];
        longer.evidenceHashes[1] = b.evidenceHashes[1];
        vm.prank(outsider);
        vm.expectRevert(invalid);
        reg.issueBatchWithSig(longer, good);
        uint256 t2 = _defineType(_policy("Other"));
        _grant(t2, sigIssuer, ISSUER);
        b.typeId = t2;
        vm.prank(outsider);
        vm.expectRevert(invalid);
        reg.issueBatchWithSig(b, good);
        b.typeId = t1;
        b.nonce = 2;
        vm.prank(outsider);
        vm.expectRevert(invalid);
        reg.issueBatchWithSig(b, good);
        b.nonce = 1;

        // Expired deadline (the deadline itself is still fine).
        vm.warp(b.deadline + 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.SignatureExpired.selector, b.deadline));
        reg.issueBatchWithSig(b, good);
        vm.warp(b.deadline);

        // A signer without the issuer role, and the batch shape rules of issueBatch.
        CredentialRegistry.BatchIssuance memory bs = _batchRequest(t1, hs, stranger, 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, stranger));
        reg.issueBatchWithSig(bs, _signBatch(strangerPk, bs));
        CredentialRegistry.BatchIssuance memory empty = _batchRequest(t1, new address[](0), sigIssuer, 3);
        vm.prank(outsider);
        vm.expectRevert(_err(CredentialRegistry.EmptyBatch.selector));
        reg.issueBatchWithSig(empty, _signBatch(pk, empty));
        CredentialRegistry.BatchIssuance memory odd = _batchRequest(t1, hs, sigIssuer, 3);
        odd.evidenceHashes = new bytes32[](1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.LengthMismatch.selector, 2, 1));
        reg.issueBatchWithSig(odd, _signBatch(pk, odd));
        // Failed requests left their nonces unused; the untampered request goes through.
        assertFalse(reg.nonceUsed(sigIssuer, 1));
        assertFalse(reg.nonceUsed(sigIssuer, 3));
        vm.prank(outsider);
        reg.issueBatchWithSig(b, good);
        assertTrue(reg.isValid(hs[1], t1));
    }

    function test_issueBatchWithSig_quotaChargedToSigner() public {
        CredentialRegistry.TypePolicy memory p = _policy("Quota");
        p.quotaLimit = 3;
        p.quotaPeriod = 1 days;
        uint256 t = _defineType(p);
        (address sigIssuer, uint256 pk) = makeAddrAndKey("sigIssuer");
        _grant(t, sigIssuer, ISSUER);
        _grant(t, outsider, ISSUER); // the relayer is an issuer too: its own quota is not touched
        CredentialRegistry.BatchIssuance memory b = _batchRequest(t, _holders(2, 8), sigIssuer, 1);
        vm.prank(outsider);
        reg.issueBatchWithSig(b, _signBatch(pk, b));
        assertEq(reg.quotaRemaining(t, sigIssuer), 1);
        assertEq(reg.quotaRemaining(t, outsider), 3);
        b = _batchRequest(t, _holders(2, 9), sigIssuer, 2);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, sigIssuer, 3));
        reg.issueBatchWithSig(b, _signBatch(pk, b));
    }

    function test_issueBatchWithSig_erc1271Wallet() public {
        (address owner, uint256 ownerPk) = makeAddrAndKey("walletOwner");
        (, uint256 strangerPk) = makeAddrAndKey("stranger");
        ERC1271Wallet wallet = new ERC1271Wallet(owner);
        _grant(t1, address(wallet), ISSUER);
        address[] memory hs = _holders(2, 10);
        CredentialRegistry.BatchIssuance memory b = _batchRequest(t1, hs, address(wallet), 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidSignature.selector, address(wallet)));
        reg.issueBatchWithSig(b, _signBatch(strangerPk, b));
        vm.prank(outsider);
        reg.issueBatchWithSig(b, _signBatch(ownerPk, b));
        assertEq(reg.credentialOf(hs[1], t1).issuer, address(wallet));
        // A contract signer cancels its nonces itself.
        vm.prank(address(wallet));
        reg.cancelNonce(2);
        CredentialRegistry.BatchIssuance memory b2 = _batchRequest(t1, _holders(1, 11), address(wallet), 2);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, address(wallet), 2));
        reg.issueBatchWithSig(b2, _signBatch(ownerPk, b2));
    }

    // =============================================================================================
    // revoke / revokeBatch
    // =============================================================================================

    function test_revoke_burnsAndRecordsReason() public {
        uint256 id = _issue(t1, alice);
        _issue(_defineType(_policy("Other")), alice);
        assertEq(reg.balanceOf(alice), 2);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(alice, address(0), id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Revoked(id, revoker, 42);
        _revoke(id, 42);

        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, id));
        reg.ownerOf(id);
        assertEq(reg.balanceOf(alice), 1);
        assertFalse(reg.isValid(alice, t1));
        CredentialRegistry.Credential memory c = reg.recordOf(id);
        assertEq(c.status, reg.STATUS_REVOKED());
        assertEq(c.reason, 42);
        assertEq(c.issuer, issuer);
        assertFalse(c.valid);
    }

    function test_revoke_suspendedAndExpiredAreRevocable() public {
        uint256 a = _issue(t1, alice);
        uint256 b = _issue(t1, bob);
        _suspend(a, 1);
        _revoke(a, 2);
        vm.warp(block.timestamp + 400 days);
        _revoke(b, 3);
        assertEq(reg.recordOf(a).status, 3);
        assertEq(reg.recordOf(b).reason, 3);
    }

    function test_revoke_rejections() public {
        uint256 id = _issue(t1, alice);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRevoker.selector, t1, outsider));
        reg.revoke(id, 1);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRevoker.selector, t1, issuer));
        reg.revoke(id, 1);
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.revoke(_tid(99, alice), 1);

        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotLive.selector, _tid(t1, bob)));
        reg.revoke(_tid(t1, bob), 1);
        _revoke(id, 1);
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotLive.selector, id));
        reg.revoke(id, 1);

        uint256 t = _defineType(_policyFlags("Irrevocable", ALL_FLAGS & ~F_REVOCABLE));
        uint256 id2 = _issue(t, alice);
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRevocable.selector, t));
        reg.revoke(id2, 1);
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRevocable.selector, t));
        reg.revokeBatch(t, _one(alice), 1);
    }

    function test_revoke_cappedSupplyDrops() public {
        uint256 t = _capped(5);
        uint256 id = _issue(t, alice);
        _issue(t, bob);
        _revoke(id, 1);
        (, uint256 supply) = reg.typeState(t);
        assertEq(supply, 1);
        vm.prank(revoker);
        reg.revokeBatch(t, _one(bob), 1);
        (, supply) = reg.typeState(t);
        assertEq(supply, 0);
    }

    function test_revokeBatch_burnsAndEmits() public {
        address[] memory hs = _holders(3, 9);
        vm.prank(issuer);
        reg.issueBatch(t1, _entries(hs, 0), _evidence(3, 9));
        _suspend(_tid(t1, hs[1]), 4); // suspended ones are revocable too
        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(true, true, true, true, address(reg));
            emit IERC721.Transfer(hs[i], address(0), _tid(t1, hs[i]));
        }
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.RevokedBatch(t1, revoker, 7, hs);
        vm.prank(revoker);
        reg.revokeBatch(t1, hs, 7);
        for (uint256 i; i < 3; ++i) {
            CredentialRegistry.Credential memory c = reg.credentialOf(hs[i], t1);
            assertEq(c.status, 3);
            assertEq(c.reason, 7);
            assertFalse(c.valid);
            assertEq(reg.balanceOf(hs[i]), 0);
            vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, _tid(t1, hs[i])));
            reg.ownerOf(_tid(t1, hs[i]));
        }
    }

    function test_revokeBatch_rejections() public {
        address[] memory hs = _holders(3, 9);
        vm.prank(issuer);
        reg.issueBatch(t1, _entries(hs, 0), _evidence(3, 9));

        vm.startPrank(revoker);
        vm.expectRevert(_err(CredentialRegistry.EmptyBatch.selector));
        reg.revokeBatch(t1, new address[](0), 1);
        uint256 max = reg.MAX_BATCH();
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.BatchTooLarge.selector, max + 1, max));
        reg.revokeBatch(t1, _holders(max + 1, 1), 1);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.revokeBatch(99, hs, 1);

        // A never-issued holder in the middle fails the whole batch.
        address[] memory mixed = new address[](3);
        mixed[0] = hs[0];
        mixed[1] = carol;
        mixed[2] = hs[2];
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotLive.selector, _tid(t1, carol)));
        reg.revokeBatch(t1, mixed, 1);
        // A duplicate is not live the second time.
        mixed[1] = hs[0];
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotLive.selector, _tid(t1, hs[0])));
        reg.revokeBatch(t1, mixed, 1);
        // The zero address is never live.
        mixed[1] = address(0);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotLive.selector, _tid(t1, address(0))));
        reg.revokeBatch(t1, mixed, 1);
        vm.stopPrank();
        assertTrue(reg.isValid(hs[0], t1));

        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRevoker.selector, t1, issuer));
        reg.revokeBatch(t1, hs, 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRevoker.selector, t1, outsider));
        reg.revokeBatch(t1, hs, 1);
    }

    function test_revokeBatch_dirtyHolderWord() public {
        address[] memory hs = new address[](2);
        hs[0] = alice;
        hs[1] = bob;
        _issue(t1, alice);
        _issue(t1, bob);
        bytes memory data = abi.encodeCall(CredentialRegistry.revokeBatch, (t1, hs, 7));
        // selector | typeId | offset | reason | length | holders[0] | holders[1]
        uint256 dirty = uint256(uint160(bob)) | (uint256(0xdead) << 160);
        assembly {
            mstore(add(data, add(0x20, 164)), dirty)
        }
        vm.prank(revoker);
        (bool ok, bytes memory ret) = address(reg).call(data);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(CredentialRegistry.MalformedEntry.selector, 1, dirty));
        assertTrue(reg.isValid(alice, t1));
        assertTrue(reg.isValid(bob, t1));
    }

    // =============================================================================================
    // suspend / reinstate
    // =============================================================================================

    function test_suspend_reinstate() public {
        uint256 id = _issue(t1, alice);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Suspended(id, revoker, 11);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC4906.MetadataUpdate(id);
        _suspend(id, 11);
        assertFalse(reg.isValid(alice, t1));
        assertEq(reg.ownerOf(id), alice);
        assertEq(reg.balanceOf(alice), 1);
        assertTrue(reg.locked(id));
        CredentialRegistry.Credential memory c = reg.recordOf(id);
        assertEq(c.status, reg.STATUS_SUSPENDED());
        assertEq(c.reason, 11);
        assertFalse(c.valid);

        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Reinstated(id, revoker);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC4906.MetadataUpdate(id);
        vm.prank(revoker);
        reg.reinstate(id);
        assertTrue(reg.isValid(alice, t1));
        c = reg.recordOf(id);
        assertEq(c.status, 1);
        assertEq(c.reason, 0);
        assertEq(c.expiresAt, T0 + 365 days);
    }

    function test_suspend_reinstate_rejections() public {
        uint256 id = _issue(t1, alice);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRevoker.selector, t1, issuer));
        reg.suspend(id, 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRevoker.selector, t1, outsider));
        reg.reinstate(id);

        vm.startPrank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotActive.selector, _tid(t1, bob)));
        reg.suspend(_tid(t1, bob), 1);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotSuspended.selector, id));
        reg.reinstate(id);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotSuspended.selector, _tid(t1, bob)));
        reg.reinstate(_tid(t1, bob));
        reg.suspend(id, 1);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotActive.selector, id));
        reg.suspend(id, 2);
        reg.revoke(id, 3);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotActive.selector, id));
        reg.suspend(id, 2);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotSuspended.selector, id));
        reg.reinstate(id);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.suspend(_tid(99, alice), 1);
        vm.stopPrank();

        uint256 t = _defineType(_policyFlags("NoSuspend", ALL_FLAGS & ~F_SUSPENDABLE));
        uint256 id2 = _issue(t, alice);
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotSuspendable.selector, t));
        reg.suspend(id2, 1);
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotSuspendable.selector, t));
        reg.reinstate(id2);
    }

    function test_suspend_expiredThenReinstatedStaysExpired() public {
        uint256 id = _issueAt(t1, alice, uint64(block.timestamp + 1 days));
        vm.warp(block.timestamp + 2 days);
        _suspend(id, 1);
        vm.prank(revoker);
        reg.reinstate(id);
        assertFalse(reg.isValid(alice, t1));
    }

    // =============================================================================================
    // renew
    // =============================================================================================

    function test_renew_windowAndDefaultExtension() public {
        uint256 id = _issue(t1, alice);
        uint256 exp = T0 + 365 days;
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.RenewalTooEarly.selector, id, exp - 30 days));
        reg.renew(id, 0);
        vm.warp(exp - 30 days - 1);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.RenewalTooEarly.selector, id, exp - 30 days));
        reg.renew(id, 0);

        vm.warp(exp - 30 days);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Renewed(id, issuer, uint64(exp + 365 days));
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC4906.MetadataUpdate(id);
        vm.prank(issuer);
        reg.renew(id, 0);
        CredentialRegistry.Credential memory c = reg.recordOf(id);
        assertEq(c.expiresAt, exp + 365 days);
        assertEq(c.issuedAt, T0); // renewal keeps issuedAt and issuer
        assertEq(c.issuer, issuer);
    }

    function test_renew_explicitTargets() public {
        uint256 id = _issue(t1, alice);
        uint256 exp = T0 + 365 days;
        vm.warp(exp - 10 days);
        vm.startPrank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ExpiryNotExtended.selector, id, exp, exp));
        reg.renew(id, uint64(exp));
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ExpiryNotExtended.selector, id, exp, exp - 1));
        reg.renew(id, uint64(exp - 1));
        uint256 latest = block.timestamp + 730 days;
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.ExpiryBeyondMax.selector, latest + 1, latest));
        reg.renew(id, uint64(latest + 1));
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidExpiry.selector, uint256(1) << 40));
        reg.renew(id, uint64(1) << 40);
        reg.renew(id, uint64(latest));
        vm.stopPrank();
        assertEq(reg.recordOf(id).expiresAt, latest);
    }

    function test_renew_afterExpiry() public {
        uint256 id = _issue(t1, alice);
        uint256 exp = T0 + 365 days;
        vm.warp(exp + 10 days);
        assertFalse(reg.isValid(alice, t1));
        // A target between the old expiry and now is in the past.
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidExpiry.selector, exp + 5 days));
        reg.renew(id, uint64(exp + 5 days));
        // Default: now + defaultValidity.
        vm.prank(issuer);
        reg.renew(id, 0);
        assertEq(reg.recordOf(id).expiresAt, block.timestamp + 365 days);
        assertTrue(reg.isValid(alice, t1));
    }

    function test_renew_rejections() public {
        uint256 id = _issue(t1, alice);
        vm.warp(T0 + 360 days);
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, revoker));
        reg.renew(id, 0);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotIssuer.selector, t1, outsider));
        reg.renew(id, 0);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.renew(_tid(99, alice), 0);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotActive.selector, _tid(t1, bob)));
        reg.renew(_tid(t1, bob), 0);
        _suspend(id, 1);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotActive.selector, id));
        reg.renew(id, 0);
        _revoke(id, 1);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotActive.selector, id));
        reg.renew(id, 0);

        uint256 t = _defineType(_policyFlags("NoRenew", ALL_FLAGS & ~F_RENEWABLE));
        uint256 id2 = _issue(t, alice);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRenewable.selector, t));
        reg.renew(id2, 0);
    }

    function test_renew_neverExpiringCannotBeExtended() public {
        CredentialRegistry.TypePolicy memory p = _policyFlags("Forever", ALL_FLAGS & ~F_RENEWABLE);
        p.defaultValidity = 0;
        p.maxValidity = 0;
        uint256 t = _defineType(p);
        uint256 id = _issue(t, alice);
        p.flags = ALL_FLAGS;
        p.defaultValidity = 365 days;
        p.renewalWindow = 0;
        vm.prank(governor);
        reg.updateType(t, p);
        vm.prank(issuer);
        vm.expectRevert(
            abi.encodeWithSelector(CredentialRegistry.ExpiryNotExtended.selector, id, 0, block.timestamp + 365 days)
        );
        reg.renew(id, 0);
    }

    function test_renew_noWindowAnyTime() public {
        CredentialRegistry.TypePolicy memory p = _policy("AnyTime");
        p.renewalWindow = 0;
        p.maxValidity = 0;
        uint256 t = _defineType(p);
        uint256 id = _issue(t, alice);
        vm.prank(issuer);
        reg.renew(id, 0);
        assertEq(reg.recordOf(id).expiresAt, T0 + 730 days);
    }

    /// Audit finding: renew and reinstate revived a pathway credential whose prerequisite had been revoked,
    /// while re-issue re-checks prerequisites. Both now check them as an issue does.
    function test_renewAndReinstate_recheckPrerequisites() public {
        uint256 t2 = _prereqType(); // needs a valid t1
        _issue(t1, alice);
        uint256 id = _issue(t2, alice);
        _revoke(_tid(t1, alice), 1);
        vm.warp(T0 + 340 days); // inside t2's renewal window

        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MissingPrerequisite.selector, alice, t1));
        reg.renew(id, 0);

        _suspend(id, 4);
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MissingPrerequisite.selector, alice, t1));
        reg.reinstate(id);
        assertFalse(reg.isValid(alice, t2));

        // Once the holder holds a valid prerequisite again, both work.
        _issue(t1, alice); // t1 allows re-issue after revocation
        vm.prank(revoker);
        reg.reinstate(id);
        vm.prank(issuer);
        reg.renew(id, 0);
        assertEq(reg.recordOf(id).expiresAt, T0 + 730 days);
        assertTrue(reg.isValid(alice, t2));

        // An expired prerequisite does not count either (renewal after t2's own expiry).
        vm.warp(T0 + 340 days + 366 days); // t1 re-issued at T0 + 340 d expired; t2 still valid until T0 + 730 d
        assertFalse(reg.isValid(alice, t1));
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MissingPrerequisite.selector, alice, t1));
        reg.renew(id, 0);
    }

    /// Audit finding: renewals were bounded by no quota. A renewal now counts as one issuance against the
    /// renewing issuer's quota for the type, in the same period bookkeeping as issue.
    function test_renew_countsAgainstIssuerQuota() public {
        CredentialRegistry.TypePolicy memory p = _policy("Quota");
        p.quotaLimit = 3;
        p.quotaPeriod = 30 days;
        p.renewalWindow = 0; // renew any time
        p.maxValidity = 0;
        uint256 t = _defineType(p);
        uint256 a = _issue(t, alice);
        uint256 b = _issue(t, bob);
        assertEq(reg.quotaRemaining(t, issuer), 1);

        vm.prank(issuer);
        reg.renew(a, 0);
        assertEq(reg.quotaRemaining(t, issuer), 0);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, issuer, 3));
        reg.renew(b, 0);
        // Issuing is blocked by the same counter.
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, issuer, 3));
        reg.issue(t, carol, 0, bytes32(0));

        // Another issuer renews on its own quota.
        _grant(t, issuer2, ISSUER);
        vm.prank(issuer2);
        reg.renew(b, 0);
        assertEq(reg.quotaRemaining(t, issuer2), 2);
        assertEq(reg.recordOf(b).issuer, issuer); // the record keeps the original issuer

        // A failed renewal uses no quota; a new period resets it.
        vm.warp(T0 + 30 days);
        assertEq(reg.quotaRemaining(t, issuer), 3);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotActive.selector, _tid(t, carol)));
        reg.renew(_tid(t, carol), 0);
        assertEq(reg.quotaRemaining(t, issuer), 3);
        vm.prank(issuer);
        reg.renew(b, 0);
        assertEq(reg.quotaRemaining(t, issuer), 2);
    }

    // =============================================================================================
    // renounce
    // =============================================================================================

    function test_renounce() public {
        uint256 id = _issue(t1, alice);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(alice, address(0), id);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Renounced(id);
        vm.prank(alice);
        reg.renounce(t1);
        assertEq(reg.recordOf(id).status, reg.STATUS_RENOUNCED());
        assertEq(reg.balanceOf(alice), 0);
        assertFalse(reg.isValid(alice, t1));
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, id));
        reg.ownerOf(id);

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotLive.selector, id));
        reg.renounce(t1);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.CredentialNotLive.selector, _tid(t1, bob)));
        reg.renounce(t1);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.renounce(99);
    }

    function test_renounce_suspendedCappedAndNotRenounceable() public {
        uint256 c = _capped(2);
        uint256 id = _issue(c, alice);
        _suspend(id, 1);
        vm.prank(alice);
        reg.renounce(c);
        (, uint256 supply) = reg.typeState(c);
        assertEq(supply, 0);

        uint256 t = _defineType(_policyFlags("Kept", ALL_FLAGS & ~F_RENOUNCEABLE));
        _issue(t, alice);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NotRenounceable.selector, t));
        reg.renounce(t);
    }

    // =============================================================================================
    // recover
    // =============================================================================================

    function test_recover_movesEveryLiveCredential() public {
        uint256 t2 = _capped(10);
        uint256 t3 = _defineType(_policy("Third"));
        uint256 a1 = _issueAt(t1, alice, uint64(T0 + 100 days));
        uint256 a2 = _issue(t2, alice);
        uint256 a3 = _issue(t3, alice);
        _suspend(a2, 5);
        _revoke(a3, 6);
        vm.warp(T0 + 1 days);

        uint256 b1 = _tid(t1, bob);
        uint256 b2 = _tid(t2, bob);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(alice, address(0), a1);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(address(0), bob, b1);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC5192.Locked(b1);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Recovered(alice, bob, a1, b1);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(alice, address(0), a2);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC721.Transfer(address(0), bob, b2);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IERC5192.Locked(b2);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CredentialRegistry.Recovered(alice, bob, a2, b2);
        vm.prank(recovery);
        reg.recover(alice, bob);

        assertEq(reg.balanceOf(alice), 0);
        assertEq(reg.balanceOf(bob), 2);
        assertEq(reg.ownerOf(b1), bob);
        assertEq(reg.ownerOf(b2), bob);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, a1));
        reg.ownerOf(a1);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, a2));
        reg.ownerOf(a2);
        assertEq(reg.recordOf(a1).status, reg.STATUS_RECOVERED());
        assertEq(reg.recordOf(a2).status, reg.STATUS_RECOVERED());
        assertEq(reg.recordOf(a3).status, reg.STATUS_REVOKED()); // not moved
        assertEq(reg.credentialOf(bob, t3).status, 0);

        CredentialRegistry.Credential memory c1 = reg.recordOf(b1);
        assertEq(c1.status, 1);
        assertEq(c1.issuer, issuer);
        assertEq(c1.issuedAt, T0);
        assertEq(c1.expiresAt, T0 + 100 days);
        assertTrue(c1.valid);
        CredentialRegistry.Credential memory c2 = reg.recordOf(b2);
        assertEq(c2.status, 2);
        assertEq(c2.reason, 5);
        assertFalse(c2.valid);
        // The suspension moved with it: reinstating works on the new token.
        vm.prank(revoker);
        reg.reinstate(b2);
        assertTrue(reg.isValid(bob, t2));
        (, uint256 supply) = reg.typeState(t2);
        assertEq(supply, 1);
    }

    function test_recover_ontoDeadRecord() public {
        uint256 b = _issue(t1, bob);
        _revoke(b, 1);
        _issue(t1, alice);
        vm.prank(recovery);
        reg.recover(alice, bob);
        assertEq(reg.ownerOf(b), bob);
        assertEq(reg.recordOf(b).reason, 0);
    }

    function test_recover_rejections() public {
        _issue(t1, alice);
        _issue(t1, bob);
        vm.startPrank(recovery);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.RecoveryConflict.selector, t1, bob));
        reg.recover(alice, bob);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NothingToRecover.selector, carol));
        reg.recover(carol, bob);
        vm.expectRevert(_err(CredentialRegistry.SameAddress.selector));
        reg.recover(alice, alice);
        vm.expectRevert(_err(CredentialRegistry.ZeroAddress.selector));
        reg.recover(address(0), alice);
        vm.expectRevert(_err(CredentialRegistry.ZeroAddress.selector));
        reg.recover(alice, address(0));
        vm.stopPrank();

        // A conflict on the second type rolls back the first.
        uint256 t2 = _defineType(_policy("Second"));
        _issue(t2, carol);
        _issue(t2, alice);
        address dave = makeAddr("dave");
        _issue(t1, dave);
        vm.prank(recovery);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.RecoveryConflict.selector, t2, carol));
        reg.recover(alice, carol);
        assertEq(reg.balanceOf(alice), 2);
        // A revoked credential at the destination blocks recovery where the type forbids re-issue after revocation,
        // so governance cannot use recovery to get around that policy.
        CredentialRegistry.TypePolicy memory strict = _policy("Strict");
        strict.flags = reg.FLAG_REVOCABLE();
        uint256 t3 = _defineType(strict);
        address frank = makeAddr("frank");
        address gina = makeAddr("gina");
        _issue(t3, frank);
        _issue(t3, gina);
        uint256 ginaT3 = reg.tokenIdOf(gina, t3);
        vm.prank(revoker);
        reg.revoke(ginaT3, 9);
        vm.prank(recovery);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.RecoveryConflict.selector, t3, gina));
        reg.recover(frank, gina);
        // Where the type allows re-issue after revocation (ALL_FLAGS), the same move goes through.
        uint256 t4 = _defineType(_policy("Lenient"));
        address hank = makeAddr("hank");
        address ivy = makeAddr("ivy");
        _issue(t4, hank);
        _issue(t4, ivy);
        uint256 ivyT4 = reg.tokenIdOf(ivy, t4);
        vm.prank(revoker);
        reg.revoke(ivyT4, 9);
        vm.prank(recovery);
        reg.recover(hank, ivy);
        assertTrue(reg.isValid(ivy, t4));
        assertFalse(reg.isValid(hank, t4));
        // Only dead credentials: nothing to recover.
        vm.prank(dave);
        reg.renounce(t1);
        vm.prank(recovery);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NothingToRecover.selector, dave));
        reg.recover(dave, makeAddr("erin"));
    }

    // =============================================================================================
    // ERC-721 surface
    // =============================================================================================

    function test_erc721_everyTransferAndApprovalReverts() public {
        uint256 id = _issue(t1, alice);
        bytes memory sb = _err(CredentialRegistry.Soulbound.selector);
        address[3] memory callers = [alice, outsider, governor];
        for (uint256 i; i < 3; ++i) {
            vm.startPrank(callers[i]);
            vm.expectRevert(sb);
            reg.transferFrom(alice, bob, id);
            vm.expectRevert(sb);
            reg.safeTransferFrom(alice, bob, id);
            vm.expectRevert(sb);
            reg.safeTransferFrom(alice, bob, id, "data");
            vm.expectRevert(sb);
            reg.approve(bob, id);
            vm.expectRevert(sb);
            reg.setApprovalForAll(bob, true);
            vm.expectRevert(sb);
            reg.setApprovalForAll(bob, false);
            vm.stopPrank();
        }
        assertEq(reg.ownerOf(id), alice);
        assertEq(reg.getApproved(id), address(0));
        assertFalse(reg.isApprovedForAll(alice, bob));
        assertFalse(reg.isApprovedForAll(alice, alice));
    }

    function test_erc721_lockedAndGetApproved() public {
        uint256 id = _issue(t1, alice);
        assertTrue(reg.locked(id));
        uint256 ghost = _tid(t1, bob);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, ghost));
        reg.locked(ghost);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, ghost));
        reg.getApproved(ghost);
        _revoke(id, 1);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, id));
        reg.locked(id);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, id));
        reg.getApproved(id);
    }

    function test_erc721_balanceOf() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidOwner.selector, address(0)));
        reg.balanceOf(address(0));
        assertEq(reg.balanceOf(alice), 0);
        uint256 t2 = _defineType(_policy("Two"));
        _issue(t1, alice);
        _issue(t2, alice);
        assertEq(reg.balanceOf(alice), 2);
        _suspend(_tid(t2, alice), 1);
        assertEq(reg.balanceOf(alice), 2);
        vm.warp(block.timestamp + 1000 days); // expired still counts
        assertEq(reg.balanceOf(alice), 2);
    }

    function test_erc165() public view {
        assertTrue(reg.supportsInterface(0x01ffc9a7));
        assertTrue(reg.supportsInterface(0x80ac58cd));
        assertTrue(reg.supportsInterface(0x5b5e139f));
        assertTrue(reg.supportsInterface(0xb45a3c0e));
        assertTrue(reg.supportsInterface(0x49064906));
        assertFalse(reg.supportsInterface(0xffffffff));
        assertFalse(reg.supportsInterface(0x12345678));
        assertFalse(reg.supportsInterface(0x8c65f84d)); // ERC-5643 is not claimed
        assertEq(type(IERC721).interfaceId, bytes4(0x80ac58cd));
        assertEq(type(IERC5192).interfaceId, bytes4(0xb45a3c0e));
    }

    // =============================================================================================
    // views
    // =============================================================================================

    function test_views() public {
        assertEq(reg.tokenIdOf(alice, t1), (t1 << 160) | uint160(alice));
        assertEq(reg.tokenIdOf(alice, (uint256(1) << 96) - 1), (((uint256(1) << 96) - 1) << 160) | uint160(alice));
        assertEq(reg.collectionOf(t1), address(reg));
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.collectionOf(99);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 0));
        reg.collectionOf(0);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.typePolicy(99);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, 99));
        reg.typeState(99);

        // Never issued: status NONE, not valid.
        CredentialRegistry.Credential memory c = reg.credentialOf(alice, t1);
        assertEq(c.tokenId, _tid(t1, alice));
        assertEq(c.holder, alice);
        assertEq(c.typeId, t1);
        assertEq(c.issuer, address(0));
        assertEq(c.status, reg.STATUS_NONE());
        assertFalse(c.valid);
        assertFalse(reg.isValid(alice, t1));
        assertFalse(reg.isValid(alice, 99));
        assertFalse(reg.isValid(alice, 0));

        _issueAt(t1, alice, uint64(T0 + 3 days));
        c = reg.recordOf(_tid(t1, alice));
        assertEq(c.issuer, issuer);
        assertEq(c.issuedAt, T0);
        assertEq(c.expiresAt, T0 + 3 days);
        assertEq(c.status, 1);
        assertEq(c.reason, 0);
        assertTrue(c.valid);
        assertTrue(reg.isValid(alice, t1));

        assertEq(reg.rolesOf(t1, issuer), 1);
        assertEq(reg.rolesOf(99, issuer), 0);
        assertEq(reg.grants().length, 2);
        assertFalse(reg.paused());
        assertEq(reg.typeCount(), 1);
        assertEq(reg.FLAG_RENEWABLE(), 1);
        assertEq(reg.FLAG_REVOCABLE(), 2);
        assertEq(reg.FLAG_SUSPENDABLE(), 4);
        assertEq(reg.FLAG_RENOUNCEABLE(), 8);
        assertEq(reg.FLAG_REISSUE_AFTER_EXPIRY(), 16);
        assertEq(reg.FLAG_REISSUE_AFTER_REVOCATION(), 32);
        assertEq(reg.ROLE_ISSUER(), 1);
        assertEq(reg.ROLE_REVOKER(), 2);
        assertEq(address(reg.authority()), address(manager));
    }

    // =============================================================================================
    // event signatures used from assembly
    // =============================================================================================

    function test_eventSignatureConstants_fastPath() public {
        assertEq(IERC721.Transfer.selector, keccak256("Transfer(address,address,uint256)"));
        assertEq(IERC5192.Locked.selector, keccak256("Locked(uint256)"));
        assertEq(CredentialRegistry.Issued.selector, keccak256("Issued(uint256,uint256,bytes32)"));

        bytes32 ev = keccak256("e");
        uint256 id = _tid(t1, alice);
        vm.recordLogs();
        vm.prank(issuer);
        reg.issue(t1, alice, 0, ev); // fast path: every log comes from assembly
        Vm.Log[] memory logs = _regLogs(vm.getRecordedLogs());
        assertEq(logs.length, 3);
        assertEq(logs[0].topics.length, 4);
        assertEq(logs[0].topics[0], keccak256("Transfer(address,address,uint256)"));
        assertEq(logs[0].topics[0], IERC721.Transfer.selector);
        assertEq(logs[0].topics[1], bytes32(0));
        assertEq(logs[0].topics[2], bytes32(uint256(uint160(alice))));
        assertEq(logs[0].topics[3], bytes32(id));
        assertEq(logs[0].data.length, 0);
        assertEq(logs[1].topics.length, 1);
        assertEq(logs[1].topics[0], keccak256("Locked(uint256)"));
        assertEq(logs[1].topics[0], IERC5192.Locked.selector);
        assertEq(logs[1].data, abi.encode(id));
        assertEq(logs[2].topics.length, 2);
        assertEq(logs[2].topics[0], keccak256("Issued(uint256,uint256,bytes32)"));
        assertEq(logs[2].topics[0], CredentialRegistry.Issued.selector);
        assertEq(logs[2].topics[1], bytes32(id));
        assertEq(logs[2].data, abi.encode(uint256(uint160(issuer)) | ((T0 + 365 days) << 160), ev));
        for (uint256 i; i < 3; ++i) {
            assertEq(logs[i].emitter, address(reg));
        }
    }

    function test_eventSignatureConstants_slowPathBatchAndRevokeBatch() public {
        // The slow path (emit Issued) and the assembly logs agree.
        vm.recordLogs();
        vm.prank(issuer);
        reg.issue(t1, alice, uint64(T0 + 1 days), bytes32(0));
        Vm.Log[] memory logs = _regLogs(vm.getRecordedLogs());
        assertEq(logs.length, 3);
        assertEq(logs[0].topics[0], IERC721.Transfer.selector);
        assertEq(logs[1].topics[0], IERC5192.Locked.selector);
        assertEq(logs[2].topics[0], CredentialRegistry.Issued.selector);

        vm.recordLogs();
        vm.prank(issuer);
        reg.issueBatch(t1, _entries(_one(bob), 0), _evidence(1, 0));
        logs = _regLogs(vm.getRecordedLogs());
        assertEq(logs.length, 3);
        assertEq(logs[0].topics[0], IERC721.Transfer.selector);
        assertEq(logs[0].topics[2], bytes32(uint256(uint160(bob))));
        assertEq(logs[1].topics[0], IERC5192.Locked.selector);
        assertEq(logs[1].data, abi.encode(_tid(t1, bob)));
        assertEq(logs[2].topics[0], CredentialRegistry.IssuedBatch.selector);
        (uint256[] memory entries, bytes32[] memory evs) = abi.decode(logs[2].data, (uint256[], bytes32[]));
        assertEq(entries.length, 1);
        assertEq(entries[0], uint256(uint160(bob)) | ((T0 + 365 days) << 160));
        assertEq(evs[0], _evidence(1, 0)[0]);

        vm.recordLogs();
        vm.prank(revoker);
        reg.revokeBatch(t1, _one(bob), 3);
        logs = _regLogs(vm.getRecordedLogs());
        assertEq(logs.length, 2);
        assertEq(logs[0].topics[0], IERC721.Transfer.selector);
        assertEq(logs[0].topics[1], bytes32(uint256(uint160(bob))));
        assertEq(logs[0].topics[2], bytes32(0));
        assertEq(logs[0].topics[3], bytes32(_tid(t1, bob)));
        assertEq(logs[1].topics[0], CredentialRegistry.RevokedBatch.selector);
        assertEq(logs[1].topics[1], bytes32(t1));
        assertEq(logs[1].topics[2], bytes32(uint256(uint160(revoker))));
        (uint8 reason, address[] memory hs) = abi.decode(logs[1].data, (uint8, address[]));
        assertEq(reason, 3);
        assertEq(hs.length, 1);
        assertEq(hs[0], bob);
    }

    // =============================================================================================
    // default-validity policies near the 40-bit limit
    // =============================================================================================

    /// A default validity must never produce an expiry that does not fit the 40-bit record field
    /// (before the fix, defaultValidity = 2^40 - 1 was accepted and issued credentials that were already expired).
    function test_defaultValidity_cannotOverflowExpiryField() public {
        CredentialRegistry.TypePolicy memory p = _policyFlags("Huge", ALL_FLAGS);
        p.maxValidity = 0;
        p.renewalWindow = 0;
        p.defaultValidity = U40; // "practically forever"
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("defaultValidity: expiry would not fit in 40 bits"));
        reg.defineType(p);
        p.defaultValidity = uint40(uint256(U40) >> 1) + 1;
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("defaultValidity: expiry would not fit in 40 bits"));
        reg.defineType(p);
        vm.prank(governor);
        vm.expectRevert(_invalidPolicy("defaultValidity: expiry would not fit in 40 bits"));
        reg.updateType(t1, p);

        // The longest accepted default still yields a valid credential, on the fast path and in a batch.
        p.defaultValidity = uint40(uint256(U40) >> 1);
        uint256 t = _defineType(p);
        _issue(t, alice);
        assertTrue(reg.isValid(alice, t));
        assertEq(reg.credentialOf(alice, t).expiresAt, block.timestamp + (uint256(U40) >> 1));
        vm.prank(issuer);
        reg.issueBatch(t, _entries(_one(bob), 0), _evidence(1, 0));
        assertTrue(reg.isValid(bob, t));
        assertEq(reg.credentialOf(bob, t).expiresAt, block.timestamp + (uint256(U40) >> 1));
        // A renewal past 40 bits is rejected, never wrapped.
        vm.prank(issuer);
        vm.expectRevert(
            abi.encodeWithSelector(
                CredentialRegistry.InvalidExpiry.selector, block.timestamp + 2 * (uint256(U40) >> 1)
            )
        );
        reg.renew(_tid(t, alice), 0);
    }
}
