//! The tokens of one response (or a sum of them), split the way Realtime prices them: input
//! text, input audio, the cached part of each, output text, output audio. Read from the
//! `usage` of `response.done`; input text and audio here are the *uncached* parts, so the
//! six fields add up to the response's total.

use serde_json::{Value, json};

/// Token counts by direction and modality.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input_text: u64,
    pub input_audio: u64,
    pub cached_text: u64,
    pub cached_audio: u64,
    pub output_text: u64,
    pub output_audio: u64,
}

/// `(direction, modality)` of each field, in order: the labels of `voxgate_tokens_total`.
pub const LABELS: [(&str, &str); 6] = [
    ("input", "text"),
    ("input", "audio"),
    ("input", "cached_text"),
    ("input", "cached_audio"),
    ("output", "text"),
    ("output", "audio"),
];

/// Largest count believed from one response: more is a broken upstream message, not usage.
const MAX_PER_RESPONSE: u64 = 1 << 40;

impl Tokens {
    /// The tokens of a `response.done`'s `response.usage`; `None` when it has none or it is
    /// not shaped as the service sends it. A response without the details (an older server)
    /// counts its totals as text.
    pub fn from_usage(usage: &Value) -> Option<Tokens> {
        let count = |v: &Value| v.as_u64().filter(|n| *n <= MAX_PER_RESPONSE);
        let input = count(&usage["input_tokens"])?;
        let output = count(&usage["output_tokens"])?;
        let details = &usage["input_token_details"];
        let cached_details = &details["cached_tokens_details"];
        let input_text = count(&details["text_tokens"]).unwrap_or(input);
        let input_audio = count(&details["audio_tokens"]).unwrap_or(0);
        let cached_text = count(&cached_details["text_tokens"])
            .or_else(|| count(&details["cached_tokens"]))
            .unwrap_or(0);
        let cached_audio = count(&cached_details["audio_tokens"]).unwrap_or(0);
        let out = &usage["output_token_details"];
        let output_text = count(&out["text_tokens"]).unwrap_or(output);
        let output_audio = count(&out["audio_tokens"]).unwrap_or(0);
        Some(Tokens {
            input_text: input_text.saturating_sub(cached_text),
            input_audio: input_audio.saturating_sub(cached_audio),
            cached_text: cached_text.min(input_text),
            cached_audio: cached_audio.min(input_audio),
            output_text,
            output_audio,
        })
    }

    /// The six counts in the order of [`LABELS`].
    pub fn fields(&self) -> [u64; 6] {
        [
            self.input_text,
            self.input_audio,
            self.cached_text,
            self.cached_audio,
            self.output_text,
            self.output_audio,
        ]
    }

    pub fn add(&mut self, other: &Tokens) {
        self.input_text += other.input_text;
        self.input_audio += other.input_audio;
        self.cached_text += other.cached_text;
        self.cached_audio += other.cached_audio;
        self.output_text += other.output_text;
        self.output_audio += other.output_audio;
    }

    pub fn input(&self) -> u64 {
        self.input_text + self.input_audio + self.cached_text + self.cached_audio
    }

    pub fn output(&self) -> u64 {
        self.output_text + self.output_audio
    }

    pub fn json(&self) -> Value {
        json!({
            "input": self.input(),
            "output": self.output(),
            "input_text": self.input_text,
            "input_audio": self.input_audio,
            "cached_text": self.cached_text,
            "cached_audio": self.cached_audio,
            "output_text": self.output_text,
            "output_audio": self.output_audio,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_shape_splits_cached_from_uncached() {
        let usage = json!({
            "total_tokens": 400, "input_tokens": 300, "output_tokens": 100,
            "input_token_details": { "text_tokens": 200, "audio_tokens": 100, "cached_tokens": 192,
                "cached_tokens_details": { "text_tokens": 128, "audio_tokens": 64 } },
            "output_token_details": { "text_tokens": 20, "audio_tokens": 80 },
        });
        let tokens = Tokens::from_usage(&usage).expect("usage");
        assert_eq!(tokens.fields(), [72, 36, 128, 64, 20, 80]);
        assert_eq!((tokens.input(), tokens.output()), (300, 100));
    }

    #[test]
    fn totals_only_count_as_text_and_nonsense_is_refused() {
        let tokens = Tokens::from_usage(&json!({"input_tokens": 30, "output_tokens": 12}));
        assert_eq!(tokens.map(|t| t.fields()), Some([30, 0, 0, 0, 12, 0]));
        assert_eq!(Tokens::from_usage(&json!(null)), None);
        assert_eq!(
            Tokens::from_usage(&json!({"input_tokens": -1, "output_tokens": 1})),
            None
        );
        assert_eq!(
            Tokens::from_usage(&json!({"input_tokens": u64::MAX, "output_tokens": 1})),
            None
        );
        // Cached more than read: capped, never an underflow.
        let odd = json!({"input_tokens": 10, "output_tokens": 0,
            "input_token_details": {"text_tokens": 10, "cached_tokens": 50}});
        assert_eq!(
            Tokens::from_usage(&odd).map(|t| t.fields()),
            Some([0, 0, 10, 0, 0, 0])
        );
    }
}
