//! The tools the gateway adds to every upstream session and answers itself.

pub mod knowledge_search;
