// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";
import {MembershipRegistry} from "../src/MembershipRegistry.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {Roles} from "../src/Roles.sol";
import {LaurelWiring} from "../script/Wiring.sol";
import {ICredentialVerifier} from "../src/interfaces/ICredentialVerifier.sol";
import {IERC5192} from "../src/interfaces/IERC5192.sol";
import {IERC5643} from "../src/interfaces/IERC5643.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice Deploys a real AccessManager wired the way the deploy script wires it, the membership registry and the
///         real CredentialRegistry it checks eligibility against, with one credential type for gated tiers.
abstract contract MembershipFixture is Test {
    AccessManager internal accessManager;
    MembershipRegistry internal registry;
    CredentialRegistry internal creds;

    address internal admin = makeAddr("admin");
    address internal governor = makeAddr("governor");
    address internal pauser = makeAddr("pauser");
    address internal mgr = makeAddr("manager");
    address internal credIssuer = makeAddr("credentialIssuer");

    /// @dev The credential type gated tiers require (issuer and revoker roles held by credIssuer).
    uint256 internal credType;

    function _deploy() internal {
        accessManager = new AccessManager(admin);
        creds = new CredentialRegistry(address(accessManager), "Laurel Credentials", "LAUREL", "");
        registry = new MembershipRegistry(address(accessManager), creds, "");

        vm.startPrank(admin);
        LaurelWiring.wireRoles(accessManager);
        LaurelWiring.wireCredentials(accessManager, address(creds));
        LaurelWiring.wireMemberships(accessManager, address(registry));
        accessManager.grantRole(Roles.GOVERNOR, governor, 0);
        accessManager.grantRole(Roles.PAUSER, pauser, 0);
        vm.stopPrank();

        CredentialRegistry.TypePolicy memory p;
        p.name = "Graduate";
        p.defaultValidity = 365 days;
        p.flags = 63; // renewable, revocable, suspendable, renounceable, re-issuable after expiry and revocation
        vm.startPrank(governor);
        credType = creds.defineType(p);
        creds.setTypeRoles(credType, credIssuer, creds.ROLE_ISSUER() | creds.ROLE_REVOKER());
        vm.stopPrank();
    }

    /// @dev Issues `holder` a credential of credType with the default (one-year) validity.
    function _credential(address holder) internal {
        _credentialUntil(holder, 0);
    }

    /// @dev Issues `holder` a credential of credType expiring at `expiresAt` (0 = the default validity).
    function _credentialUntil(address holder, uint64 expiresAt) internal {
        vm.prank(credIssuer);
        creds.issue(credType, holder, expiresAt, keccak256(abi.encode("evidence", holder)));
    }

    /// @dev Revokes `holder`'s credential of credType.
    function _revokeCredential(address holder) internal {
        uint256 id = creds.tokenIdOf(holder, credType);
        vm.prank(credIssuer);
        creds.revoke(id, 1);
    }

    function _policy(uint64 duration, bool renewable, bool transferable, uint64 maxMembers, uint256[] memory elig)
        internal
        pure
        returns (MembershipRegistry.TierPolicy memory p)
    {
        p.name = "Tier";
        p.uri = "ipfs://tier";
        p.duration = duration;
        p.holderRenewable = renewable;
        p.transferable = transferable;
        p.maxMembers = maxMembers;
        p.eligibility = elig;
    }

    function _defineTier(uint64 duration, bool renewable, bool transferable, uint64 maxMembers, uint256[] memory elig)
        internal
        returns (uint256 tierId)
    {
        vm.prank(governor);
        tierId = registry.defineTier(_policy(duration, renewable, transferable, maxMembers, elig));
        vm.prank(governor);
        registry.setTierManager(tierId, mgr, true);
    }

    function _noElig() internal pure returns (uint256[] memory) {
        return new uint256[](0);
    }

    function _oneElig(uint256 t) internal pure returns (uint256[] memory e) {
        e = new uint256[](1);
        e[0] = t;
    }

    function _id(uint256 tierId, address holder) internal pure returns (uint256) {
        return (tierId << 160) | uint160(holder);
    }
}

