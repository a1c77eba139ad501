//! Turning what an admin typed (flags or CSV lines) into issuance requests: addresses checked (EIP-55 when
//! mixed case), expiries as unix seconds or dates, evidence as a hash or a file to hash, and an idempotency
//! key (the caller's, or one derived from the content: [`super::idempotency`]) so that re-running the same
//! CSV queues nothing twice.

use std::path::Path;

use alloy::primitives::{keccak256, Address, B256};

use super::idempotency::{explicit_key, keyed, Content};
use crate::domain::TypeId;
use crate::store::issuance::NewRequest;

/// Why one input could not become a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Not an address.
    #[error("{0:?} is not an address (0x followed by 40 hex digits)")]
    BadAddress(String),
    /// Mixed-case address whose checksum is wrong (a typo).
    #[error("{0} has a wrong EIP-55 checksum (mixed case that does not match); check for a typo")]
    BadChecksum(String),
    /// The zero address.
    #[error("the holder is the zero address")]
    ZeroAddress,
    /// Not a type id.
    #[error("{0:?} is not a credential type id: ids are whole numbers from 1 (see `laurel gov type list`)")]
    BadType(String),
    /// Not an expiry.
    #[error("{0:?} is not an expiry: use unix seconds, YYYY-MM-DD, or leave it empty for the type's default")]
    BadExpiry(String),
    /// Evidence neither a hash nor a readable file.
    #[error("evidence {0:?} is neither a 0x 32-byte hash nor a readable file")]
    BadEvidence(String),
    /// A CSV line has the wrong shape.
    #[error("{0}")]
    BadLine(String),
}

/// Parses a holder address; mixed-case input must carry a valid EIP-55 checksum.
pub fn parse_address(s: &str) -> Result<Address, InputError> {
    let s = s.trim();
    let hex = s
        .strip_prefix("0x")
        .ok_or_else(|| InputError::BadAddress(s.into()))?;
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(InputError::BadAddress(s.into()));
    }
    let mixed =
        hex.chars().any(|c| c.is_ascii_lowercase()) && hex.chars().any(|c| c.is_ascii_uppercase());
    let a = if mixed {
        Address::parse_checksummed(s, None).map_err(|_| InputError::BadChecksum(s.into()))?
    } else {
        s.parse::<Address>()
            .map_err(|_| InputError::BadAddress(s.into()))?
    };
    if a.is_zero() {
        return Err(InputError::ZeroAddress);
    }
    Ok(a)
}

/// Parses a credential type id.
pub fn parse_type(s: &str) -> Result<TypeId, InputError> {
    s.parse().map_err(|_| InputError::BadType(s.into()))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an expiry: empty = 0 (the type's default), unix seconds, or `YYYY-MM-DD` (midnight UTC).
pub fn parse_expiry(s: &str) -> Result<u64, InputError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(n) = s.parse::<u64>() {
        return if n < (1 << 40) {
            Ok(n)
        } else {
            Err(InputError::BadExpiry(s.into()))
        };
    }
    let parts: Vec<&str> = s.split('-').collect();
    if let [y, m, d] = parts[..] {
        if let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<i64>(), d.parse::<i64>()) {
            let dim = [
                31,
                28 + i64::from(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)),
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            if (1970..=9999).contains(&y)
                && (1..=12).contains(&m)
                && d >= 1
                && d <= dim[(m - 1) as usize]
            {
                return Ok((days_from_civil(y, m, d) * 86_400) as u64);
            }
        }
    }
    Err(InputError::BadExpiry(s.into()))
}

/// Parses evidence: empty = zero hash, a 0x 32-byte hash, or a file (relative to `base`) whose keccak-256 is
/// taken.
pub fn parse_evidence(s: &str, base: &Path) -> Result<B256, InputError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(B256::ZERO);
    }
    if s.starts_with("0x") && s.len() == 66 {
        return s.parse().map_err(|_| InputError::BadEvidence(s.into()));
    }
    let path = base.join(s);
    std::fs::read(&path)
        .map(keccak256)
        .map_err(|_| InputError::BadEvidence(s.into()))
}

