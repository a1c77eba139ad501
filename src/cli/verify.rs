//! `laurel verify <holder> [--type T]`: a holder's credentials as the chain says (one `eth_call` per type,
//! pinned to one block) and as the mirror says (and which block it reflects, and whether that block is
//! final), side by side, with the one-line `cast call` anyone can run to check without trusting Laurel.

use std::collections::BTreeMap;

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::chain::bindings::CredentialRegistry;
use crate::domain::{credential_status, TypeId};

/// One credential as one source sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    /// Status name (active, suspended, revoked, renounced, recovered, expired, none).
    pub status: String,
    /// What `isValid` answers.
    pub valid: bool,
    /// Issue time (unix seconds).
    pub issued_at: u64,
    /// Expiry (unix seconds; 0 = never).
    pub expires_at: u64,
    /// Revocation or suspension reason code.
    pub reason: u8,
}

/// One type's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// Credential type id.
    pub type_id: u64,
    /// The type's name as the mirror has it (empty when the mirror has no such type).
    pub name: String,
    /// The chain's answer.
    pub chain: View,
    /// The mirror's answer (None: the mirror has no record).
    pub mirror: Option<View>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The address whose credentials are reported (parsed from the command line).
    pub holder: Address,
    /// Block the chain answers reflect.
    pub chain_block: u64,
    /// Block the mirror reflects (None: nothing indexed yet).
    pub mirror_block: Option<u64>,
    /// Whether the mirror's block is final.
    pub mirror_final: bool,
    /// One line per type the holder ever held (or the type asked for).
    pub lines: Vec<Line>,
    /// The command an employer can run to check for themselves.
    pub cast: String,
}

/// Builds the report.
pub async fn report(app: &Ctx, holder: Address, type_id: Option<TypeId>) -> Result<Report> {
    let chain_id = app.chain_id();
    let reg = CredentialRegistry::new(app.node.deployment.credential_registry, &app.node.provider);
    let head = app.node.provider.get_block_number().await?;
    let at = BlockId::number(head);
    let head_time = app
        .node
        .provider
        .get_block_by_number(head.into())
        .await?
        .map_or(0, |b| b.header.timestamp);
    let names: BTreeMap<u64, String> = app
        .store
        .credential_types(chain_id)
        .await?
        .into_iter()
        .map(|t| (t.type_id, t.name))
        .collect();
    let mirror: BTreeMap<u64, _> = app
        .store
        .credentials_of_holder(chain_id, holder)
        .await?
        .into_iter()
        .map(|c| (c.type_id, c))
        .collect();
    let types: Vec<u64> = match type_id {
        Some(t) => vec![t.get()],
        None => {
            let count = reg.typeCount().block(at).call().await?.to::<u64>();
            (1..=count).collect()
        }
    };
    let cursor = app.store.cursor(chain_id).await?;
    let mut lines = Vec::new();
    for t in types {
        let c = reg
            .credentialOf(holder, U256::from(t))
            .block(at)
            .call()
            .await?;
        let chain = View {
            status: credential_status::name_on_chain(c.status, c.valid, c.expiresAt.to::<u64>())
                .into(),
            valid: c.valid,
            issued_at: c.issuedAt.to::<u64>(),
            expires_at: c.expiresAt.to::<u64>(),
            reason: c.reason,
        };
        let mirror = mirror.get(&t).map(|m| {
            let valid = m.is_valid_at(head_time);
            View {
                status: credential_status::name(m.status, m.expires_at, head_time).into(),
                valid,
                issued_at: m.issued_at,
                expires_at: m.expires_at,
                reason: m.reason,
            }
        });
        if type_id.is_none() && chain.status == "none" && mirror.is_none() {
            continue;
        }
        lines.push(Line {
            type_id: t,
            name: names.get(&t).cloned().unwrap_or_default(),
            chain,
            mirror,
        });
    }
    let cast = format!(
        "cast call {} \"isValid(address,uint256)(bool)\" {holder} {} --rpc-url {}",
        app.node.deployment.credential_registry,
        type_id.map_or(1, TypeId::get),
        app.settings.rpc_url
    );
    Ok(Report {
        holder,
        chain_block: head,
        mirror_block: cursor.and_then(|c| c.indexed_block),
        mirror_final: cursor.is_some_and(|c| c.indexed_block.is_some_and(|b| b <= c.final_block)),
        lines,
        cast,
    })
}

use crate::credentials::dates::date;

/// Prints the report for a terminal.
pub fn print(r: &Report) {
    println!("holder {}", r.holder);
    let mirror_at = match r.mirror_block {
        Some(b) => format!(
            "block {b}{}",
            if r.mirror_final {
                ", final"
            } else {
                ", not yet final"
            }
        ),
        None => "nothing indexed yet".into(),
    };
    println!(
        "  chain answers at block {}; mirror at {mirror_at}",
        r.chain_block
    );
    if r.lines.is_empty() {
        println!("  no credentials");
    }
    for l in &r.lines {
        let show = |v: &View| {
            let mut s = format!("{}{}", if v.valid { "VALID " } else { "" }, v.status);
            if v.issued_at != 0 {
                s.push_str(&format!(", issued {}", date(v.issued_at)));
            }
            if v.expires_at != 0 {
                s.push_str(&format!(", expires {}", date(v.expires_at)));
            }
            if v.reason != 0 {
                s.push_str(&format!(", reason {}", v.reason));
            }
            s
        };
        println!(
            "  type {} {}\n    chain:  {}\n    mirror: {}",
            l.type_id,
            l.name,
            show(&l.chain),
            l.mirror.as_ref().map_or("no record".into(), show)
        );
    }
    println!("check it yourself:\n  {}", r.cast);
}
