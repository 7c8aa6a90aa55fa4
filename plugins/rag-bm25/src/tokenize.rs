//! Tokenization shared by indexing and querying: Unicode case folding, words made of Unicode
//! letters and digits (everything else separates), a small English stop-word list.

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

/// Split `text` into index terms.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .filter(|w| !is_stop_word(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        tokens(s).collect()
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
    fn keeps_unicode_letters_and_digits() {
        assert_eq!(
            toks("Größe 42 Ünïcödé ÉTÉ 東京"),
            ["größe", "42", "ünïcödé", "été", "東京"]
        );
    }

    #[test]
    fn drops_stop_words_and_empty_pieces() {
        assert_eq!(toks("What is the   retry delay?"), ["retry", "delay"]);
        assert!(toks("  ... --- !!! ").is_empty());
        assert!(toks("").is_empty());
    }

    #[test]
    fn apostrophes_and_numbers() {
        assert_eq!(toks("don't retry 3.5s"), ["don", "t", "retry", "3", "5s"]);
    }
}
