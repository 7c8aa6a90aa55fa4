//! Usage accounting: the tokens every `response.done` reports, summed per knowledge base,
//! client token name and model, exported as `voxgate_tokens_total{kb,client,direction,modality}`
//! and reported with an estimated cost by `GET /admin/usage` (prices: [`PriceTable`]).
//! Sessions also keep their own sums (`/admin/sessions`).
//!
//! Bounded: knowledge bases and client names are the configured ones; the model is what the
//! upstream says, so it is cut to [`MAX_MODEL_CHARS`] and, past [`MAX_GROUPS`] groups, further
//! ones are summed under the model `other`.

mod prices;
mod tokens;

pub use prices::{PriceTable, Prices};
pub use tokens::Tokens;

use crate::metrics::Metrics;
use prometheus::{IntCounterVec, Opts};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Longest model name kept.
pub const MAX_MODEL_CHARS: usize = 64;
/// Most (kb, client, model) groups kept apart.
pub const MAX_GROUPS: usize = 4096;
/// The client label of sessions opened without client auth.
pub const ANONYMOUS: &str = "anonymous";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Group {
    kb: String,
    client: String,
    model: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    tokens: Tokens,
    responses: u64,
}

/// Token sums of this process since it started.
pub struct Usage {
    counter: IntCounterVec,
    sums: Mutex<BTreeMap<Group, Sum>>,
    prices: PriceTable,
}

impl Usage {
    /// Usage counted into `metrics`' registry, priced by `prices`.
    pub fn new(metrics: &Metrics, prices: PriceTable) -> Usage {
        let counter = IntCounterVec::new(
            Opts::new(
                "tokens_total",
                "Tokens reported by the upstream's response.done (input text/audio are the uncached parts)",
            ),
            &["kb", "client", "direction", "modality"],
        )
        .expect("valid metric");
        metrics.register(Box::new(counter.clone()));
        Usage {
            counter,
            sums: Mutex::new(BTreeMap::new()),
            prices,
        }
    }

    /// Count one response's tokens.
    pub fn record(&self, kb: &str, client: Option<&str>, model: &str, tokens: &Tokens) {
        let client = client.unwrap_or(ANONYMOUS);
        for ((direction, modality), n) in tokens::LABELS.iter().zip(tokens.fields()) {
            if n > 0 {
                self.counter
                    .with_label_values(&[kb, client, direction, modality])
                    .inc_by(n);
            }
        }
        let mut sums = self.sums.lock().unwrap_or_else(|p| p.into_inner());
        let mut group = Group {
            kb: kb.to_string(),
            client: client.to_string(),
            model: model.chars().take(MAX_MODEL_CHARS).collect(),
        };
        if !sums.contains_key(&group) && sums.len() >= MAX_GROUPS {
            group.model = "other".into();
        }
        let sum = sums.entry(group).or_default();
        sum.tokens.add(tokens);
        sum.responses += 1;
    }

    /// `GET /admin/usage`: totals, and by kb, client and model, each with its estimated cost.
    pub fn report(&self) -> Value {
        let sums = self.sums.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut total = Tally::default();
        let mut by: [BTreeMap<String, Tally>; 3] = Default::default();
        for (group, sum) in &sums {
            let priced = self.prices.prices(&group.model);
            let keys = [&group.kb, &group.client, &group.model];
            for tally in std::iter::once(&mut total).chain(
                by.iter_mut()
                    .zip(keys)
                    .map(|(map, key)| map.entry(key.clone()).or_default()),
            ) {
                tally.add(sum, priced.map(|(_, p)| p));
            }
        }
        let [by_kb, by_client, by_model] = by.map(|map| {
            map.into_iter()
                .map(|(key, tally)| (key, tally.json()))
                .collect::<Map<String, Value>>()
        });
        let mut by_model = by_model;
        for (model, entry) in by_model.iter_mut() {
            entry["priced_as"] = json!(self.prices.prices(model).map(|(name, _)| name));
        }
        json!({
            "prices": { "taken": self.prices.taken, "currency": self.prices.currency,
                "models": self.prices.models.keys().collect::<Vec<_>>() },
            "total": total.json(),
            "by_kb": by_kb,
            "by_client": by_client,
            "by_model": by_model,
        })
    }
}

/// Tokens and cost of a set of groups.
#[derive(Default)]
struct Tally {
    tokens: Tokens,
    responses: u64,
    cost: f64,
    /// Tokens of models the table has no price for (not in `cost`).
    unpriced_tokens: u64,
}

impl Tally {
    fn add(&mut self, sum: &Sum, prices: Option<&Prices>) {
        self.tokens.add(&sum.tokens);
        self.responses += sum.responses;
        match prices {
            Some(prices) => self.cost += prices.cost(&sum.tokens),
            None => self.unpriced_tokens += sum.tokens.input() + sum.tokens.output(),
        }
    }

    fn json(&self) -> Value {
        json!({
            "tokens": self.tokens.json(),
            "responses": self.responses,
            "estimated_cost": (self.cost * 1e6).round() / 1e6,
            "unpriced_tokens": self.unpriced_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_by_kb_client_and_model_with_costs() {
        let metrics = Metrics::new();
        let usage = Usage::new(&metrics, PriceTable::built_in());
        let tokens = Tokens {
            input_text: 1_000_000,
            output_audio: 1_000_000,
            ..Tokens::default()
        };
        usage.record("docs", Some("web"), "gpt-realtime-2025-08-28", &tokens);
        usage.record("docs", None, "gpt-realtime", &tokens);
        usage.record("faq", Some("web"), "voxgate-simulator", &tokens);
        let report = usage.report();
        assert_eq!(report["total"]["responses"], 3);
        assert_eq!(report["total"]["estimated_cost"], 136.0, "{report}");
        assert_eq!(report["total"]["unpriced_tokens"], 2_000_000);
        assert_eq!(report["by_kb"]["docs"]["estimated_cost"], 136.0);
        assert_eq!(report["by_client"]["anonymous"]["responses"], 1);
        assert_eq!(
            report["by_client"]["web"]["tokens"]["output_audio"],
            2_000_000
        );
        assert_eq!(
            report["by_model"]["gpt-realtime-2025-08-28"]["priced_as"],
            "gpt-realtime"
        );
        assert_eq!(
            report["by_model"]["voxgate-simulator"]["priced_as"],
            Value::Null
        );
        let text = metrics.prometheus_text();
        assert!(
            text.contains(
                r#"voxgate_tokens_total{client="web",direction="output",kb="faq",modality="audio"} 1000000"#
            ),
            "{text}"
        );
    }

    #[test]
    fn groups_are_bounded() {
        let usage = Usage::new(&Metrics::new(), PriceTable::built_in());
        let one = Tokens {
            output_text: 1,
            ..Tokens::default()
        };
        for i in 0..MAX_GROUPS + 10 {
            usage.record("docs", None, &format!("model-{i}"), &one);
        }
        let report = usage.report();
        let models = report["by_model"].as_object().unwrap();
        assert_eq!(models.len(), MAX_GROUPS + 1);
        assert_eq!(models["other"]["responses"], 10);
        assert_eq!(report["total"]["responses"], (MAX_GROUPS + 10) as u64);
    }
}
