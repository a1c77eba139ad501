// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test, Vm} from "forge-std/Test.sol";
import {FloorBatch, OZSoulbound} from "./Baselines.sol";

/// @notice EAS AttestationRequestData (mirrors eas-contracts 1.9.0 IEAS.sol).
struct AttestationRequestData {
    address recipient;
    uint64 expirationTime;
    bool revocable;
    bytes32 refUID;
    bytes data;
    uint256 value;
}

/// @notice EAS MultiAttestationRequest (mirrors eas-contracts 1.9.0 IEAS.sol).
struct MultiAttestationRequest {
    bytes32 schema;
    AttestationRequestData[] data;
}

/// @notice The slice of EAS 1.9.0 the benchmark calls.
interface IEASBench {
    /// @notice Attests to multiple schemas in one call.
    function multiAttest(MultiAttestationRequest[] calldata multiRequests) external payable returns (bytes32[] memory);
    /// @notice Whether an attestation with this uid exists.
    function isAttestationValid(bytes32 uid) external view returns (bool);
}

/// @notice The slice of the EAS 1.9.0 SchemaRegistry the benchmark calls.
interface ISchemaRegistryBench {
    /// @notice Registers a schema and returns its uid.
    function register(string calldata schema, address resolver, bool revocable) external returns (bytes32);
}