/// One CSV line that became a request, or the reason it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLine {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// The request, or why the line was rejected.
    pub parsed: Result<NewRequest, InputError>,
}

/// Reads an issuance CSV. Columns (header required, any order): `holder` (required), `type` (required unless
/// `default_type` is given), `expires`, `evidence` (hash, or a file relative to the CSV), `key` (an explicit
/// idempotency key). Every line is reported: valid lines become requests, bad lines carry their error.
pub fn read_csv(
    path: &Path,
    chain_id: u64,
    default_type: Option<TypeId>,
) -> Result<Vec<CsvLine>, InputError> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .comment(Some(b'#'))
        .from_path(path)
        .map_err(|e| InputError::BadLine(format!("cannot read {}: {e}", path.display())))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| InputError::BadLine(format!("{}: no header line: {e}", path.display())))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let holder_col = col("holder").ok_or_else(|| {
        InputError::BadLine(format!(
            "{}: the header has no `holder` column (columns: holder,type,expires,evidence,key)",
            path.display()
        ))
    })?;
    let (type_col, expires_col, evidence_col, key_col) =
        (col("type"), col("expires"), col("evidence"), col("key"));
    if type_col.is_none() && default_type.is_none() {
        return Err(InputError::BadLine(format!(
            "{}: no `type` column; add one or pass --type",
            path.display()
        )));
    }
    let source = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    for record in reader.records() {
        let (line, parsed) = match record {
            Err(e) => (
                e.position().map_or(0, |p| p.line()),
                Err(InputError::BadLine(format!("unreadable line: {e}"))),
            ),
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line());
                let get = |c: Option<usize>| c.and_then(|c| r.get(c)).unwrap_or("");
                let parsed = (|| {
                    let holder = parse_address(get(Some(holder_col)))?;
                    let type_id = match type_col.map(|c| get(Some(c))).filter(|s| !s.is_empty()) {
                        Some(t) => parse_type(t)?,
                        None => default_type.ok_or_else(|| InputError::BadType(String::new()))?,
                    };
                    let expires_at = parse_expiry(get(expires_col))?;
                    let evidence_hash = parse_evidence(get(evidence_col), base)?;
                    let key = get(key_col);
                    let key = Some(key)
                        .filter(|k| !k.is_empty())
                        .map(explicit_key)
                        .transpose();
                    let key = key.map_err(|e| InputError::BadLine(e.to_string()))?;
                    let evidence = evidence_hash;
                    let content = Content {
                        type_id,
                        holder,
                        expires_at,
                        evidence,
                    };
                    Ok(keyed(
                        chain_id,
                        key,
                        content,
                        format!("csv:{source}:{line}"),
                        None,
                    ))
                })();
                (line, parsed)
            }
        };
        out.push(CsvLine { line, parsed });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_checksums_and_zero() {
        let good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert!(parse_address(good).is_ok());
        assert!(parse_address(&good.to_ascii_lowercase()).is_ok());
        let typo = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        assert_eq!(
            parse_address(typo),
            Err(InputError::BadChecksum(typo.into()))
        );
        assert!(matches!(
            parse_address("0x123"),
            Err(InputError::BadAddress(_))
        ));
        assert_eq!(
            parse_address("0x0000000000000000000000000000000000000000"),
            Err(InputError::ZeroAddress)
        );
    }

    #[test]
    fn expiries() {
        assert_eq!(parse_expiry(""), Ok(0));
        assert_eq!(parse_expiry("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_expiry("1970-01-02"), Ok(86_400));
        assert_eq!(parse_expiry("2027-06-30"), Ok(1_814_313_600));
        assert_eq!(parse_expiry("2024-02-29"), Ok(1_709_164_800));
        assert!(parse_expiry("2023-02-29").is_err());
        assert!(parse_expiry("tomorrow").is_err());
    }
}
