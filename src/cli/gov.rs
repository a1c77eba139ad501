//! `laurel gov …`: credential types and pathways, membership tiers, roles, pauses, and the AccessManager's
//! time-locked operations. Every change goes through [`crate::governance::Sender::governed`]: it runs at once when the signer's
//! role has no execution delay and is **scheduled** when it has one; `gov pending` lists scheduled operations
//! and when each becomes executable, `gov execute` runs a ready one, `gov cancel` withdraws one (its scheduler
//! or a guardian). Lists read the mirror, and say which block they reflect.

use alloy::primitives::{Uint, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use super::Ctx;
use crate::chain::bindings::{CredentialRegistry, MembershipRegistry};
use crate::domain::roles::manager as roles;
use crate::domain::{OpState, RoleScope, TierId, TypeId};
use crate::governance::{Change, Outcome, PauseScope};
use crate::issuance::request::parse_address;

const DAY: u64 = 86_400;

/// `laurel gov` subcommands.
#[derive(Subcommand, Debug)]
pub enum GovCmd {
    /// Credential types and pathways (prerequisites).
    #[command(subcommand)]
    Type(TypeCmd),
    /// Membership tiers: define, update and list them.
    #[command(subcommand)]
    Tier(TierCmd),
    /// Roles: AccessManager roles (governor, recovery, pauser, guardian, admin), per-type issuers and
    /// revokers, tier managers.
    #[command(subcommand)]
    Role(RoleCmd),
    /// Pause issuance: one credential type, one tier, or a whole registry (PAUSER may pause).
    Pause(PauseTarget),
    /// Lift a pause (GOVERNOR).
    Unpause(PauseTarget),
    /// Scheduled operations and when each becomes executable.
    Pending,
    /// Execute a scheduled operation whose delay has passed.
    Execute {
        /// Operation id (from `gov pending`).
        #[arg(long, value_name = "ID")]
        id: String,
    },
    /// Cancel a scheduled operation (its scheduler, or a guardian).
    Cancel {
        /// Operation id (from `gov pending`).
        #[arg(long, value_name = "ID")]
        id: String,
    },
}

/// `laurel gov type …`.
#[derive(Subcommand, Debug)]
pub enum TypeCmd {
    /// Define a credential type.
    Create(TypeFlags),
    /// Change a type's policy (unset flags keep their current value).
    Update {
        /// Id of the type to change (from 1; `laurel gov type list` shows them).
        id: TypeId,
        #[command(flatten)]
        flags: TypeFlags,
    },
    /// List the types, their policies and live supply (from the mirror).
    List,
}

/// A credential type's policy as flags.
#[derive(Args, Debug, Default, Clone)]
pub struct TypeFlags {
    /// Name, e.g. "Rust Fundamentals" (required to create).
    #[arg(long)]
    pub name: Option<String>,
    /// Metadata URI for every token of the type [default: the registry's base URI + token id].
    #[arg(long)]
    pub uri: Option<String>,
    /// Days a credential is valid by default (0 = never expires).
    #[arg(long, value_name = "DAYS")]
    pub validity_days: Option<u64>,
    /// Latest expiry an issuer may set, in days from issue (0 = unbounded).
    #[arg(long, value_name = "DAYS")]
    pub max_validity_days: Option<u64>,
    /// Renewal allowed only this many days before expiry (0 = any time).
    #[arg(long, value_name = "DAYS")]
    pub renewal_window_days: Option<u64>,
    /// Cap on live credentials (0 = unlimited; fixed at creation whether capped or not).
    #[arg(long)]
    pub max_supply: Option<u32>,
    /// Issuances per issuer per quota period (0 = no quota).
    #[arg(long)]
    pub quota: Option<u32>,
    /// Quota period in days (0 with a quota = a lifetime quota).
    #[arg(long, value_name = "DAYS")]
    pub quota_period_days: Option<u32>,
    /// Comma-separated: renewable, revocable, suspendable, renounceable, reissue (after expiry),
    /// reissue-revoked (after revocation, renouncement or recovery) [default at creation: revocable,suspendable].
    #[arg(long, value_name = "LIST")]
    pub flags: Option<String>,
    /// Comma-separated prerequisite type ids (a pathway): holders need valid credentials of each.
    #[arg(long, value_name = "IDS")]
    pub requires: Option<String>,
}

/// `laurel gov tier …`.
#[derive(Subcommand, Debug)]
pub enum TierCmd {
    /// Define a membership tier.
    Create(TierFlags),
    /// Change a tier's policy (unset flags keep their current value).
    Update {
        /// Id of the tier to change (from 1; `laurel gov tier list` shows them).
        id: TierId,
        #[command(flatten)]
        flags: TierFlags,
    },
    /// List the tiers (from the mirror).
    List,
}

/// A tier's policy as flags.
#[derive(Args, Debug, Default, Clone)]
pub struct TierFlags {
    /// Name (required to create).
    #[arg(long)]
    pub name: Option<String>,
    /// Metadata URI.
    #[arg(long)]
    pub uri: Option<String>,
    /// Days a grant or renewal lasts (required to create).
    #[arg(long, value_name = "DAYS")]
    pub duration_days: Option<u64>,
    /// Holders may renew their own membership.
    #[arg(long)]
    pub holder_renewable: Option<bool>,
    /// Memberships may be transferred.
    #[arg(long)]
    pub transferable: Option<bool>,
    /// Cap on members (0 = unlimited).
    #[arg(long)]
    pub max_members: Option<u64>,
    /// Comma-separated credential type ids a member must hold valid.
    #[arg(long, value_name = "IDS")]
    pub requires: Option<String>,
}

/// `laurel gov role …`.
#[derive(Subcommand, Debug)]
pub enum RoleCmd {
    /// Grant a role: `--role governor|recovery|pauser|guardian|admin`, or `--issuer/--revoker --type T`, or
    /// `--manager --tier T`.
    Grant(RoleFlags),
    /// Revoke a role (same selectors as grant).
    Revoke(RoleFlags),
    /// List role holders (from the mirror).
    List,
}

/// Which role, for whom.
#[derive(Args, Debug, Clone)]
pub struct RoleFlags {
    /// Account the role is granted to or revoked from (0x address).
    #[arg(long, value_name = "ADDRESS")]
    pub account: String,
    /// An AccessManager role.
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    /// Execution delay for an AccessManager role grant, in seconds.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub delay: u32,
    /// Issuer of credential type --type.
    #[arg(long)]
    pub issuer: bool,
    /// Revoker of credential type --type.
    #[arg(long)]
    pub revoker: bool,
    /// Credential type id for --issuer/--revoker.
    #[arg(long = "type", value_name = "ID")]
    pub type_id: Option<TypeId>,
    /// Manager of tier --tier.
    #[arg(long)]
    pub manager: bool,
    /// Tier id for --manager.
    #[arg(long, value_name = "ID")]
    pub tier: Option<TierId>,
}

/// What to pause.
#[derive(Args, Debug, Clone)]
pub struct PauseTarget {
    /// One credential type.
    #[arg(long = "type", value_name = "ID", conflicts_with_all = ["tier", "credentials", "memberships"])]
    pub type_id: Option<TypeId>,
    /// One membership tier.
    #[arg(long, value_name = "ID", conflicts_with_all = ["credentials", "memberships"])]
    pub tier: Option<TierId>,
    /// The whole credential registry.
    #[arg(long, conflicts_with = "memberships")]
    pub credentials: bool,
    /// The whole membership registry.
    #[arg(long)]
    pub memberships: bool,
}

fn parse_ids(s: &str) -> Result<Vec<U256>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse::<u64>()
                .map(U256::from)
                .with_context(|| format!("{x:?} is not a type id"))
        })
        .collect()
}

