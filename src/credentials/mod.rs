//! Credential documents: Open Badges 3.0 / W3C VC 2.0 `AchievementCredential`s, their canonical form and
//! hash (the on-chain evidence hash), the issuer key that secures them as VC-JWTs, and the ERC-721 metadata
//! and badge images wallets show. May import `domain`, `chain`, `store` and `config`; nothing above.

pub mod canonical;
pub mod dates;
pub mod issuer_key;
pub mod metadata;
pub mod ob3;
