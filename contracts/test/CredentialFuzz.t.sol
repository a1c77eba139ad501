// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {CredentialBase} from "./CredentialBase.sol";
import {CredentialRegistry} from "../src/CredentialRegistry.sol";

/// @notice Property-based tests of CredentialRegistry: random holders, expiries, policies and times.
contract CredentialFuzzTest is CredentialBase {
    uint256 internal constant MAX_DEFAULT_VALIDITY = (uint256(1) << 39) - 1;
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    uint256 internal t1;

    function setUp() public override {
        super.setUp();
        t1 = _defineType(_policy("Fuzz"));
    }

    /// The property every check of validity must satisfy.
    function _expectedValid(CredentialRegistry.Credential memory c) internal view returns (bool) {
        return c.status == 1 && (c.expiresAt == 0 || c.expiresAt > block.timestamp);
    }

    function _assertValidityConsistent(address holder, uint256 typeId) internal view {
        CredentialRegistry.Credential memory c = reg.credentialOf(holder, typeId);
        bool expected = _expectedValid(c);
        assertEq(reg.isValid(holder, typeId), expected, "isValid");
        assertEq(c.valid, expected, "record.valid");
    }


    // ---------------------------------------------------------------------------------------------

    function testFuzz_tokenIdDerivation(address holder, uint256 typeId) public {
        if (typeId >> 96 == 0) {
            assertEq(reg.tokenIdOf(holder, typeId), (typeId << 160) | uint160(holder));
            assertEq(reg.credentialOf(holder, typeId).holder, holder);
            assertEq(reg.credentialOf(holder, typeId).typeId, typeId);
        } else {
            vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.TypeIdOutOfRange.selector, typeId));
            reg.tokenIdOf(holder, typeId);
            assertFalse(reg.isValid(holder, typeId));
        }
    }

    /// An issued token id is always typeId << 160 | holder, owned by holder; validity follows status and time.
    function testFuzz_issueThenActThenWarp(address holder, uint64 expSeed, bool useDefault, uint8 action, uint32 dt)
        public
    {
        vm.assume(holder != address(0));
        uint64 exp = useDefault ? 0 : uint64(bound(expSeed, block.timestamp + 1, block.timestamp + 730 days));
        vm.prank(issuer);
        reg.issue(t1, holder, exp, keccak256(abi.encode(holder)));
        uint256 id = reg.tokenIdOf(holder, t1);
        assertEq(id, (t1 << 160) | uint160(holder));
        assertEq(reg.ownerOf(id), holder);
        assertEq(reg.balanceOf(holder), 1);
        CredentialRegistry.Credential memory c = reg.recordOf(id);
        assertEq(c.expiresAt, useDefault ? block.timestamp + 365 days : exp);
        assertEq(c.issuedAt, block.timestamp);
        assertEq(c.issuer, issuer);
        assertTrue(c.valid);

        action = action % 5;
        if (action == 1 || action == 3) {
            vm.prank(revoker);
            reg.suspend(id, 9);
        }
        if (action == 3) {
            vm.prank(revoker);
            reg.reinstate(id);
        }
        if (action == 2) {
            vm.prank(revoker);
            reg.revoke(id, 9);
        }
        if (action == 4) {
            vm.prank(holder);
            reg.renounce(t1);
        }
        vm.warp(block.timestamp + bound(dt, 0, 1000 days));
        _assertValidityConsistent(holder, t1);
        bool live = action != 2 && action != 4;
        assertEq(reg.balanceOf(holder), live ? 1 : 0);
        if (!live) {
            vm.expectRevert();
            reg.ownerOf(id);
        } else {
            assertEq(reg.ownerOf(id), holder);
        }
    }

    /// Any accepted validity policy issues credentials whose default expiry is exact and in the future; a default
    /// validity whose expiry could not fit the 40-bit field is rejected (it used to wrap to an expired credential).
    function testFuzz_validityPolicy(uint40 defaultValidity, uint40 maxExtra, bool withMax, uint64 expSeed, uint32 dt)
        public
    {
        CredentialRegistry.TypePolicy memory p = _policy("Policy");
        if (withMax && defaultValidity == 0) defaultValidity = 1;
        uint256 maxV = withMax ? _min(uint256(defaultValidity) + maxExtra, type(uint40).max) : 0;
        p.defaultValidity = defaultValidity;
        p.maxValidity = uint40(maxV);
        p.renewalWindow = 0;
        p.flags = defaultValidity == 0 ? ALL_FLAGS & ~uint16(1) : ALL_FLAGS;
        vm.prank(governor);
        if (defaultValidity > MAX_DEFAULT_VALIDITY) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    CredentialRegistry.InvalidPolicy.selector, "defaultValidity: expiry would not fit in 40 bits"
                )
            );
            reg.defineType(p);
            return;
        }
        uint256 t = reg.defineType(p);
        vm.prank(governor);
        reg.setTypeRoles(t, issuer, 1);

        _issue(t, alice);
        CredentialRegistry.Credential memory c = reg.credentialOf(alice, t);
        assertEq(c.expiresAt, defaultValidity == 0 ? 0 : block.timestamp + defaultValidity);
        assertTrue(c.valid);

        // An explicit expiry: accepted iff in (now, 2^40) and within maxValidity.
        uint256 exp = bound(expSeed, block.timestamp + 1, type(uint40).max);
        bool ok = maxV == 0 || exp <= block.timestamp + maxV;
        vm.prank(issuer);
        if (!ok) {
            vm.expectRevert(
                abi.encodeWithSelector(CredentialRegistry.ExpiryBeyondMax.selector, exp, block.timestamp + maxV)
            );
        }
        reg.issue(t, bob, uint64(exp), bytes32(0));
        if (ok) assertEq(reg.credentialOf(bob, t).expiresAt, exp);

        vm.warp(block.timestamp + bound(dt, 0, 3000 days));
        _assertValidityConsistent(alice, t);
        _assertValidityConsistent(bob, t);
    }

    /// The other validity rules: maxValidity needs a default at most itself. An accepted policy is stored as given
    /// under the next type id; a rejected one defines no type.
    function testFuzz_validityPolicyRules(uint40 defaultValidity, uint40 maxValidity) public {
        vm.assume(defaultValidity <= MAX_DEFAULT_VALIDITY);
        CredentialRegistry.TypePolicy memory p = _policy("Rules");
        p.defaultValidity = defaultValidity;
        p.maxValidity = maxValidity;
        p.flags = defaultValidity == 0 ? ALL_FLAGS & ~uint16(1) : ALL_FLAGS;
        bool ok = maxValidity == 0 || (defaultValidity != 0 && defaultValidity <= maxValidity);
        uint256 countBefore = reg.typeCount();
        vm.prank(governor);
        if (!ok) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    CredentialRegistry.InvalidPolicy.selector,
                    "defaultValidity: must be set and at most maxValidity when maxValidity is set"
                )
            );
            reg.defineType(p);
            assertEq(reg.typeCount(), countBefore, "a rejected policy defined a type");
            vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.UnknownType.selector, countBefore + 1));
            reg.typePolicy(countBefore + 1);
            return;
        }
        uint256 t = reg.defineType(p);
        assertEq(t, countBefore + 1, "type id");
        assertEq(reg.typeCount(), t, "typeCount");
        CredentialRegistry.TypePolicy memory got = reg.typePolicy(t);
        assertEq(got.defaultValidity, defaultValidity, "stored defaultValidity");
        assertEq(got.maxValidity, maxValidity, "stored maxValidity");
        assertEq(got.flags, p.flags, "stored flags");
        assertEq(got.renewalWindow, p.renewalWindow, "stored renewalWindow");
        assertEq(got.name, "Rules", "stored name");
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// Batch entries round-trip: records and the IssuedBatch event carry exactly the resolved entries.
    function testFuzz_batchRoundTrip(uint256 seed, uint256 nSeed) public {
        uint256 n = bound(nSeed, 1, 40);
        address[] memory hs = _holders(n, seed);
        uint256[] memory e = new uint256[](n);
        uint256[] memory resolved = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, "exp", i)));
            uint256 exp = r % 3 == 0 ? 0 : bound(r >> 8, block.timestamp + 1, block.timestamp + 730 days);
            e[i] = uint256(uint160(hs[i])) | (exp << 160);
            resolved[i] = uint256(uint160(hs[i])) | ((exp == 0 ? block.timestamp + 365 days : exp) << 160);
        }
        bytes32[] memory ev = _evidence(n, seed);
        vm.recordLogs();
        vm.prank(issuer);
        reg.issueBatch(t1, e, ev);
        Vm.Log[] memory logs = _regLogs(vm.getRecordedLogs());
        assertEq(logs.length, 2 * n + 1);
        Vm.Log memory last = logs[2 * n];
        assertEq(last.topics[0], CredentialRegistry.IssuedBatch.selector);
        assertEq(last.topics[1], bytes32(t1));
        assertEq(last.topics[2], bytes32(uint256(uint160(issuer))));
        (uint256[] memory got, bytes32[] memory gotEv) = abi.decode(last.data, (uint256[], bytes32[]));
        assertEq(got, resolved);
        assertEq(gotEv, ev);
        for (uint256 i; i < n; ++i) {
            uint256 id = (t1 << 160) | uint160(hs[i]);
            assertEq(uint256(logs[2 * i].topics[3]), id);
            assertEq(logs[2 * i + 1].data, abi.encode(id));
            CredentialRegistry.Credential memory c = reg.credentialOf(hs[i], t1);
            assertEq(c.holder, address(uint160(got[i])));
            assertEq(c.expiresAt, got[i] >> 160);
            assertEq(c.status, 1);
            assertEq(reg.ownerOf(id), hs[i]);
        }
    }

    /// Fast path (default expiry) and slow path (the same expiry given explicitly) write the same record.
    function testFuzz_fastAndSlowPathAgree(address holder, bytes32 ev) public {
        vm.assume(holder != address(0));
        uint256 t2 = _defineType(_policy("Twin"));
        vm.prank(issuer);
        reg.issue(t1, holder, 0, ev);
        vm.prank(issuer);
        reg.issue(t2, holder, uint64(block.timestamp + 365 days), ev);
        CredentialRegistry.Credential memory a = reg.credentialOf(holder, t1);
        CredentialRegistry.Credential memory b = reg.credentialOf(holder, t2);
        assertEq(a.issuer, b.issuer);
        assertEq(a.issuedAt, b.issuedAt);
        assertEq(a.expiresAt, b.expiresAt);
        assertEq(a.status, b.status);
        assertEq(a.valid, b.valid);
        assertEq(reg.balanceOf(holder), 2);
    }

    /// A batch entry with bits above holder and 40-bit expiry, or a zero holder, is MalformedEntry.
    function testFuzz_malformedEntry(uint256 entry) public {
        uint256[] memory e = new uint256[](1);
        e[0] = entry;
        bool malformed = entry >> 200 != 0 || uint160(entry) == 0;
        vm.assume(malformed || (entry >> 160) == 0 || (entry >> 160) > block.timestamp);
        vm.prank(issuer);
        if (malformed) {
            vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.MalformedEntry.selector, 0, entry));
        } else if ((entry >> 160) > block.timestamp + 730 days) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    CredentialRegistry.ExpiryBeyondMax.selector, entry >> 160, block.timestamp + 730 days
                )
            );
        }
        reg.issueBatch(t1, e, _evidence(1, 0));
    }

    /// Out-of-range type ids never alias the real type in their low 96 bits.
    function testFuzz_typeIdOutOfRange(uint160 highBits, address holder) public {
        vm.assume(highBits != 0 && holder != address(0));
        uint256 high = (uint256(highBits) << 96) | t1;
        _issue(t1, alice);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.TypeIdOutOfRange.selector, high));
        reg.issue(high, holder, 0, bytes32(0));
        assertFalse(reg.isValid(alice, high));
        vm.prank(revoker);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.TypeIdOutOfRange.selector, high));
        reg.revokeBatch(high, _toArr(alice), 1);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.TypeIdOutOfRange.selector, high));
        reg.rolesOf(high, issuer);
    }

    function _toArr(address a) internal pure returns (address[] memory r) {
        r = new address[](1);
        r[0] = a;
    }

    /// Any key, any nonce: a signed issuance relays once and only once.
    function testFuzz_issueWithSig(uint256 pkSeed, uint256 nonce, address holder, address relayer) public {
        vm.assume(holder != address(0));
        uint256 pk = bound(pkSeed, 1, SECP256K1_N - 1);
        address signer = vm.addr(pk);
        _grant(t1, signer, 1);
        CredentialRegistry.Issuance memory r = _request(t1, holder, signer, nonce);
        bytes memory sig = _sign(pk, r);
        vm.prank(relayer);
        uint256 id = reg.issueWithSig(r, sig);
        assertEq(id, (t1 << 160) | uint160(holder));
        assertEq(reg.credentialOf(holder, t1).issuer, signer);
        assertTrue(reg.nonceUsed(signer, nonce));
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, signer, nonce));
        reg.issueWithSig(r, sig);
    }

    /// Any key, any nonce, any batch: a signed batch relays once, with the signer as issuer; changing any one
    /// word of either array after signing (or cancelling the nonce first) makes it fail.
    function testFuzz_issueBatchWithSig(
        uint256 pkSeed,
        uint256 nonce,
        uint256 seed,
        uint256 nSeed,
        uint256 tamperSeed,
        uint8 mode
    ) public {
        uint256 pk = bound(pkSeed, 1, SECP256K1_N - 1);
        address signer = vm.addr(pk);
        _grant(t1, signer, 1);
        uint256 n = bound(nSeed, 1, 8);
        address[] memory hs = _holders(n, seed);
        CredentialRegistry.BatchIssuance memory b = _batchRequest(t1, hs, signer, nonce);
        bytes memory sig = _signBatch(pk, b);
        mode %= 3;
        if (mode == 1) {
            // Tamper with one word: an entry (a holder or expiry bit) or an evidence hash.
            uint256 i = tamperSeed % n;
            uint256 bit = uint256(1) << ((tamperSeed >> 8) % 200);
            if ((tamperSeed >> 16) % 2 == 0) b.holdersAndExpiries[i] ^= bit;
            else b.evidenceHashes[i] ^= bytes32(bit);
            vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.InvalidSignature.selector, signer));
        } else if (mode == 2) {
            vm.prank(signer);
            reg.cancelNonce(nonce);
            vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, signer, nonce));
        }
        vm.prank(outsider);
        reg.issueBatchWithSig(b, sig);
        if (mode != 0) {
            assertFalse(reg.isValid(hs[0], t1));
            return;
        }
        for (uint256 i; i < n; ++i) {
            assertEq(reg.credentialOf(hs[i], t1).issuer, signer);
            _assertValidityConsistent(hs[i], t1);
        }
        assertTrue(reg.nonceUsed(signer, nonce));
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.NonceAlreadyUsed.selector, signer, nonce));
        reg.issueBatchWithSig(b, sig);
    }

    /// Renewals draw on the same per-issuer quota as issuances: with `limit` per period, any mix of `k` issues and
    /// `limit - k` renewals fits, and one more of either fails.
    function testFuzz_renewSharesTheIssueQuota(uint256 limitSeed, uint256 kSeed, bool lastIsRenewal) public {
        uint32 limit = uint32(bound(limitSeed, 2, 6));
        uint256 k = bound(kSeed, 1, limit - 1);
        CredentialRegistry.TypePolicy memory p = _policy("QR");
        p.quotaLimit = limit;
        p.quotaPeriod = 7 days;
        p.renewalWindow = 0;
        p.maxValidity = 0;
        uint256 t = _defineType(p);
        address[] memory hs = _holders(k + 1, limitSeed);
        for (uint256 i; i < k; ++i) {
            _issue(t, hs[i]);
        }
        for (uint256 i; i < limit - k; ++i) {
            vm.prank(issuer);
            reg.renew(_tid(t, hs[i % k]), 0);
        }
        assertEq(reg.quotaRemaining(t, issuer), 0);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, issuer, limit));
        if (lastIsRenewal) reg.renew(_tid(t, hs[0]), 0);
        else reg.issue(t, hs[k], 0, bytes32(0));
    }

    /// Quota: exactly `limit` issuances per period, reset once `period` has passed since the period start.
    function testFuzz_quota(uint256 limitSeed, uint256 periodSeed, uint256 dtSeed) public {
        uint32 limit = uint32(bound(limitSeed, 1, 6));
        uint32 period = uint32(bound(periodSeed, 1, 30 days));
        CredentialRegistry.TypePolicy memory p = _policy("Q");
        p.quotaLimit = limit;
        p.quotaPeriod = period;
        uint256 t = _defineType(p);
        uint256 start = block.timestamp;
        address[] memory hs = _holders(2 * limit + 1, limitSeed);
        for (uint256 i; i < limit; ++i) {
            assertEq(reg.quotaRemaining(t, issuer), limit - i);
            _issue(t, hs[i]);
        }
        assertEq(reg.quotaRemaining(t, issuer), 0);
        uint256 dt = bound(dtSeed, 0, 2 * uint256(period));
        vm.warp(start + dt);
        bool reset = dt >= period;
        assertEq(reg.quotaRemaining(t, issuer), reset ? limit : 0);
        vm.prank(issuer);
        if (!reset) vm.expectRevert(abi.encodeWithSelector(CredentialRegistry.QuotaExhausted.selector, t, issuer, limit));
        reg.issue(t, hs[limit], 0, bytes32(0));
    }

    /// renew against a model of its rules (window, extension, 40 bits, maxValidity), with random times and targets.
    function testFuzz_renewModel(uint256 dtSeed, uint256 targetSeed, bool useDefault) public {
        uint256 id = _issue(t1, alice);
        uint256 current = block.timestamp + 365 days;
        vm.warp(block.timestamp + bound(dtSeed, 0, 800 days));
        uint256 nowTs = block.timestamp;
        uint256 target = useDefault
            ? (current > nowTs ? current : nowTs) + 365 days
            : bound(targetSeed, 0, uint256(type(uint40).max) + 10);
        if (!useDefault && target == 0) target = 1; // 0 means "default"
        bytes memory expected;
        if (current > nowTs + 30 days) {
            expected = abi.encodeWithSelector(CredentialRegistry.RenewalTooEarly.selector, id, current - 30 days);
        } else if (target <= current) {
            expected = abi.encodeWithSelector(CredentialRegistry.ExpiryNotExtended.selector, id, current, target);
        } else if (target <= nowTs || target > type(uint40).max) {
            expected = abi.encodeWithSelector(CredentialRegistry.InvalidExpiry.selector, target);
        } else if (target > nowTs + 730 days) {
            expected = abi.encodeWithSelector(CredentialRegistry.ExpiryBeyondMax.selector, target, nowTs + 730 days);
        }
        vm.prank(issuer);
        if (expected.length != 0) vm.expectRevert(expected);
        reg.renew(id, useDefault ? 0 : uint64(target));
        if (expected.length == 0) {
            assertEq(reg.recordOf(id).expiresAt, target);
            assertTrue(reg.isValid(alice, t1));
        } else {
            assertEq(reg.recordOf(id).expiresAt, current);
        }
        _assertValidityConsistent(alice, t1);
    }
}