fn parse_flags(s: &str) -> Result<u16> {
    Ok(crate::domain::TypeFlags::parse_names(s)?.bits())
}

fn flag_names(bits: u16) -> String {
    crate::domain::TypeFlags::from_bits_retain(bits).names()
}

fn apply_type(p: &mut CredentialRegistry::TypePolicy, f: &TypeFlags) -> Result<()> {
    if let Some(v) = &f.name {
        p.name = v.clone();
    }
    if let Some(v) = &f.uri {
        p.uri = v.clone();
    }
    if let Some(v) = f.validity_days {
        p.defaultValidity = Uint::from(v * DAY);
    }
    if let Some(v) = f.max_validity_days {
        p.maxValidity = Uint::from(v * DAY);
    }
    if let Some(v) = f.renewal_window_days {
        p.renewalWindow = Uint::from(v * DAY);
    }
    if let Some(v) = f.max_supply {
        p.maxSupply = v;
    }
    if let Some(v) = f.quota {
        p.quotaLimit = v;
    }
    if let Some(v) = f.quota_period_days {
        p.quotaPeriod = v.saturating_mul(DAY as u32);
    }
    if let Some(v) = &f.flags {
        p.flags = parse_flags(v)?;
    }
    if let Some(v) = &f.requires {
        p.prerequisites = parse_ids(v)?;
    }
    Ok(())
}

