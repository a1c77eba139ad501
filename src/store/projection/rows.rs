//! How the domain's records travel to and from the projection tables: one codec per field type
//! ([`Column`]), one per key type ([`Key`]), and one description per table ([`Projection`], from which
//! the SELECT lists, the key filters and the UNNEST upserts are built).

use alloy::primitives::{Address, Bytes, B256, U256};
use sqlx::postgres::{PgArguments, PgHasArrayType, PgRow};
use sqlx::{Postgres, Row};

use super::{addr, corrupt, id_array, tbl, u256, word};
use crate::domain::{
    CredentialRow, CredentialTypeRow, GovernanceOpRow, MembershipRow, OpKey, OpState, Registry,
    RegistryStateRow, RoleKey, RoleRow, RoleScope, TierRow,
};
use crate::store::StoreError;

/// A statement with its parameters.
pub(in crate::store) type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// How a field of a domain record travels to and from its column.
pub(in crate::store) trait Column: Sized {
    /// The value bound for the column (an element of its UNNEST array).
    type Enc: for<'e> sqlx::Encode<'e, Postgres> + sqlx::Type<Postgres> + PgHasArrayType + 'static;
    /// The value the column reads back as.
    type Dec: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>;
    /// SQL type of the UNNEST array's elements.
    const SQL: &'static str;
    /// Cast from the UNNEST element to the column's type ("" when they are the same).
    const CAST: &'static str = "";
    /// The value to bind.
    fn enc(&self) -> Self::Enc;
    /// The field from the column's value.
    fn dec(v: Self::Dec) -> Result<Self, StoreError>;
}

/// Unsigned integers as the signed SQL integer that holds them (ids, blocks and times fit in 63 bits).
macro_rules! integer_columns {
    ($($t:ty => $db:ty, $sql:literal;)+) => {$(
        impl Column for $t {
            type Enc = $db;
            type Dec = $db;
            const SQL: &'static str = $sql;
            fn enc(&self) -> $db {
                *self as $db
            }
            fn dec(v: $db) -> Result<Self, StoreError> {
                Ok(v as $t)
            }
        }
    )+};
}

integer_columns! {
    u64 => i64, "bigint";
    u32 => i64, "bigint";
    u16 => i32, "int";
    u8 => i16, "smallint";
}

/// Byte strings (words, addresses, hashes, calldata) as BYTEA.
macro_rules! bytes_columns {
    ($($t:ty: |$e:ident| $enc:expr, |$d:ident| $dec:expr;)+) => {$(
        impl Column for $t {
            type Enc = Vec<u8>;
            type Dec = Vec<u8>;
            const SQL: &'static str = "bytea";
            fn enc(&self) -> Vec<u8> {
                let $e = self;
                $enc
            }
            fn dec($d: Vec<u8>) -> Result<Self, StoreError> {
                Ok($dec)
            }
        }
    )+};
}

bytes_columns! {
    U256: |v| word(v).to_vec(), |v| u256(&v);
    Address: |v| v.to_vec(), |v| addr(&v);
    B256: |v| v.to_vec(), |v| B256::from_slice(&v);
    Bytes: |v| v.to_vec(), |v| Bytes::from(v);
}

/// Names stored as TEXT; a name the domain does not know reads back as corrupt data.
macro_rules! name_columns {
    ($($t:ty, $what:literal;)+) => {$(
        impl Column for $t {
            type Enc = &'static str;
            type Dec = String;
            const SQL: &'static str = "text";
            fn enc(&self) -> &'static str {
                self.as_str()
            }
            fn dec(v: String) -> Result<Self, StoreError> {
                <$t>::parse(&v).ok_or_else(|| corrupt(format!(concat!("unknown ", $what, " {:?}"), v)))
            }
        }
    )+};
}

name_columns! {
    RoleScope, "role scope";
    OpState, "operation state";
    Registry, "registry";
}

impl Column for bool {
    type Enc = bool;
    type Dec = bool;
    const SQL: &'static str = "bool";
    fn enc(&self) -> bool {
        *self
    }
    fn dec(v: bool) -> Result<Self, StoreError> {
        Ok(v)
    }
}

impl Column for String {
    type Enc = String;
    type Dec = String;
    const SQL: &'static str = "text";
    fn enc(&self) -> String {
        self.clone()
    }
    fn dec(v: String) -> Result<Self, StoreError> {
        Ok(v)
    }
}

/// Id lists (BIGINT[]) travel as array literals: UNNEST cannot take an array of arrays.
impl Column for Vec<u64> {
    type Enc = String;
    type Dec = Vec<i64>;
    const SQL: &'static str = "text";
    const CAST: &'static str = "::bigint[]";
    fn enc(&self) -> String {
        id_array(self)
    }
    fn dec(v: Vec<i64>) -> Result<Self, StoreError> {
        Ok(v.into_iter().map(|p| p as u64).collect())
    }
}