/// @title GasBaselines
/// @notice Per-item gas of a 100-holder batch issue for the floor, an OZ soulbound ERC-721 and EAS multiAttest.
/// @dev Run with `forge test --isolate`: every test makes one measured external call, a transaction of its own, whose
///      `gasTotalUsed` includes the 21,000 intrinsic gas and calldata; per-item figures subtract the 21,000 only.
contract GasBaselines is Test {
    /// @notice Holders per measured batch.
    uint256 internal constant BATCH = 100;
    /// @notice Intrinsic gas of a transaction, subtracted before dividing by the batch size.
    uint256 internal constant INTRINSIC = 21_000;
    /// @notice A realistic block time, so timestamps and expiries have mainnet-like calldata bytes.
    uint256 internal constant NOW = 1_750_000_000;
    /// @notice Published EAS hardhat artifacts (must match foundry.toml fs_permissions).
    string internal constant EAS_ARTIFACTS =
        "../node_modules/@ethereum-attestation-service/eas-contracts/artifacts/contracts/";

    FloorBatch internal floor;
    OZSoulbound internal oz;
    IEASBench internal eas;
    bytes32 internal schemaUid;

    /// @notice Deploys every baseline and registers the EAS schema, so only the measured call is timed.
    function setUp() public {
        vm.warp(NOW);
        floor = new FloorBatch();
        oz = new OZSoulbound();
        address registry = _deployArtifact("SchemaRegistry", "");
        eas = IEASBench(_deployArtifact("EAS", abi.encode(registry)));
        schemaUid = ISchemaRegistryBench(registry).register("bytes32 evidenceHash", address(0), true);
        assertTrue(schemaUid != bytes32(0), "schema not registered");
    }

    /// @notice Floor: one fresh packed slot and one Transfer log per holder.
    function test_floor_batch100() public {
        address[] memory holders = _holders("floor");
        uint64[] memory expiries = _expiries();

        floor.issueBatch(holders, expiries);
        uint256 gasUsed = vm.lastCallGas().gasTotalUsed;

        assertEq(floor.record(holders[0]), (uint256(expiries[0]) << 192) | 1, "first record");
        _assertIsolated();
        assertEq(floor.record(holders[BATCH - 1]), (uint256(expiries[BATCH - 1]) << 192) | BATCH, "last record");
        emit log_named_uint("floor_batch100_per_item", _perItem(gasUsed));
    }

    /// @notice OpenZeppelin ERC-721 soulbound baseline: issueBatch of 100 fresh holders.
    function test_oz_soulbound_batch100() public {
        address[] memory holders = _holders("oz");
        uint64[] memory expiries = _expiries();

        oz.issueBatch(holders, expiries);
        uint256 gasUsed = vm.lastCallGas().gasTotalUsed;

        assertEq(oz.ownerOf(1), holders[0], "first owner");
        _assertIsolated();
        assertEq(oz.ownerOf(BATCH), holders[BATCH - 1], "last owner");
        assertEq(oz.balanceOf(holders[BATCH - 1]), 1, "last balance");
        assertEq(oz.expiry(BATCH), expiries[BATCH - 1], "last expiry");
        emit log_named_uint("oz_soulbound_batch100_per_item", _perItem(gasUsed));
    }

    /// @notice EAS baseline: one multiAttest request of 100 revocable, expiring attestations to fresh recipients.
    function test_eas_multiattest_batch100() public {
        address[] memory holders = _holders("eas");
        uint64 expiration = uint64(block.timestamp + 365 days);
        AttestationRequestData[] memory data = new AttestationRequestData[](BATCH);
        for (uint256 i; i < BATCH; ++i) {
            data[i] = AttestationRequestData({
                recipient: holders[i],
                expirationTime: expiration,
                revocable: true,
                refUID: bytes32(0),
                data: abi.encode(keccak256(abi.encode("evidence", i))),
                value: 0
            });
        }
        MultiAttestationRequest[] memory requests = new MultiAttestationRequest[](1);
        requests[0] = MultiAttestationRequest({schema: schemaUid, data: data});

        bytes32[] memory uids = eas.multiAttest(requests);
        uint256 gasUsed = vm.lastCallGas().gasTotalUsed;

        assertEq(uids.length, BATCH, "uid count");
        assertTrue(eas.isAttestationValid(uids[0]), "first attestation");
        _assertIsolated();
        assertTrue(eas.isAttestationValid(uids[BATCH - 1]), "last attestation");
        emit log_named_uint("eas_multiattest_batch100_per_item", _perItem(gasUsed));
    }

    /// @dev 100 distinct keccak-derived addresses, so every storage slot keyed by them is fresh.
    function _holders(string memory salt) internal pure returns (address[] memory holders) {
        holders = new address[](BATCH);
        for (uint256 i; i < BATCH; ++i) {
            holders[i] = address(uint160(uint256(keccak256(abi.encode("laurel.bench.holder", salt, i)))));
        }
    }

    /// @dev One-year expiries for every holder.
    function _expiries() internal view returns (uint64[] memory expiries) {
        expiries = new uint64[](BATCH);
        for (uint256 i; i < BATCH; ++i) {
            expiries[i] = uint64(block.timestamp + 365 days);
        }
    }

    /// @dev (transaction gas - intrinsic) / batch size.
    function _perItem(uint256 gasUsed) internal pure returns (uint256) {
        assertGt(gasUsed, INTRINSIC + BATCH * 22_100, "measured call too cheap to have written a fresh slot per item");
        return (gasUsed - INTRINSIC) / BATCH;
    }

    /// @dev Probes with an empty non-static call (view calls are not isolated): under --isolate it is a transaction
    ///      of its own and costs at least the intrinsic gas, otherwise the figures would lack intrinsic and calldata gas.
    function _assertIsolated() internal {
        (bool ok,) = address(uint160(uint256(keccak256("laurel.bench.isolation-probe")))).call("");
        assertTrue(ok, "probe call failed");
        assertGe(vm.lastCallGas().gasTotalUsed, INTRINSIC, "run forge test with --isolate");
    }

    /// @dev Deploys a published EAS hardhat artifact's creation bytecode with abi-encoded constructor args appended.
    function _deployArtifact(string memory name, bytes memory args) internal returns (address deployed) {
        string memory json = vm.readFile(string.concat(EAS_ARTIFACTS, name, ".sol/", name, ".json"));
        bytes memory code = bytes.concat(vm.parseJsonBytes(json, ".bytecode"), args);
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        assertTrue(deployed != address(0) && deployed.code.length > 0, string.concat(name, " deploy failed"));
    }
}

/// @title BaselineSanity
/// @notice Checks the OZ baseline really is soulbound, so the figure is for the design it claims to be.
contract BaselineSanity is Test {
    /// @notice A minted token can be neither transferred nor safe-transferred by its holder.
    function test_oz_soulbound_transfer_reverts() public {
        OZSoulbound oz = new OZSoulbound();
        address alice = makeAddr("alice");
        address[] memory holders = new address[](1);
        uint64[] memory expiries = new uint64[](1);
        holders[0] = alice;
        expiries[0] = uint64(block.timestamp + 1);
        oz.issueBatch(holders, expiries);

        vm.prank(alice);
        vm.expectRevert(OZSoulbound.Soulbound.selector);
        oz.transferFrom(alice, makeAddr("bob"), 1);
        vm.prank(alice);
        vm.expectRevert(OZSoulbound.Soulbound.selector);
        oz.safeTransferFrom(alice, makeAddr("bob"), 1);
        assertEq(oz.ownerOf(1), alice);
    }
}
