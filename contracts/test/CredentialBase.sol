// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test, Vm} from "forge-std/Test.sol";
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

    // ---------------------------------------------------------------------------------------------
    // Further helpers shared by the unit, fuzz and invariant suites
    // ---------------------------------------------------------------------------------------------

    /// `_policy(name)` with `flags` instead of every flag.
    function _policyFlags(string memory name, uint16 flags) internal pure returns (CredentialRegistry.TypePolicy memory p) {
        p = _policy(name);
        p.flags = flags;
    }

    /// The evidence hash `_issue` uses.
    function _ev(address holder, uint256 typeId) internal pure returns (bytes32) {
        return keccak256(abi.encode(holder, typeId));
    }

    /// Issues with an explicit expiry (0 = the type's default) as `issuer`.
    function _issueAt(uint256 typeId, address holder, uint64 expiresAt) internal returns (uint256 tokenId) {
        vm.prank(issuer);
        reg.issue(typeId, holder, expiresAt, _ev(holder, typeId));
        tokenId = reg.tokenIdOf(holder, typeId);
    }

    /// Grants `roles` on `typeId` to `account` as the governor.
    function _grant(uint256 typeId, address account, uint8 roles) internal {
        vm.prank(governor);
        reg.setTypeRoles(typeId, account, roles);
    }

    /// The packed ERC-721 id of (typeId, holder), computed independently of the contract.
    function _tid(uint256 typeId, address holder) internal pure returns (uint256) {
        return (typeId << 160) | uint160(holder);
    }

    // EIP-712 ----------------------------------------------------------------------------------------

    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant ISSUANCE_TYPEHASH = keccak256(
        "Issuance(uint256 typeId,address holder,uint64 expiresAt,bytes32 evidenceHash,address issuer,uint256 nonce,uint256 deadline)"
    );

    /// The registry's EIP-712 domain separator, computed from first principles.
    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH,
                keccak256("Laurel CredentialRegistry"),
                keccak256("1"),
                block.chainid,
                address(reg)
            )
        );
    }

    function _digest(CredentialRegistry.Issuance memory r) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                ISSUANCE_TYPEHASH, r.typeId, r.holder, r.expiresAt, r.evidenceHash, r.issuer, r.nonce, r.deadline
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    /// A 65-byte (r, s, v) ECDSA signature of the request's digest by `pk`.
    function _sign(uint256 pk, CredentialRegistry.Issuance memory r) internal view returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 ss) = vm.sign(pk, _digest(r));
        return abi.encodePacked(rr, ss, v);
    }

    bytes32 internal constant BATCH_ISSUANCE_TYPEHASH = keccak256(
        "BatchIssuance(uint256 typeId,uint256[] holdersAndExpiries,bytes32[] evidenceHashes,address issuer,uint256 nonce,uint256 deadline)"
    );

    /// The EIP-712 digest of a batch request, from first principles (arrays as keccak-256 of their packed words).
    function _batchDigest(CredentialRegistry.BatchIssuance memory r) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                BATCH_ISSUANCE_TYPEHASH,
                r.typeId,
                keccak256(abi.encodePacked(r.holdersAndExpiries)),
                keccak256(abi.encodePacked(r.evidenceHashes)),
                r.issuer,
                r.nonce,
                r.deadline
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    /// A 65-byte (r, s, v) ECDSA signature of the batch request's digest by `pk`.
    function _signBatch(uint256 pk, CredentialRegistry.BatchIssuance memory r) internal view returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 ss) = vm.sign(pk, _batchDigest(r));
        return abi.encodePacked(rr, ss, v);
    }

    /// A batch request of `typeId` for `holders` (default expiries) signed as `signer`, valid for an hour.
    function _batchRequest(uint256 typeId, address[] memory holders, address signer, uint256 nonce)
        internal
        view
        returns (CredentialRegistry.BatchIssuance memory r)
    {
        r.typeId = typeId;
        r.holdersAndExpiries = _entries(holders, 0);
        r.evidenceHashes = _evidence(holders.length, nonce);
        r.issuer = signer;
        r.nonce = nonce;
        r.deadline = block.timestamp + 1 hours;
    }

    function _request(uint256 typeId, address holder, address signer, uint256 nonce)
        internal
        view
        returns (CredentialRegistry.Issuance memory r)
    {
        r.typeId = typeId;
        r.holder = holder;
        r.expiresAt = 0;
        r.evidenceHash = keccak256(abi.encode("signed", holder, typeId, nonce));
        r.issuer = signer;
        r.nonce = nonce;
        r.deadline = block.timestamp + 1 hours;
    }

    /// The logs emitted by the registry (recordLogs also sees the test's own expectEmit templates).
    function _regLogs(Vm.Log[] memory logs) internal view returns (Vm.Log[] memory out) {
        uint256 n;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(reg)) ++n;
        }
        out = new Vm.Log[](n);
        n = 0;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(reg)) out[n++] = logs[i];
        }
    }
}
