// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {MembershipRegistry} from "../src/MembershipRegistry.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {MembershipFixture} from "./MembershipRegistry.t.sol";

/// @notice Drives the registry with random legitimate operations and unauthorized attempts.
contract MembershipHandler is CommonBase, StdCheats, StdUtils {
    MembershipRegistry public immutable registry;
    CredentialRegistry public immutable creds;
    address public immutable credIssuer; // issuer and revoker of credType
    address public immutable mgr; // manager of every tier
    address public immutable mgrT; // manager of tier T only
    address public immutable governor;
    address public immutable pauser;
    address public immutable stranger = address(0xBAD);
    uint256 public immutable credType;

    uint256[] public tiers;
    address[] public actors;

    /// @notice Set if any unauthorized or policy-violating call ever succeeded.
    bool public violation;
    string public violationReason;
    /// @notice Counts of successful operations, for the run summary.
    mapping(bytes32 op => uint256) public calls;

    constructor(
        MembershipRegistry registry_,
        CredentialRegistry creds_,
        address credIssuer_,
        address mgr_,
        address mgrT_,
        address governor_,
        address pauser_,
        uint256[] memory tiers_,
        address[] memory actors_,
        uint256 credType_
    ) {
        registry = registry_;
        creds = creds_;
        credIssuer = credIssuer_;
        mgr = mgr_;
        mgrT = mgrT_;
        governor = governor_;
        pauser = pauser_;
        tiers = tiers_;
        actors = actors_;
        credType = credType_;
    }

    /// @notice Number of tiers the handler drives.
    function tierCount() external view returns (uint256) {
        return tiers.length;
    }

    /// @notice Number of actors (the only possible holders).
    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function _tier(uint256 seed) internal view returns (uint256) {
        return tiers[seed % tiers.length];
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    /// @dev Every token id that can ever exist: grants and tier changes only ever target actors.
    function _anyId(uint256 tierSeed, uint256 actorSeed) internal view returns (uint256) {
        return (_tier(tierSeed) << 160) | uint160(_actor(actorSeed));
    }

    /// @dev The first existing token id at or after position `seed` among all (tier, actor) ids, else a
    ///      nonexistent one (so operations on missing memberships are exercised too).
    function _existingId(uint256 seed) internal view returns (uint256) {
        uint256 n = tiers.length * actors.length;
        uint256 start = seed % n;
        for (uint256 k; k < n; ++k) {
            uint256 i = (start + k) % n;
            uint256 id = (tiers[i / actors.length] << 160) | uint160(actors[i % actors.length]);
            if (_ownerOrZero(id) != address(0)) return id;
        }
        return (tiers[0] << 160) | uint160(actors[start % actors.length]);
    }

    function _flag(string memory reason) internal {
        violation = true;
        violationReason = reason;
    }

    // ------------------------------------------------------------------ legitimate operations

    /// @notice Grants a membership as the all-tier manager.
    function grant(uint256 tierSeed, uint256 actorSeed) external {
        vm.prank(mgr);
        try registry.grant(_tier(tierSeed), _actor(actorSeed)) {
            calls["grant"]++;
        } catch {}
    }

    /// @notice Grants a small batch as the all-tier manager.
    function grantBatch(uint256 tierSeed, uint256 actorSeed, uint8 n) external {
        n = uint8(_bound(n, 1, 4));
        address[] memory hs = new address[](n);
        for (uint256 i; i < n; ++i) {
            hs[i] = _actor(actorSeed % actors.length + i);
        }
        vm.prank(mgr);
        try registry.grantBatch(_tier(tierSeed), hs) {
            calls["grantBatch"]++;
        } catch {}
    }

    /// @notice Renews an (existing if any) membership as a manager; the tier-T manager must fail elsewhere.
    function renewByManager(uint256 seed, bool asTierTManager, uint64 duration) external {
        duration = uint64(_bound(duration, 1, 400 days));
        address who = asTierTManager ? mgrT : mgr;
        uint256 id = _existingId(seed);
        vm.prank(who);
        try registry.renewSubscription(id, duration) {
            if (who == mgrT && (id >> 160) != tiers[1]) _flag("mgrT renewed outside its tier");
            calls["renew"]++;
        } catch {}
    }

    /// @notice Renews a membership as its holder by the tier duration; must fail for non-renewable tiers.
    function renewByHolder(uint256 seed) external {
        uint256 id = _existingId(seed);
        uint256 tierId = id >> 160;
        address owner;
        try registry.ownerOf(id) returns (address o) {
            owner = o;
        } catch {
            return;
        }
        MembershipRegistry.TierPolicy memory p = registry.tierPolicy(tierId);
        vm.prank(owner);
        try registry.renewSubscription(id, p.duration) {
            if (!p.holderRenewable) _flag("holder renewed a non-renewable tier");
            calls["holderRenew"]++;
        } catch {}
    }

    /// @notice Cancels a membership as its holder or the manager.
    function cancel(uint256 seed, bool asManager) external {
        uint256 id = _existingId(seed);
        address caller = asManager ? mgr : _ownerOrZero(id);
        if (caller == address(0)) return;
        vm.prank(caller);
        try registry.cancelSubscription(id) {
            calls["cancel"]++;
        } catch {}
    }

    /// @notice Revokes (burns) a membership as the manager.
    function revoke(uint256 seed, uint8 reason) external {
        uint256 id = _existingId(seed);
        vm.prank(mgr);
        try registry.revoke(id, reason) {
            calls["revoke"]++;
        } catch {}
    }

    /// @notice Moves a membership to another tier as the manager.
    function changeTier(uint256 seed, uint256 newTierSeed) external {
        uint256 id = _existingId(seed);
        vm.prank(mgr);
        try registry.changeTier(id, _tier(newTierSeed)) {
            calls["changeTier"]++;
        } catch {}
    }

    /// @notice Transfers a token as its owner; must fail for locked tiers.
    function transfer(uint256 seed, uint256 toSeed, bool safe) external {
        // Mostly tokens of the transferable tier T (ids of tier index 1 start at position actors.length);
        // every fourth attempt takes any token, so locked ones are tried (and must fail) too.
        uint256 id = seed % 4 == 0 ? _existingId(seed) : _existingId(actors.length + (seed >> 2) % actors.length);
        address owner = _ownerOrZero(id);
        if (owner == address(0)) return;
        address to = _actor(toSeed);
        vm.prank(owner);
        if (safe) {
            try registry.safeTransferFrom(owner, to, id) {
                _afterTransfer(id, owner, to);
            } catch {}
        } else {
            try registry.transferFrom(owner, to, id) {
                _afterTransfer(id, owner, to);
            } catch {}
        }
    }

    function _afterTransfer(uint256 id, address from, address to) internal {
        if (from != to && registry.locked(id)) _flag("locked token transferred");
        calls["transfer"]++;
    }

    /// @notice Makes an actor's credential valid (issued, re-issued or reinstated) or not (revoked or suspended)
    ///         in the credential registry; it also lapses by itself as time passes (affects later grants, tier
    ///         changes and transfers).
    function setEligibility(uint256 actorSeed, bool ok) external {
        address a = _actor(actorSeed);
        uint256 id = creds.tokenIdOf(a, credType);
        uint8 status = creds.recordOf(id).status;
        vm.startPrank(credIssuer);
        if (ok && status == creds.STATUS_SUSPENDED()) {
            creds.reinstate(id);
        } else if (ok && !creds.isValid(a, credType)) {
            creds.issue(credType, a, 0, bytes32(actorSeed));
        } else if (!ok && status == creds.STATUS_ACTIVE()) {
            if (actorSeed % 2 == 0) creds.revoke(id, 1);
            else creds.suspend(id, 1);
        }
        vm.stopPrank();
    }

    /// @notice Moves time forward.
    function warp(uint32 secs) external {
        vm.warp(block.timestamp + _bound(secs, 1, 120 days));
    }

    /// @notice Unpauses the registry (governor) or sometimes pauses it (pauser).
    function togglePause(uint256 seed) external {
        if (registry.paused()) {
            vm.prank(governor);
            registry.unpause();
        } else if (seed % 5 == 0) {
            vm.prank(pauser);
            registry.pause();
        }
    }

    /// @notice Sometimes pauses a tier (pauser), else unpauses every paused tier (governor).
    function toggleTierPause(uint256 tierSeed, uint256 seed) external {
        if (seed % 3 == 0) {
            vm.prank(pauser);
            registry.pauseTier(_tier(tierSeed));
            return;
        }
        for (uint256 i; i < tiers.length; ++i) {
            if (registry.tierPaused(tiers[i])) {
                vm.prank(governor);
                registry.unpauseTier(tiers[i]);
            }
        }
    }

    // ------------------------------------------------------------------ unauthorized attempts (must all fail)

    /// @notice Tries operations as an account with no role; any success is a violation.
    function attackAsStranger(uint256 tierSeed, uint256 actorSeed, uint256 op) external {
        uint256 t = _tier(tierSeed);
        uint256 id = _anyId(tierSeed, actorSeed);
        vm.startPrank(stranger);
        op %= 6;
        if (op == 0) {
            try registry.grant(t, stranger) {
                _flag("stranger granted");
            } catch {}
        } else if (op == 1) {
            try registry.renewSubscription(id, 1 days) {
                _flag("stranger renewed");
            } catch {}
        } else if (op == 2) {
            try registry.cancelSubscription(id) {
                _flag("stranger cancelled");
            } catch {}
        } else if (op == 3) {
            try registry.revoke(id, 1) {
                _flag("stranger revoked");
            } catch {}
        } else if (op == 4) {
            try registry.setTierManager(t, stranger, true) {
                _flag("stranger set a manager");
            } catch {}
        } else {
            address owner = _ownerOrZero(id);
            if (owner != address(0)) {
                try registry.transferFrom(owner, stranger, id) {
                    _flag("stranger moved a token");
                } catch {}
            }
        }
        vm.stopPrank();
    }

    /// @notice Tries operations on tiers L and G as tier T's manager; any success is a violation.
    function attackAsOtherTierManager(uint256 actorSeed, uint256 op, bool onGated) external {
        // mgrT manages tiers[1] only; try tiers[0] or tiers[2].
        uint256 t = onGated ? tiers[2] : tiers[0];
        uint256 id = (t << 160) | uint160(_actor(actorSeed));
        vm.startPrank(mgrT);
        op %= 4;
        if (op == 0) {
            try registry.grant(t, _actor(actorSeed)) {
                _flag("cross-tier grant");
            } catch {}
        } else if (op == 1) {
            try registry.revoke(id, 2) {
                _flag("cross-tier revoke");
            } catch {}
        } else if (op == 2) {
            try registry.changeTier(id, tiers[1]) {
                _flag("cross-tier change");
            } catch {}
        } else {
            try registry.pause() {
                _flag("manager paused the registry");
            } catch {}
        }
        vm.stopPrank();
    }

    function _ownerOrZero(uint256 id) internal view returns (address) {
        try registry.ownerOf(id) returns (address o) {
            return o;
        } catch {
            return address(0);
        }
    }
}

/// @notice Invariants of MembershipRegistry under random operations.
contract MembershipInvariantsTest is MembershipFixture {
    MembershipHandler internal handler;
    address internal mgrT = makeAddr("managerT");
    uint256[] internal tiers;
    address[] internal actors;

    function setUp() public {
        vm.warp(1_700_000_000);
        _deploy();
        tiers.push(_defineTier(60 days, false, false, 4, _noElig())); // L: locked, max 4
        tiers.push(_defineTier(30 days, true, true, 3, _noElig())); // T: transferable, holder-renewable, max 3
        tiers.push(_defineTier(90 days, true, false, 0, _oneElig(credType))); // G: locked, gated, unlimited
        vm.prank(governor);
        registry.setTierManager(tiers[1], mgrT, true);
        for (uint256 i; i < 6; ++i) {
            actors.push(address(uint160(0xA000 + i)));
            if (i % 2 == 0) _credential(actors[i]);
        }
        handler =
            new MembershipHandler(registry, creds, credIssuer, mgr, mgrT, governor, pauser, tiers, actors, credType);
        targetContract(address(handler));
    }

    /// @dev Snapshot of every possible token id, (tier, actor) for all tiers and actors: grants and tier changes
    ///      only ever target actors, so no other id can exist. Index = tierIndex * actors.length + actorIndex.
    struct Snap {
        uint256[] ids;
        bool[] exists;
        MembershipRegistry.Membership[] m;
    }

    function _snapshot() internal view returns (Snap memory s) {
        uint256 n = tiers.length * actors.length;
        s.ids = new uint256[](n);
        s.exists = new bool[](n);
        s.m = new MembershipRegistry.Membership[](n);
        for (uint256 i; i < n; ++i) {
            s.ids[i] = _id(tiers[i / actors.length], actors[i % actors.length]);
            try registry.membership(s.ids[i]) returns (MembershipRegistry.Membership memory r) {
                s.exists[i] = true;
                s.m[i] = r;
            } catch {}
        }
    }

    function invariant_memberCountMatchesLiveTokensAndMax() public view {
        Snap memory s = _snapshot();
        for (uint256 t; t < tiers.length; ++t) {
            uint256 live;
            for (uint256 a; a < actors.length; ++a) {
                uint256 i = t * actors.length + a;
                if (s.exists[i] && s.m[i].status == MembershipRegistry.Status.Active) ++live;
            }
            uint256 count = registry.memberCount(tiers[t]);
            assertEq(count, live, "memberCount == live tokens");
            uint256 max = registry.tierPolicy(tiers[t]).maxMembers;
            if (max != 0) assertLe(count, max, "members <= max");
        }
    }

    function invariant_isActiveMatchesRecords() public view {
        Snap memory s = _snapshot();
        for (uint256 t; t < tiers.length; ++t) {
            for (uint256 a; a < actors.length; ++a) {
                address holder = actors[a];
                bool expected;
                uint256 held;
                uint256 heldId;
                for (uint256 o; o < actors.length; ++o) {
                    uint256 i = t * actors.length + o;
                    if (!s.exists[i] || s.m[i].holder != holder) continue;
                    ++held;
                    heldId = s.ids[i];
                    // isActive <=> exists && not cancelled (revoked ones do not exist) && not expired
                    expected = s.m[i].status == MembershipRegistry.Status.Active && block.timestamp < s.m[i].expiresAt;
                }
                assertLe(held, 1, "at most one membership per holder and tier");
                assertEq(registry.tokenIdOf(holder, tiers[t]), heldId, "tokenIdOf");
                assertEq(registry.isActive(holder, tiers[t]), expected, "isActive");
            }
        }
    }

    function invariant_lockedTokensNeverMove() public view {
        Snap memory s = _snapshot();
        for (uint256 i; i < s.ids.length; ++i) {
            if (!s.exists[i] || registry.tierPolicy(s.m[i].tierId).transferable) continue;
            assertEq(s.m[i].holder, actors[i % actors.length], "locked token with its original holder");
            assertEq(registry.ownerOf(s.ids[i]), actors[i % actors.length], "ownerOf locked token");
            assertTrue(registry.locked(s.ids[i]));
        }
    }

    function invariant_balanceOfMatchesOwnership() public view {
        Snap memory s = _snapshot();
        for (uint256 a; a < actors.length; ++a) {
            uint256 owned;
            for (uint256 i; i < s.ids.length; ++i) {
                if (s.exists[i] && s.m[i].holder == actors[a]) ++owned;
            }
            assertEq(registry.balanceOf(actors[a]), owned, "balanceOf");
        }
        assertEq(registry.balanceOf(handler.stranger()), 0);
    }

    function invariant_noUnauthorizedSuccess() public view {
        assertFalse(handler.violation(), handler.violationReason());
    }

    /// @dev Logs how many operations of each kind succeeded in a run (visible with -vv).
    function afterInvariant() public {
        string[9] memory ops =
            ["grant", "grantBatch", "renew", "holderRenew", "cancel", "revoke", "changeTier", "transfer", "x"];
        for (uint256 i; i < 8; ++i) {
            emit log_named_uint(ops[i], handler.calls(bytes32(bytes(ops[i]))));
        }
    }
}
