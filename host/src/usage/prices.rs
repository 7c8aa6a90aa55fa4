//! What tokens cost: a price table per model (USD per million tokens, by the six kinds of
//! [`Tokens`]), built in for the current Realtime models or read from `PRICES_FILE` (TOML),
//! which replaces it. The table says when its prices were taken: estimates are only as
//! current as that date.

use super::tokens::Tokens;
use anyhow::{Context, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Prices of one model, per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub input_text: f64,
    pub cached_text: f64,
    pub output_text: f64,
    pub input_audio: f64,
    pub cached_audio: f64,
    pub output_audio: f64,
}

impl Prices {
    fn fields(&self) -> [f64; 6] {
        // In the order of `Tokens::fields`.
        [
            self.input_text,
            self.input_audio,
            self.cached_text,
            self.cached_audio,
            self.output_text,
            self.output_audio,
        ]
    }

    /// The cost of `tokens`, in the table's currency.
    pub fn cost(&self, tokens: &Tokens) -> f64 {
        let per_token = self.fields();
        tokens
            .fields()
            .iter()
            .zip(per_token)
            .map(|(n, price)| *n as f64 * price / 1e6)
            .sum()
    }
}

/// The price table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// When the prices were taken (free text, a date).
    pub taken: String,
    #[serde(default = "usd")]
    pub currency: String,
    pub models: BTreeMap<String, Prices>,
}

fn usd() -> String {
    "USD".into()
}

/// The built-in table: OpenAI's published Realtime prices as of `taken`.
const BUILT_IN: &str = r#"
taken = "2025-10 (openai.com/api/pricing, Realtime API)"
currency = "USD"

[models."gpt-realtime"]
input_text = 4.0
cached_text = 0.4
output_text = 16.0
input_audio = 32.0
cached_audio = 0.4
output_audio = 64.0

[models."gpt-realtime-mini"]
input_text = 0.6
cached_text = 0.06
output_text = 2.4
input_audio = 10.0
cached_audio = 0.3
output_audio = 20.0

[models."gpt-4o-realtime-preview"]
input_text = 5.0
cached_text = 2.5
output_text = 20.0
input_audio = 40.0
cached_audio = 2.5
output_audio = 80.0

[models."gpt-4o-mini-realtime-preview"]
input_text = 0.6
cached_text = 0.3
output_text = 2.4
input_audio = 10.0
cached_audio = 0.3
output_audio = 20.0
"#;

impl PriceTable {
    pub fn built_in() -> PriceTable {
        PriceTable::parse(BUILT_IN, "the built-in price table")
            .expect("the built-in table is valid")
    }

    /// `PRICES_FILE`, refused with the file, model and field named when it is not a table.
    pub fn from_file(path: &Path) -> anyhow::Result<PriceTable> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("PRICES_FILE: cannot read {}", path.display()))?;
        PriceTable::parse(&text, &format!("PRICES_FILE {}", path.display()))
    }

    fn parse(text: &str, what: &str) -> anyhow::Result<PriceTable> {
        let table: PriceTable = toml::from_str(text).with_context(|| what.to_string())?;
        for (model, prices) in &table.models {
            if let Some(bad) = prices.fields().iter().find(|p| !p.is_finite() || **p < 0.0) {
                bail!("{what}: model {model:?} has the price {bad}; prices are ≥ 0");
            }
        }
        Ok(table)
    }

    /// The prices of `model`: its own entry, else the longest entry it begins with followed
    /// by `-` (a dated snapshot such as `gpt-realtime-2025-08-28` is priced as `gpt-realtime`).
    pub fn prices(&self, model: &str) -> Option<(&str, &Prices)> {
        if let Some((name, prices)) = self.models.get_key_value(model) {
            return Some((name, prices));
        }
        self.models
            .iter()
            .filter(|(name, _)| {
                model
                    .strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(name, prices)| (name.as_str(), prices))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_priced_by_their_family() {
        let table = PriceTable::built_in();
        assert_eq!(
            table.prices("gpt-realtime").map(|p| p.0),
            Some("gpt-realtime")
        );
        assert_eq!(
            table.prices("gpt-realtime-mini-2025-10-06").map(|p| p.0),
            Some("gpt-realtime-mini")
        );
        assert_eq!(table.prices("gpt-realtimeX"), None);
        assert_eq!(table.prices("voxgate-simulator"), None);
        let tokens = Tokens {
            input_text: 1_000_000,
            output_audio: 500_000,
            ..Tokens::default()
        };
        let (_, prices) = table.prices("gpt-realtime").unwrap();
        assert!((prices.cost(&tokens) - 36.0).abs() < 1e-9);
    }

    #[test]
    fn bad_tables_name_what_is_wrong() {
        let missing = "taken = \"today\"\n[models.m]\ninput_text = 1.0\n";
        let error = format!(
            "{:#}",
            PriceTable::parse(missing, "PRICES_FILE p").unwrap_err()
        );
        assert!(
            error.contains("PRICES_FILE p") && error.contains("cached_text"),
            "{error}"
        );
        let negative = BUILT_IN.replace("input_text = 4.0", "input_text = -4.0");
        let error = format!(
            "{:#}",
            PriceTable::parse(&negative, "PRICES_FILE p").unwrap_err()
        );
        assert!(
            error.contains("\"gpt-realtime\" has the price -4"),
            "{error}"
        );
        let typo = BUILT_IN.replace(
            "output_audio = 64.0",
            "output_audio = 64.0\naudio_out = 1.0",
        );
        let error = format!(
            "{:#}",
            PriceTable::parse(&typo, "PRICES_FILE p").unwrap_err()
        );
        assert!(error.contains("audio_out"), "{error}");
    }
}
