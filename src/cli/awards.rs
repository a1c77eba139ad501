//! `laurel awards create|list|resend|extend|withdraw`: awards to learners named by email, who claim them
//! with a link. `create` reads a CSV and writes the links as a CSV for the program's own mailer.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use anyhow::{bail, Context, Result};
use clap::Subcommand;

use crate::credentials::dates::date;
use crate::credentials::dates::unix_now as now;
use crate::issuance::claims::{award, claim_url, new_code, AwardInput, LINK_DAYS};
use crate::issuance::request::{parse_evidence, parse_expiry};
use crate::store::Store;

/// `laurel awards …`.
#[derive(Subcommand, Debug)]
pub enum AwardsCmd {
    /// Award credentials to learners by email: each CSV line (header: email, and optionally learner_id,
    /// type, expires, evidence, key) gets a claim link; the links are written as CSV (email, learner_id,
    /// award, claim_url, link_expires) for your mailer. Running the same CSV again awards nothing twice.
    Create {
        /// The CSV of learners.
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
        /// The credential type of lines without a `type` column.
        #[arg(long = "type", value_name = "ID")]
        type_id: Option<u64>,
        /// Days the links work (1-3650) [default: 90].
        #[arg(long, default_value_t = LINK_DAYS, value_parser = clap::value_parser!(u64).range(1..=3650))]
        days: u64,
        /// Where to write the links CSV [default: standard output].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List the awards: id, type, email, state, link expiry, holder.
    List,
    /// A new link for an open award (the old one stops working), printed once.
    Resend {
        /// The award's id.
        id: i64,
        /// Days the new link works (1-3650) [default: 90].
        #[arg(long, default_value_t = LINK_DAYS, value_parser = clap::value_parser!(u64).range(1..=3650))]
        days: u64,
    },
    /// Keep an open award's link working `days` more days from now.
    Extend {
        /// The award's id.
        id: i64,
        /// Days from now (0 ends the link now, up to 3650).
        #[arg(long, value_parser = clap::value_parser!(u64).range(0..=3650))]
        days: u64,
    },
    /// Withdraw an open award: its link stops working for good.
    Withdraw {
        /// The award's id.
        id: i64,
    },
}

/// One CSV line as an award, or why not.
fn line_of(
    headers: &csv::StringRecord,
    rec: &csv::StringRecord,
    default_type: Option<u64>,
    base: &Path,
) -> Result<AwardInput, String> {
    let get = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .and_then(|i| rec.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let email = get("email").ok_or("no email")?.to_string();
    let type_id = match get("type") {
        Some(t) => t
            .parse::<u64>()
            .map_err(|_| format!("type {t:?} is not a type id"))?,
        None => default_type.ok_or("no type (give a type column or --type)")?,
    };
    Ok(AwardInput {
        email,
        learner_id: get("learner_id").map(str::to_string),
        type_id,
        expires_at: get("expires")
            .map_or(Ok(0), parse_expiry)
            .map_err(|e| e.to_string())?,
        evidence: get("evidence")
            .map_or(Ok(B256::ZERO), |e| parse_evidence(e, base))
            .map_err(|e| e.to_string())?,
        key: get("key").map(str::to_string),
    })
}

/// `laurel awards create`: returns how many lines failed.
async fn create(
    store: &Store,
    chain: (u64, u64),
    site: &str,
    actor: &str,
    (csv_path, default_type, days, out): (&Path, Option<u64>, u64, Option<&Path>),
) -> Result<usize> {
    let mut reader = csv::Reader::from_path(csv_path)
        .with_context(|| format!("cannot read {}", csv_path.display()))?;
    let headers = reader.headers()?.clone();
    if !headers
        .iter()
        .any(|h| h.trim().eq_ignore_ascii_case("email"))
    {
        bail!(
            "{} has no email column (header line: email, learner_id, type, expires, evidence, key)",
            csv_path.display()
        );
    }
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let mut links = csv::Writer::from_writer(Vec::new());
    links.write_record(["email", "learner_id", "award", "claim_url", "link_expires"])?;
    let (mut made, mut again, mut bad) = (0, 0, 0);
    for (n, rec) in reader.records().enumerate() {
        let line = n + 2;
        let input = rec
            .map_err(|e| e.to_string())
            .and_then(|r| line_of(&headers, &r, default_type, base));
        let input = match input {
            Ok(i) => i,
            Err(e) => {
                eprintln!("line {line}: {e}");
                bad += 1;
                continue;
            }
        };
        match award(store, chain, actor, &input, days, now()).await {
            Ok((a, Some(code))) => {
                let url = claim_url(site, &code);
                let learner = a.learner_id.clone().unwrap_or_default();
                links.write_record([
                    a.email.as_str(),
                    &learner,
                    &a.id.to_string(),
                    &url,
                    &date(a.code_expires_at),
                ])?;
                made += 1;
            }
            Ok((a, None)) => {
                eprintln!("line {line}: already awarded as award {} ({}); `laurel awards resend {}` makes a new link", a.id, a.state, a.id);
                again += 1;
            }
            Err(e) => {
                eprintln!("line {line}: {e}");
                bad += 1;
            }
        }
    }
    let bytes = links.into_inner()?;
    match out {
        Some(p) => {
            std::fs::write(p, &bytes).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    eprintln!("{made} new award(s) with a link, {again} awarded before, {bad} line(s) refused");
    Ok(bad)
}

/// Runs `laurel awards` on `node`'s chain, whose site (for the links) is `site`; `actor` names the caller.
pub async fn run(
    store: &Store,
    node: &crate::chain::Node,
    site: &str,
    actor: &str,
    cmd: AwardsCmd,
) -> Result<usize> {
    let chain_id = node.chain_id();
    match cmd {
        AwardsCmd::Create {
            csv,
            type_id,
            days,
            out,
        } => {
            let types = crate::issuance::claims::type_count(node).await?;
            return create(
                store,
                (chain_id, types),
                site,
                actor,
                (&csv, type_id, days, out.as_deref()),
            )
            .await;
        }
        AwardsCmd::List => {
            println!(
                "{:<6} {:<5} {:<32} {:<10} {:<11} holder",
                "id", "type", "email", "state", "link until"
            );
            for a in store.awards(chain_id).await? {
                let holder = a.holder.map_or_else(|| "-".to_string(), |h| h.to_string());
                println!(
                    "{:<6} {:<5} {:<32} {:<10} {:<11} {holder}",
                    a.id,
                    a.type_id,
                    a.email,
                    a.state,
                    date(a.code_expires_at)
                );
            }
        }
        AwardsCmd::Resend { id, days } => {
            let (code, hash) = new_code();
            if !store
                .renew_award_code(id, Some(hash), now() + days * 86_400, actor, "award.resend")
                .await?
            {
                bail!("award {id} is not open (claimed, withdrawn or unknown): `laurel awards list` shows them");
            }
            println!("{}", claim_url(site, &code));
        }
        AwardsCmd::Extend { id, days } => {
            if !store
                .renew_award_code(id, None, now() + days * 86_400, actor, "award.extend")
                .await?
            {
                bail!("award {id} is not open (claimed, withdrawn or unknown): `laurel awards list` shows them");
            }
            println!(
                "award {id}: its link works until {}",
                date(now() + days * 86_400)
            );
        }
        AwardsCmd::Withdraw { id } => {
            if !store.withdraw_award(id, actor).await? {
                bail!("award {id} is not open (claimed, withdrawn or unknown): `laurel awards list` shows them");
            }
            println!("award {id} withdrawn: its link no longer works");
        }
    }
    Ok(0)
}