contract MembershipRegistryTest is MembershipFixture {
    uint256 internal tLocked; // 365 days, not holder-renewable, locked, unlimited
    uint256 internal tOpen; // 30 days, holder-renewable, transferable, unlimited
    uint256 internal tGated; // 90 days, holder-renewable, locked, max 3, needs credType

    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal stranger = makeAddr("stranger");
    address internal mgr2 = makeAddr("manager2");

    function setUp() public {
        vm.warp(1_700_000_000);
        _deploy();
        tLocked = _defineTier(365 days, false, false, 0, _noElig());
        tOpen = _defineTier(30 days, true, true, 0, _noElig());
        tGated = _defineTier(90 days, true, false, 3, _oneElig(credType));
        vm.prank(governor);
        registry.setTierManager(tOpen, mgr2, true);
        _credential(alice);
        _credential(bob);
    }

    function _grant(uint256 tierId, address holder) internal returns (uint256 id) {
        vm.prank(mgr);
        id = registry.grant(tierId, holder);
    }

    function _expectUnauthorized(address caller) internal {
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller));
    }

    // ------------------------------------------------------------------ deployment and introspection

    function test_constructor_revertsOnZeroAddresses() public {
        vm.expectRevert(MembershipRegistry.ZeroAddress.selector);
        new MembershipRegistry(address(0), creds, "");
        vm.expectRevert(MembershipRegistry.ZeroAddress.selector);
        new MembershipRegistry(address(accessManager), ICredentialVerifier(address(0)), "");
    }

    function test_metadata_andAuthority() public view {
        assertEq(registry.name(), "Laurel Membership");
        assertEq(registry.symbol(), "LAUREL-M");
        assertEq(registry.authority(), address(accessManager));
        assertEq(address(registry.credentials()), address(creds));
        assertEq(registry.tierCount(), 3);
    }

    function test_supportsInterface() public view {
        assertEq(type(IERC5643).interfaceId, bytes4(0x8c65f84d));
        assertEq(type(IERC5192).interfaceId, bytes4(0xb45a3c0e));
        bytes4[6] memory ids = [
            bytes4(0x01ffc9a7),
            bytes4(0x80ac58cd),
            bytes4(0x5b5e139f),
            bytes4(0x8c65f84d),
            bytes4(0xb45a3c0e),
            bytes4(0x49064906)
        ];
        for (uint256 i; i < ids.length; ++i) {
            assertTrue(registry.supportsInterface(ids[i]));
        }
        assertFalse(registry.supportsInterface(0xffffffff));
        assertFalse(registry.supportsInterface(0x780e9d63)); // ERC721Enumerable
    }

    // ------------------------------------------------------------------ governance

    function test_defineTier_storesPolicyAndEmits() public {
        MembershipRegistry.TierPolicy memory p = _policy(10 days, true, true, 5, _oneElig(credType));
        vm.expectEmit(address(registry));
        emit MembershipRegistry.TierDefined(4, p);
        vm.prank(governor);
        uint256 id = registry.defineTier(p);
        assertEq(id, 4);
        MembershipRegistry.TierPolicy memory q = registry.tierPolicy(id);
        assertEq(q.name, "Tier");
        assertEq(q.uri, "ipfs://tier");
        assertEq(q.duration, 10 days);
        assertTrue(q.holderRenewable);
        assertTrue(q.transferable);
        assertEq(q.maxMembers, 5);
        assertEq(q.eligibility.length, 1);
        assertEq(q.eligibility[0], credType);
        assertEq(registry.memberCount(id), 0);
    }

    function test_defineTier_revertsUnauthorized() public {
        MembershipRegistry.TierPolicy memory p = _policy(10 days, true, true, 5, _noElig());
        _expectUnauthorized(stranger);
        vm.prank(stranger);
        registry.defineTier(p);
        _expectUnauthorized(mgr);
        vm.prank(mgr);
        registry.defineTier(p);
    }

    function test_defineTier_revertsInvalidDuration() public {
        uint64 tooLong = registry.MAX_DURATION() + 1;
        vm.startPrank(governor);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.InvalidDuration.selector, 0));
        registry.defineTier(_policy(0, false, false, 0, _noElig()));
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.InvalidDuration.selector, tooLong));
        registry.defineTier(_policy(tooLong, false, false, 0, _noElig()));
        vm.stopPrank();
    }

    function test_defineTier_revertsTooManyCredentialTypes() public {
        uint256[] memory elig = new uint256[](17);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TooManyCredentialTypes.selector, 17, 16));
        vm.prank(governor);
        registry.defineTier(_policy(1 days, false, false, 0, elig));
    }

    /// Audit finding: tier eligibility lists were not validated (unknown credential types made a tier nobody can
    /// be granted, duplicates cost gas on every grant). defineTier and updateTier now reject them.
    function test_tierEligibility_validatedOnDefineAndUpdate() public {
        uint256[] memory unknown = _oneElig(99);
        vm.startPrank(governor);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownCredentialType.selector, 99));
        registry.defineTier(_policy(1 days, false, false, 0, unknown));
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownCredentialType.selector, 0));
        registry.defineTier(_policy(1 days, false, false, 0, _oneElig(0)));
        uint256 huge = uint256(1) << 96 | credType; // out of the registry's type-id range: not credType
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownCredentialType.selector, huge));
        registry.defineTier(_policy(1 days, false, false, 0, _oneElig(huge)));
        uint256[] memory dup = new uint256[](2);
        dup[0] = credType;
        dup[1] = credType;
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.DuplicateCredentialType.selector, credType));
        registry.defineTier(_policy(1 days, false, false, 0, dup));
        uint256[] memory tooMany = new uint256[](17);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TooManyCredentialTypes.selector, 17, 16));
        registry.defineTier(_policy(1 days, false, false, 0, tooMany));

        // updateTier applies the same rules.
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownCredentialType.selector, 99));
        registry.updateTier(tGated, _policy(90 days, true, false, 3, unknown));
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.DuplicateCredentialType.selector, credType));
        registry.updateTier(tGated, _policy(90 days, true, false, 3, dup));

        // Distinct known types are fine (up to the maximum).
        CredentialRegistry.TypePolicy memory cp;
        cp.name = "Second";
        uint256 second = creds.defineType(cp);
        uint256[] memory two = new uint256[](2);
        two[0] = second;
        two[1] = credType;
        uint256 t = registry.defineTier(_policy(1 days, false, false, 0, two));
        assertEq(registry.tierPolicy(t).eligibility.length, 2);
        registry.updateTier(tGated, _policy(90 days, true, false, 3, two));
        vm.stopPrank();
    }

    function test_updateTier_replacesPolicy() public {
        uint256 id = _grant(tGated, alice);
        uint256 oldExp = registry.expiresAt(id);
        MembershipRegistry.TierPolicy memory p = _policy(7 days, false, false, 10, _noElig());
        p.name = "Gold";
        vm.expectEmit(address(registry));
        emit MembershipRegistry.TierUpdated(tGated, p);
        vm.expectEmit(address(registry));
        emit IERC4906.BatchMetadataUpdate(tGated << 160, (tGated << 160) | type(uint160).max);
        vm.prank(governor);
        registry.updateTier(tGated, p);
        MembershipRegistry.TierPolicy memory q = registry.tierPolicy(tGated);
        assertEq(q.name, "Gold");
        assertEq(q.duration, 7 days);
        assertFalse(q.holderRenewable);
        assertEq(q.maxMembers, 10);
        assertEq(q.eligibility.length, 0);
        assertEq(registry.memberCount(tGated), 1, "members kept");
        assertEq(registry.expiresAt(id), oldExp, "existing expiry unchanged");
        assertFalse(creds.isValid(carol, credType));
        _grant(tGated, carol); // eligibility dropped
    }

    function test_updateTier_reverts() public {
        MembershipRegistry.TierPolicy memory p = _policy(7 days, false, false, 0, _noElig());
        _expectUnauthorized(stranger);
        vm.prank(stranger);
        registry.updateTier(tLocked, p);

        vm.startPrank(governor);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownTier.selector, 99));
        registry.updateTier(99, p);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TransferPolicyImmutable.selector, tOpen));
        registry.updateTier(tOpen, p);
        p.duration = 0;
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.InvalidDuration.selector, 0));
        registry.updateTier(tLocked, p);
        vm.stopPrank();

        _grant(tGated, alice);
        _grant(tGated, bob);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MaxMembersBelowCount.selector, tGated, 1, 2));
        vm.prank(governor);
        registry.updateTier(tGated, _policy(7 days, true, false, 1, _noElig()));
        vm.prank(governor);
        registry.updateTier(tGated, _policy(7 days, true, false, 0, _noElig())); // unlimited is fine
    }

    function test_setTierManager() public {
        assertFalse(registry.isTierManager(tLocked, carol));
        vm.expectEmit(address(registry));
        emit MembershipRegistry.TierManagerSet(tLocked, carol, true);
        vm.prank(governor);
        registry.setTierManager(tLocked, carol, true);
        assertTrue(registry.isTierManager(tLocked, carol));
        assertFalse(registry.isTierManager(tOpen, carol));
        vm.prank(carol);
        registry.grant(tLocked, alice);
        vm.prank(governor);
        registry.setTierManager(tLocked, carol, false);
        assertFalse(registry.isTierManager(tLocked, carol));
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, carol));
        vm.prank(carol);
        registry.grant(tLocked, bob);
    }

    function test_setTierManager_reverts() public {
        _expectUnauthorized(mgr);
        vm.prank(mgr);
        registry.setTierManager(tLocked, carol, true);
        vm.startPrank(governor);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownTier.selector, 42));
        registry.setTierManager(42, carol, true);
        vm.expectRevert(MembershipRegistry.ZeroAddress.selector);
        registry.setTierManager(tLocked, address(0), true);
        vm.stopPrank();
    }

    function test_pauseTier_pauserPausesGovernorUnpauses() public {
        vm.expectEmit(address(registry));
        emit MembershipRegistry.TierPauseSet(tLocked, true);
        vm.prank(pauser);
        registry.pauseTier(tLocked);
        assertTrue(registry.tierPaused(tLocked));
        assertFalse(registry.tierPaused(tOpen));
        _expectUnauthorized(pauser);
        vm.prank(pauser);
        registry.unpauseTier(tLocked);
        _expectUnauthorized(stranger);
        vm.prank(stranger);
        registry.pauseTier(tOpen);

        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TierPaused.selector, tLocked));
        vm.prank(mgr);
        registry.grant(tLocked, alice);
        _grant(tOpen, alice); // other tiers unaffected

        vm.expectEmit(address(registry));
        emit MembershipRegistry.TierPauseSet(tLocked, false);
        vm.prank(governor);
        registry.unpauseTier(tLocked);
        assertFalse(registry.tierPaused(tLocked));
        _grant(tLocked, alice);

        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownTier.selector, 77));
        vm.prank(pauser);
        registry.pauseTier(77);
    }

    function test_pause_globalBlocksEveryTier() public {
        vm.expectEmit(address(registry));
        emit MembershipRegistry.PauseSet(true);
        vm.prank(pauser);
        registry.pause();
        assertTrue(registry.paused());
        _expectUnauthorized(pauser);
        vm.prank(pauser);
        registry.unpause();

        vm.expectRevert(MembershipRegistry.RegistryPaused.selector);
        vm.prank(mgr);
        registry.grant(tOpen, alice);

        // A tier defined while paused starts paused.
        uint256 t4 = _defineTier(1 days, false, false, 0, _noElig());
        vm.expectRevert(MembershipRegistry.RegistryPaused.selector);
        vm.prank(mgr);
        registry.grant(t4, alice);

        vm.expectEmit(address(registry));
        emit MembershipRegistry.PauseSet(false);
        vm.prank(governor);
        registry.unpause();
        assertFalse(registry.paused());
        _grant(t4, alice);
        _grant(tOpen, alice);
    }

    function test_pause_coversTiersBeyondFirstPauseWord() public {
        uint256 last;
        for (uint256 i; i < 130; ++i) {
            vm.prank(governor);
            last = registry.defineTier(_policy(1 days, false, false, 0, _noElig()));
        }
        assertEq(last, 133);
        vm.prank(governor);
        registry.setTierManager(last, mgr, true);
        vm.prank(pauser);
        registry.pause();
        vm.expectRevert(MembershipRegistry.RegistryPaused.selector);
        vm.prank(mgr);
        registry.grant(last, alice);
        vm.prank(governor);
        registry.unpause();
        vm.prank(pauser);
        registry.pauseTier(last);
        assertTrue(registry.tierPaused(last));
        assertFalse(registry.tierPaused(last - 128));
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TierPaused.selector, last));
        vm.prank(mgr);
        registry.grant(last, alice);
    }

    function test_setBaseURI() public {
        uint256 id = _grant(tLocked, alice);
        assertEq(registry.tokenURI(id), "ipfs://tier");
        _expectUnauthorized(stranger);
        vm.prank(stranger);
        registry.setBaseURI("https://laurel.example/m/");
        vm.expectEmit(address(registry));
        emit MembershipRegistry.BaseURISet("https://laurel.example/m/");
        vm.prank(governor);
        registry.setBaseURI("https://laurel.example/m/");
        assertEq(registry.baseURI(), "https://laurel.example/m/");
        assertEq(registry.tokenURI(id), string.concat("https://laurel.example/m/", vm.toString(id)));
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 123));
        registry.tokenURI(123);
    }

    // ------------------------------------------------------------------ grant

    function test_grant_mintsLockedMembership() public {
        uint256 id = _id(tLocked, alice);
        uint64 exp = uint64(block.timestamp + 365 days);
        address[] memory hs = new address[](1);
        hs[0] = alice;
        vm.expectEmit(address(registry));
        emit IERC721.Transfer(address(0), alice, id);
        vm.expectEmit(address(registry));
        emit IERC5192.Locked(id);
        vm.expectEmit(address(registry));
        emit IERC5643.SubscriptionUpdate(id, exp);
        vm.expectEmit(address(registry));
        emit MembershipRegistry.Granted(tLocked, mgr, hs, exp);
        vm.prank(mgr);
        assertEq(registry.grant(tLocked, alice), id);

        assertEq(registry.ownerOf(id), alice);
        assertEq(registry.balanceOf(alice), 1);
        assertTrue(registry.locked(id));
        assertEq(registry.expiresAt(id), exp);
        assertTrue(registry.isActive(alice, tLocked));
        assertFalse(registry.isActive(alice, tOpen));
        assertEq(registry.tokenIdOf(alice, tLocked), id);
        assertEq(registry.tokenIdOf(bob, tLocked), 0);
        assertEq(registry.memberCount(tLocked), 1);
        assertFalse(registry.isRenewable(id));
        MembershipRegistry.Membership memory m = registry.membership(id);
        assertEq(m.tierId, tLocked);
        assertEq(m.holder, alice);
        assertEq(m.expiresAt, exp);
        assertEq(uint8(m.status), uint8(MembershipRegistry.Status.Active));
        assertEq(m.grantedAt, block.timestamp);
    }

    function test_grant_transferableTierEmitsUnlocked() public {
        uint256 id = _id(tOpen, alice);
        vm.expectEmit(address(registry));
        emit IERC5192.Unlocked(id);
        _grant(tOpen, alice);
        assertFalse(registry.locked(id));
        assertTrue(registry.isRenewable(id));
    }

    function test_grant_revertsNotTierManager() public {
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, stranger));
        vm.prank(stranger);
        registry.grant(tLocked, alice);
        // A manager of tOpen cannot act on tLocked.
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, mgr2));
        vm.prank(mgr2);
        registry.grant(tLocked, alice);
        // Governance itself is not a tier manager.
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, governor));
        vm.prank(governor);
        registry.grant(tLocked, alice);
    }

    function test_grant_revertsUnknownTier() public {
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownTier.selector, 0));
        vm.prank(mgr);
        registry.grant(0, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownTier.selector, 4));
        vm.prank(mgr);
        registry.grant(4, alice);
    }

    function test_grant_revertsNotEligible() public {
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotEligible.selector, carol, credType));
        vm.prank(mgr);
        registry.grant(tGated, carol);
        _credential(carol);
        _grant(tGated, carol);
    }

    /// Eligibility is the credential registry's answer at the time: a credential revoked, suspended or expired does
    /// not qualify; one reinstated or issued again after revocation or expiry does.
    function test_grant_eligibilityFollowsRealCredentials() public {
        address dave = makeAddr("dave");
        address erin = makeAddr("erin");

        _credential(carol);
        _revokeCredential(carol);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotEligible.selector, carol, credType));
        vm.prank(mgr);
        registry.grant(tGated, carol);
        _credential(carol); // issued again after revocation
        _grant(tGated, carol);

        _credential(dave);
        uint256 daveCred = creds.tokenIdOf(dave, credType);
        vm.prank(credIssuer);
        creds.suspend(daveCred, 2);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotEligible.selector, dave, credType));
        vm.prank(mgr);
        registry.grant(tGated, dave);
        vm.prank(credIssuer);
        creds.reinstate(daveCred);
        _grant(tGated, dave);

        _credentialUntil(erin, uint64(block.timestamp + 1 days));
        vm.warp(block.timestamp + 1 days);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotEligible.selector, erin, credType));
        vm.prank(mgr);
        registry.grant(tGated, erin);
        _credential(erin); // issued again after expiry
        _grant(tGated, erin);
        assertEq(registry.memberCount(tGated), 3);
    }

    function test_grant_revertsAlreadyMember() public {
        _grant(tLocked, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.AlreadyMember.selector, alice, tLocked));
        vm.prank(mgr);
        registry.grant(tLocked, alice);
    }

    function test_grant_revertsAlreadyMemberByTransfer() public {
        uint256 id = _grant(tOpen, alice);
        vm.prank(alice);
        registry.transferFrom(alice, bob, id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.AlreadyMember.selector, bob, tOpen));
        vm.prank(mgr);
        registry.grant(tOpen, bob);
    }

    function test_grant_revertsTokenIdInUse() public {
        uint256 id = _grant(tOpen, alice);
        vm.prank(alice);
        registry.transferFrom(alice, bob, id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TokenIdInUse.selector, id));
        vm.prank(mgr);
        registry.grant(tOpen, alice);
    }

    function test_grant_revertsMaxMembersReached() public {
        _credential(carol);
        _credential(stranger);
        _grant(tGated, alice);
        _grant(tGated, bob);
        _grant(tGated, carol);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MaxMembersReached.selector, tGated, 3));
        vm.prank(mgr);
        registry.grant(tGated, stranger);
    }

    function test_grant_revertsWhenExpiryUnrepresentable() public {
        vm.warp(uint256(type(uint40).max) - 10);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.InvalidDuration.selector, 365 days));
        vm.prank(mgr);
        registry.grant(tLocked, alice);
    }

    function test_grant_revertsZeroAddress() public {
        vm.expectRevert(MembershipRegistry.ZeroAddress.selector);
        vm.prank(mgr);
        registry.grant(tLocked, address(0));
    }

    function test_grantBatch_mintsAll() public {
        address[] memory hs = new address[](3);
        hs[0] = alice;
        hs[1] = bob;
        hs[2] = carol;
        uint64 exp = uint64(block.timestamp + 30 days);
        vm.expectEmit(address(registry));
        emit MembershipRegistry.Granted(tOpen, mgr, hs, exp);
        vm.prank(mgr);
        assertEq(registry.grantBatch(tOpen, hs), exp);
        for (uint256 i; i < 3; ++i) {
            assertEq(registry.ownerOf(_id(tOpen, hs[i])), hs[i]);
            assertTrue(registry.isActive(hs[i], tOpen));
        }
        assertEq(registry.memberCount(tOpen), 3);
    }

    function test_grantBatch_revertsEmptyAndTooLarge() public {
        vm.expectRevert(MembershipRegistry.EmptyBatch.selector);
        vm.prank(mgr);
        registry.grantBatch(tOpen, new address[](0));
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.BatchTooLarge.selector, 1001, 1000));
        vm.prank(mgr);
        registry.grantBatch(tOpen, new address[](1001));
    }

    function test_grantBatch_maxSizeWorks() public {
        address[] memory hs = new address[](1000);
        for (uint256 i; i < hs.length; ++i) {
            hs[i] = address(uint160(0x10000 + i));
        }
        vm.prank(mgr);
        registry.grantBatch(tLocked, hs);
        assertEq(registry.memberCount(tLocked), 1000);
    }

    function test_grantBatch_revertsOnDuplicateAndMax() public {
        address[] memory hs = new address[](2);
        hs[0] = alice;
        hs[1] = alice;
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.AlreadyMember.selector, alice, tLocked));
        vm.prank(mgr);
        registry.grantBatch(tLocked, hs);

        address[] memory four = new address[](4);
        for (uint256 i; i < 4; ++i) {
            four[i] = address(uint160(0x1000 + i));
            _credential(four[i]);
        }
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MaxMembersReached.selector, tGated, 3));
        vm.prank(mgr);
        registry.grantBatch(tGated, four);

        hs[1] = address(0);
        vm.expectRevert(MembershipRegistry.ZeroAddress.selector);
        vm.prank(mgr);
        registry.grantBatch(tLocked, hs);
    }

    function test_grantBatch_revertsForNonManagerAndPaused() public {
        address[] memory hs = new address[](1);
        hs[0] = alice;
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, mgr2));
        vm.prank(mgr2);
        registry.grantBatch(tLocked, hs);
        vm.prank(pauser);
        registry.pauseTier(tLocked);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TierPaused.selector, tLocked));
        vm.prank(mgr);
        registry.grantBatch(tLocked, hs);
    }

    // ------------------------------------------------------------------ renew

    function test_renew_byManagerExtendsFromExpiry() public {
        uint256 id = _grant(tLocked, alice);
        uint64 exp = registry.expiresAt(id);
        vm.warp(block.timestamp + 100 days);
        vm.expectEmit(address(registry));
        emit IERC5643.SubscriptionUpdate(id, exp + 10 days);
        vm.expectEmit(address(registry));
        emit MembershipRegistry.Renewed(id, mgr);
        vm.prank(mgr);
        registry.renewSubscription(id, 10 days);
        assertEq(registry.expiresAt(id), exp + 10 days);
    }

    function test_renew_expiredRestartsFromNow() public {
        uint256 id = _grant(tLocked, alice);
        vm.warp(block.timestamp + 400 days);
        assertFalse(registry.isActive(alice, tLocked));
        vm.prank(mgr);
        registry.renewSubscription(id, 365 days);
        assertEq(registry.expiresAt(id), block.timestamp + 365 days);
        assertTrue(registry.isActive(alice, tLocked));
    }

    function test_renew_byHolderWhereRenewable() public {
        uint256 id = _grant(tOpen, alice);
        uint64 exp = registry.expiresAt(id);
        vm.expectEmit(address(registry));
        emit MembershipRegistry.Renewed(id, alice);
        vm.prank(alice);
        registry.renewSubscription(id, 30 days);
        assertEq(registry.expiresAt(id), exp + 30 days);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.InvalidDuration.selector, 31 days));
        vm.prank(alice);
        registry.renewSubscription(id, 31 days);
    }

    function test_renew_revertsNotRenewableForHolder() public {
        uint256 id = _grant(tLocked, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotRenewable.selector, id));
        vm.prank(alice);
        registry.renewSubscription(id, 365 days);
    }

    function test_renew_revertsForStrangers() public {
        uint256 lockedId = _grant(tLocked, alice);
        uint256 openId = _grant(tOpen, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, stranger));
        vm.prank(stranger);
        registry.renewSubscription(lockedId, 1 days);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotHolder.selector, openId, stranger));
        vm.prank(stranger);
        registry.renewSubscription(openId, 30 days);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, mgr2));
        vm.prank(mgr2);
        registry.renewSubscription(lockedId, 1 days);
    }

    function test_renew_revertsPaymentNotAccepted() public {
        uint256 id = _grant(tLocked, alice);
        vm.deal(mgr, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.PaymentNotAccepted.selector, 1));
        vm.prank(mgr);
        registry.renewSubscription{value: 1}(id, 1 days);
    }

    function test_renew_revertsNonexistentAndCancelled() public {
        uint256 id = _id(tLocked, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NonexistentMembership.selector, id));
        vm.prank(mgr);
        registry.renewSubscription(id, 1 days);
        _grant(tLocked, alice);
        vm.prank(alice);
        registry.cancelSubscription(id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MembershipCancelled.selector, id));
        vm.prank(mgr);
        registry.renewSubscription(id, 1 days);
        assertTrue(registry.isRenewable(_grant(tOpen, bob)));
    }

    function test_renew_revertsPaused() public {
        uint256 id = _grant(tLocked, alice);
        vm.prank(pauser);
        registry.pauseTier(tLocked);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TierPaused.selector, tLocked));
        vm.prank(mgr);
        registry.renewSubscription(id, 1 days);
        vm.prank(pauser);
        registry.pause();
        vm.expectRevert(MembershipRegistry.RegistryPaused.selector);
        vm.prank(mgr);
        registry.renewSubscription(id, 1 days);
    }

    function test_renew_revertsInvalidDuration() public {
        uint256 id = _grant(tLocked, alice);
        uint64 tooLong = registry.MAX_DURATION() + 1;
        vm.startPrank(mgr);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.InvalidDuration.selector, 0));
        registry.renewSubscription(id, 0);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.InvalidDuration.selector, tooLong));
        registry.renewSubscription(id, tooLong);
        registry.renewSubscription(id, tooLong - 1); // the maximum itself is fine
        vm.warp(type(uint40).max - 10);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.InvalidDuration.selector, 11));
        registry.renewSubscription(id, 11);
        registry.renewSubscription(id, 10); // lands exactly on the largest representable expiry
        vm.stopPrank();
        assertEq(registry.expiresAt(id), type(uint40).max);
    }

    /// Audit finding: a renewal changes the token's metadata (its expiry) but emitted no ERC-4906 MetadataUpdate.
    /// Both renewal paths (a manager's, a holder's) now emit SubscriptionUpdate, Renewed and MetadataUpdate.
    function test_renew_emitsMetadataUpdate() public {
        uint256 id = _grant(tOpen, alice);
        uint64 exp = registry.expiresAt(id);
        vm.expectEmit(address(registry));
        emit IERC5643.SubscriptionUpdate(id, exp + 5 days);
        vm.expectEmit(address(registry));
        emit MembershipRegistry.Renewed(id, mgr);
        vm.expectEmit(address(registry));
        emit IERC4906.MetadataUpdate(id);
        vm.prank(mgr);
        registry.renewSubscription(id, 5 days);

        vm.expectEmit(address(registry));
        emit IERC5643.SubscriptionUpdate(id, exp + 35 days);
        vm.expectEmit(address(registry));
        emit MembershipRegistry.Renewed(id, alice);
        vm.expectEmit(address(registry));
        emit IERC4906.MetadataUpdate(id);
        vm.prank(alice);
        registry.renewSubscription(id, 30 days);
    }

    /// A manager's renewal reads the pause flags from copies in the manager's own word: every pause and unpause,
    /// and every manager set while paused, must keep them right.
    function test_renew_managerPauseCopiesFollowEveryPause() public {
        uint256 id = _grant(tOpen, alice);
        vm.prank(pauser);
        registry.pauseTier(tOpen);
        // A manager made while the tier is paused starts paused too.
        vm.prank(governor);
        registry.setTierManager(tOpen, carol, true);
        address[2] memory ms = [mgr, carol];
        for (uint256 i; i < 2; ++i) {
            vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TierPaused.selector, tOpen));
            vm.prank(ms[i]);
            registry.renewSubscription(id, 1 days);
        }
        // Another tier's managers are not affected.
        uint256 other = _grant(tLocked, bob);
        vm.prank(mgr);
        registry.renewSubscription(other, 1 days);
        vm.prank(pauser);
        registry.pause();
        vm.prank(governor);
        registry.unpauseTier(tOpen);
        for (uint256 i; i < 2; ++i) {
            vm.expectRevert(MembershipRegistry.RegistryPaused.selector);
            vm.prank(ms[i]);
            registry.renewSubscription(id, 1 days);
        }
        vm.expectRevert(MembershipRegistry.RegistryPaused.selector);
        vm.prank(mgr);
        registry.renewSubscription(other, 1 days);
        vm.prank(governor);
        registry.unpause();
        for (uint256 i; i < 2; ++i) {
            vm.prank(ms[i]);
            registry.renewSubscription(id, 1 days);
        }
        // A removed manager can no longer renew, paused or not; re-adding it restores it.
        vm.prank(governor);
        registry.setTierManager(tOpen, carol, false);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotHolder.selector, id, carol));
        vm.prank(carol);
        registry.renewSubscription(id, 1 days);
        vm.prank(governor);
        registry.setTierManager(tOpen, carol, true);
        vm.prank(carol);
        registry.renewSubscription(id, 1 days);
    }

    function test_setTierManager_enumeratedAndCapped() public {
        uint256[] memory keys = registry.managers();
        assertEq(keys.length, 4); // mgr on three tiers, mgr2 on tOpen
        assertEq(keys[0], _id(tLocked, mgr));
        vm.startPrank(governor);
        registry.setTierManager(tLocked, mgr, true); // again: no second entry
        assertEq(registry.managers().length, 4);
        registry.setTierManager(tLocked, mgr, false);
        keys = registry.managers();
        assertEq(keys.length, 3);
        assertEq(keys[0], _id(tOpen, mgr2)); // the last entry took the removed one's place
        registry.setTierManager(tLocked, carol, false); // not a manager: nothing to remove
        assertEq(registry.managers().length, 3);
        uint256 max = registry.MAX_MANAGERS();
        for (uint256 i = 3; i < max; ++i) {
            registry.setTierManager(tLocked, address(uint160(0x1000 + i)), true);
        }
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TooManyManagers.selector, max));
        registry.setTierManager(tLocked, carol, true);
        registry.setTierManager(tLocked, address(uint160(0x1003)), false);
        registry.setTierManager(tLocked, carol, true);
        vm.stopPrank();
        assertEq(registry.managers().length, max);
    }

    // ------------------------------------------------------------------ cancel

    function test_cancel_byHolder() public {
        uint256 id = _grant(tLocked, alice);
        vm.expectEmit(address(registry));
        emit MembershipRegistry.Cancelled(id, alice);
        vm.expectEmit(address(registry));
        emit IERC4906.MetadataUpdate(id);
        vm.prank(alice);
        registry.cancelSubscription(id);
        assertFalse(registry.isActive(alice, tLocked));
        assertEq(uint8(registry.membership(id).status), uint8(MembershipRegistry.Status.Cancelled));
        assertEq(registry.ownerOf(id), alice, "record kept");
        assertEq(registry.balanceOf(alice), 1);
        assertEq(registry.memberCount(tLocked), 0);
        assertFalse(registry.isRenewable(id));
    }

    /// Audit finding: cancelSubscription left expiresAt in the future and emitted no SubscriptionUpdate. ERC-5643:
    /// SubscriptionUpdate MUST be emitted whenever the expiration changes, and a cancelled subscription's
    /// expiration is 0.
    function test_cancel_erc5643ExpirationBecomesZero() public {
        uint256 id = _grant(tOpen, alice);
        assertGt(registry.expiresAt(id), block.timestamp);
        uint64 grantedAt = registry.membership(id).grantedAt;
        vm.expectEmit(address(registry));
        emit MembershipRegistry.Cancelled(id, mgr);
        vm.expectEmit(address(registry));
        emit IERC5643.SubscriptionUpdate(id, 0);
        vm.expectEmit(address(registry));
        emit IERC4906.MetadataUpdate(id);
        vm.prank(mgr);
        registry.cancelSubscription(id);
        assertEq(registry.expiresAt(id), 0);
        MembershipRegistry.Membership memory m = registry.membership(id);
        assertEq(m.expiresAt, 0);
        assertEq(m.grantedAt, grantedAt, "the rest of the record is kept");
        assertEq(uint8(m.status), uint8(MembershipRegistry.Status.Cancelled));
        assertFalse(registry.isActive(alice, tOpen));
        assertFalse(registry.isRenewable(id));
        // Still a token (revocable, counted), not renewable.
        assertEq(registry.ownerOf(id), alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MembershipCancelled.selector, id));
        vm.prank(mgr);
        registry.renewSubscription(id, 1 days);
        vm.prank(mgr);
        registry.revoke(id, 1);
        _grant(tOpen, alice);
    }

    function test_cancel_byManagerFreesSeat() public {
        _credential(carol);
        _credential(stranger);
        uint256 id = _grant(tGated, alice);
        _grant(tGated, bob);
        _grant(tGated, carol);
        vm.prank(mgr);
        registry.cancelSubscription(id);
        _grant(tGated, stranger);
        assertEq(registry.memberCount(tGated), 3);
    }

    function test_cancel_reverts() public {
        uint256 id = _id(tLocked, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NonexistentMembership.selector, id));
        vm.prank(alice);
        registry.cancelSubscription(id);
        _grant(tLocked, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotHolder.selector, id, stranger));
        vm.prank(stranger);
        registry.cancelSubscription(id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotHolder.selector, id, mgr2));
        vm.prank(mgr2);
        registry.cancelSubscription(id);
        vm.deal(alice, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.PaymentNotAccepted.selector, 5));
        vm.prank(alice);
        registry.cancelSubscription{value: 5}(id);
        vm.prank(pauser);
        registry.pauseTier(tLocked);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TierPaused.selector, tLocked));
        vm.prank(alice);
        registry.cancelSubscription(id);
        vm.prank(governor);
        registry.unpauseTier(tLocked);
        vm.prank(alice);
        registry.cancelSubscription(id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MembershipCancelled.selector, id));
        vm.prank(alice);
        registry.cancelSubscription(id);
    }

    // ------------------------------------------------------------------ revoke

    function test_revoke_burns() public {
        uint256 id = _grant(tLocked, alice);
        vm.expectEmit(address(registry));
        emit IERC721.Transfer(alice, address(0), id);
        vm.expectEmit(address(registry));
        emit MembershipRegistry.Revoked(id, mgr, 3);
        vm.prank(mgr);
        registry.revoke(id, 3);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, id));
        registry.ownerOf(id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NonexistentMembership.selector, id));
        registry.membership(id);
        assertEq(registry.balanceOf(alice), 0);
        assertEq(registry.memberCount(tLocked), 0);
        assertFalse(registry.isActive(alice, tLocked));
        assertEq(registry.tokenIdOf(alice, tLocked), 0);
        _grant(tLocked, alice); // may be granted again
        assertEq(registry.memberCount(tLocked), 1);
    }

    function test_revoke_cancelledDoesNotDoubleCount() public {
        uint256 a = _grant(tLocked, alice);
        _grant(tLocked, bob);
        vm.prank(alice);
        registry.cancelSubscription(a);
        assertEq(registry.memberCount(tLocked), 1);
        vm.prank(mgr);
        registry.revoke(a, 1);
        assertEq(registry.memberCount(tLocked), 1);
    }

    function test_revoke_transferredTokenAndStaleApproval() public {
        uint256 id = _grant(tOpen, alice);
        vm.prank(alice);
        registry.approve(carol, id);
        vm.prank(carol);
        registry.transferFrom(alice, bob, id);
        vm.prank(bob);
        registry.approve(carol, id);
        assertEq(registry.balanceOf(bob), 1);
        vm.prank(mgr);
        registry.revoke(id, 9);
        assertEq(registry.balanceOf(bob), 0);
        assertEq(registry.tokenIdOf(bob, tOpen), 0);
        _grant(tOpen, alice); // same id again, approval must not survive
        assertEq(registry.getApproved(id), address(0));
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, carol, id));
        vm.prank(carol);
        registry.transferFrom(alice, carol, id);
    }

    function test_revoke_reverts() public {
        uint256 id = _id(tLocked, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NonexistentMembership.selector, id));
        vm.prank(mgr);
        registry.revoke(id, 1);
        _grant(tLocked, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, alice));
        vm.prank(alice);
        registry.revoke(id, 1);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, mgr2));
        vm.prank(mgr2);
        registry.revoke(id, 1);
        vm.prank(pauser);
        registry.pause();
        vm.expectRevert(MembershipRegistry.RegistryPaused.selector);
        vm.prank(mgr);
        registry.revoke(id, 1);
    }

    // ------------------------------------------------------------------ change tier

    function test_changeTier_movesMembership() public {
        uint256 oldId = _grant(tLocked, alice);
        uint64 grantedAt = registry.membership(oldId).grantedAt;
        vm.warp(block.timestamp + 10 days);
        uint256 newId = _id(tGated, alice);
        vm.expectEmit(address(registry));
        emit IERC721.Transfer(alice, address(0), oldId);
        vm.expectEmit(address(registry));
        emit IERC721.Transfer(address(0), alice, newId);
        vm.expectEmit(address(registry));
        emit IERC5192.Locked(newId);
        vm.expectEmit(address(registry));
        emit IERC5643.SubscriptionUpdate(newId, uint64(block.timestamp + 90 days));
        vm.expectEmit(address(registry));
        emit MembershipRegistry.TierChanged(oldId, newId, mgr);
        vm.prank(mgr);
        assertEq(registry.changeTier(oldId, tGated), newId);
        assertFalse(registry.isActive(alice, tLocked));
        assertTrue(registry.isActive(alice, tGated));
        assertEq(registry.memberCount(tLocked), 0);
        assertEq(registry.memberCount(tGated), 1);
        MembershipRegistry.Membership memory m = registry.membership(newId);
        assertEq(m.grantedAt, grantedAt);
        assertEq(m.expiresAt, block.timestamp + 90 days);
        assertEq(registry.balanceOf(alice), 1);
    }

    function test_changeTier_ofTransferredToken() public {
        uint256 id = _grant(tOpen, alice);
        vm.prank(alice);
        registry.transferFrom(alice, bob, id);
        vm.prank(mgr);
        uint256 newId = registry.changeTier(id, tGated);
        assertEq(newId, _id(tGated, bob));
        assertEq(registry.ownerOf(newId), bob);
        assertEq(registry.balanceOf(bob), 1);
        assertEq(registry.balanceOf(alice), 0);
        assertEq(registry.tokenIdOf(bob, tOpen), 0);
    }

    function test_changeTier_reverts() public {
        uint256 id = _grant(tLocked, alice);
        vm.startPrank(mgr);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.SameTier.selector, tLocked));
        registry.changeTier(id, tLocked);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownTier.selector, 9));
        registry.changeTier(id, 9);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NonexistentMembership.selector, _id(tLocked, bob)));
        registry.changeTier(_id(tLocked, bob), tGated);
        vm.stopPrank();

        // mgr2 manages tOpen only: cannot move out of tLocked, nor into tLocked.
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, mgr2));
        vm.prank(mgr2);
        registry.changeTier(id, tOpen);
        uint256 openId = _grant(tOpen, bob);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotTierManager.selector, tLocked, mgr2));
        vm.prank(mgr2);
        registry.changeTier(openId, tLocked);

        // Eligibility is checked at tier change.
        uint256 carolId = _grant(tLocked, carol);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotEligible.selector, carol, credType));
        vm.prank(mgr);
        registry.changeTier(carolId, tGated);

        // Already a member of the target tier.
        _grant(tGated, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.AlreadyMember.selector, alice, tGated));
        vm.prank(mgr);
        registry.changeTier(id, tGated);

        // Paused source or target tier.
        vm.prank(pauser);
        registry.pauseTier(tOpen);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TierPaused.selector, tOpen));
        vm.prank(mgr);
        registry.changeTier(id, tOpen);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TierPaused.selector, tOpen));
        vm.prank(mgr);
        registry.changeTier(openId, tLocked);
    }

    function test_changeTier_revertsMaxMembersAndCancelled() public {
        _credential(carol);
        _grant(tGated, alice);
        _grant(tGated, bob);
        _grant(tGated, carol);
        _credential(stranger);
        uint256 id = _grant(tLocked, stranger);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MaxMembersReached.selector, tGated, 3));
        vm.prank(mgr);
        registry.changeTier(id, tGated);
        vm.prank(stranger);
        registry.cancelSubscription(id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MembershipCancelled.selector, id));
        vm.prank(mgr);
        registry.changeTier(id, tOpen);
    }

    // ------------------------------------------------------------------ ERC-721 transfers and approvals

    function test_transfer_lockedTierReverts() public {
        uint256 id = _grant(tLocked, alice);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TransferNotAllowed.selector, id));
        registry.transferFrom(alice, bob, id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TransferNotAllowed.selector, id));
        registry.safeTransferFrom(alice, bob, id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TransferNotAllowed.selector, id));
        registry.safeTransferFrom(alice, bob, id, "");
        vm.stopPrank();
        assertEq(registry.ownerOf(id), alice);
    }

    function test_transfer_transferableTier() public {
        uint256 id = _grant(tOpen, alice);
        _grant(tLocked, bob);
        vm.expectEmit(address(registry));
        emit IERC721.Transfer(alice, bob, id);
        vm.prank(alice);
        registry.transferFrom(alice, bob, id);
        assertEq(registry.ownerOf(id), bob);
        assertEq(registry.balanceOf(alice), 0);
        assertEq(registry.balanceOf(bob), 2);
        assertTrue(registry.isActive(bob, tOpen));
        assertFalse(registry.isActive(alice, tOpen));
        assertEq(registry.tokenIdOf(bob, tOpen), id);
        assertEq(registry.tokenIdOf(alice, tOpen), 0);
        assertEq(registry.membership(id).holder, bob);

        vm.prank(bob);
        registry.transferFrom(bob, carol, id);
        assertEq(registry.balanceOf(bob), 1);
        assertEq(registry.balanceOf(carol), 1);
        // Back home: the original holder owns it again.
        vm.prank(carol);
        registry.transferFrom(carol, alice, id);
        assertEq(registry.ownerOf(id), alice);
        assertEq(registry.balanceOf(alice), 1);
        assertEq(registry.balanceOf(carol), 0);
        assertEq(registry.tokenIdOf(alice, tOpen), id);
        // Transfer to self is a no-op.
        vm.prank(alice);
        registry.transferFrom(alice, alice, id);
        assertEq(registry.balanceOf(alice), 1);
    }

    /// Audit finding: a cancelled transferable membership could be pushed onto another address, which then could
    /// not be granted (a whole grantBatch naming it reverted). An expired one did the same. Neither moves now, and
    /// the grant goes through.
    function test_transfer_deadMembershipCannotBePushedOntoOthers() public {
        uint256 id = _grant(tOpen, alice);
        vm.prank(alice);
        registry.cancelSubscription(id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MembershipCancelled.selector, id));
        vm.prank(alice);
        registry.transferFrom(alice, bob, id);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MembershipCancelled.selector, id));
        vm.prank(alice);
        registry.safeTransferFrom(alice, bob, id);
        assertEq(registry.tokenIdOf(bob, tOpen), 0);

        // Expired (not cancelled): the same.
        uint256 cid = _grant(tOpen, carol);
        vm.warp(registry.expiresAt(cid));
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MembershipExpired.selector, cid));
        vm.prank(carol);
        registry.transferFrom(carol, bob, cid);

        // The would-be victim is granted in a batch as usual.
        address[] memory hs = new address[](2);
        hs[0] = bob;
        hs[1] = stranger;
        vm.prank(mgr);
        registry.grantBatch(tOpen, hs);
        assertTrue(registry.isActive(bob, tOpen));
        assertEq(registry.tokenIdOf(bob, tOpen), _id(tOpen, bob));

        // Renewed, the expired one moves again.
        vm.prank(carol);
        registry.renewSubscription(cid, 30 days);
        address dave = makeAddr("dave");
        vm.prank(carol);
        registry.transferFrom(carol, dave, cid);
        assertEq(registry.ownerOf(cid), dave);
    }

    function test_transfer_approvals() public {
        uint256 id = _grant(tOpen, alice);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, carol, id));
        vm.prank(carol);
        registry.transferFrom(alice, bob, id);
        vm.prank(alice);
        registry.approve(carol, id);
        assertEq(registry.getApproved(id), carol);
        vm.prank(carol);
        registry.transferFrom(alice, bob, id);
        assertEq(registry.getApproved(id), address(0), "approval cleared");
        vm.prank(bob);
        registry.setApprovalForAll(carol, true);
        assertTrue(registry.isApprovedForAll(bob, carol));
        vm.prank(carol);
        registry.approve(stranger, id); // operator may approve
        vm.prank(stranger);
        registry.transferFrom(bob, alice, id);
        assertEq(registry.ownerOf(id), alice);
    }

    function test_transfer_erc721Reverts() public {
        uint256 id = _grant(tOpen, alice);
        uint256 bobId = _grant(tOpen, bob);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(0)));
        registry.transferFrom(alice, address(0), id);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721IncorrectOwner.selector, bob, id, alice));
        registry.transferFrom(bob, carol, id);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, id + 1));
        registry.transferFrom(alice, carol, id + 1);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidApprover.selector, alice));
        registry.approve(alice, bobId);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidOperator.selector, address(0)));
        registry.setApprovalForAll(address(0), true);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 5));
        registry.getApproved(5);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 5));
        registry.ownerOf(5);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 5));
        registry.locked(5);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidOwner.selector, address(0)));
        registry.balanceOf(address(0));
    }

    function test_transfer_revertsRecipientAlreadyMember() public {
        uint256 a = _grant(tOpen, alice);
        uint256 b = _grant(tOpen, bob);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.RecipientAlreadyMember.selector, bob, tOpen));
        vm.prank(alice);
        registry.transferFrom(alice, bob, a);
        // Holding one received by transfer also counts.
        vm.prank(bob);
        registry.transferFrom(bob, carol, b);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.RecipientAlreadyMember.selector, carol, tOpen));
        vm.prank(alice);
        registry.transferFrom(alice, carol, a);
        // Bob's own id is away, so Bob may now receive Alice's.
        vm.prank(alice);
        registry.transferFrom(alice, bob, a);
        assertEq(registry.balanceOf(bob), 1);
    }

    function test_transfer_revertsRecipientNotEligible() public {
        vm.prank(governor);
        uint256 t = registry.defineTier(_policy(30 days, false, true, 0, _oneElig(credType)));
        vm.prank(governor);
        registry.setTierManager(t, mgr, true);
        uint256 id = _grant(t, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NotEligible.selector, carol, credType));
        vm.prank(alice);
        registry.transferFrom(alice, carol, id);
        vm.prank(alice);
        registry.transferFrom(alice, bob, id);
    }

    function test_transfer_revertsPaused() public {
        uint256 id = _grant(tOpen, alice);
        vm.prank(pauser);
        registry.pauseTier(tOpen);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.TierPaused.selector, tOpen));
        vm.prank(alice);
        registry.transferFrom(alice, bob, id);
        vm.prank(governor);
        registry.unpauseTier(tOpen);
        vm.prank(pauser);
        registry.pause();
        vm.expectRevert(MembershipRegistry.RegistryPaused.selector);
        vm.prank(alice);
        registry.transferFrom(alice, bob, id);
    }

    function test_safeTransfer_callsReceiver() public {
        uint256 id = _grant(tOpen, alice);
        TestReceiver good = new TestReceiver(true);
        vm.prank(alice);
        registry.safeTransferFrom(alice, address(good), id, "hi");
        assertEq(registry.ownerOf(id), address(good));
        assertEq(good.lastOperator(), alice);
        assertEq(good.lastFrom(), alice);
        assertEq(good.lastTokenId(), id);
        assertEq(good.lastData(), "hi");

        TestReceiver bad = new TestReceiver(false);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(bad)));
        vm.prank(address(good));
        registry.safeTransferFrom(address(good), address(bad), id);
        // A contract without onERC721Received.
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(creds)));
        vm.prank(address(good));
        registry.safeTransferFrom(address(good), address(creds), id);
        // EOAs need no hook.
        vm.prank(address(good));
        registry.safeTransferFrom(address(good), bob, id);
        assertEq(registry.ownerOf(id), bob);
    }

    // ------------------------------------------------------------------ views

    function test_views_revertForUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownTier.selector, 50));
        registry.tierPolicy(50);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.UnknownTier.selector, 50));
        registry.memberCount(50);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NonexistentMembership.selector, 8));
        registry.expiresAt(8);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.NonexistentMembership.selector, 8));
        registry.isRenewable(8);
        assertFalse(registry.isActive(alice, 0));
        assertFalse(registry.isActive(alice, type(uint256).max));
        assertEq(registry.tokenIdOf(alice, type(uint256).max), 0);
        assertFalse(registry.isTierManager(type(uint256).max, mgr));
    }

    function test_balanceOf_acrossTiers() public {
        _grant(tLocked, alice);
        _grant(tOpen, alice);
        _grant(tGated, alice);
        assertEq(registry.balanceOf(alice), 3);
        assertEq(registry.balanceOf(bob), 0);
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_grant_expiryAndActivity(uint64 duration, address holder, uint256 later) public {
        duration = uint64(bound(duration, 1, registry.MAX_DURATION()));
        vm.assume(holder != address(0));
        vm.prank(governor);
        uint256 t = registry.defineTier(_policy(duration, false, false, 0, _noElig()));
        vm.prank(governor);
        registry.setTierManager(t, mgr, true);
        uint256 id = _grant(t, holder);
        assertEq(id >> 160, t);
        assertEq(address(uint160(id)), holder);
        uint256 exp = block.timestamp + duration;
        assertEq(registry.expiresAt(id), exp);
        assertTrue(registry.isActive(holder, t));
        later = bound(later, block.timestamp, exp + 10 * 365 days);
        vm.warp(later);
        assertEq(registry.isActive(holder, t), later < exp);
        assertEq(registry.ownerOf(id), holder);
        assertEq(registry.balanceOf(holder), 1);
    }

    function testFuzz_renew_extendsFromLaterOfExpiryAndNow(uint64 duration, uint32 elapsed) public {
        duration = uint64(bound(duration, 1, registry.MAX_DURATION()));
        uint256 id = _grant(tLocked, alice);
        uint256 exp = registry.expiresAt(id);
        vm.warp(block.timestamp + elapsed);
        vm.prank(mgr);
        registry.renewSubscription(id, duration);
        uint256 base = exp > block.timestamp ? exp : block.timestamp;
        assertEq(registry.expiresAt(id), base + duration);
        assertTrue(registry.isActive(alice, tLocked));
    }

    function testFuzz_renew_rejectsOutOfRangeDurations(uint64 duration) public {
        vm.assume(duration == 0 || duration > registry.MAX_DURATION());
        uint256 id = _grant(tLocked, alice);
        vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.InvalidDuration.selector, duration));
        vm.prank(mgr);
        registry.renewSubscription(id, duration);
    }

    function testFuzz_transfer_toAnyFreshHolder(address to) public {
        vm.assume(to != address(0) && to != alice && to.code.length == 0);
        uint256 id = _grant(tOpen, alice);
        vm.prank(alice);
        registry.safeTransferFrom(alice, to, id);
        assertEq(registry.ownerOf(id), to);
        assertEq(registry.balanceOf(to), 1);
        assertEq(registry.balanceOf(alice), 0);
        assertTrue(registry.isActive(to, tOpen));
        assertEq(registry.tokenIdOf(to, tOpen), id);
    }

    /// A membership moves only while active: at any time from the grant on, cancelled or not, a transfer succeeds
    /// iff it is not cancelled and before its expiry; a dead one never reaches `to`, who can then be granted.
    function testFuzz_transfer_onlyActiveMoves(address to, uint32 elapsed, bool cancel) public {
        vm.assume(to != address(0) && to != alice && to.code.length == 0);
        uint256 id = _grant(tOpen, alice);
        uint64 exp = registry.expiresAt(id);
        if (cancel) {
            vm.prank(alice);
            registry.cancelSubscription(id);
        }
        vm.warp(block.timestamp + bound(elapsed, 0, 60 days));
        bool moves = !cancel && block.timestamp < exp;
        if (cancel) vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MembershipCancelled.selector, id));
        else if (!moves) vm.expectRevert(abi.encodeWithSelector(MembershipRegistry.MembershipExpired.selector, id));
        vm.prank(alice);
        registry.transferFrom(alice, to, id);
        assertEq(registry.ownerOf(id), moves ? to : alice);
        if (!moves) {
            assertEq(registry.tokenIdOf(to, tOpen), 0);
            _grant(tOpen, to);
            assertTrue(registry.isActive(to, tOpen));
        }
    }

    function testFuzz_locked_neverMoves(address to, address caller) public {
        uint256 id = _grant(tLocked, alice);
        vm.prank(caller);
        try registry.transferFrom(alice, to, id) {
            fail();
        } catch {}
        assertEq(registry.ownerOf(id), alice);
    }

    /// A granted membership's id is the documented (tierId << 160) | holder, owned by the holder, and decodes back
    /// to its tier and holder; the ids of another holder of the tier and of the holder in another tier are unowned.
    function testFuzz_tokenIdCodec(uint96 tierSeed, address holder) public {
        uint256 tier = bound(tierSeed, 1, 3);
        vm.assume(holder != address(0));
        assertEq(registry.tokenIdOf(holder, tier), 0);
        if (tier == tGated) _credential(holder);
        uint256 id = _grant(tier, holder);
        uint256 packed = (tier << 160) | uint256(uint160(holder));
        assertEq(id, packed, "grant returns the packed id");
        assertEq(registry.tokenIdOf(holder, tier), packed, "tokenIdOf");
        assertEq(registry.ownerOf(packed), holder, "ownerOf");
        assertTrue(registry.isActive(holder, tier));
        assertEq(packed >> 160, tier, "tier bits");
        assertEq(address(uint160(packed)), holder, "holder bits");
        MembershipRegistry.Membership memory m = registry.membership(packed);
        assertEq(m.tierId, tier, "decoded tier");
        assertEq(m.holder, holder, "decoded holder");

        address other = address(uint160(holder) ^ 1) == address(0) ? address(2) : address(uint160(holder) ^ 1);
        uint256 otherTier = tier % 3 + 1;
        uint256[2] memory unowned = [_id(tier, other), _id(otherTier, holder)];
        for (uint256 i; i < unowned.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, unowned[i]));
            registry.ownerOf(unowned[i]);
        }
        assertEq(registry.tokenIdOf(other, tier), 0, "another holder of the tier");
        assertEq(registry.tokenIdOf(holder, otherTier), 0, "the holder in another tier");
        assertFalse(registry.isActive(other, tier));
        assertFalse(registry.isActive(holder, otherTier));
    }
}

/// @notice ERC-721 receiver used by the safeTransferFrom tests (accepts or rejects by construction).
contract TestReceiver is IERC721Receiver {
    bool internal immutable accept;
    address public lastOperator;
    address public lastFrom;
    uint256 public lastTokenId;
    bytes public lastData;

    constructor(bool accept_) {
        accept = accept_;
    }

    /// @notice Records the call and returns the magic value iff constructed to accept.
    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata data)
        external
        returns (bytes4)
    {
        lastOperator = operator;
        lastFrom = from;
        lastTokenId = tokenId;
        lastData = data;
        return accept ? this.onERC721Received.selector : bytes4(0xdeadbeef);
    }
}