fn apply_tier(p: &mut MembershipRegistry::TierPolicy, f: &TierFlags) -> Result<()> {
    if let Some(v) = &f.name {
        p.name = v.clone();
    }
    if let Some(v) = &f.uri {
        p.uri = v.clone();
    }
    if let Some(v) = f.duration_days {
        p.duration = v * DAY;
    }
    if let Some(v) = f.holder_renewable {
        p.holderRenewable = v;
    }
    if let Some(v) = f.transferable {
        p.transferable = v;
    }
    if let Some(v) = f.max_members {
        p.maxMembers = v;
    }
    if let Some(v) = &f.requires {
        p.eligibility = parse_ids(v)?;
    }
    Ok(())
}

fn role_id(name: &str) -> Result<u64> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "admin" => roles::ADMIN,
        "governor" => roles::GOVERNOR,
        "recovery" => roles::RECOVERY,
        "pauser" => roles::PAUSER,
        "guardian" => roles::GUARDIAN,
        other => bail!("unknown role {other:?}: use admin, governor, recovery, pauser or guardian"),
    })
}

fn role_name(id: u64) -> String {
    match id {
        roles::ADMIN => "admin".into(),
        roles::GOVERNOR => "governor".into(),
        roles::RECOVERY => "recovery".into(),
        roles::PAUSER => "pauser".into(),
        roles::GUARDIAN => "guardian".into(),
        other => format!("role {other}"),
    }
}

fn parse_op_id(s: &str) -> Result<B256> {
    s.parse().with_context(|| {
        format!("{s:?} is not an operation id (0x + 64 hex digits; see `laurel gov pending`)")
    })
}

/// Runs a `laurel gov` command: a list reads the mirror; a change is built, sent (at once or scheduled),
/// printed and audited.
pub async fn run(app: &Ctx, signer: Option<PrivateKeySigner>, cmd: GovCmd) -> Result<()> {
    let change = match cmd {
        GovCmd::Type(TypeCmd::List) => return list_types(app).await,
        GovCmd::Tier(TierCmd::List) => return list_tiers(app).await,
        GovCmd::Role(RoleCmd::List) => return list_roles(app).await,
        GovCmd::Pending => return pending(app).await,
        cmd => change_of(app, cmd).await?,
    };
    let signer =
        signer.context("this command sends a transaction: set LAUREL_PRIVATE_KEY or --keystore")?;
    let action = change.action;
    let actor = format!("cli:{:#x}", signer.address());
    let outcome = crate::governance::audited::change(&app.node, &app.store, signer, &actor, change)
        .await?
        .finish()
        .await?;
    if matches!(outcome, Outcome::Executed { .. }) {
        report_defined(app, action).await?;
    }
    println!("{outcome}");
    Ok(())
}

