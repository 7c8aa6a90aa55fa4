//! A RAG search: each chunk scored by the query words it contains, rarer words counting more
//! (idf), the title counting twice. The index is built once per knowledge-base version and
//! kept in the instance.

pub mod policy {
    use std::collections::{HashMap, HashSet};

    pub struct Chunk {
        pub id: String,
        pub title: String,
        pub content: String,
    }

    pub fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() > 1)
            .map(str::to_lowercase)
            .collect()
    }

    pub struct Index {
        pub chunks: Vec<Chunk>,
        /// word → (chunk, weight: 2 in the title, 1 in the body).
        postings: HashMap<String, Vec<(usize, f64)>>,
    }

    impl Index {
        pub fn build(chunks: Vec<Chunk>) -> Index {
            let mut postings: HashMap<String, Vec<(usize, f64)>> = HashMap::new();
            for (n, chunk) in chunks.iter().enumerate() {
                let title: HashSet<String> = words(&chunk.title).into_iter().collect();
                let mut seen = HashSet::new();
                for word in words(&chunk.title).into_iter().chain(words(&chunk.content)) {
                    if seen.insert(word.clone()) {
                        let weight = if title.contains(&word) { 2.0 } else { 1.0 };
                        postings.entry(word).or_default().push((n, weight));
                    }
                }
            }
            Index { chunks, postings }
        }

        /// The best `top_k` chunks with their scores, best first.
        pub fn search(&self, query: &str, top_k: usize) -> Vec<(&Chunk, f64)> {
            let n = self.chunks.len() as f64;
            let mut scores: HashMap<usize, f64> = HashMap::new();
            // In a fixed order: the same query must give the same scores, to the bit.
            let mut unique = words(query);
            unique.sort();
            unique.dedup();
            for word in unique {
                if let Some(list) = self.postings.get(&word) {
                    let idf = (1.0 + n / list.len() as f64).ln();
                    for &(chunk, weight) in list {
                        *scores.entry(chunk).or_default() += idf * weight;
                    }
                }
            }
            let mut ranked: Vec<(usize, f64)> = scores.into_iter().collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            ranked.into_iter().take(top_k).map(|(c, s)| (&self.chunks[c], s)).collect()
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "rag-search", path: "wit" });
    use exports::voxgate::plugins::search::{Guest, Hit, SearchError};
    use std::cell::RefCell;
    use std::collections::HashMap;
    use voxgate::plugins::knowledge;

    thread_local! {
        /// kb id → (version, index).
        static INDEXES: RefCell<HashMap<String, (u64, std::rc::Rc<super::policy::Index>)>> = RefCell::new(HashMap::new());
    }

    fn index(kb_id: &str) -> Result<std::rc::Rc<super::policy::Index>, SearchError> {
        let version = knowledge::version(kb_id).map_err(SearchError::Kb)?;
        if let Some(index) = INDEXES.with(|m| m.borrow().get(kb_id).filter(|(v, _)| *v == version).map(|(_, i)| i.clone())) {
            return Ok(index);
        }
        let chunks = knowledge::chunks(kb_id).map_err(SearchError::Kb)?;
        let chunks = chunks
            .into_iter()
            .map(|c| super::policy::Chunk { id: c.id, title: c.title, content: c.content })
            .collect();
        let index = std::rc::Rc::new(super::policy::Index::build(chunks));
        INDEXES.with(|m| m.borrow_mut().insert(kb_id.to_string(), (version, index.clone())));
        Ok(index)
    }

    struct Search;

    impl Guest for Search {
        fn search(kb_id: String, query: String, top_k: u32) -> Result<Vec<Hit>, SearchError> {
            if query.trim().is_empty() {
                return Err(SearchError::InvalidQuery("the query is empty".into()));
            }
            let index = index(&kb_id)?;
            Ok(index
                .search(&query, top_k as usize)
                .into_iter()
                .map(|(c, score)| Hit { chunk_id: c.id.clone(), title: c.title.clone(), content: c.content.clone(), score })
                .collect())
        }
    }

    export!(Search);
}

#[cfg(test)]
mod tests {
    use super::policy::{Chunk, Index};

    fn chunk(id: &str, title: &str, content: &str) -> Chunk {
        Chunk { id: id.into(), title: title.into(), content: content.into() }
    }

    #[test]
    fn the_chunk_with_the_rare_words_wins_and_top_k_holds() {
        let index = Index::build(vec![
            chunk("a#0", "Retries", "the gateway retries with exponential backoff"),
            chunk("b#0", "Breakers", "a circuit breaker opens after failures in the gateway"),
            chunk("c#0", "Gateway", "the gateway forwards audio"),
        ]);
        let hits = index.search("circuit breaker", 5);
        assert_eq!(hits[0].0.id, "b#0");
        assert_eq!(index.search("gateway", 2).len(), 2);
        assert!(index.search("zebra", 5).is_empty());
    }
}