/// A nullable column: None is SQL NULL.
impl<T: Column> Column for Option<T> {
    type Enc = Option<T::Enc>;
    type Dec = Option<T::Dec>;
    const SQL: &'static str = T::SQL;
    const CAST: &'static str = T::CAST;
    fn enc(&self) -> Self::Enc {
        self.as_ref().map(T::enc)
    }
    fn dec(v: Self::Dec) -> Result<Self, StoreError> {
        v.map(T::dec).transpose()
    }
}

/// Binds one array parameter: the column `field` of every item.
pub(in crate::store) fn bind_column<'q, R, T: Column>(
    q: PgQuery<'q>,
    items: &[R],
    field: impl Fn(&R) -> &T,
) -> PgQuery<'q> {
    q.bind(items.iter().map(|r| field(r).enc()).collect::<Vec<_>>())
}

/// The key of a projection table: its leading column(s).
pub(in crate::store) trait Key: Sized {
    /// How many leading columns of the table form the key.
    const COLUMNS: usize;
    /// Binds the keys as one array parameter per key column.
    fn bind<'q>(q: PgQuery<'q>, keys: &[Self]) -> PgQuery<'q>;
}

impl<T: Column> Key for T {
    const COLUMNS: usize = 1;
    fn bind<'q>(q: PgQuery<'q>, keys: &[Self]) -> PgQuery<'q> {
        bind_column(q, keys, |k| k)
    }
}

impl Key for RoleKey {
    const COLUMNS: usize = 3;
    fn bind<'q>(q: PgQuery<'q>, keys: &[Self]) -> PgQuery<'q> {
        let q = bind_column(q, keys, |k| &k.scope);
        let q = bind_column(q, keys, |k| &k.scope_id);
        bind_column(q, keys, |k| &k.account)
    }
}

impl Key for OpKey {
    const COLUMNS: usize = 2;
    fn bind<'q>(q: PgQuery<'q>, keys: &[Self]) -> PgQuery<'q> {
        let q = bind_column(q, keys, |k| &k.operation_id);
        bind_column(q, keys, |k| &k.nonce)
    }
}

/// One column of a projection table.
pub(in crate::store) struct ColumnDef {
    /// Column (and record field) name.
    pub(in crate::store) name: &'static str,
    /// SQL type of its UNNEST array's elements.
    pub(in crate::store) sql: &'static str,
    /// Cast to the column's type.
    pub(in crate::store) cast: &'static str,
}

/// A projection table and the domain record of one of its rows (besides `chain_id`).
pub(in crate::store) trait Projection: Sized + Sync {
    /// Key of a row.
    type Key: Key + Sync;
    /// Table name.
    const TABLE: &'static str;
    /// The columns, key first, named as the record's fields.
    const COLUMNS: &'static [ColumnDef];
    /// Binds the rows as one array parameter per column.
    fn bind_rows<'q>(q: PgQuery<'q>, rows: &[Self]) -> PgQuery<'q>;
    /// The record of a row read with [`Projection::columns`].
    fn from_row(row: &PgRow) -> Result<Self, StoreError>;

    /// The column list, each column prefixed with `alias` (e.g. `"c."`, or "").
    fn columns(alias: &str) -> String {
        let names: Vec<String> = Self::COLUMNS
            .iter()
            .map(|c| format!("{alias}{}", c.name))
            .collect();
        names.join(", ")
    }

    /// `SELECT` of the columns from the table `WHERE filter` (the filter may go on with ORDER BY or FOR UPDATE).
    fn select(filter: &str) -> String {
        format!(
            "SELECT {} FROM {} WHERE {filter}",
            Self::columns(""),
            Self::TABLE
        )
    }

    /// `chain_id = $1` and the key in the keys bound from `$2` on.
    fn key_filter() -> String {
        let key = &Self::COLUMNS[..<Self::Key as Key>::COLUMNS];
        if let [c] = key {
            return format!("chain_id = $1 AND {} = ANY($2)", c.name);
        }
        let names: Vec<&str> = key.iter().map(|c| c.name).collect();
        let arrays: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(n, c)| format!("${}::{}[]", n + 2, c.sql))
            .collect();
        format!(
            "chain_id = $1 AND ({}) IN (SELECT * FROM UNNEST({}))",
            names.join(", "),
            arrays.join(", ")
        )
    }

    /// One statement that inserts or replaces the rows bound from `$2` on (`$1`: the chain).
    fn upsert_sql() -> String {
        let cols = Self::COLUMNS;
        let names = Self::columns("");
        let values: Vec<String> = cols
            .iter()
            .map(|c| format!("u.{}{}", c.name, c.cast))
            .collect();
        let arrays: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(n, c)| format!("${}::{}[]", n + 2, c.sql))
            .collect();
        let key: Vec<&str> = cols[..<Self::Key as Key>::COLUMNS]
            .iter()
            .map(|c| c.name)
            .collect();
        let set: Vec<String> = cols[<Self::Key as Key>::COLUMNS..]
            .iter()
            .map(|c| format!("{0} = EXCLUDED.{0}", c.name))
            .collect();
        format!(
            "INSERT INTO {} (chain_id, {names}) SELECT $1, {} FROM UNNEST({}) AS u({names})
             ON CONFLICT (chain_id, {}) DO UPDATE SET {}",
            Self::TABLE,
            values.join(", "),
            arrays.join(", "),
            key.join(", "),
            set.join(", ")
        )
    }
}