/// The change a command asks for (the lists are handled by [`run`]).
async fn change_of(app: &Ctx, cmd: GovCmd) -> Result<Change> {
    let d = &app.node.deployment;
    Ok(match cmd {
        GovCmd::Type(TypeCmd::Create(f)) => {
            if f.name.is_none() {
                bail!("--name is required to create a type");
            }
            let mut p = CredentialRegistry::TypePolicy::plain("", 0, 2 | 4);
            apply_type(&mut p, &f)?;
            Change::define_type(d, p)
        }
        GovCmd::Type(TypeCmd::Update { id, flags }) => {
            let creds = CredentialRegistry::new(d.credential_registry, &app.node.provider);
            let mut p = creds.typePolicy(U256::from(id.get())).call().await?;
            apply_type(&mut p, &flags)?;
            Change::update_type(d, id, p)
        }
        GovCmd::Tier(TierCmd::Create(f)) => {
            if f.name.is_none() || f.duration_days.is_none() {
                bail!("--name and --duration-days are required to create a tier");
            }
            let mut p = MembershipRegistry::TierPolicy {
                name: String::new(),
                uri: String::new(),
                duration: 0,
                holderRenewable: false,
                transferable: false,
                maxMembers: 0,
                eligibility: vec![],
            };
            apply_tier(&mut p, &f)?;
            Change::define_tier(d, p)
        }
        GovCmd::Tier(TierCmd::Update { id, flags }) => {
            let members = MembershipRegistry::new(d.membership_registry, &app.node.provider);
            let mut p = members.tierPolicy(U256::from(id.get())).call().await?;
            apply_tier(&mut p, &flags)?;
            Change::update_tier(d, id, p)
        }
        GovCmd::Role(RoleCmd::Grant(f)) => role_change(app, &f, true).await?,
        GovCmd::Role(RoleCmd::Revoke(f)) => role_change(app, &f, false).await?,
        GovCmd::Pause(t) => Change::pause(d, pause_scope(&t)?, true),
        GovCmd::Unpause(t) => Change::pause(d, pause_scope(&t)?, false),
        GovCmd::Execute { id } => {
            let op = find_op(app, &id).await?;
            Change::execute(
                d,
                op.target.context("the operation's target is unknown")?,
                op.data.context("the operation's calldata is unknown")?,
            )
        }
        GovCmd::Cancel { id } => {
            let op = find_op(app, &id).await?;
            Change::cancel(
                d,
                op.caller.context("the operation's scheduler is unknown")?,
                op.target.context("the operation's target is unknown")?,
                op.data.context("the operation's calldata is unknown")?,
            )
        }
        GovCmd::Type(TypeCmd::List)
        | GovCmd::Tier(TierCmd::List)
        | GovCmd::Role(RoleCmd::List)
        | GovCmd::Pending => unreachable!("lists are handled by run"),
    })
}

/// After a type or tier was defined at once, prints its new id.
async fn report_defined(app: &Ctx, action: &str) -> Result<()> {
    let d = &app.node.deployment;
    match action {
        "gov.type.create" => {
            let creds = CredentialRegistry::new(d.credential_registry, &app.node.provider);
            println!("type {} defined", creds.typeCount().call().await?);
        }
        "gov.tier.create" => {
            let members = MembershipRegistry::new(d.membership_registry, &app.node.provider);
            println!("tier {} defined", members.tierCount().call().await?);
        }
        _ => {}
    }
    Ok(())
}

/// The role change `f` names: an AccessManager role, type roles (added to or removed from the account's
/// current ones), or a tier's manager.
async fn role_change(app: &Ctx, f: &RoleFlags, grant: bool) -> Result<Change> {
    let d = &app.node.deployment;
    let account = parse_address(&f.account)?;
    if let Some(name) = &f.role {
        return Ok(Change::manager_role(
            d,
            role_id(name)?,
            account,
            grant,
            f.delay,
        ));
    }
    if f.issuer || f.revoker {
        let t = f.type_id.context("--issuer/--revoker need --type ID")?;
        let creds = CredentialRegistry::new(d.credential_registry, &app.node.provider);
        let current = creds
            .rolesOf(U256::from(t.get()), account)
            .call()
            .await
            .unwrap_or(0);
        let bits = u8::from(f.issuer) | (u8::from(f.revoker) << 1);
        let roles = if grant {
            current | bits
        } else {
            current & !bits
        };
        return Ok(Change::type_roles(d, t, account, roles, grant));
    }
    if f.manager {
        let t = f.tier.context("--manager needs --tier ID")?;
        return Ok(Change::tier_manager(d, t, account, grant));
    }
    bail!("say which role: --role NAME, --issuer/--revoker --type ID, or --manager --tier ID")
}

/// What `--type`, `--tier`, `--credentials` or `--memberships` names (the first given, in that order).
fn pause_scope(t: &PauseTarget) -> Result<PauseScope> {
    Ok(match (t.type_id, t.tier, t.credentials, t.memberships) {
        (Some(id), ..) => PauseScope::Type(id),
        (_, Some(id), ..) => PauseScope::Tier(id),
        (_, _, true, _) => PauseScope::Credentials,
        (_, _, _, true) => PauseScope::Memberships,
        _ => bail!("say what: --type ID, --tier ID, --credentials or --memberships"),
    })
}

