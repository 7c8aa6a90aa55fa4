//! The ranking's tests: orderings by hand, the formula, field weights, proximity, determinism.

use super::*;

fn doc(id: &str, content: &str) -> Doc {
    titled(id, "", content)
}

fn titled(id: &str, title: &str, content: &str) -> Doc {
    Doc {
        id: id.into(),
        title: title.into(),
        content: content.into(),
    }
}

fn ids(index: &Index, query: &str, k: usize) -> Vec<String> {
    index
        .search(query, k)
        .into_iter()
        .map(|(d, _)| d.id.to_string())
        .collect()
}

#[test]
fn rare_terms_outrank_common_ones() {
    let index = Index::build([
        doc("a", "gateway gateway gateway session"),
        doc("b", "gateway breaker"),
        doc("c", "gateway session"),
        doc("d", "gateway retry"),
    ]);
    // "breaker" occurs once in the corpus, "gateway" everywhere.
    assert_eq!(ids(&index, "gateway breaker", 4)[0], "b");
}

#[test]
fn term_frequency_saturates_and_length_normalises() {
    let index = Index::build([
        doc("long", &format!("retry {}", "filler ".repeat(200))),
        doc("short", "retry backoff"),
        doc("other", "nothing relevant"),
    ]);
    assert_eq!(ids(&index, "retry", 3), ["short", "long"]);
}

#[test]
fn known_ordering_by_hand() {
    let index = Index::build([
        doc("1", "circuit breaker opens after five failures"),
        doc(
            "2",
            "the breaker closes after a good probe in half open state",
        ),
        doc("3", "retry with exponential backoff"),
        doc("4", "circuit breaker breaker breaker"),
    ]);
    assert_eq!(ids(&index, "breaker", 4), ["4", "1", "2"]);
    assert_eq!(ids(&index, "exponential backoff retry", 4), ["3"]);
    assert_eq!(ids(&index, "circuit probe", 4)[0], "2");
}

#[test]
fn inflected_queries_find_their_words() {
    let index = Index::build([
        doc("a", "the gateway retried the connection"),
        doc("b", "nothing"),
    ]);
    assert_eq!(ids(&index, "retrying connections", 2), ["a"]);
}

#[test]
fn a_word_in_the_title_outweighs_the_same_word_in_the_body() {
    let index = Index::build([
        titled(
            "body",
            "Overview",
            "keepalive pings every twenty seconds on idle sessions",
        ),
        titled(
            "title",
            "Keepalive",
            "pings every twenty seconds on idle sessions",
        ),
    ]);
    assert_eq!(ids(&index, "keepalive", 2), ["title", "body"]);
}

#[test]
fn query_terms_close_together_outrank_the_same_terms_apart() {
    let filler = "alpha beta gamma delta epsilon zeta eta theta";
    let index = Index::build([
        doc("apart", &format!("circuit {filler} {filler} breaker")),
        doc("together", &format!("circuit breaker {filler} {filler}")),
    ]);
    assert_eq!(ids(&index, "circuit breaker", 2), ["together", "apart"]);
    let (first, second) = (
        index.search("circuit breaker", 2)[0].1,
        index.search("circuit breaker", 2)[1].1,
    );
    assert!(first > second && second > 0.0);
}

#[test]
fn scores_match_the_formula_for_one_term() {
    let index = Index::build([doc("x", "alpha beta"), doc("y", "beta gamma delta")]);
    let hits = index.search("alpha", 1);
    let idf = (1.0f64 + (2.0 - 1.0 + 0.5) / (1.0 + 0.5)).ln();
    let p = Params::default();
    let tf = 1.0 / (1.0 - p.b_body + p.b_body * 2.0 / 2.5);
    let expected = idf * tf * (p.k1 + 1.0) / (tf + p.k1);
    assert!(
        (hits[0].1 - expected).abs() < 1e-12,
        "{} vs {expected}",
        hits[0].1
    );
}

#[test]
fn no_match_empty_and_top_k() {
    let index = Index::build([doc("a", "one"), doc("b", "one two"), doc("c", "one three")]);
    assert!(index.search("zebra", 5).is_empty());
    assert!(index.search("the of and", 5).is_empty());
    assert_eq!(index.search("one", 2).len(), 2);
    assert!(index.search("one", 0).is_empty());
    assert!(Index::build([]).search("one", 3).is_empty());
}

#[test]
fn scores_are_the_same_to_the_bit_whatever_the_hash_seeds() {
    let docs = || {
        (0..40).map(|n| {
            doc(
                &n.to_string(),
                &format!(
                    "circuit breaker {n} retry backoff circuit {} breaker retry",
                    n % 7
                ),
            )
        })
    };
    let query = "circuit breaker retry backoff 3";
    let first: Vec<(String, u64)> = Index::build(docs())
        .search(query, 20)
        .into_iter()
        .map(|(d, s)| (d.id.to_string(), s.to_bits()))
        .collect();
    for _ in 0..20 {
        let again: Vec<(String, u64)> = Index::build(docs())
            .search(query, 20)
            .into_iter()
            .map(|(d, s)| (d.id.to_string(), s.to_bits()))
            .collect();
        assert_eq!(again, first);
    }
}

#[test]
fn ties_are_deterministic() {
    let index = Index::build([doc("a", "identical words"), doc("b", "identical words")]);
    assert_eq!(ids(&index, "identical", 2), ["a", "b"]);
}
