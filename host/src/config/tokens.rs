//! Client tokens and their names (`CLIENT_TOKENS`, `CLIENT_TOKENS_FILE`).
//!
//! Each entry is `name:token` or a bare `token`. The name is what operators see (the sessions
//! API, usage per client, logs); the token itself is a secret and is never shown. A bare token
//! is named by its position (`token-1`, `token-2`, …) so usage can still be told apart. Tokens
//! never contain `:` in the formats in use (hex, base64, JWT, `sk-…`), which is why the name
//! is separated by it.

use crate::secret::Secret;
use anyhow::bail;
use subtle::ConstantTimeEq;

/// Shortest token accepted: a shorter one is guessable.
const MIN_TOKEN_CHARS: usize = 16;
/// Longest name: it is a metric label and a column in the console.
const MAX_NAME_CHARS: usize = 64;

/// One configured token and the name operators know it by.
#[derive(Debug, Clone)]
pub struct ClientToken {
    name: String,
    secret: Secret,
}

impl ClientToken {
    /// Parse the `position`-th entry (1-based), `name:token` or `token`.
    pub fn parse(entry: &str, position: usize) -> anyhow::Result<ClientToken> {
        let (name, token) = match entry.split_once(':') {
            Some((name, token)) => (name.trim().to_string(), token.trim()),
            None => (format!("token-{position}"), entry.trim()),
        };
        let name_ok = !name.is_empty()
            && name.len() <= MAX_NAME_CHARS
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            bail!(
                "CLIENT_TOKENS: entry {position} has the name {name:?}; a name is 1 to {MAX_NAME_CHARS} of A-Z a-z 0-9 - _ ."
            );
        }
        if token.chars().count() < MIN_TOKEN_CHARS {
            bail!(
                "CLIENT_TOKENS: the token of entry {position} ({name}) has {} characters, too short to be safe (at least {MIN_TOKEN_CHARS})",
                token.chars().count()
            );
        }
        Ok(ClientToken {
            name,
            secret: Secret::new(token),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The configured tokens; empty means clients need none.
#[derive(Debug, Clone, Default)]
pub struct ClientTokens {
    tokens: Vec<ClientToken>,
}

impl ClientTokens {
    /// Tokens from their entries, in order; names must be unique.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> anyhow::Result<ClientTokens> {
        let mut tokens: Vec<ClientToken> = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let token = ClientToken::parse(entry, i + 1)?;
            if tokens.iter().any(|t| t.name == token.name) {
                bail!(
                    "CLIENT_TOKENS: the name {:?} is given to two tokens (entry {})",
                    token.name,
                    i + 1
                );
            }
            tokens.push(token);
        }
        Ok(ClientTokens { tokens })
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The name of the configured token among `presented`, if any. Every presented value is
    /// compared with every token in constant time, so timing tells nothing of which matched.
    pub fn matching(&self, presented: &[&str]) -> Option<&str> {
        let mut found = None;
        for token in &self.tokens {
            let mut hit = subtle::Choice::from(0u8);
            for value in presented {
                hit |= value.as_bytes().ct_eq(token.secret.expose().as_bytes());
            }
            if bool::from(hit) && found.is_none() {
                found = Some(token.name.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_bare_entries() {
        let tokens =
            ClientTokens::parse(["mobile:0123456789abcdef", "fedcba9876543210"]).expect("valid");
        assert_eq!(tokens.matching(&["0123456789abcdef"]), Some("mobile"));
        assert_eq!(tokens.matching(&["x", "fedcba9876543210"]), Some("token-2"));
        assert_eq!(tokens.matching(&["mobile:0123456789abcdef"]), None);
        assert_eq!(tokens.matching(&[]), None);
    }

    #[test]
    fn bad_entries_are_named() {
        let short = ClientTokens::parse(["web:tiny-secret"])
            .unwrap_err()
            .to_string();
        assert!(short.contains("entry 1 (web)"), "{short}");
        assert!(
            !short.contains("tiny-secret"),
            "the token is not shown: {short}"
        );
        let name = ClientTokens::parse(["a b:0123456789abcdef"])
            .unwrap_err()
            .to_string();
        assert!(name.contains("entry 1"), "{name}");
        let twice = ClientTokens::parse(["a:0123456789abcdef", "a:0123456789abcdeg"])
            .unwrap_err()
            .to_string();
        assert!(
            twice.contains("\"a\" is given to two tokens (entry 2)"),
            "{twice}"
        );
    }
}