async fn reflects(app: &Ctx) -> Result<String> {
    let c = app.store.cursor(app.chain_id()).await?;
    Ok(
        match c.and_then(|c| c.indexed_block.map(|b| (b, c.final_block))) {
            Some((b, f)) => format!(
                "(mirror at block {b}{})",
                if b <= f { ", final" } else { "" }
            ),
            None => "(the mirror has indexed nothing yet: run `laurel serve`)".into(),
        },
    )
}

async fn list_types(app: &Ctx) -> Result<()> {
    println!("credential types {}", reflects(app).await?);
    println!(
        "{:>4}  {:<34} {:>9} {:>7} {:>7}  {:<10} {:<40}",
        "id", "name", "validity", "supply", "paused", "requires", "flags"
    );
    for t in app.store.credential_types(app.chain_id()).await? {
        let validity = if t.default_validity == 0 {
            "never".to_string()
        } else {
            format!("{}d", t.default_validity / DAY)
        };
        let requires: Vec<String> = t.prerequisites.iter().map(u64::to_string).collect();
        println!(
            "{:>4}  {:<34} {:>9} {:>7} {:>7}  {:<10} {:<40}",
            t.type_id,
            t.name,
            validity,
            if t.max_supply > 0 {
                format!("{}/{}", t.supply, t.max_supply)
            } else {
                t.supply.to_string()
            },
            if t.paused { "yes" } else { "no" },
            if requires.is_empty() {
                "-".into()
            } else {
                requires.join(",")
            },
            flag_names(t.flags)
        );
    }
    Ok(())
}

async fn list_tiers(app: &Ctx) -> Result<()> {
    println!("membership tiers {}", reflects(app).await?);
    println!(
        "{:>4}  {:<30} {:>9} {:>8} {:>7}  {:<10}",
        "id", "name", "duration", "members", "paused", "requires"
    );
    for t in app.store.tiers(app.chain_id()).await? {
        let requires: Vec<String> = t.eligibility.iter().map(u64::to_string).collect();
        println!(
            "{:>4}  {:<30} {:>8}d {:>8} {:>7}  {:<10}",
            t.tier_id,
            t.name,
            t.duration / DAY,
            t.members,
            if t.paused { "yes" } else { "no" },
            if requires.is_empty() {
                "-".into()
            } else {
                requires.join(",")
            }
        );
    }
    Ok(())
}

async fn list_roles(app: &Ctx) -> Result<()> {
    println!("roles {}", reflects(app).await?);
    for r in app.store.roles(app.chain_id(), None).await? {
        let what = match r.scope {
            RoleScope::Manager => format!(
                "{}{}",
                role_name(r.scope_id),
                r.delay
                    .filter(|d| *d > 0)
                    .map_or(String::new(), |d| format!(" (execution delay {d}s)"))
            ),
            RoleScope::Type => format!("type {} {}", r.scope_id, r.type_roles().describe()),
            RoleScope::Tier => format!("tier {} manager", r.scope_id),
        };
        println!("  {:<44} {}", r.account.to_string(), what);
    }
    Ok(())
}

async fn pending(app: &Ctx) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    println!("scheduled operations {}", reflects(app).await?);
    let ops = app
        .store
        .governance_ops(app.chain_id(), Some(OpState::Scheduled))
        .await?;
    if ops.is_empty() {
        println!("  none");
    }
    for op in ops {
        let when = op.schedule.unwrap_or(0);
        let ready = if when <= now {
            "ready: `laurel gov execute --id ...`".to_string()
        } else {
            format!("executable in {}s (unix {when})", when - now)
        };
        let selector = op
            .data
            .as_ref()
            .filter(|d| d.len() >= 4)
            .map(|d| format!("0x{}", alloy::hex::encode(&d[..4])))
            .unwrap_or_default();
        println!(
            "  {}  {} → {} {selector}  {ready}",
            op.operation_id,
            op.caller.map(|c| c.to_string()).unwrap_or_default(),
            op.target.map(|c| c.to_string()).unwrap_or_default(),
        );
    }
    Ok(())
}

async fn find_op(app: &Ctx, id: &str) -> Result<crate::domain::GovernanceOpRow> {
    let id = parse_op_id(id)?;
    app.store
        .governance_ops(app.chain_id(), Some(OpState::Scheduled))
        .await?
        .into_iter()
        .find(|o| o.operation_id == id)
        .with_context(|| {
            format!("no scheduled operation {id} in the mirror; see `laurel gov pending`")
        })
}
