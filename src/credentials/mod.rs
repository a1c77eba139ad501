//! Credential documents: Open Badges 3.0 / W3C VC 2.0 `AchievementCredential`s, their canonical form and
//! hash (the on-chain evidence hash), the issuer keys and DID that secure them (VC-JWTs, Data Integrity
//! proofs), their Bitstring status lists, and the ERC-721 metadata and badge images wallets show. May
//! import `domain`, `chain`, `store` and `config`; nothing above.

pub mod baking;
pub mod canonical;
pub mod dates;
pub mod did;
pub mod drawing;
pub mod integrity;
pub mod jwt;
pub mod keys;
pub mod metadata;
pub mod ob3;
pub mod presented;
pub mod rdfc;
pub mod secure;
pub mod status_list;
