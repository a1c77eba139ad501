// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CredentialBase} from "../CredentialBase.sol";
import {CredentialRegistry} from "../../src/CredentialRegistry.sol";

/// @notice Gas of Laurel's credential operations, one measured transaction per test (run with --isolate).
contract CredentialGasBench is CredentialBase {
    uint256 internal typeId;

    function setUp() public override {
        super.setUp();
        typeId = _defineType(_policy("Bench"));
    }

    function test_gas_credential_issue_batch100() public {
        address[] memory h = _holders(100, 1);
        uint256[] memory e = _entries(h, 0);
        bytes32[] memory ev = _evidence(100, 1);
        vm.prank(issuer);
        reg.issueBatch(typeId, e, ev);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(reg.isValid(h[99], typeId));
        emit log_named_uint("credential_issue_batch100_per_item", (used - 21_000) / 100);
    }

    /// The same batch signed by the issuer (EIP-712) and relayed by someone else (one signature, a fresh nonce word).
    function test_gas_credential_issue_batch100_sig() public {
        (address signer, uint256 pk) = makeAddrAndKey("issuer");
        assertEq(signer, issuer);
        address[] memory h = _holders(100, 3);
        CredentialRegistry.BatchIssuance memory r = _batchRequest(typeId, h, signer, 1);
        bytes memory sig = _signBatch(pk, r);
        vm.prank(outsider);
        reg.issueBatchWithSig(r, sig);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(reg.isValid(h[99], typeId));
        assertEq(reg.credentialOf(h[0], typeId).issuer, issuer);
        emit log_named_uint("credential_issue_batch100_sig_per_item", (used - 21_000) / 100);
    }

    function test_gas_credential_issue_single() public {
        vm.prank(issuer);
        reg.issue(typeId, alice, 0, keccak256("alice evidence"));
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(reg.isValid(alice, typeId));
        emit log_named_uint("credential_issue_single_tx", used);
    }

    function test_gas_credential_revoke_batch100() public {
        address[] memory h = _holders(100, 2);
        vm.prank(issuer);
        reg.issueBatch(typeId, _entries(h, 0), _evidence(100, 2));
        vm.prank(revoker);
        reg.revokeBatch(typeId, h, 7);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertFalse(reg.isValid(h[0], typeId));
        emit log_named_uint("credential_revoke_batch100_per_item", (used - 21_000) / 100);
    }

    function test_gas_credential_isvalid_call() public {
        _issue(typeId, alice);
        // A plain CALL (not STATICCALL) so isolate mode runs it as its own transaction, like an eth_call.
        (bool success, bytes memory ret) = address(reg).call(abi.encodeCall(reg.isValid, (alice, typeId)));
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(success && abi.decode(ret, (bool)));
        emit log_named_uint("credential_isvalid_call", used);
    }

    /// A renewal inside the window by the type's issuer, extending by the default validity (plain type, no quota).
    function test_gas_credential_renew() public {
        uint256 id = _issue(typeId, alice);
        vm.warp(block.timestamp + 340 days);
        vm.prank(issuer);
        reg.renew(id, 0);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertEq(reg.credentialOf(alice, typeId).expiresAt, block.timestamp - 340 days + 730 days);
        emit log_named_uint("credential_renew_single_tx", used);
    }

    /// The same renewal of a type with an issuer quota (a renewal counts against it).
    function test_gas_credential_renew_quota() public {
        CredentialRegistry.TypePolicy memory p = _policy("Quota");
        p.quotaLimit = 1000;
        p.quotaPeriod = 30 days;
        uint256 t = _defineType(p);
        uint256 id = _issue(t, alice);
        vm.warp(block.timestamp + 340 days);
        vm.prank(issuer);
        reg.renew(id, 0);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertEq(reg.credentialOf(alice, t).expiresAt, block.timestamp - 340 days + 730 days);
        emit log_named_uint("credential_renew_quota_single_tx", used);
    }

    /// A global pause rewrites every grant's copy of the pause bit; measured at the MAX_GRANTS cap.
    function test_gas_credential_pause_max_grants() public {
        uint256 max = reg.MAX_GRANTS();
        address[] memory accounts = _holders(max, 99);
        vm.startPrank(governor);
        uint256 t = typeId;
        for (uint256 i; i < max - 2; ++i) {
            if (i % 16 == 0) t = reg.defineType(_policy("Grantee"));
            reg.setTypeRoles(t, accounts[i], reg.ROLE_ISSUER());
        }
        vm.stopPrank();
        assertEq(reg.grants().length, max);
        vm.prank(pauser);
        reg.pause();
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(reg.paused());
        emit log_named_uint("credential_pause_256_grants_tx", used);
    }
}
