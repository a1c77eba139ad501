//! Token ids: both registries pack a scope id (credential type or tier) and the holder into one id,
//! `id << 160 | holder`; a batch issuance entry packs the holder and its expiry, `expiresAt << 160 | holder`.

use alloy::primitives::{Address, B256, U256};

/// Token id of (scope id, holder): `id << 160 | holder`.
pub fn token_id(id: u64, holder: Address) -> U256 {
    (U256::from(id) << 160) | U256::from_be_slice(holder.as_slice())
}

/// The low 160 bits of a token id (or of a batch entry): the holder it was minted to.
pub fn holder_of(token: U256) -> Address {
    Address::from_word(B256::from(token))
}

/// The bits above the holder: the scope id of a token id (or the expiry of a batch entry), as the full word.
pub fn high_of(token: U256) -> U256 {
    token >> 160
}

/// A batch issuance entry: `expiresAt << 160 | holder`.
pub fn batch_entry(holder: Address, expires_at: u64) -> U256 {
    U256::from_be_slice(holder.as_slice()) | (U256::from(expires_at) << 160)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips() {
        let h = Address::repeat_byte(0xab);
        let t = token_id(7, h);
        assert_eq!(holder_of(t), h);
        assert_eq!(high_of(t), U256::from(7));
        let e = batch_entry(h, 1_900_000_000);
        assert_eq!(holder_of(e), h);
        assert_eq!(high_of(e), U256::from(1_900_000_000u64));
    }
}
