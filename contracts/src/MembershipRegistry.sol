// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {ERC721Utils} from "@openzeppelin/contracts/token/ERC721/utils/ERC721Utils.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {IERC5192} from "./interfaces/IERC5192.sol";
import {IERC5643} from "./interfaces/IERC5643.sol";
import {ICredentialVerifier} from "./interfaces/ICredentialVerifier.sol";

/// @title MembershipRegistry
/// @notice Laurel membership tokens: governed tiers of (by default soulbound) ERC-721 subscriptions.
/// @dev Storage design (gas targets: <= 50k per membership in a 100-holder batch grant, <= 35k per renewal tx):
///      - Token id = (tierId << 160) | uint160(originalHolder): derived, so one membership per (holder, tier).
///      - One slot per membership: expiresAt (uint40, bits 0-39) | grantedAt (uint40, bits 40-79) |
///        status (uint8, bits 80-87) | current owner (bits 96-255, zero while the token is with its original holder).
///      - No per-owner balance is written at mint: balanceOf scans the tiers for tokens still "at home" and adds a
///        per-owner counter of tokens received by transfer (written only by transfers).
///      - Tier pause bits and a copy of the global pause bit share one word per 128 tiers, so a renewal reads
///        three cold slots only (membership, manager flag, pause word).
///      - Per-tier managers are kept here (not in the AccessManager) so the hot paths avoid an external call.
contract MembershipRegistry is AccessManaged, IERC721Metadata, IERC4906, IERC5192, IERC5643, IERC721Errors {
    using Strings for uint256;

    // ------------------------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Lifecycle status of a membership (a revoked membership is burned and reads as None).
    enum Status {
        None,
        Active,
        Cancelled
    }

    /// @notice A tier's governed policy, as passed to defineTier/updateTier and emitted in TierDefined/TierUpdated.
    struct TierPolicy {
        string name;
        string uri;
        uint64 duration;
        bool holderRenewable;
        bool transferable;
        uint64 maxMembers;
        uint256[] eligibility;
    }

    /// @notice A membership record as returned by `membership`.
    struct Membership {
        uint256 tierId;
        address holder;
        uint64 expiresAt;
        Status status;
        uint64 grantedAt;
    }

    /// @dev The hot part of a tier, one slot.
    struct TierConfig {
        uint64 duration;
        uint64 maxMembers;
        uint64 members;
        bool exists;
        bool holderRenewable;
        bool transferable;
    }

    /// @dev A packed membership word, wrapped in a struct so a storage pointer avoids re-hashing the key.
    struct Packed {
        uint256 word;
    }

    /// @dev A tier: the hot slot first, then the cold policy fields.
    struct Tier {
        TierConfig config;
        string name;
        string uri;
        uint256[] eligibility;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------------------------

    /// @notice A tier was defined with the given policy.
    event TierDefined(uint256 indexed tierId, TierPolicy policy);
    /// @notice A tier's policy was replaced with the given policy.
    event TierUpdated(uint256 indexed tierId, TierPolicy policy);
    /// @notice `account` was made (or unmade) a manager of `tierId`.
    event TierManagerSet(uint256 indexed tierId, address indexed account, bool allowed);
    /// @notice A tier was paused or unpaused.
    event TierPauseSet(uint256 indexed tierId, bool paused);
    /// @notice The whole registry was paused or unpaused.
    event PauseSet(bool paused);
    /// @notice The base URI for token metadata was set.
    event BaseURISet(string baseURI);
    /// @notice `manager` granted memberships of `tierId` to `holders`, all expiring at `expiresAt`.
    event Granted(uint256 indexed tierId, address indexed manager, address[] holders, uint64 expiresAt);
    /// @notice A membership was renewed by `by` (the new expiry is in the SubscriptionUpdate of the same tx).
    event Renewed(uint256 indexed tokenId, address by);
    /// @notice A membership was cancelled by `by` (its holder or a manager).
    event Cancelled(uint256 indexed tokenId, address indexed by);
    /// @notice A membership was revoked (burned) by manager `by` with a reason code.
    event Revoked(uint256 indexed tokenId, address indexed by, uint8 reason);
    /// @notice A membership moved tiers: `oldTokenId` was burned and `newTokenId` minted (original grantedAt kept).
    event TierChanged(uint256 indexed oldTokenId, uint256 indexed newTokenId, address indexed by);

    // ------------------------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------------------------

    /// @notice `account` is not a manager of `tierId`.
    error NotTierManager(uint256 tierId, address account);
    /// @notice No tier `tierId` has been defined.
    error UnknownTier(uint256 tierId);
    /// @notice Tier `tierId` is paused.
    error TierPaused(uint256 tierId);
    /// @notice The whole registry is paused.
    error RegistryPaused();
    /// @notice `holder` lacks a valid credential of `credentialType` required by the tier.
    error NotEligible(address holder, uint256 credentialType);
    /// @notice `holder` already holds a membership of `tierId`.
    error AlreadyMember(address holder, uint256 tierId);
    /// @notice The token id derived for a grant exists (its original holder transferred it away).
    error TokenIdInUse(uint256 tokenId);
    /// @notice Granting would exceed the tier's maximum number of members.
    error MaxMembersReached(uint256 tierId, uint256 maxMembers);
    /// @notice The holder may not renew this membership (its tier is not renewable by holders).
    error NotRenewable(uint256 tokenId);
    /// @notice `caller` is neither the holder of `tokenId` nor a manager of its tier.
    error NotHolder(uint256 tokenId, address caller);
    /// @notice This registry accepts no payments.
    error PaymentNotAccepted(uint256 value);
    /// @notice An address argument was zero.
    error ZeroAddress();
    /// @notice A batch had no holders.
    error EmptyBatch();
    /// @notice A batch had more than `max` holders.
    error BatchTooLarge(uint256 size, uint256 max);
    /// @notice No membership `tokenId` exists.
    error NonexistentMembership(uint256 tokenId);
    /// @notice The membership was cancelled; it can only be revoked.
    error MembershipCancelled(uint256 tokenId);
    /// @notice The membership is past its expiry: it cannot be transferred until renewed.
    error MembershipExpired(uint256 tokenId);
    /// @notice The token's tier does not allow transfers (it is soulbound).
    error TransferNotAllowed(uint256 tokenId);
    /// @notice `to` already holds a membership of `tierId`.
    error RecipientAlreadyMember(address to, uint256 tierId);
    /// @notice A duration was zero, too long, or pushed an expiry past the representable range.
    error InvalidDuration(uint256 duration);
    /// @notice A tier listed more than `max` credential types.
    error TooManyCredentialTypes(uint256 count, uint256 max);
    /// @notice A tier's eligibility list names a type the credential registry does not know (0 included).
    error UnknownCredentialType(uint256 credentialType);
    /// @notice A tier's eligibility list names the same credential type twice.
    error DuplicateCredentialType(uint256 credentialType);
    /// @notice A tier update would set its maximum below its current member count.
    error MaxMembersBelowCount(uint256 tierId, uint256 maxMembers, uint256 members);
    /// @notice A tier update tried to change the transfer policy, which is fixed at definition.
    error TransferPolicyImmutable(uint256 tierId);
    /// @notice A tier change named the membership's current tier.
    error SameTier(uint256 tierId);
    /// @notice MAX_MANAGERS (tier, account) manager entries exist already.
    error TooManyManagers(uint256 max);

    // ------------------------------------------------------------------------------------------------------------
    // Constants and immutables
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Largest batch accepted by grantBatch.
    uint256 public constant MAX_BATCH = 1000;
    /// @notice Largest number of credential types a tier may require.
    uint256 public constant MAX_CREDENTIAL_TYPES = 16;
    /// @notice Most (tier, account) manager entries the registry keeps (a pause rewrites each one's pause copy).
    uint256 public constant MAX_MANAGERS = 256;
    /// @notice Longest tier duration or single renewal, in seconds (100 years of 365 days).
    uint64 public constant MAX_DURATION = 100 * 365 days;
    /// @notice The credential registry consulted for tier eligibility.
    ICredentialVerifier public immutable credentials;

    uint256 private constant _MASK40 = (1 << 40) - 1;
    uint256 private constant _LOW96 = (1 << 96) - 1;
    uint256 private constant _ADDR160 = (1 << 160) - 1;
    uint256 private constant _STATUS_SHIFT = 80;
    uint256 private constant _GRANTED_SHIFT = 40;
    uint256 private constant _OWNER_SHIFT = 96;
    uint256 private constant _ACTIVE = 1;
    uint256 private constant _CANCELLED = 2;
    uint256 private constant _GLOBAL_PAUSE_BIT = 1 << 255;
    /// Manager word bits: the manager flag, and copies of the tier's and the registry's pause flags.
    uint256 private constant _M_MANAGER = 1;
    uint256 private constant _M_TIER_PAUSED = 2;
    uint256 private constant _M_GLOBAL_PAUSED = 4;

    // ------------------------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Number of tiers defined; tier ids are 1..tierCount.
    uint64 private _tierCount;
    /// @dev Source of truth for the global pause (mirrored into every pause word).
    bool private _paused;
    /// @dev Token id => packed membership (see the contract header).
    mapping(uint256 tokenId => Packed) private _memberships;
    /// @dev Tier id => tier.
    mapping(uint256 tierId => Tier) private _tiers;
    /// @dev tierId >> 7 => bits 0..127: tier (index & 127) paused; bit 255: registry paused.
    mapping(uint256 word => uint256) private _pauseWords;
    /// @dev (tierId << 160 | account) => manager word (one hash per lookup, like a token id): bit 0 manager, bit 1 a
    ///      copy of the tier's pause flag, bit 2 a copy of the registry's; so a manager's renewal reads one slot for
    ///      both its authority and the pauses. Every pause and unpause rewrites the copies it affects.
    mapping(uint256 managerKey => uint256) private _tierManagers;
    /// @dev Owner => tier id => token id held by transfer (not the owner's own derived id).
    mapping(address owner => mapping(uint256 tierId => uint256)) private _received;
    /// @dev Owner => number of tokens held by transfer.
    mapping(address owner => uint256) private _receivedCount;
    /// @dev ERC-721 single-token approvals.
    mapping(uint256 tokenId => address) private _tokenApprovals;
    /// @dev ERC-721 operator approvals.
    mapping(address owner => mapping(address operator => bool)) private _operatorApprovals;
    /// @dev Base URI; when set, tokenURI is baseURI + tokenId, else the tier's URI.
    string private _baseURI;
    /// @dev Every manager key with the manager flag set; position + 1 in `_managerPos`.
    uint256[] private _managerKeys;
    mapping(uint256 managerKey => uint256 position) private _managerPos;

    /// @notice Deploys the registry governed by AccessManager `manager`, checking eligibility against `credentials_`;
    ///         `baseURI_` may be empty (tokenURI then falls back to the tier's URI).
    constructor(address manager, ICredentialVerifier credentials_, string memory baseURI_) AccessManaged(manager) {
        if (manager == address(0) || address(credentials_) == address(0)) revert ZeroAddress();
        credentials = credentials_;
        _baseURI = baseURI_;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Governance (restricted: the AccessManager decides which role may call which selector)
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Defines a new tier and returns its id (ids are sequential from 1). The eligibility list must name
    ///         distinct credential types the credential registry knows, at most MAX_CREDENTIAL_TYPES of them.
    function defineTier(TierPolicy calldata policy) external restricted returns (uint256 tierId) {
        _validatePolicy(policy);
        tierId = ++_tierCount;
        Tier storage t = _tiers[tierId];
        t.config = TierConfig({
            duration: policy.duration,
            maxMembers: policy.maxMembers,
            members: 0,
            exists: true,
            holderRenewable: policy.holderRenewable,
            transferable: policy.transferable
        });
        t.name = policy.name;
        t.uri = policy.uri;
        t.eligibility = policy.eligibility;
        // A tier defined while the registry is paused starts paused too (its pause word may be new).
        if (_paused) _pauseWords[tierId >> 7] |= _GLOBAL_PAUSE_BIT;
        emit TierDefined(tierId, policy);
    }

    /// @notice Replaces a tier's policy (the transfer policy is fixed; the new maximum must cover current members).
    function updateTier(uint256 tierId, TierPolicy calldata policy) external restricted {
        Tier storage t = _tiers[tierId];
        TierConfig memory c = t.config;
        if (!c.exists) revert UnknownTier(tierId);
        _validatePolicy(policy);
        if (policy.transferable != c.transferable) revert TransferPolicyImmutable(tierId);
        if (policy.maxMembers != 0 && policy.maxMembers < c.members) {
            revert MaxMembersBelowCount(tierId, policy.maxMembers, c.members);
        }
        c.duration = policy.duration;
        c.maxMembers = policy.maxMembers;
        c.holderRenewable = policy.holderRenewable;
        t.config = c;
        t.name = policy.name;
        t.uri = policy.uri;
        t.eligibility = policy.eligibility;
        emit TierUpdated(tierId, policy);
        emit BatchMetadataUpdate(tierId << 160, (tierId << 160) | type(uint160).max);
    }

    /// @notice Makes `account` a manager of `tierId` (allowed = true) or removes it.
    function setTierManager(uint256 tierId, address account, bool allowed) external restricted {
        if (!_tiers[tierId].config.exists) revert UnknownTier(tierId);
        if (account == address(0)) revert ZeroAddress();
        uint256 key = _managerKey(tierId, account);
        uint256 pos = _managerPos[key];
        if (allowed) {
            if (pos == 0) {
                if (_managerKeys.length >= MAX_MANAGERS) revert TooManyManagers(MAX_MANAGERS);
                _managerKeys.push(key);
                _managerPos[key] = _managerKeys.length;
            }
            _tierManagers[key] = _M_MANAGER | _pauseCopy(tierId);
        } else {
            if (pos != 0) {
                uint256 last = _managerKeys[_managerKeys.length - 1];
                _managerKeys[pos - 1] = last;
                _managerPos[last] = pos;
                _managerKeys.pop();
                delete _managerPos[key];
            }
            delete _tierManagers[key];
        }
        emit TierManagerSet(tierId, account, allowed);
    }

    /// @notice Pauses one tier (blocks its grants, renewals, cancels, tier changes, revocations and transfers).
    function pauseTier(uint256 tierId) external restricted {
        _setTierPaused(tierId, true);
    }

    /// @notice Unpauses one tier.
    function unpauseTier(uint256 tierId) external restricted {
        _setTierPaused(tierId, false);
    }

    /// @notice Pauses the whole registry.
    function pause() external restricted {
        _setPaused(true);
    }

    /// @notice Unpauses the whole registry.
    function unpause() external restricted {
        _setPaused(false);
    }

    /// @notice Sets the base URI (empty: each token uses its tier's URI).
    function setBaseURI(string calldata baseURI_) external restricted {
        _baseURI = baseURI_;
        emit BaseURISet(baseURI_);
        emit BatchMetadataUpdate(0, type(uint256).max);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Membership operations (tier managers; holders where stated)
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Grants a membership of `tierId` to `holder` (caller: a manager of the tier); returns the token id.
    function grant(uint256 tierId, address holder) external returns (uint256 tokenId) {
        (TierConfig memory c, uint256[] memory elig, uint64 exp) = _beginGrant(tierId, 1);
        tokenId = _mint(tierId, holder, _pack(exp, block.timestamp), exp, c.transferable, elig);
        address[] memory holders = new address[](1);
        holders[0] = holder;
        emit Granted(tierId, msg.sender, holders, exp);
    }

    /// @notice Grants memberships of `tierId` to 1..MAX_BATCH `holders` (caller: a manager of the tier).
    function grantBatch(uint256 tierId, address[] calldata holders) external returns (uint64 expiresAt_) {
        uint256 n = holders.length;
        if (n == 0) revert EmptyBatch();
        if (n > MAX_BATCH) revert BatchTooLarge(n, MAX_BATCH);
        (TierConfig memory c, uint256[] memory elig, uint64 exp) = _beginGrant(tierId, n);
        expiresAt_ = exp;
        uint256 packed = _pack(expiresAt_, block.timestamp);
        bool transferable = c.transferable;
        for (uint256 i; i < n;) {
            _mint(tierId, holders[i], packed, expiresAt_, transferable, elig);
            unchecked {
                ++i;
            }
        }
        emit Granted(tierId, msg.sender, holders, expiresAt_);
    }

    /// @notice Renews a membership by `duration` seconds from its expiry (or from now if expired); no payment.
    /// @dev Managers of the tier may use any duration in (0, MAX_DURATION]; the holder only where the tier is
    ///      renewable by holders, and only by exactly the tier's duration. Cancelled memberships cannot be renewed.
    function renewSubscription(uint256 tokenId, uint64 duration) external payable {
        // Fast path: a manager of the tier renews an active membership, nothing paused, no payment, a valid duration.
        // Two cold reads (the membership, the manager word with its pause copies) and one write; anything else (a
        // holder's renewal, every rejection) takes the checks below, which revert with the precise error.
        bytes32 subSig = SubscriptionUpdate.selector;
        bytes32 renewedSig = Renewed.selector;
        bytes32 metadataSig = MetadataUpdate.selector;
        assembly {
            if iszero(callvalue()) {
                mstore(0x00, tokenId)
                mstore(0x20, _memberships.slot)
                let slot := keccak256(0x00, 0x40)
                let m := sload(slot)
                // The manager key of (tier, caller): tokenId's tier bits with the caller as the account.
                mstore(0x00, or(and(tokenId, not(_ADDR160)), caller()))
                mstore(0x20, _tierManagers.slot)
                // Manager, and neither the tier nor the registry paused.
                let managerUnpaused := eq(and(sload(keccak256(0x00, 0x40)), 7), _M_MANAGER)
                let base := and(m, _MASK40)
                if lt(base, timestamp()) { base := timestamp() }
                let newExp := add(base, duration)
                // 0 < duration <= MAX_DURATION in one comparison (duration - 1 wraps when 0).
                if and(
                    and(eq(and(shr(_STATUS_SHIFT, m), 0xff), _ACTIVE), managerUnpaused),
                    and(lt(sub(duration, 1), MAX_DURATION), iszero(gt(newExp, _MASK40)))
                ) {
                    sstore(slot, or(and(m, not(_MASK40)), newExp))
                    mstore(0x00, newExp)
                    log2(0x00, 0x20, subSig, tokenId)
                    mstore(0x00, caller())
                    log2(0x00, 0x20, renewedSig, tokenId)
                    mstore(0x00, tokenId)
                    log1(0x00, 0x20, metadataSig)
                    return(0, 0)
                }
            }
        }
        if (msg.value != 0) revert PaymentNotAccepted(msg.value);
        Packed storage slot = _memberships[tokenId];
        uint256 m = slot.word;
        uint256 status = (m >> _STATUS_SHIFT) & 0xff;
        if (status == 0) revert NonexistentMembership(tokenId);
        uint256 tierId = tokenId >> 160;
        _requireNotPaused(tierId);
        if (_tierManagers[_managerKey(tierId, msg.sender)] & _M_MANAGER == 0) {
            TierConfig storage c = _tiers[tierId].config;
            if (msg.sender != _ownerOf(tokenId, m)) {
                if (c.holderRenewable) revert NotHolder(tokenId, msg.sender);
                revert NotTierManager(tierId, msg.sender);
            }
            if (!c.holderRenewable) revert NotRenewable(tokenId);
            if (duration != c.duration) revert InvalidDuration(duration);
        }
        if (status == _CANCELLED) revert MembershipCancelled(tokenId);
        uint256 newExp;
        unchecked {
            // One comparison for 0 < duration <= MAX_DURATION (duration - 1 wraps to a huge value when 0).
            if (uint256(duration) - 1 >= MAX_DURATION) revert InvalidDuration(duration);
            uint256 exp = m & _MASK40;
            newExp = (exp > block.timestamp ? exp : block.timestamp) + duration; // cannot overflow 256 bits
        }
        if (newExp > _MASK40) revert InvalidDuration(duration);
        slot.word = (m & ~_MASK40) | newExp;
        emit SubscriptionUpdate(tokenId, uint64(newExp));
        emit Renewed(tokenId, msg.sender);
        emit MetadataUpdate(tokenId);
    }

    /// @notice Cancels a membership (caller: its holder or a manager of its tier); no payment. As ERC-5643 specifies,
    ///         the cancelled subscription's expiration becomes 0 (`expiresAt` reads 0; SubscriptionUpdate(tokenId, 0)).
    function cancelSubscription(uint256 tokenId) external payable {
        if (msg.value != 0) revert PaymentNotAccepted(msg.value);
        Packed storage slot = _memberships[tokenId];
        uint256 m = slot.word;
        uint256 status = (m >> _STATUS_SHIFT) & 0xff;
        if (status == 0) revert NonexistentMembership(tokenId);
        uint256 tierId = tokenId >> 160;
        _requireNotPaused(tierId);
        if (_tierManagers[_managerKey(tierId, msg.sender)] & _M_MANAGER == 0 && msg.sender != _ownerOf(tokenId, m)) {
            revert NotHolder(tokenId, msg.sender);
        }
        if (status == _CANCELLED) revert MembershipCancelled(tokenId);
        slot.word = (m & ~((uint256(0xff) << _STATUS_SHIFT) | _MASK40)) | (_CANCELLED << _STATUS_SHIFT);
        unchecked {
            --_tiers[tierId].config.members;
        }
        emit Cancelled(tokenId, msg.sender);
        emit SubscriptionUpdate(tokenId, 0);
        emit MetadataUpdate(tokenId);
    }

    /// @notice Revokes (burns) a membership with a reason code (caller: a manager of its tier).
    function revoke(uint256 tokenId, uint8 reason) external {
        uint256 m = _memberships[tokenId].word;
        if (m == 0) revert NonexistentMembership(tokenId);
        uint256 tierId = tokenId >> 160;
        _requireNotPaused(tierId);
        _requireManager(tierId);
        _burn(tokenId, tierId, m);
        emit Revoked(tokenId, msg.sender, reason);
    }

    /// @notice Moves a membership to `newTierId` (caller: a manager of both tiers); returns the new token id.
    /// @dev The holder must be eligible for the new tier. The old token is burned and a new one minted for the
    ///      current holder, expiring one new-tier duration from now; the original grantedAt is kept.
    function changeTier(uint256 tokenId, uint256 newTierId) external returns (uint256 newTokenId) {
        uint256 m = _memberships[tokenId].word;
        if (m == 0) revert NonexistentMembership(tokenId);
        uint256 oldTierId = tokenId >> 160;
        if (newTierId == oldTierId) revert SameTier(newTierId);
        _requireNotPaused(oldTierId);
        _requireManager(oldTierId);
        (TierConfig memory c, uint256[] memory elig, uint64 exp) = _beginGrant(newTierId, 1);
        if ((m >> _STATUS_SHIFT) & 0xff == _CANCELLED) revert MembershipCancelled(tokenId);
        address holder = _ownerOf(tokenId, m);
        _burn(tokenId, oldTierId, m);
        uint256 packed = (m & (_MASK40 << _GRANTED_SHIFT)) | (_ACTIVE << _STATUS_SHIFT) | exp;
        newTokenId = _mint(newTierId, holder, packed, exp, c.transferable, elig);
        emit TierChanged(tokenId, newTokenId, msg.sender);
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-721
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Number of memberships `owner` holds (computed: tiers scanned plus tokens received by transfer).
    function balanceOf(address owner) external view returns (uint256 balance) {
        if (owner == address(0)) revert ERC721InvalidOwner(address(0));
        balance = _receivedCount[owner];
        uint256 count = _tierCount;
        for (uint256 t = 1; t <= count; ++t) {
            uint256 m = _memberships[(t << 160) | uint160(owner)].word;
            if (m != 0 && m >> _OWNER_SHIFT == 0) ++balance;
        }
    }

    /// @notice Current owner of a membership token.
    function ownerOf(uint256 tokenId) public view returns (address) {
        uint256 m = _memberships[tokenId].word;
        if (m == 0) revert ERC721NonexistentToken(tokenId);
        return _ownerOf(tokenId, m);
    }

    /// @notice Transfers a token of a transferable tier and calls onERC721Received on contract receivers.
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes calldata data) external {
        transferFrom(from, to, tokenId);
        ERC721Utils.checkOnERC721Received(msg.sender, from, to, tokenId, data);
    }

    /// @notice Transfers a token of a transferable tier and calls onERC721Received on contract receivers.
    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        transferFrom(from, to, tokenId);
        ERC721Utils.checkOnERC721Received(msg.sender, from, to, tokenId, "");
    }

    /// @notice Transfers a token of a transferable tier (the recipient must be eligible and hold none of the tier).
    ///         Only an active membership moves: a cancelled or expired one cannot be pushed onto an address, where it
    ///         would only block that address's own grants.
    function transferFrom(address from, address to, uint256 tokenId) public {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        Packed storage slot = _memberships[tokenId];
        uint256 m = slot.word;
        if (m == 0) revert ERC721NonexistentToken(tokenId);
        address owner = _ownerOf(tokenId, m);
        if (owner != from) revert ERC721IncorrectOwner(from, tokenId, owner);
        if (msg.sender != owner && !_operatorApprovals[owner][msg.sender] && _tokenApprovals[tokenId] != msg.sender) {
            revert ERC721InsufficientApproval(msg.sender, tokenId);
        }
        uint256 tierId = tokenId >> 160;
        if (!_tiers[tierId].config.transferable) revert TransferNotAllowed(tokenId);
        if ((m >> _STATUS_SHIFT) & 0xff == _CANCELLED) revert MembershipCancelled(tokenId);
        if (block.timestamp >= m & _MASK40) revert MembershipExpired(tokenId);
        _requireNotPaused(tierId);
        delete _tokenApprovals[tokenId];
        if (to != from) {
            if (_holdsTier(to, tierId)) revert RecipientAlreadyMember(to, tierId);
            _checkEligible(to, _tiers[tierId].eligibility);
            address home = address(uint160(tokenId));
            if (from != home) {
                delete _received[from][tierId];
                unchecked {
                    --_receivedCount[from];
                }
            }
            uint256 ownerField;
            if (to != home) {
                _received[to][tierId] = tokenId;
                unchecked {
                    ++_receivedCount[to];
                }
                ownerField = uint160(to);
            }
            slot.word = (m & _LOW96) | (ownerField << _OWNER_SHIFT);
        }
        emit Transfer(from, to, tokenId);
    }

    /// @notice Approves `to` to transfer `tokenId` (caller: its owner or an operator of the owner).
    function approve(address to, uint256 tokenId) external {
        address owner = ownerOf(tokenId);
        if (msg.sender != owner && !_operatorApprovals[owner][msg.sender]) revert ERC721InvalidApprover(msg.sender);
        _tokenApprovals[tokenId] = to;
        emit Approval(owner, to, tokenId);
    }

    /// @notice Sets or clears `operator` as an operator for all of the caller's tokens.
    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ERC721InvalidOperator(address(0));
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @notice The address approved for `tokenId`, if any.
    function getApproved(uint256 tokenId) external view returns (address) {
        if (_memberships[tokenId].word == 0) revert ERC721NonexistentToken(tokenId);
        return _tokenApprovals[tokenId];
    }

    /// @notice Whether `operator` is an operator for all of `owner`'s tokens.
    function isApprovedForAll(address owner, address operator) external view returns (bool) {
        return _operatorApprovals[owner][operator];
    }

    /// @notice Collection name.
    function name() external pure returns (string memory) {
        return "Laurel Membership";
    }

    /// @notice Collection symbol.
    function symbol() external pure returns (string memory) {
        return "LAUREL-M";
    }

    /// @notice Metadata URI: baseURI + tokenId when a base URI is set, else the tier's URI.
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        if (_memberships[tokenId].word == 0) revert ERC721NonexistentToken(tokenId);
        string memory base = _baseURI;
        if (bytes(base).length != 0) return string.concat(base, tokenId.toString());
        return _tiers[tokenId >> 160].uri;
    }

    /// @notice ERC-165: ERC-165, ERC-721, ERC-721 Metadata, ERC-5643, ERC-5192 and ERC-4906.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId // 0x01ffc9a7
            || interfaceId == type(IERC721).interfaceId // 0x80ac58cd
            || interfaceId == type(IERC721Metadata).interfaceId // 0x5b5e139f
            || interfaceId == type(IERC5643).interfaceId // 0x8c65f84d
            || interfaceId == type(IERC5192).interfaceId // 0xb45a3c0e
            || interfaceId == bytes4(0x49064906); // ERC-4906
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-5192 / ERC-5643 views
    // ------------------------------------------------------------------------------------------------------------

    /// @notice True when the token's tier does not allow transfers (reverts for nonexistent tokens).
    function locked(uint256 tokenId) external view returns (bool) {
        if (_memberships[tokenId].word == 0) revert ERC721NonexistentToken(tokenId);
        return !_tiers[tokenId >> 160].config.transferable;
    }

    /// @notice Expiry timestamp of a membership (it is active strictly before this time); 0 once cancelled.
    function expiresAt(uint256 tokenId) external view returns (uint64) {
        uint256 m = _memberships[tokenId].word;
        if (m == 0) revert NonexistentMembership(tokenId);
        return uint64(m & _MASK40);
    }

    /// @notice Whether the holder may renew the membership (tier renewable by holders and not cancelled).
    function isRenewable(uint256 tokenId) external view returns (bool) {
        uint256 m = _memberships[tokenId].word;
        if (m == 0) revert NonexistentMembership(tokenId);
        return _tiers[tokenId >> 160].config.holderRenewable && (m >> _STATUS_SHIFT) & 0xff == _ACTIVE;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Registry views
    // ------------------------------------------------------------------------------------------------------------

    /// @notice True iff `holder` holds a membership of `tierId` that is not cancelled and not past its expiry.
    function isActive(address holder, uint256 tierId) external view returns (bool) {
        uint256 tokenId = _heldTokenId(holder, tierId);
        if (tokenId == 0) return false;
        uint256 m = _memberships[tokenId].word;
        return (m >> _STATUS_SHIFT) & 0xff == _ACTIVE && block.timestamp < (m & _MASK40);
    }

    /// @notice The membership record of `tokenId` (holder is the current owner).
    function membership(uint256 tokenId) external view returns (Membership memory) {
        uint256 m = _memberships[tokenId].word;
        if (m == 0) revert NonexistentMembership(tokenId);
        return Membership({
            tierId: tokenId >> 160,
            holder: _ownerOf(tokenId, m),
            expiresAt: uint64(m & _MASK40),
            status: Status((m >> _STATUS_SHIFT) & 0xff),
            grantedAt: uint64((m >> _GRANTED_SHIFT) & _MASK40)
        });
    }

    /// @notice The token id of the membership of `tierId` that `holder` currently holds, or 0 if none.
    function tokenIdOf(address holder, uint256 tierId) external view returns (uint256) {
        return _heldTokenId(holder, tierId);
    }

    /// @notice The policy of `tierId`.
    function tierPolicy(uint256 tierId) external view returns (TierPolicy memory policy) {
        Tier storage t = _tiers[tierId];
        TierConfig memory c = t.config;
        if (!c.exists) revert UnknownTier(tierId);
        policy = TierPolicy({
            name: t.name,
            uri: t.uri,
            duration: c.duration,
            holderRenewable: c.holderRenewable,
            transferable: c.transferable,
            maxMembers: c.maxMembers,
            eligibility: t.eligibility
        });
    }

    /// @notice Number of live (existing, not cancelled) memberships of `tierId`.
    function memberCount(uint256 tierId) external view returns (uint256) {
        TierConfig memory c = _tiers[tierId].config;
        if (!c.exists) revert UnknownTier(tierId);
        return c.members;
    }

    /// @notice Number of tiers defined (tier ids are 1..tierCount).
    function tierCount() external view returns (uint256) {
        return _tierCount;
    }

    /// @notice Whether `account` is a manager of `tierId`.
    function isTierManager(uint256 tierId, address account) external view returns (bool) {
        return tierId <= type(uint96).max && _tierManagers[_managerKey(tierId, account)] & _M_MANAGER != 0;
    }

    /// @notice Whether the whole registry is paused.
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @notice Every (tier, account) manager entry, as `tierId << 160 | account`.
    function managers() external view returns (uint256[] memory) {
        return _managerKeys;
    }

    /// @notice Whether `tierId` itself is paused (independently of the global pause).
    function tierPaused(uint256 tierId) external view returns (bool) {
        return (_pauseWords[tierId >> 7] >> (tierId & 127)) & 1 != 0;
    }

    /// @notice The base URI (empty if unset).
    function baseURI() external view returns (string memory) {
        return _baseURI;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Duration in range; eligibility: at most MAX_CREDENTIAL_TYPES types, each one the credential registry
    ///      knows (`collectionOf` answers for it), none twice.
    function _validatePolicy(TierPolicy calldata p) private view {
        if (p.duration == 0 || p.duration > MAX_DURATION) revert InvalidDuration(p.duration);
        uint256 n = p.eligibility.length;
        if (n > MAX_CREDENTIAL_TYPES) revert TooManyCredentialTypes(n, MAX_CREDENTIAL_TYPES);
        for (uint256 i; i < n; ++i) {
            uint256 t = p.eligibility[i];
            for (uint256 j; j < i; ++j) {
                if (p.eligibility[j] == t) revert DuplicateCredentialType(t);
            }
            if (!_knownCredentialType(t)) revert UnknownCredentialType(t);
        }
    }

    /// @dev Whether the credential registry knows type `t` (its `collectionOf` reverts for unknown types).
    function _knownCredentialType(uint256 t) private view returns (bool) {
        if (t == 0) return false;
        try credentials.collectionOf(t) returns (address collection) {
            return collection != address(0);
        } catch {
            return false;
        }
    }

    function _setTierPaused(uint256 tierId, bool paused_) private {
        if (!_tiers[tierId].config.exists) revert UnknownTier(tierId);
        uint256 bit = 1 << (tierId & 127);
        uint256 w = _pauseWords[tierId >> 7];
        _pauseWords[tierId >> 7] = paused_ ? w | bit : w & ~bit;
        // The tier's managers carry a copy of the flag.
        uint256 n = _managerKeys.length;
        for (uint256 i; i < n; ++i) {
            uint256 key = _managerKeys[i];
            if (key >> 160 != tierId) continue;
            uint256 mw = _tierManagers[key];
            _tierManagers[key] = paused_ ? mw | _M_TIER_PAUSED : mw & ~_M_TIER_PAUSED;
        }
        emit TierPauseSet(tierId, paused_);
    }

    function _setPaused(bool paused_) private {
        _paused = paused_;
        // Mirror the flag into every pause word in use (one per 128 tiers) and every manager word, so hot paths
        // read a single slot.
        uint256 last = uint256(_tierCount) >> 7;
        for (uint256 i; i <= last; ++i) {
            uint256 w = _pauseWords[i];
            _pauseWords[i] = paused_ ? w | _GLOBAL_PAUSE_BIT : w & ~_GLOBAL_PAUSE_BIT;
        }
        uint256 n = _managerKeys.length;
        for (uint256 i; i < n; ++i) {
            uint256 key = _managerKeys[i];
            uint256 mw = _tierManagers[key];
            _tierManagers[key] = paused_ ? mw | _M_GLOBAL_PAUSED : mw & ~_M_GLOBAL_PAUSED;
        }
        emit PauseSet(paused_);
    }

    /// The pause bits of a manager word of `tierId`, from the current pause state.
    function _pauseCopy(uint256 tierId) private view returns (uint256 bits) {
        if ((_pauseWords[tierId >> 7] >> (tierId & 127)) & 1 != 0) bits = _M_TIER_PAUSED;
        if (_paused) bits |= _M_GLOBAL_PAUSED;
    }

    function _requireNotPaused(uint256 tierId) private view {
        uint256 w = _pauseWords[tierId >> 7];
        if (w & _GLOBAL_PAUSE_BIT != 0) revert RegistryPaused();
        if ((w >> (tierId & 127)) & 1 != 0) revert TierPaused(tierId);
    }

    function _requireManager(uint256 tierId) private view {
        if (_tierManagers[_managerKey(tierId, msg.sender)] & _M_MANAGER == 0) revert NotTierManager(tierId, msg.sender);
    }

    /// @dev Checks tier, pause and manager; reserves `n` seats; returns the tier config, the eligibility list and
    ///      the expiry of a membership granted now.
    function _beginGrant(uint256 tierId, uint256 n)
        private
        returns (TierConfig memory c, uint256[] memory elig, uint64 exp)
    {
        Tier storage t = _tiers[tierId];
        c = t.config;
        if (!c.exists) revert UnknownTier(tierId);
        _requireNotPaused(tierId);
        _requireManager(tierId);
        uint256 members = uint256(c.members) + n;
        if (c.maxMembers != 0 && members > c.maxMembers) revert MaxMembersReached(tierId, c.maxMembers);
        t.config.members = uint64(members);
        elig = t.eligibility;
        uint256 end = block.timestamp + c.duration;
        if (end > _MASK40) revert InvalidDuration(c.duration);
        exp = uint64(end);
    }

    function _pack(uint256 exp, uint256 grantedAt) private pure returns (uint256) {
        return exp | (grantedAt << _GRANTED_SHIFT) | (_ACTIVE << _STATUS_SHIFT);
    }

    /// @dev Mints one membership for `holder` (seat already reserved). Emits Transfer, Locked/Unlocked and
    ///      SubscriptionUpdate.
    function _mint(uint256 tierId, address holder, uint256 packed, uint64 exp, bool transferable, uint256[] memory elig)
        private
        returns (uint256 tokenId)
    {
        if (holder == address(0)) revert ZeroAddress();
        _checkEligible(holder, elig);
        tokenId = (tierId << 160) | uint160(holder);
        Packed storage slot = _memberships[tokenId];
        uint256 cur = slot.word;
        if (cur != 0) {
            if (cur >> _OWNER_SHIFT == 0) revert AlreadyMember(holder, tierId);
            revert TokenIdInUse(tokenId);
        }
        // Only transferable tiers can have tokens held away from home.
        if (transferable && _received[holder][tierId] != 0) revert AlreadyMember(holder, tierId);
        slot.word = packed;
        emit Transfer(address(0), holder, tokenId);
        if (transferable) emit Unlocked(tokenId);
        else emit Locked(tokenId);
        emit SubscriptionUpdate(tokenId, exp);
    }

    /// @dev Burns `tokenId` (m = its packed slot): frees its seat if live, clears transfer bookkeeping and approval.
    function _burn(uint256 tokenId, uint256 tierId, uint256 m) private {
        address owner = _ownerOf(tokenId, m);
        if ((m >> _STATUS_SHIFT) & 0xff == _ACTIVE) {
            unchecked {
                --_tiers[tierId].config.members;
            }
        }
        if (m >> _OWNER_SHIFT != 0) {
            delete _received[owner][tierId];
            unchecked {
                --_receivedCount[owner];
            }
        }
        delete _memberships[tokenId];
        delete _tokenApprovals[tokenId];
        emit Transfer(owner, address(0), tokenId);
    }

    function _checkEligible(address holder, uint256[] memory elig) private view {
        uint256 len = elig.length;
        for (uint256 j; j < len;) {
            if (!credentials.isValid(holder, elig[j])) revert NotEligible(holder, elig[j]);
            unchecked {
                ++j;
            }
        }
    }

    function _managerKey(uint256 tierId, address account) private pure returns (uint256) {
        return (tierId << 160) | uint160(account);
    }

    function _ownerOf(uint256 tokenId, uint256 m) private pure returns (address) {
        uint256 field = m >> _OWNER_SHIFT;
        return field == 0 ? address(uint160(tokenId)) : address(uint160(field));
    }

    /// @dev The token id of `tierId` held by `holder` (its own at home, else one received by transfer), or 0.
    function _heldTokenId(address holder, uint256 tierId) private view returns (uint256) {
        if (tierId == 0 || tierId > type(uint96).max) return 0;
        uint256 home = (tierId << 160) | uint160(holder);
        uint256 m = _memberships[home].word;
        if (m != 0 && m >> _OWNER_SHIFT == 0) return home;
        return _received[holder][tierId];
    }

    function _holdsTier(address account, uint256 tierId) private view returns (bool) {
        return _heldTokenId(account, tierId) != 0;
    }
}
