//! Tokenization shared by indexing and querying: Unicode case folding, words made of Unicode
//! letters and digits (everything else separates), a small English stop-word list, and the
//! Snowball English stemmer (so "retries", "retrying" and "retry" meet).

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::OnceLock;

/// Words too common to carry meaning in a search (sorted, for binary search).
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "doing", "each", "for", "from", "had", "has", "have", "having", "he", "her", "here", "hers",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me",
    "more", "most", "my", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other",
    "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
    "yours",
];

pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// Split `text` into index terms (stemmed).
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    let stemmer = stemmer();
    words(text).map(move |w| stemmer.stem(&w).into_owned())
}

/// Lower-cased words of `text` that are not stop words, unstemmed.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .filter(|w| !is_stop_word(w))
}

/// Stemming with a memory, for indexing: words repeat (Zipf), and the stemmer is the costly
/// part of tokenizing, so each distinct word is stemmed once.
#[derive(Default)]
pub struct Stems {
    memo: std::collections::HashMap<String, String>,
}

impl Stems {
    /// The terms of `text`, as [`tokens`] gives them.
    pub fn tokens(&mut self, text: &str, out: &mut Vec<String>) {
        let stemmer = stemmer();
        for word in words(text) {
            let stem = match self.memo.get(&word) {
                Some(stem) => stem.clone(),
                None => {
                    let stem = stemmer.stem(&word).into_owned();
                    self.memo.insert(word, stem.clone());
                    stem
                }
            };
            out.push(stem);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        tokens(s).collect()
    }

    #[test]
    fn remembered_stems_are_the_same_stems() {
        let mut stems = Stems::default();
        let text = "Retrying connections, retried connection; the retries";
        let mut out = Vec::new();
        stems.tokens(text, &mut out);
        stems.tokens(text, &mut out);
        let once = toks(text);
        assert_eq!(out, [once.clone(), once].concat());
    }

    #[test]
    fn stop_words_are_sorted() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn folds_case_and_splits_on_punctuation() {
        assert_eq!(
            toks("Circuit-Breaker, HALF_OPEN!"),
            ["circuit", "breaker", "half", "open"]
        );
    }

    #[test]
    fn inflections_meet_at_one_stem() {
        assert_eq!(
            toks("retries retrying retried"),
            ["retri", "retri", "retri"]
        );
        assert_eq!(
            toks("connection connections connecting"),
            ["connect", "connect", "connect"]
        );
    }

    #[test]
    fn keeps_unicode_letters_and_digits() {
        assert_eq!(
            toks("Größe 42 Ünïcödé 東京"),
            ["größe", "42", "ünïcödé", "東京"]
        );
    }

    #[test]
    fn drops_stop_words_and_empty_pieces() {
        assert_eq!(toks("What is the   retry delay?"), ["retri", "delay"]);
        assert!(toks("  ... --- !!! ").is_empty());
        assert!(toks("").is_empty());
    }

    #[test]
    fn apostrophes_and_numbers() {
        assert_eq!(toks("don't retry 3.5s"), ["don", "t", "retri", "3", "5s"]);
    }
}
