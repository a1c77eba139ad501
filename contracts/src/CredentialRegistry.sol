// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC5192} from "./interfaces/IERC5192.sol";
import {ICredentialVerifier} from "./interfaces/ICredentialVerifier.sol";

/// @title CredentialRegistry
/// @notice Soulbound credential badges (ERC-721 + ERC-5192 + ERC-4906) with on-chain types, pathways,
///         expiry, renewal, suspension, revocation, renunciation and governed recovery.
/// @dev One storage slot per credential. The token id is derived from (type, holder):
///      `tokenId = typeId << 160 | holder`, so ownership needs no storage and `balanceOf` is computed.
///      Per-type issuer/revoker roles are kept here, one slot per (type, account), which also carries a
///      copy of the type's hot policy and pause bits so that an issue reads a single cold slot.
///      See docs/contracts.md for the layout and the gas figures.
contract CredentialRegistry is AccessManaged, EIP712, IERC721, IERC721Metadata, IERC4906, IERC5192, ICredentialVerifier {
    // ------------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------------

    /// @notice Policy of a credential type, set by governance.
    struct TypePolicy {
        string name; // human name, e.g. "Rust Fundamentals"
        string uri; // metadata URI for every token of the type; empty = baseURI + tokenId
        uint40 defaultValidity; // seconds from issue; 0 = never expires
        uint40 maxValidity; // upper bound on any expiry, seconds from now; 0 = unbounded
        uint40 renewalWindow; // renew only within this many seconds before expiry (or after); 0 = any time
        uint32 maxSupply; // live credentials of this type; 0 = unlimited (fixed kind: capped or not)
        uint32 quotaLimit; // issuances per issuer per quotaPeriod; 0 = no quota
        uint32 quotaPeriod; // seconds; 0 with a limit = a lifetime quota per issuer
        uint16 flags; // FLAG_* below
        uint256[] prerequisites; // type ids whose valid credentials a holder must hold at issue
    }

    /// @notice The full record of one credential, as returned by the views.
    struct Credential {
        uint256 tokenId;
        address holder;
        uint256 typeId;
        address issuer;
        uint40 issuedAt;
        uint40 expiresAt; // 0 = never
        uint8 status; // STATUS_*
        uint8 reason; // revocation/suspension reason code
        bool valid; // what isValid answers now
    }

    /// @notice A delegated issuance, signed off-chain by an issuer (EIP-712) and relayed by anyone.
    struct Issuance {
        uint256 typeId;
        address holder;
        uint64 expiresAt;
        bytes32 evidenceHash;
        address issuer;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice A delegated batch issuance of one type, signed off-chain by an issuer (EIP-712) and relayed by anyone
    ///         (e.g. the Laurel service). The arrays are those of issueBatch.
    struct BatchIssuance {
        uint256 typeId;
        uint256[] holdersAndExpiries; // entry i = holder | expiresAt << 160 (expiresAt 0 = the type's default)
        bytes32[] evidenceHashes;
        address issuer;
        uint256 nonce;
        uint256 deadline;
    }

    // ------------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------------

    /// @notice Policy flag: the type's issuers may extend expiry.
    uint16 public constant FLAG_RENEWABLE = 1;
    /// @notice Policy flag: the type's revokers may revoke.
    uint16 public constant FLAG_REVOCABLE = 2;
    /// @notice Policy flag: the type's revokers may suspend and reinstate.
    uint16 public constant FLAG_SUSPENDABLE = 4;
    /// @notice Policy flag: a holder may renounce (burn) their own credential.
    uint16 public constant FLAG_RENOUNCEABLE = 8;
    /// @notice Policy flag: a holder whose credential expired may be issued a fresh one.
    uint16 public constant FLAG_REISSUE_AFTER_EXPIRY = 16;
    /// @notice Policy flag: a holder whose credential was revoked, renounced or recovered away may be issued again.
    uint16 public constant FLAG_REISSUE_AFTER_REVOCATION = 32;
    uint16 internal constant FLAGS_KNOWN = 63;

    /// @notice Per-type role bit: may issue and renew credentials of the type.
    uint8 public constant ROLE_ISSUER = 1;
    /// @notice Per-type role bit: may revoke, suspend and reinstate credentials of the type.
    uint8 public constant ROLE_REVOKER = 2;

    /// @notice Credential status: never issued.
    uint8 public constant STATUS_NONE = 0;
    /// @notice Credential status: issued and in force (still subject to expiry).
    uint8 public constant STATUS_ACTIVE = 1;
    /// @notice Credential status: suspended by a revoker; may be reinstated.
    uint8 public constant STATUS_SUSPENDED = 2;
    /// @notice Credential status: revoked by a revoker (token burned).
    uint8 public constant STATUS_REVOKED = 3;
    /// @notice Credential status: renounced by its holder (token burned).
    uint8 public constant STATUS_RENOUNCED = 4;
    /// @notice Credential status: moved to a new address by governed recovery (token burned).
    uint8 public constant STATUS_RECOVERED = 5;

    /// @notice Largest batch accepted by issueBatch and revokeBatch.
    uint256 public constant MAX_BATCH = 1000;
    /// @notice Most prerequisites a type may have.
    uint256 public constant MAX_PREREQUISITES = 8;
    /// @notice Most (type, account) role grants the registry keeps (pause and policy updates visit each).
    uint256 public constant MAX_GRANTS = 256;

    /// @notice EIP-712 type hash of {Issuance}.
    bytes32 public constant ISSUANCE_TYPEHASH = keccak256(
        "Issuance(uint256 typeId,address holder,uint64 expiresAt,bytes32 evidenceHash,address issuer,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type hash of {BatchIssuance} (arrays encoded as the keccak-256 of their concatenated words).
    bytes32 public constant BATCH_ISSUANCE_TYPEHASH = keccak256(
        "BatchIssuance(uint256 typeId,uint256[] holdersAndExpiries,bytes32[] evidenceHashes,address issuer,uint256 nonce,uint256 deadline)"
    );

    // Record slot layout (one per token id).
    uint256 private constant _ADDR = 0x00ffffffffffffffffffffffffffffffffffffffff;
    uint256 private constant _U40 = 0xffffffffff;
    uint256 private constant _U32 = 0xffffffff;
    uint256 private constant _R_ISSUED_AT = 160;
    uint256 private constant _R_EXPIRES_AT = 200;
    uint256 private constant _R_STATUS = 240;
    uint256 private constant _R_REASON = 248;
    /// Longest defaultValidity (2^39 - 1 s, ~17,000 years): now + defaultValidity then fits the 40-bit expiry
    /// field until the year ~19,400, so the unchecked default expiry of issue/issueBatch cannot wrap.
    uint256 private constant _MAX_DEFAULT_VALIDITY = _U40 >> 1;

    // Grant slot layout (one per (type, account)).
    uint256 private constant _G_ROLES = 0xff; // bits 0..7
    uint256 private constant _G_TYPE_PAUSED = 1 << 8;
    uint256 private constant _G_GLOBAL_PAUSED = 1 << 9;
    uint256 private constant _G_HAS_PREREQS = 1 << 10;
    uint256 private constant _G_CAPPED = 1 << 11;
    uint256 private constant _G_QUOTA = 1 << 12;
    uint256 private constant _G_DEFAULT_VALIDITY = 16; // uint40
    uint256 private constant _G_MAX_VALIDITY = 56; // uint40
    uint256 private constant _G_QUOTA_LIMIT = 96; // uint32
    uint256 private constant _G_QUOTA_PERIOD = 128; // uint32
    uint256 private constant _G_QUOTA_USED = 160; // uint32 (own state)
    uint256 private constant _G_QUOTA_START = 192; // uint40 (own state)
    uint256 private constant _G_FLAGS = 232; // uint16
    /// Bits that belong to the grant itself and survive a policy sync: roles and quota counters.
    uint256 private constant _G_OWN = _G_ROLES | (_U32 << _G_QUOTA_USED) | (_U40 << _G_QUOTA_START);
    /// Issue takes the fast path iff, of these bits, exactly ROLE_ISSUER is set.
    /// = ROLE_ISSUER | _G_TYPE_PAUSED | _G_GLOBAL_PAUSED | _G_HAS_PREREQS | _G_CAPPED | _G_QUOTA (checked by a test).
    uint256 private constant _G_FAST_MASK = 0x1f01;

    // Event signatures used from assembly.
    /// keccak256("Transfer(address,address,uint256)"); checked by a test.
    bytes32 private constant _TRANSFER_SIG = 0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef;
    /// keccak256("Issued(uint256,uint256,bytes32)"); checked by a test.
    bytes32 private constant _ISSUED_SIG = 0xf6e7b054a99a79549d9bd9c43f2314a1d41882b7fa23166b6b14a7a21bd2e1fb;
    /// keccak256("Locked(uint256)"); checked by a test.
    bytes32 private constant _LOCKED_SIG = 0x032bc66be43dbccb7487781d168eb7bda224628a3b2c3388bdf69b532a3a1611;

    // ------------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------------

    struct TypeState {
        bool exists;
        bool paused;
        uint32 supply; // live credentials; kept only for capped types
    }

    mapping(uint256 tokenId => uint256 packed) private _records;
    mapping(uint256 key => uint256 packed) private _grants; // key = typeId << 160 | account
    mapping(uint256 typeId => TypePolicy) private _policies;
    mapping(uint256 typeId => TypeState) private _typeState;
    /// Every (type, account) pair holding a role, as `typeId << 160 | account`; position + 1 in `_grantPos`.
    uint256[] private _grantKeys;
    mapping(uint256 key => uint256 position) private _grantPos;
    mapping(address signer => mapping(uint256 word => uint256 bits)) private _nonceBitmap;
    uint256 private _typeCount;
    bool private _globalPaused;
    string private _name;
    string private _symbol;
    string private _baseURI;

    // ------------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------------

    /// @notice A credential type was defined.
    event TypeDefined(uint256 indexed typeId, TypePolicy policy);
    /// @notice A credential type's policy was replaced.
    event TypeUpdated(uint256 indexed typeId, TypePolicy policy);
    /// @notice A credential type was paused or unpaused.
    event TypePauseSet(uint256 indexed typeId, bool paused);
    /// @notice The whole registry was paused or unpaused.
    event PauseSet(bool paused);
    /// @notice An account's per-type roles were set (ROLE_* bits; 0 = none).
    event TypeRolesSet(uint256 indexed typeId, address indexed account, uint8 roles);
    /// @notice The base URI of token metadata changed.
    event BaseURISet(string baseURI);
    /// @notice One credential was issued (single and delegated issuance); issuerAndExpiry = issuer | expiresAt << 160.
    event Issued(uint256 indexed tokenId, uint256 issuerAndExpiry, bytes32 evidenceHash);
    /// @notice A batch of credentials of one type was issued; entry i = holder | expiresAt << 160.
    event IssuedBatch(
        uint256 indexed typeId, address indexed issuer, uint256[] holdersAndExpiries, bytes32[] evidenceHashes
    );
    /// @notice A credential was revoked (its token burned).
    event Revoked(uint256 indexed tokenId, address indexed revoker, uint8 reason);
    /// @notice A batch of credentials of one type was revoked with one reason (their tokens burned).
    event RevokedBatch(uint256 indexed typeId, address indexed revoker, uint8 reason, address[] holders);
    /// @notice A credential was suspended.
    event Suspended(uint256 indexed tokenId, address indexed revoker, uint8 reason);
    /// @notice A suspended credential was reinstated.
    event Reinstated(uint256 indexed tokenId, address indexed revoker);
    /// @notice A credential's expiry was extended.
    event Renewed(uint256 indexed tokenId, address indexed issuer, uint64 expiresAt);
    /// @notice A holder renounced their credential (its token burned).
    event Renounced(uint256 indexed tokenId);
    /// @notice Governed recovery moved a credential from a lost address to a new one.
    event Recovered(address indexed from, address indexed to, uint256 oldTokenId, uint256 newTokenId);
    /// @notice `issuer` cancelled delegated-issuance nonces: bit i of `cancelled` is nonce `word * 256 + i`
    ///         (only nonces this call took out of use; ones already used or cancelled are not set).
    event NoncesCancelled(address indexed issuer, uint256 indexed word, uint256 cancelled);

    // ------------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------------

    /// @notice Credentials never move: every transfer and approval path reverts with this.
    error Soulbound();
    /// @notice The credential type does not exist.
    error UnknownType(uint256 typeId);
    /// @notice The account lacks the type's issuer role.
    error NotIssuer(uint256 typeId, address account);
    /// @notice The account lacks the type's revoker role.
    error NotRevoker(uint256 typeId, address account);
    /// @notice The type is paused.
    error TypePaused(uint256 typeId);
    /// @notice The registry is paused.
    error RegistryPaused();
    /// @notice The holder lacks a valid credential of a prerequisite type.
    error MissingPrerequisite(address holder, uint256 prerequisiteTypeId);
    /// @notice The holder already holds a live credential of this type.
    error AlreadyIssued(uint256 tokenId);
    /// @notice The type's policy does not allow issuing again to this holder.
    error ReissueNotAllowed(uint256 tokenId, uint8 status);
    /// @notice The type's maximum supply is reached.
    error SupplyExhausted(uint256 typeId, uint256 maxSupply);
    /// @notice The issuer's quota for this type and period is used up.
    error QuotaExhausted(uint256 typeId, address issuer, uint256 limit);
    /// @notice The expiry is not in the future or does not fit in 40 bits.
    error InvalidExpiry(uint256 expiresAt);
    /// @notice The expiry is later than the type's maximum validity allows.
    error ExpiryBeyondMax(uint256 expiresAt, uint256 latestAllowed);
    /// @notice An address argument was zero.
    error ZeroAddress();
    /// @notice Two array arguments differ in length.
    error LengthMismatch(uint256 a, uint256 b);
    /// @notice A batch was empty.
    error EmptyBatch();
    /// @notice A batch exceeded MAX_BATCH.
    error BatchTooLarge(uint256 size, uint256 max);
    /// @notice A batch entry has bits set above holder and 40-bit expiry.
    error MalformedEntry(uint256 index, uint256 entry);
    /// @notice The type does not allow revocation.
    error NotRevocable(uint256 typeId);
    /// @notice The type does not allow suspension.
    error NotSuspendable(uint256 typeId);
    /// @notice The type does not allow renewal.
    error NotRenewable(uint256 typeId);
    /// @notice The type does not allow holders to renounce.
    error NotRenounceable(uint256 typeId);
    /// @notice The credential is not live (never issued, revoked, renounced or recovered).
    error CredentialNotLive(uint256 tokenId);
    /// @notice The operation needs an active (not suspended) credential.
    error CredentialNotActive(uint256 tokenId);
    /// @notice The operation needs a suspended credential.
    error CredentialNotSuspended(uint256 tokenId);
    /// @notice Renewal opens at `opensAt` (renewal window before expiry).
    error RenewalTooEarly(uint256 tokenId, uint256 opensAt);
    /// @notice A renewal must move expiry later; never-expiring credentials cannot be renewed.
    error ExpiryNotExtended(uint256 tokenId, uint256 current, uint256 requested);
    /// @notice The signed issuance's deadline has passed.
    error SignatureExpired(uint256 deadline);
    /// @notice The signature is not the issuer's (EOA or ERC-1271).
    error InvalidSignature(address issuer);
    /// @notice The issuer already used this nonce.
    error NonceAlreadyUsed(address issuer, uint256 nonce);
    /// @notice Recovery found a live credential of this type already at the new address.
    error RecoveryConflict(uint256 typeId, address to);
    /// @notice Recovery found nothing to move.
    error NothingToRecover(address from);
    /// @notice Recovery needs two different addresses.
    error SameAddress();
    /// @notice The policy is inconsistent; `what` names the field.
    error InvalidPolicy(string what);
    /// @notice A prerequisite is unknown, repeated, or not an earlier type.
    error InvalidPrerequisite(uint256 prerequisiteTypeId);
    /// @notice Role bits outside ROLE_ISSUER | ROLE_REVOKER.
    error InvalidRoles(uint8 roles);
    /// @notice MAX_GRANTS role grants exist already.
    error TooManyGrants(uint256 max);
    /// @notice The type id does not fit in 96 bits, so it cannot name a type.
    error TypeIdOutOfRange(uint256 typeId);

    // ------------------------------------------------------------------------------------------------
    // Construction
    // ------------------------------------------------------------------------------------------------

    /// @notice Creates the registry governed by the AccessManager `authority`.
    constructor(address authority, string memory name_, string memory symbol_, string memory baseURI_)
        AccessManaged(authority)
        EIP712("Laurel CredentialRegistry", "1")
    {
        _name = name_;
        _symbol = symbol_;
        _baseURI = baseURI_;
    }

    // ------------------------------------------------------------------------------------------------
    // Governance (restricted: which role may call each selector is configured in the AccessManager)
    // ------------------------------------------------------------------------------------------------

    /// @notice Defines a new credential type and returns its id (ids count up from 1).
    function defineType(TypePolicy calldata policy) external restricted returns (uint256 typeId) {
        typeId = ++_typeCount;
        _validatePolicy(typeId, policy, 0, true);
        _policies[typeId] = policy;
        _typeState[typeId].exists = true;
        emit TypeDefined(typeId, policy);
    }

    /// @notice Replaces a type's policy. A cap may change but not appear or disappear; prerequisites must be earlier types.
    ///         Every token of the type may render differently (name, URI), so ERC-4906 BatchMetadataUpdate covers the
    ///         type's token-id range [typeId << 160, typeId << 160 | (2^160 - 1)].
    function updateType(uint256 typeId, TypePolicy calldata policy) external restricted {
        TypeState storage st = _requireType(typeId);
        bool wasCapped = _policies[typeId].maxSupply != 0;
        if ((policy.maxSupply != 0) != wasCapped) revert InvalidPolicy("maxSupply: a cap cannot be added or removed");
        _validatePolicy(typeId, policy, st.supply, false);
        _policies[typeId] = policy;
        _syncType(typeId);
        emit TypeUpdated(typeId, policy);
        emit BatchMetadataUpdate(typeId << 160, (typeId << 160) | type(uint160).max);
    }

    /// @notice Sets `account`'s roles for `typeId` (ROLE_ISSUER | ROLE_REVOKER; 0 removes them).
    function setTypeRoles(uint256 typeId, address account, uint8 roles) external restricted {
        _requireType(typeId);
        if (account == address(0)) revert ZeroAddress();
        if (roles & ~(ROLE_ISSUER | ROLE_REVOKER) != 0) revert InvalidRoles(roles);
        uint256 key = (typeId << 160) | uint160(account);
        uint256 pos = _grantPos[key];
        if (roles != 0 && pos == 0) {
            if (_grantKeys.length >= MAX_GRANTS) revert TooManyGrants(MAX_GRANTS);
            _grantKeys.push(key);
            _grantPos[key] = _grantKeys.length;
        } else if (roles == 0 && pos != 0) {
            uint256 last = _grantKeys[_grantKeys.length - 1];
            _grantKeys[pos - 1] = last;
            _grantPos[last] = pos;
            _grantKeys.pop();
            delete _grantPos[key];
        }
        uint256 g = _grants[key];
        _grants[key] = (g & _G_OWN & ~_G_ROLES) | roles | _hotBits(typeId);
        emit TypeRolesSet(typeId, account, roles);
    }

    /// @notice Pauses one type: no issuance, renewal or reinstatement of it until unpaused. Revocation and
    ///         suspension still work: pausing is the first move when an issuer key leaks, and what the key
    ///         minted must stay revocable meanwhile.
    function pauseType(uint256 typeId) external restricted {
        _requireType(typeId).paused = true;
        _syncType(typeId);
        emit TypePauseSet(typeId, true);
    }

    /// @notice Unpauses one type.
    function unpauseType(uint256 typeId) external restricted {
        _requireType(typeId).paused = false;
        _syncType(typeId);
        emit TypePauseSet(typeId, false);
    }

    /// @notice Pauses the whole registry: no issuance, renewal or reinstatement; revocation and suspension
    ///         still work (as for a paused type).
    function pause() external restricted {
        _globalPaused = true;
        _syncAll();
        emit PauseSet(true);
    }

    /// @notice Unpauses the whole registry.
    function unpause() external restricted {
        _globalPaused = false;
        _syncAll();
        emit PauseSet(false);
    }

    /// @notice Sets the base of token URIs (tokenURI = baseURI + tokenId for types without their own URI).
    function setBaseURI(string calldata baseURI_) external restricted {
        _baseURI = baseURI_;
        emit BaseURISet(baseURI_);
        emit BatchMetadataUpdate(0, type(uint256).max);
    }

    /// @notice Governed recovery: moves every live credential of `from` to `to` (old tokens burned, new minted).
    ///         Reverts with RecoveryConflict where `to` holds a live credential of a moved type, or a burned one
    ///         (revoked, renounced, recovered away) of a type that forbids issuing again after revocation.
    function recover(address from, address to) external restricted {
        if (from == address(0) || to == address(0)) revert ZeroAddress();
        if (from == to) revert SameAddress();
        uint256 n = _typeCount;
        uint256 moved;
        for (uint256 t = 1; t <= n; ++t) {
            uint256 oldId = (t << 160) | uint160(from);
            uint256 rec = _records[oldId];
            if (!_isLive(rec)) continue;
            uint256 newId = (t << 160) | uint160(to);
            uint256 dest = _records[newId];
            if (_isLive(dest) || (dest != 0 && _policies[t].flags & FLAG_REISSUE_AFTER_REVOCATION == 0)) {
                revert RecoveryConflict(t, to);
            }
            _records[newId] = rec;
            _records[oldId] = _withStatus(rec, STATUS_RECOVERED, 0);
            emit Transfer(from, address(0), oldId);
            emit Transfer(address(0), to, newId);
            emit Locked(newId);
            emit Recovered(from, to, oldId, newId);
            ++moved;
        }
        if (moved == 0) revert NothingToRecover(from);
    }

    // ------------------------------------------------------------------------------------------------
    // Issuance
    // ------------------------------------------------------------------------------------------------

    /// @notice Issues one credential of `typeId` to `holder` (token id = tokenIdOf(holder, typeId));
    ///         `expiresAt` 0 = the type's default validity.
    function issue(uint256 typeId, address holder, uint64 expiresAt, bytes32 evidenceHash) external {
        // Fast path: a plain type (no pause, prerequisite, cap or quota), the default expiry and a fresh holder.
        // It reads one cold slot (the grant) and writes one (the record). Anything else takes _issueOne.
        bool fast;
        uint256 tokenId;
        assembly {
            mstore(0x00, or(shl(160, typeId), caller()))
            mstore(0x20, _grants.slot)
            let g := sload(keccak256(0x00, 0x40))
            tokenId := or(shl(160, typeId), holder)
            mstore(0x00, tokenId)
            mstore(0x20, _records.slot)
            let slot := keccak256(0x00, 0x40)
            fast := and(
                and(eq(and(g, _G_FAST_MASK), ROLE_ISSUER), iszero(shr(96, typeId))),
                and(and(iszero(expiresAt), iszero(iszero(holder))), iszero(sload(slot)))
            )
            if fast {
                let d := and(shr(_G_DEFAULT_VALIDITY, g), _U40)
                let expiry := mul(iszero(iszero(d)), add(timestamp(), d))
                sstore(
                    slot,
                    or(or(caller(), shl(_R_ISSUED_AT, timestamp())), or(shl(_R_EXPIRES_AT, expiry), shl(_R_STATUS, 1)))
                )
                log4(0, 0, _TRANSFER_SIG, 0, holder, tokenId)
                log1(0x00, 0x20, _LOCKED_SIG)
                // Issued(tokenId, issuer | expiry << 160, evidenceHash), data in scratch space.
                mstore(0x00, or(caller(), shl(160, expiry)))
                mstore(0x20, evidenceHash)
                log2(0x00, 0x40, _ISSUED_SIG, tokenId)
            }
        }
        if (!fast) _issueOne(typeId, msg.sender, holder, expiresAt, evidenceHash);
    }

    /// @notice Issues a credential signed off-chain by `req.issuer` (EIP-712; EOA or ERC-1271); anyone may relay.
    function issueWithSig(Issuance calldata req, bytes calldata signature) external returns (uint256 tokenId) {
        if (block.timestamp > req.deadline) revert SignatureExpired(req.deadline);
        _useNonce(req.issuer, req.nonce);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ISSUANCE_TYPEHASH,
                    req.typeId,
                    req.holder,
                    req.expiresAt,
                    req.evidenceHash,
                    req.issuer,
                    req.nonce,
                    req.deadline
                )
            )
        );
        if (!SignatureChecker.isValidSignatureNow(req.issuer, digest, signature)) revert InvalidSignature(req.issuer);
        return _issueOne(req.typeId, req.issuer, req.holder, req.expiresAt, req.evidenceHash);
    }

    /// @notice Issues credentials of one type to many holders. Entry i = holder | expiresAt << 160
    ///         (expiresAt 0 = the type's default); evidenceHashes[i] is the hash of holder i's off-chain credential.
    function issueBatch(uint256 typeId, uint256[] calldata holdersAndExpiries, bytes32[] calldata evidenceHashes)
        external
    {
        _issueBatch(typeId, msg.sender, holdersAndExpiries, evidenceHashes);
    }

    /// @notice Issues a batch signed off-chain by `req.issuer` (EIP-712 over the type, both arrays, nonce and
    ///         deadline; EOA or ERC-1271); anyone may relay. The signer is the issuer: its role is checked, its quota
    ///         charged, and it is recorded as the issuer (records and IssuedBatch), exactly as issueBatch records
    ///         its caller. Nonces are shared with issueWithSig.
    function issueBatchWithSig(BatchIssuance calldata req, bytes calldata signature) external {
        if (block.timestamp > req.deadline) revert SignatureExpired(req.deadline);
        _useNonce(req.issuer, req.nonce);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    BATCH_ISSUANCE_TYPEHASH,
                    req.typeId,
                    _hashWords(req.holdersAndExpiries),
                    _hashWords(req.evidenceHashes),
                    req.issuer,
                    req.nonce,
                    req.deadline
                )
            )
        );
        if (!SignatureChecker.isValidSignatureNow(req.issuer, digest, signature)) revert InvalidSignature(req.issuer);
        _issueBatch(req.typeId, req.issuer, req.holdersAndExpiries, req.evidenceHashes);
    }

    /// @notice Cancels one of the caller's outstanding delegated-issuance nonces: a signature with it (issueWithSig
    ///         or issueBatchWithSig) then reverts with NonceAlreadyUsed. Cancelling a used nonce changes nothing.
    function cancelNonce(uint256 nonce) external {
        _cancelNonces(nonce >> 8, 1 << (nonce & 0xff));
    }

    /// @notice Cancels many of the caller's nonces at once: every nonce `word * 256 + i` whose bit i is set in `mask`.
    function cancelNonces(uint256 word, uint256 mask) external {
        _cancelNonces(word, mask);
    }

    // ------------------------------------------------------------------------------------------------
    // Status changes
    // ------------------------------------------------------------------------------------------------

    /// @notice Revokes a credential with a reason code; its token is burned.
    function revoke(uint256 tokenId, uint8 reason) external {
        uint256 typeId = tokenId >> 160;
        uint256 g = _requireGrant(typeId, msg.sender, ROLE_REVOKER);
        if (_flags(g) & FLAG_REVOCABLE == 0) revert NotRevocable(typeId);
        uint256 rec = _records[tokenId];
        if (!_isLive(rec)) revert CredentialNotLive(tokenId);
        _records[tokenId] = _withStatus(rec, STATUS_REVOKED, reason);
        if (g & _G_CAPPED != 0) _typeState[typeId].supply -= 1;
        emit Transfer(address(uint160(tokenId)), address(0), tokenId);
        emit Revoked(tokenId, msg.sender, reason);
    }

    /// @notice Revokes credentials of one type from many holders with one reason code; their tokens are burned.
    function revokeBatch(uint256 typeId, address[] calldata holders, uint8 reason) external {
        uint256 n = holders.length;
        if (n == 0) revert EmptyBatch();
        if (n > MAX_BATCH) revert BatchTooLarge(n, MAX_BATCH);
        uint256 g = _requireGrant(typeId, msg.sender, ROLE_REVOKER);
        if (_flags(g) & FLAG_REVOCABLE == 0) revert NotRevocable(typeId);
        uint256 statusBits = (uint256(STATUS_REVOKED) << _R_STATUS) | (uint256(reason) << _R_REASON);
        uint256 bad; // first token id that was not live, or 0
        uint256 dirty; // index + 1 of the first holder word with bits above 160, or 0
        assembly {
            let typeBits := shl(160, typeId)
            let keep := not(shl(_R_STATUS, 0xffff))
            mstore(0x20, _records.slot)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let holder := calldataload(add(holders.offset, shl(5, i)))
                if shr(160, holder) {
                    dirty := add(i, 1)
                    break
                }
                let tokenId := or(typeBits, holder)
                mstore(0x00, tokenId)
                let slot := keccak256(0x00, 0x40)
                let rec := sload(slot)
                let st := and(shr(_R_STATUS, rec), 0xff)
                // Live = ACTIVE (1) or SUSPENDED (2); a dirty address word also fails (its token id is not live).
                if iszero(and(lt(st, 3), iszero(iszero(st)))) {
                    bad := or(tokenId, iszero(tokenId))
                    break
                }
                sstore(slot, or(and(rec, keep), statusBits))
                log4(0, 0, _TRANSFER_SIG, holder, 0, tokenId)
            }
        }
        if (dirty != 0) {
            // Read the raw word: indexing `holders` would re-validate the address and revert without data.
            uint256 word;
            assembly {
                word := calldataload(add(holders.offset, shl(5, sub(dirty, 1))))
            }
            revert MalformedEntry(dirty - 1, word);
        }
        if (bad != 0) revert CredentialNotLive(bad);
        if (g & _G_CAPPED != 0) _typeState[typeId].supply -= uint32(n);
        // RevokedBatch(typeId, revoker, reason, holders): the holders are copied from calldata as they came.
        bytes32 sig = RevokedBatch.selector;
        assembly ("memory-safe") {
            let data := mload(0x40)
            mstore(data, reason)
            mstore(add(data, 0x20), 0x40)
            mstore(add(data, 0x40), n)
            calldatacopy(add(data, 0x60), holders.offset, shl(5, n))
            log3(data, add(0x60, shl(5, n)), sig, typeId, caller())
        }
    }

    /// @notice Suspends an active credential with a reason code (it stays with the holder, not valid).
    function suspend(uint256 tokenId, uint8 reason) external {
        uint256 typeId = tokenId >> 160;
        uint256 g = _requireGrant(typeId, msg.sender, ROLE_REVOKER);
        if (_flags(g) & FLAG_SUSPENDABLE == 0) revert NotSuspendable(typeId);
        uint256 rec = _records[tokenId];
        if (_status(rec) != STATUS_ACTIVE) revert CredentialNotActive(tokenId);
        _records[tokenId] = _withStatus(rec, STATUS_SUSPENDED, reason);
        emit Suspended(tokenId, msg.sender, reason);
        emit MetadataUpdate(tokenId);
    }

    /// @notice Reinstates a suspended credential. Like an issue, it needs the holder to hold a valid credential of
    ///         every prerequisite type now (a pathway credential is not revived once a prerequisite lapsed).
    function reinstate(uint256 tokenId) external {
        uint256 typeId = tokenId >> 160;
        uint256 g = _requireRole(typeId, msg.sender, ROLE_REVOKER);
        if (_flags(g) & FLAG_SUSPENDABLE == 0) revert NotSuspendable(typeId);
        uint256 rec = _records[tokenId];
        if (_status(rec) != STATUS_SUSPENDED) revert CredentialNotSuspended(tokenId);
        if (g & _G_HAS_PREREQS != 0) _checkPrerequisites(typeId, address(uint160(tokenId)));
        _records[tokenId] = _withStatus(rec, STATUS_ACTIVE, 0);
        emit Reinstated(tokenId, msg.sender);
        emit MetadataUpdate(tokenId);
    }

    /// @notice Extends an active credential's expiry; `newExpiresAt` 0 = the later of now and the current
    ///         expiry plus the type's default validity. Only within the renewal window and maximum validity.
    ///         Like an issue, the holder must hold a valid credential of every prerequisite type now, and the
    ///         renewal counts as one issuance against the caller's quota for the type.
    function renew(uint256 tokenId, uint64 newExpiresAt) external {
        uint256 typeId = tokenId >> 160;
        uint256 g = _requireRole(typeId, msg.sender, ROLE_ISSUER);
        if (_flags(g) & FLAG_RENEWABLE == 0) revert NotRenewable(typeId);
        uint256 rec = _records[tokenId];
        if (_status(rec) != STATUS_ACTIVE) revert CredentialNotActive(tokenId);
        uint256 current = (rec >> _R_EXPIRES_AT) & _U40;
        uint256 window = _policies[typeId].renewalWindow;
        if (window != 0 && current > block.timestamp + window) revert RenewalTooEarly(tokenId, current - window);
        uint256 target = newExpiresAt;
        if (target == 0) {
            uint256 from = current > block.timestamp ? current : block.timestamp;
            target = from + ((g >> _G_DEFAULT_VALIDITY) & _U40);
        }
        if (current == 0 || target <= current) revert ExpiryNotExtended(tokenId, current, target);
        _checkExpiry(g, target);
        if (g & _G_HAS_PREREQS != 0) _checkPrerequisites(typeId, address(uint160(tokenId)));
        if (g & _G_QUOTA != 0) _chargeQuota(typeId, msg.sender, _grantSlot(typeId, msg.sender), g, 1);
        _records[tokenId] = (rec & ~(_U40 << _R_EXPIRES_AT)) | (target << _R_EXPIRES_AT);
        emit Renewed(tokenId, msg.sender, uint64(target));
        emit MetadataUpdate(tokenId);
    }

    /// @notice The caller gives up their credential of `typeId` (where the type allows); its token is burned.
    function renounce(uint256 typeId) external {
        TypeState storage st = _requireType(typeId);
        if (_policies[typeId].flags & FLAG_RENOUNCEABLE == 0) revert NotRenounceable(typeId);
        uint256 tokenId = (typeId << 160) | uint160(msg.sender);
        uint256 rec = _records[tokenId];
        if (!_isLive(rec)) revert CredentialNotLive(tokenId);
        _records[tokenId] = _withStatus(rec, STATUS_RENOUNCED, 0);
        if (_policies[typeId].maxSupply != 0) st.supply -= 1;
        emit Transfer(msg.sender, address(0), tokenId);
        emit Renounced(tokenId);
    }

    // ------------------------------------------------------------------------------------------------
    // Verification views
    // ------------------------------------------------------------------------------------------------

    /// @inheritdoc ICredentialVerifier
    function isValid(address holder, uint256 typeId) public view returns (bool) {
        if (typeId >> 96 != 0) return false;
        return _valid(_records[(typeId << 160) | uint160(holder)]);
    }

    /// @inheritdoc ICredentialVerifier
    function tokenIdOf(address holder, uint256 typeId) public pure returns (uint256) {
        if (typeId >> 96 != 0) revert TypeIdOutOfRange(typeId);
        return (typeId << 160) | uint160(holder);
    }

    /// @inheritdoc ICredentialVerifier
    function collectionOf(uint256 typeId) external view returns (address) {
        _requireTypeView(typeId);
        return address(this);
    }

    /// @notice The full record of `holder`'s credential of `typeId` (status NONE if never issued).
    function credentialOf(address holder, uint256 typeId) external view returns (Credential memory) {
        return recordOf(tokenIdOf(holder, typeId));
    }

    /// @notice The full record of a token id (status NONE if never issued).
    function recordOf(uint256 tokenId) public view returns (Credential memory c) {
        uint256 rec = _records[tokenId];
        c.tokenId = tokenId;
        c.holder = address(uint160(tokenId));
        c.typeId = tokenId >> 160;
        c.issuer = address(uint160(rec));
        c.issuedAt = uint40(rec >> _R_ISSUED_AT);
        c.expiresAt = uint40(rec >> _R_EXPIRES_AT);
        c.status = uint8(rec >> _R_STATUS);
        c.reason = uint8(rec >> _R_REASON);
        c.valid = _valid(rec);
    }

    /// @notice The policy of a credential type.
    function typePolicy(uint256 typeId) external view returns (TypePolicy memory) {
        _requireTypeView(typeId);
        return _policies[typeId];
    }

    /// @notice Whether a type is paused, and its live supply (counted only for capped types).
    function typeState(uint256 typeId) external view returns (bool isPaused, uint256 supply) {
        TypeState storage st = _requireTypeView(typeId);
        return (st.paused, st.supply);
    }

    /// @notice Number of types defined (type ids are 1..typeCount).
    function typeCount() external view returns (uint256) {
        return _typeCount;
    }

    /// @notice Whether the whole registry is paused.
    function paused() external view returns (bool) {
        return _globalPaused;
    }

    /// @notice `account`'s role bits for `typeId`.
    function rolesOf(uint256 typeId, address account) external view returns (uint8) {
        if (typeId >> 96 != 0) revert TypeIdOutOfRange(typeId);
        return uint8(_grants[_grantKey(typeId, account)] & _G_ROLES);
    }

    /// @notice Every (type, account) pair holding a role, as `typeId << 160 | account`.
    function grants() external view returns (uint256[] memory) {
        return _grantKeys;
    }

    /// @notice Issuances (renewals count as issuances) `issuer` may still make of `typeId` in the current period
    ///         (type(uint256).max = no quota).
    function quotaRemaining(uint256 typeId, address issuer) external view returns (uint256) {
        if (typeId >> 96 != 0) revert TypeIdOutOfRange(typeId);
        uint256 g = _grants[_grantKey(typeId, issuer)];
        if (g & _G_QUOTA == 0) return type(uint256).max;
        uint256 limit = (g >> _G_QUOTA_LIMIT) & _U32;
        uint256 period = (g >> _G_QUOTA_PERIOD) & _U32;
        uint256 used = (g >> _G_QUOTA_USED) & _U32;
        uint256 start = (g >> _G_QUOTA_START) & _U40;
        if (period != 0 && block.timestamp >= start + period) used = 0;
        return used >= limit ? 0 : limit - used;
    }

    /// @notice Whether `issuer` has used (or cancelled) `nonce` for a delegated issuance.
    function nonceUsed(address issuer, uint256 nonce) external view returns (bool) {
        return _nonceBitmap[issuer][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    // ------------------------------------------------------------------------------------------------
    // ERC-721 (views; every transfer and approval path reverts)
    // ------------------------------------------------------------------------------------------------

    /// @inheritdoc IERC721
    function balanceOf(address owner) external view returns (uint256 count) {
        if (owner == address(0)) revert IERC721Errors.ERC721InvalidOwner(address(0));
        uint256 n = _typeCount;
        for (uint256 t = 1; t <= n; ++t) {
            if (_isLive(_records[(t << 160) | uint160(owner)])) ++count;
        }
    }

    /// @inheritdoc IERC721
    function ownerOf(uint256 tokenId) public view returns (address) {
        if (!_isLive(_records[tokenId])) revert IERC721Errors.ERC721NonexistentToken(tokenId);
        return address(uint160(tokenId));
    }

    /// @inheritdoc IERC721Metadata
    function name() external view returns (string memory) {
        return _name;
    }

    /// @inheritdoc IERC721Metadata
    function symbol() external view returns (string memory) {
        return _symbol;
    }

    /// @inheritdoc IERC721Metadata
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        ownerOf(tokenId);
        string memory typeUri = _policies[tokenId >> 160].uri;
        if (bytes(typeUri).length != 0) return typeUri;
        return string.concat(_baseURI, Strings.toString(tokenId));
    }

    /// @notice The base of token URIs.
    function baseURI() external view returns (string memory) {
        return _baseURI;
    }

    /// @inheritdoc IERC5192
    function locked(uint256 tokenId) external view returns (bool) {
        ownerOf(tokenId);
        return true;
    }

    /// @inheritdoc IERC721
    function getApproved(uint256 tokenId) external view returns (address) {
        ownerOf(tokenId);
        return address(0);
    }

    /// @inheritdoc IERC721
    function isApprovedForAll(address, address) external pure returns (bool) {
        return false;
    }

    /// @notice Always reverts: credentials are soulbound.
    function approve(address, uint256) external pure {
        revert Soulbound();
    }

    /// @notice Always reverts: credentials are soulbound.
    function setApprovalForAll(address, bool) external pure {
        revert Soulbound();
    }

    /// @notice Always reverts: credentials are soulbound.
    function transferFrom(address, address, uint256) external pure {
        revert Soulbound();
    }

    /// @notice Always reverts: credentials are soulbound.
    function safeTransferFrom(address, address, uint256) external pure {
        revert Soulbound();
    }

    /// @notice Always reverts: credentials are soulbound.
    function safeTransferFrom(address, address, uint256, bytes calldata) external pure {
        revert Soulbound();
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0x80ac58cd // ERC-721
            || interfaceId == 0x5b5e139f // ERC-721 Metadata
            || interfaceId == 0xb45a3c0e // ERC-5192
            || interfaceId == 0x49064906; // ERC-4906
    }

    // ------------------------------------------------------------------------------------------------
    // Internals: issuance
    // ------------------------------------------------------------------------------------------------

    function _issueOne(uint256 typeId, address issuer, address holder, uint256 expiresAt, bytes32 evidenceHash)
        internal
        returns (uint256 tokenId)
    {
        uint256 g = _issuerGrant(typeId, issuer, 1);
        if (g & _G_HAS_PREREQS != 0) _checkPrerequisites(typeId, holder);
        if (holder == address(0)) revert ZeroAddress();
        uint256 expiry = expiresAt == 0 ? _defaultExpiry(g) : _checkExpiry(g, expiresAt);
        tokenId = (typeId << 160) | uint160(holder);
        uint256 slot;
        uint256 prev;
        assembly {
            mstore(0x00, tokenId)
            mstore(0x20, _records.slot)
            slot := keccak256(0x00, 0x40)
            prev := sload(slot)
            sstore(
                slot,
                or(or(issuer, shl(_R_ISSUED_AT, timestamp())), or(shl(_R_EXPIRES_AT, expiry), shl(_R_STATUS, 1)))
            )
        }
        if (prev == 0 || !_reissueInPlace(tokenId, prev, g)) {
            if (g & _G_CAPPED != 0) _addSupply(typeId, 1);
            assembly {
                log4(0, 0, _TRANSFER_SIG, 0, holder, tokenId)
                mstore(0x00, tokenId)
                log1(0x00, 0x20, _LOCKED_SIG)
            }
        }
        emit Issued(tokenId, uint256(uint160(issuer)) | (expiry << 160), evidenceHash);
    }

    /// The issuer's grant for `typeId`, after the full checks when the fast path does not apply.
    function _issuerGrant(uint256 typeId, address issuer, uint256 count) internal returns (uint256 g) {
        if (typeId >> 96 != 0) revert TypeIdOutOfRange(typeId);
        uint256 gslot = _grantSlot(typeId, issuer);
        g = _sload(gslot);
        if (g & _G_FAST_MASK != ROLE_ISSUER) g = _preflight(typeId, issuer, gslot, g, count);
    }

    /// Allocates IssuedBatch's ABI-encoded data: [0x40][off2][n][entries: filled by _mintAll][n][evidence...].
    function _issuedBatchData(bytes32[] calldata evidenceHashes) internal pure returns (uint256 data) {
        assembly ("memory-safe") {
            let n := evidenceHashes.length
            data := mload(0x40)
            mstore(data, 0x40)
            mstore(add(data, 0x20), add(0x60, shl(5, n)))
            mstore(add(data, 0x40), n)
            let ev := add(add(data, 0x60), shl(5, n))
            mstore(ev, n)
            calldatacopy(add(ev, 0x20), evidenceHashes.offset, shl(5, n))
            mstore(0x40, add(add(ev, 0x20), shl(5, n)))
        }
    }

    /// Writes one record per entry, emits Transfer + Locked for each mint, and fills the event's entries.
    /// Returns the number of mints (in-place re-issues of expired credentials are not mints).
    function _mintAll(uint256 typeId, address issuer, uint256 g, uint256[] calldata entries, uint256 data)
        internal
        returns (uint256 mints)
    {
        // Record bits shared by the whole batch: issuer, issuedAt, status ACTIVE.
        uint256 base =
            uint256(uint160(issuer)) | (block.timestamp << _R_ISSUED_AT) | (uint256(STATUS_ACTIVE) << _R_STATUS);
        uint256 defaultExpiry = _defaultExpiry(g);
        uint256 n = entries.length;
        for (uint256 i; i < n; ++i) {
            uint256 entry;
            assembly {
                entry := calldataload(add(entries.offset, shl(5, i)))
            }
            uint256 expiry = entry >> 160;
            if (expiry >> 40 != 0 || entry & _ADDR == 0) revert MalformedEntry(i, entry);
            expiry = expiry == 0 ? defaultExpiry : _checkExpiry(g, expiry);
            if (g & _G_HAS_PREREQS != 0) _checkPrerequisites(typeId, address(uint160(entry)));
            entry = (entry & _ADDR) | (expiry << 160);
            uint256 tokenId = (typeId << 160) | (entry & _ADDR);
            uint256 prev;
            assembly {
                mstore(0x00, tokenId)
                mstore(0x20, _records.slot)
                let slot := keccak256(0x00, 0x40)
                prev := sload(slot)
                sstore(slot, or(base, shl(_R_EXPIRES_AT, expiry)))
                mstore(add(data, add(0x60, shl(5, i))), entry)
            }
            if (prev != 0 && _reissueInPlace(tokenId, prev, g)) continue;
            ++mints;
            assembly {
                log4(0, 0, _TRANSFER_SIG, 0, and(entry, _ADDR), tokenId)
                mstore(0x00, tokenId)
                log1(0x00, 0x20, _LOCKED_SIG)
            }
        }
    }

    /// Full checks for an issue that cannot take the fast path: role, pauses, quota. Returns the grant.
    function _preflight(uint256 typeId, address issuer, uint256 gslot, uint256 g, uint256 count)
        internal
        returns (uint256)
    {
        if (g & ROLE_ISSUER == 0) {
            if (typeId >> 96 != 0) revert TypeIdOutOfRange(typeId);
            if (!_typeState[typeId].exists) revert UnknownType(typeId);
            revert NotIssuer(typeId, issuer);
        }
        if (g & _G_GLOBAL_PAUSED != 0) revert RegistryPaused();
        if (g & _G_TYPE_PAUSED != 0) revert TypePaused(typeId);
        if (g & _G_QUOTA != 0) g = _chargeQuota(typeId, issuer, gslot, g, count);
        return g;
    }

    /// Counts `count` issuances (or renewals) against the quota of grant `g` (at `gslot`), starting a new period
    /// when the current one is over; reverts with QuotaExhausted past the limit. Returns the updated grant.
    function _chargeQuota(uint256 typeId, address issuer, uint256 gslot, uint256 g, uint256 count)
        internal
        returns (uint256)
    {
        uint256 limit = (g >> _G_QUOTA_LIMIT) & _U32;
        uint256 period = (g >> _G_QUOTA_PERIOD) & _U32;
        uint256 used = (g >> _G_QUOTA_USED) & _U32;
        uint256 start = (g >> _G_QUOTA_START) & _U40;
        if (period != 0 && block.timestamp >= start + period) {
            used = 0;
            start = block.timestamp;
        }
        used += count;
        if (used > limit) revert QuotaExhausted(typeId, issuer, limit);
        g = (g & ~((_U32 << _G_QUOTA_USED) | (_U40 << _G_QUOTA_START))) | (used << _G_QUOTA_USED)
            | (start << _G_QUOTA_START);
        assembly {
            sstore(gslot, g)
        }
        return g;
    }

    /// Called when the record slot was not empty. Reverts unless the policy allows issuing again; returns true when
    /// the token is still owned (an expired credential re-issued in place: no mint events).
    function _reissueInPlace(uint256 tokenId, uint256 prev, uint256 g) internal returns (bool) {
        uint8 st = _status(prev);
        uint16 flags = _flags(g);
        if (st == STATUS_ACTIVE || st == STATUS_SUSPENDED) {
            uint256 expiry = (prev >> _R_EXPIRES_AT) & _U40;
            bool expired = expiry != 0 && expiry <= block.timestamp;
            if (!expired) revert AlreadyIssued(tokenId);
            if (st == STATUS_SUSPENDED || flags & FLAG_REISSUE_AFTER_EXPIRY == 0) revert ReissueNotAllowed(tokenId, st);
            emit MetadataUpdate(tokenId);
            return true;
        }
        if (flags & FLAG_REISSUE_AFTER_REVOCATION == 0) revert ReissueNotAllowed(tokenId, st);
        return false;
    }

    function _checkPrerequisites(uint256 typeId, address holder) internal view {
        uint256[] storage pre = _policies[typeId].prerequisites;
        uint256 n = pre.length;
        for (uint256 i; i < n; ++i) {
            uint256 p = pre[i];
            if (!_valid(_records[(p << 160) | uint160(holder)])) revert MissingPrerequisite(holder, p);
        }
    }

    function _addSupply(uint256 typeId, uint256 count) internal {
        TypeState storage st = _typeState[typeId];
        uint256 supply = st.supply + count;
        uint256 cap = _policies[typeId].maxSupply;
        if (supply > cap) revert SupplyExhausted(typeId, cap);
        st.supply = uint32(supply);
    }

    function _defaultExpiry(uint256 g) internal view returns (uint256) {
        uint256 d = (g >> _G_DEFAULT_VALIDITY) & _U40;
        return d == 0 ? 0 : block.timestamp + d;
    }

    function _checkExpiry(uint256 g, uint256 expiry) internal view returns (uint256) {
        if (expiry <= block.timestamp || expiry > _U40) revert InvalidExpiry(expiry);
        uint256 maxV = (g >> _G_MAX_VALIDITY) & _U40;
        if (maxV != 0 && expiry > block.timestamp + maxV) revert ExpiryBeyondMax(expiry, block.timestamp + maxV);
        return expiry;
    }

    /// The body of issueBatch and issueBatchWithSig, `issuer` being the caller or the signer.
    function _issueBatch(
        uint256 typeId,
        address issuer,
        uint256[] calldata holdersAndExpiries,
        bytes32[] calldata evidenceHashes
    ) internal {
        uint256 n = holdersAndExpiries.length;
        if (n == 0) revert EmptyBatch();
        if (n > MAX_BATCH) revert BatchTooLarge(n, MAX_BATCH);
        if (evidenceHashes.length != n) revert LengthMismatch(n, evidenceHashes.length);

        uint256 g = _issuerGrant(typeId, issuer, n);
        uint256 data = _issuedBatchData(evidenceHashes);
        uint256 mints = _mintAll(typeId, issuer, g, holdersAndExpiries, data);
        if (g & _G_CAPPED != 0) _addSupply(typeId, mints);
        bytes32 sig = IssuedBatch.selector;
        assembly {
            log3(data, add(0x80, shl(6, n)), sig, typeId, issuer)
        }
    }

    function _cancelNonces(uint256 word, uint256 mask) internal {
        uint256 bits = _nonceBitmap[msg.sender][word];
        _nonceBitmap[msg.sender][word] = bits | mask;
        emit NoncesCancelled(msg.sender, word, mask & ~bits);
    }

    /// EIP-712 encoding of an array of 32-byte words: the keccak-256 of their concatenation.
    function _hashWords(uint256[] calldata words) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let len := shl(5, words.length)
            calldatacopy(ptr, words.offset, len)
            h := keccak256(ptr, len)
        }
    }

    /// EIP-712 encoding of a bytes32 array: the keccak-256 of the concatenated hashes.
    function _hashWords(bytes32[] calldata words) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let len := shl(5, words.length)
            calldatacopy(ptr, words.offset, len)
            h := keccak256(ptr, len)
        }
    }

    function _useNonce(address issuer, uint256 nonce) internal {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _nonceBitmap[issuer][nonce >> 8];
        if (bits & bit != 0) revert NonceAlreadyUsed(issuer, nonce);
        _nonceBitmap[issuer][nonce >> 8] = bits | bit;
    }

    // ------------------------------------------------------------------------------------------------
    // Internals: roles, policy, sync
    // ------------------------------------------------------------------------------------------------

    /// Loads `account`'s grant for `typeId`, reverting unless it holds `role` and the type is not paused.
    function _requireRole(uint256 typeId, address account, uint8 role) internal view returns (uint256 g) {
        g = _requireGrant(typeId, account, role);
        if (g & _G_GLOBAL_PAUSED != 0) revert RegistryPaused();
        if (g & _G_TYPE_PAUSED != 0) revert TypePaused(typeId);
    }

    /// Loads `account`'s grant for `typeId`, reverting unless it holds `role`; pauses do not apply (revocation
    /// and suspension work while paused).
    function _requireGrant(uint256 typeId, address account, uint8 role) internal view returns (uint256 g) {
        if (typeId >> 96 != 0) revert TypeIdOutOfRange(typeId);
        g = _grants[_grantKey(typeId, account)];
        if (g & role == 0) {
            if (!_typeState[typeId].exists) revert UnknownType(typeId);
            if (role == ROLE_ISSUER) revert NotIssuer(typeId, account);
            revert NotRevoker(typeId, account);
        }
    }

    /// The policy-derived bits of a grant slot (everything but roles and quota counters).
    function _hotBits(uint256 typeId) internal view returns (uint256 h) {
        TypePolicy storage p = _policies[typeId];
        if (_typeState[typeId].paused) h |= _G_TYPE_PAUSED;
        if (_globalPaused) h |= _G_GLOBAL_PAUSED;
        if (p.prerequisites.length != 0) h |= _G_HAS_PREREQS;
        if (p.maxSupply != 0) h |= _G_CAPPED;
        if (p.quotaLimit != 0) h |= _G_QUOTA;
        h |= uint256(p.defaultValidity) << _G_DEFAULT_VALIDITY;
        h |= uint256(p.maxValidity) << _G_MAX_VALIDITY;
        h |= uint256(p.quotaLimit) << _G_QUOTA_LIMIT;
        h |= uint256(p.quotaPeriod) << _G_QUOTA_PERIOD;
        h |= uint256(p.flags) << _G_FLAGS;
    }

    function _syncType(uint256 typeId) internal {
        uint256 h = _hotBits(typeId);
        uint256 n = _grantKeys.length;
        for (uint256 i; i < n; ++i) {
            uint256 key = _grantKeys[i];
            if (key >> 160 != typeId) continue;
            _grants[key] = (_grants[key] & _G_OWN) | h;
        }
    }

    function _syncAll() internal {
        uint256 n = _grantKeys.length;
        for (uint256 i; i < n; ++i) {
            uint256 key = _grantKeys[i];
            _grants[key] = (_grants[key] & _G_OWN) | _hotBits(key >> 160);
        }
    }

    function _validatePolicy(uint256 typeId, TypePolicy calldata p, uint256 supply, bool isNew) internal view {
        if (bytes(p.name).length == 0) revert InvalidPolicy("name: empty");
        if (p.flags & ~FLAGS_KNOWN != 0) revert InvalidPolicy("flags: unknown bits");
        if (p.maxValidity != 0 && (p.defaultValidity == 0 || p.defaultValidity > p.maxValidity)) {
            revert InvalidPolicy("defaultValidity: must be set and at most maxValidity when maxValidity is set");
        }
        if (p.defaultValidity > _MAX_DEFAULT_VALIDITY) {
            revert InvalidPolicy("defaultValidity: expiry would not fit in 40 bits");
        }
        if (p.flags & FLAG_RENEWABLE != 0 && p.defaultValidity == 0) {
            revert InvalidPolicy("flags: renewable needs a defaultValidity");
        }
        if (!isNew && p.maxSupply != 0 && p.maxSupply < supply) {
            revert InvalidPolicy("maxSupply: below the live supply");
        }
        uint256 n = p.prerequisites.length;
        if (n > MAX_PREREQUISITES) revert InvalidPolicy("prerequisites: too many");
        for (uint256 i; i < n; ++i) {
            uint256 pre = p.prerequisites[i];
            if (pre == 0 || pre >= typeId || !_typeState[pre].exists) revert InvalidPrerequisite(pre);
            for (uint256 j; j < i; ++j) {
                if (p.prerequisites[j] == pre) revert InvalidPrerequisite(pre);
            }
        }
    }

    function _requireType(uint256 typeId) internal view returns (TypeState storage st) {
        st = _typeState[typeId];
        if (!st.exists) revert UnknownType(typeId);
    }

    function _requireTypeView(uint256 typeId) internal view returns (TypeState storage) {
        return _requireType(typeId);
    }

    // ------------------------------------------------------------------------------------------------
    // Internals: packed words
    // ------------------------------------------------------------------------------------------------

    /// The grant key of (typeId, account); callers ensure typeId < 2^96.
    function _grantKey(uint256 typeId, address account) internal pure returns (uint256) {
        return (typeId << 160) | uint160(account);
    }

    function _grantSlot(uint256 typeId, address account) internal pure returns (uint256 slot) {
        assembly {
            mstore(0x00, or(shl(160, typeId), account))
            mstore(0x20, _grants.slot)
            slot := keccak256(0x00, 0x40)
        }
    }

    function _sload(uint256 slot) internal view returns (uint256 v) {
        assembly {
            v := sload(slot)
        }
    }

    function _status(uint256 rec) internal pure returns (uint8) {
        return uint8(rec >> _R_STATUS);
    }

    function _flags(uint256 g) internal pure returns (uint16) {
        return uint16(g >> _G_FLAGS);
    }

    function _isLive(uint256 rec) internal pure returns (bool) {
        uint8 st = uint8(rec >> _R_STATUS);
        return st == STATUS_ACTIVE || st == STATUS_SUSPENDED;
    }

    function _valid(uint256 rec) internal view returns (bool) {
        if (uint8(rec >> _R_STATUS) != STATUS_ACTIVE) return false;
        uint256 expiry = (rec >> _R_EXPIRES_AT) & _U40;
        return expiry == 0 || expiry > block.timestamp;
    }

    function _withStatus(uint256 rec, uint8 status, uint8 reason) internal pure returns (uint256) {
        return (rec & ~(uint256(0xffff) << _R_STATUS)) | (uint256(status) << _R_STATUS)
            | (uint256(reason) << _R_REASON);
    }
}
