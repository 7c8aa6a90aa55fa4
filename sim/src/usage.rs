//! The `usage` a simulated `response.done` reports, shaped as the real service's and plausible
//! in size, so usage accounting can be tested end to end. Like the service, every response
//! reads the whole conversation again: its input is everything in it, and the part already
//! read by the previous response counts as cached (in blocks of 64 tokens, as prompt caching
//! does). Sizes: text ≈ 4 characters a token; input audio 1 token per 100 ms and output audio
//! 1 per 50 ms (the service's published rates are of this order; the exact ratio is its own).

use super::conversation::{Conversation, text_of};
use serde_json::{Value, json};

/// Tokens of a text, about four characters each.
pub(super) fn text_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Input audio tokens for `bytes` of PCM16 at 24 kHz (48 bytes a millisecond): 1 per 100 ms.
pub(super) fn input_audio_tokens(bytes: usize) -> u64 {
    (bytes as u64 / 48).div_ceil(100)
}

/// What the conversation holds, as input tokens (text, audio).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct InputTokens {
    pub text: u64,
    pub audio: u64,
}

impl Conversation {
    /// The input the model reads now: instructions, every item's text, every committed audio.
    fn input_tokens(&self) -> InputTokens {
        let instructions = self.session["instructions"].as_str().unwrap_or_default();
        let items: u64 = self
            .items
            .iter()
            .map(|item| {
                text_of(item).map_or(0, |t| text_tokens(&t))
                    + item["output"].as_str().map_or(0, text_tokens)
                    + item["arguments"].as_str().map_or(0, text_tokens)
            })
            .sum();
        InputTokens {
            text: text_tokens(instructions) + items,
            audio: self.audio_tokens_in,
        }
    }

    /// What a response starting now reads: the conversation, and the part of it the previous
    /// response read already (cached).
    pub(super) fn read_input(&mut self) -> Reading {
        let input = self.input_tokens();
        let cached = |now: u64, before: u64| before.min(now) / 64 * 64;
        let reading = Reading {
            input,
            cached: InputTokens {
                text: cached(input.text, self.read_before.text),
                audio: cached(input.audio, self.read_before.audio),
            },
        };
        self.read_before = input;
        reading
    }
}

/// The input side of one response's usage.
pub(super) struct Reading {
    input: InputTokens,
    cached: InputTokens,
}

impl Reading {
    /// The `usage` object of the response that read this and wrote `output` (its items), with
    /// `output_audio_ms` of audio.
    pub(super) fn usage(&self, output: &[Value], output_audio_ms: u64) -> Value {
        let out_text: u64 = output
            .iter()
            .map(|item| {
                text_of(item).map_or(0, |t| text_tokens(&t))
                    + item["arguments"].as_str().map_or(0, text_tokens)
            })
            .sum();
        let out_audio = output_audio_ms.div_ceil(50);
        let (input, cached) = (self.input, self.cached);
        let input_total = input.text + input.audio;
        let output_total = out_text + out_audio;
        json!({
            "total_tokens": input_total + output_total,
            "input_tokens": input_total,
            "output_tokens": output_total,
            "input_token_details": {
                "text_tokens": input.text,
                "audio_tokens": input.audio,
                "cached_tokens": cached.text + cached.audio,
                "cached_tokens_details": { "text_tokens": cached.text, "audio_tokens": cached.audio },
            },
            "output_token_details": { "text_tokens": out_text, "audio_tokens": out_audio },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(text_tokens(""), 0);
        assert_eq!(text_tokens("abcde"), 2);
        assert_eq!(input_audio_tokens(48_000), 10, "one second");
        assert_eq!(input_audio_tokens(48), 1, "a millisecond starts a token");
    }

    #[test]
    fn each_response_reads_the_conversation_and_caches_what_the_last_one_read() {
        let mut conversation = Conversation::new(voxgate_wire::Flavour::Ga, "sess_1".into());
        let long = "word ".repeat(100);
        let add = format!(
            r#"{{"type":"conversation.item.create","item":{{"type":"message","role":"user","content":[{{"type":"input_text","text":"{long}"}}]}}}}"#
        );
        conversation.handle(&add);
        let first = conversation.read_input();
        let usage = first.usage(&[], 1000);
        assert_eq!(usage["input_token_details"]["text_tokens"], 125);
        assert_eq!(usage["input_token_details"]["cached_tokens"], 0);
        assert_eq!(usage["output_token_details"]["audio_tokens"], 20);
        conversation.handle(&add);
        let second = conversation.read_input().usage(&[], 0);
        assert_eq!(second["input_token_details"]["text_tokens"], 250);
        assert_eq!(
            second["input_token_details"]["cached_tokens"], 64,
            "125 → one block"
        );
        assert_eq!(second["input_tokens"], 250);
    }
}
