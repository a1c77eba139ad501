//! Credential documents: Open Badges 3.0 / W3C VC 2.0 `AchievementCredential`s, their canonical form and
//! hash (the on-chain evidence hash), and the issuer key that secures them as VC-JWTs.

pub mod canonical;
pub mod dates;
pub mod issuer_key;
pub mod ob3;
