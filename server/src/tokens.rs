//! The tokens this instance has lately seen belong to users, kept so that a chunk (the request
//! a phone sends by the hundred) costs one storage call, not two: the chunk's write itself
//! checks that the token is still the user's, in its own statement or transaction
//! ([`crate::storage::Storage::put_chunk`]), so an entry here is a hint for whom to write as,
//! never the authority. A token revoked or rotated in the database (by any instance, by
//! `pacenote serve user`, by hand) writes nothing from the moment it is committed; the first
//! write it is refused drops it from here.
//!
//! Must not: answer any request but a chunk's from here (the others look the token up; they
//! have no write to check it in); hold a token that was not found in the database; compare
//! tokens (it is keyed by their SHA-256, as the database is); grow without bound.

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries held at most; past it the cache starts again empty. A hundred thousand runners
/// uploading within the same minutes is far beyond one instance; an entry is ~200 bytes, so
/// the cache stays within ~20 MB whatever the number of users.
const MAX_TOKENS: usize = 100_000;

/// Token SHA-256 (hex) → user, for tokens found in the database.
#[derive(Debug, Default)]
pub struct KnownTokens {
    users: Mutex<HashMap<String, String>>,
}

impl KnownTokens {
    /// The user `token_sha256` belonged to when last found.
    pub fn user(&self, token_sha256: &str) -> Option<String> {
        self.users.lock().ok()?.get(token_sha256).cloned()
    }

    /// `token_sha256` was found to be `user`'s in the database.
    pub fn found(&self, token_sha256: &str, user: &str) {
        if let Ok(mut users) = self.users.lock() {
            if users.len() >= MAX_TOKENS {
                users.clear();
            }
            users.insert(token_sha256.to_owned(), user.to_owned());
        }
    }

    /// A write with `token_sha256` was refused: it is no longer (or never was) a user's.
    pub fn refused(&self, token_sha256: &str) {
        if let Ok(mut users) = self.users.lock() {
            users.remove(token_sha256);
        }
    }

    /// How many tokens are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.users.lock().map_or(0, |u| u.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_held_until_refused_and_the_cache_stays_bounded() {
        let known = KnownTokens::default();
        assert_eq!(known.user("h1"), None);
        known.found("h1", "alice");
        assert_eq!(known.user("h1").as_deref(), Some("alice"));
        known.refused("h1");
        assert_eq!(known.user("h1"), None);
        for i in 0..MAX_TOKENS + 10 {
            known.found(&format!("t{i}"), "bob");
        }
        assert!(known.len() <= MAX_TOKENS, "{}", known.len());
        assert_eq!(known.user(&format!("t{}", MAX_TOKENS + 9)).as_deref(), Some("bob"));
    }
}