/// Describes a projection table by its record's fields, in column order (key first).
macro_rules! projection {
    ($row:ty: $key:ty, $table:expr, { $($f:ident: $t:ty,)+ }) => {
        impl Projection for $row {
            type Key = $key;
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [ColumnDef] = &[$(ColumnDef {
                name: stringify!($f),
                sql: <$t as Column>::SQL,
                cast: <$t as Column>::CAST,
            }),+];
            fn bind_rows<'q>(q: PgQuery<'q>, rows: &[Self]) -> PgQuery<'q> {
                $(let q = bind_column(q, rows, |r| &r.$f);)+
                q
            }
            fn from_row(row: &PgRow) -> Result<Self, StoreError> {
                Ok(Self {
                    $($f: <$t as Column>::dec(row.try_get(stringify!($f))?)?,)+
                })
            }
        }
    };
}

projection!(CredentialRow: U256, tbl::CREDENTIALS, {
    token_id: U256,
    type_id: u64,
    holder: Address,
    issuer: Address,
    issued_at: u64,
    expires_at: u64,
    status: u8,
    reason: u8,
    evidence_hash: B256,
    issued_block: u64,
    issued_tx: B256,
    updated_block: u64,
    recovered_from: Option<Address>,
    recovered_to: Option<Address>,
});

projection!(CredentialTypeRow: u64, tbl::CREDENTIAL_TYPES, {
    type_id: u64,
    name: String,
    uri: String,
    default_validity: u64,
    max_validity: u64,
    renewal_window: u64,
    max_supply: u32,
    quota_limit: u32,
    quota_period: u32,
    flags: u16,
    prerequisites: Vec<u64>,
    paused: bool,
    supply: u64,
    defined_block: u64,
    updated_block: u64,
});

projection!(TierRow: u64, tbl::TIERS, {
    tier_id: u64,
    name: String,
    uri: String,
    duration: u64,
    holder_renewable: bool,
    transferable: bool,
    max_members: u64,
    eligibility: Vec<u64>,
    paused: bool,
    members: u64,
    defined_block: u64,
    updated_block: u64,
});

projection!(MembershipRow: U256, tbl::MEMBERSHIPS, {
    token_id: U256,
    tier_id: u64,
    holder: Address,
    original_holder: Address,
    expires_at: u64,
    granted_at: u64,
    status: u8,
    reason: u8,
    granted_by: Option<Address>,
    granted_block: u64,
    granted_tx: B256,
    moved_from: Option<U256>,
    moved_to: Option<U256>,
    updated_block: u64,
});

projection!(RoleRow: RoleKey, tbl::ROLES, {
    scope: RoleScope,
    scope_id: u64,
    account: Address,
    bits: u8,
    since: Option<u64>,
    delay: Option<u64>,
    granted_block: u64,
    updated_block: u64,
});

projection!(GovernanceOpRow: OpKey, tbl::GOVERNANCE_OPS, {
    operation_id: B256,
    nonce: u32,
    schedule: Option<u64>,
    caller: Option<Address>,
    target: Option<Address>,
    data: Option<Bytes>,
    state: OpState,
    scheduled_block: Option<u64>,
    scheduled_tx: Option<B256>,
    updated_block: u64,
});

projection!(RegistryStateRow: Registry, tbl::REGISTRY_STATE, {
    registry: Registry,
    paused: bool,
    base_uri: Option<String>,
    updated_block: Option<u64>,
});

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn a_composite_key_is_matched_against_one_unnest_of_its_columns() {
        assert_eq!(
            RoleRow::key_filter(),
            "chain_id = $1 AND (scope, scope_id, account) IN \
             (SELECT * FROM UNNEST($2::text[], $3::bigint[], $4::bytea[]))"
        );
        assert_eq!(
            CredentialRow::key_filter(),
            "chain_id = $1 AND token_id = ANY($2)"
        );
    }

    #[test]
    fn the_upsert_names_every_column_once_and_updates_all_but_the_key() {
        assert_eq!(
            flat(&RegistryStateRow::upsert_sql()),
            "INSERT INTO registry_state (chain_id, registry, paused, base_uri, updated_block) \
             SELECT $1, u.registry, u.paused, u.base_uri, u.updated_block \
             FROM UNNEST($2::text[], $3::bool[], $4::text[], $5::bigint[]) \
             AS u(registry, paused, base_uri, updated_block) \
             ON CONFLICT (chain_id, registry) DO UPDATE SET paused = EXCLUDED.paused, \
             base_uri = EXCLUDED.base_uri, updated_block = EXCLUDED.updated_block"
        );
        let tiers = TierRow::upsert_sql();
        assert!(tiers.contains("u.eligibility::bigint[]"), "{tiers}");
        assert!(tiers.contains("$9::text[]"), "{tiers}");
    }
}
