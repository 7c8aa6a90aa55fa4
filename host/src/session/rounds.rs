//! The gateway's tool-call rounds: the `search_knowledge_base` calls of each response. The
//! model may continue (`response.create`) only once every call of a response is answered and
//! the response itself is over; a call announced twice (by two events) is answered once.

use std::collections::{HashMap, HashSet};

#[derive(Debug, Default)]
struct Round {
    outstanding: usize,
    response_done: bool,
}

#[derive(Debug, Default)]
pub struct ToolRounds {
    rounds: HashMap<String, Round>,
    answered_or_pending: HashSet<String>,
}

impl ToolRounds {
    /// A call of response `response_id`; false if it was already seen (do not answer twice).
    pub fn call(&mut self, call_id: &str, response_id: &str) -> bool {
        if !self.answered_or_pending.insert(call_id.to_string()) {
            return false;
        }
        self.rounds
            .entry(response_id.to_string())
            .or_default()
            .outstanding += 1;
        true
    }

    /// One call of `response_id` has its output; whether the model may now continue.
    pub fn answered(&mut self, response_id: &str) -> bool {
        if let Some(round) = self.rounds.get_mut(response_id) {
            round.outstanding = round.outstanding.saturating_sub(1);
        }
        self.take_if_ready(response_id)
    }

    /// `response.done` for `response_id`; whether the model may now continue.
    pub fn response_done(&mut self, response_id: &str) -> bool {
        match self.rounds.get_mut(response_id) {
            Some(round) => round.response_done = true,
            None => return false,
        }
        self.take_if_ready(response_id)
    }

    /// The response will never finish (its upstream dropped): forget its round.
    pub fn abandon(&mut self, response_id: &str) {
        self.rounds.remove(response_id);
    }

    fn take_if_ready(&mut self, response_id: &str) -> bool {
        let ready = self
            .rounds
            .get(response_id)
            .is_some_and(|r| r.response_done && r.outstanding == 0);
        if ready {
            self.rounds.remove(response_id);
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_once_all_calls_answered_and_response_over() {
        let mut rounds = ToolRounds::default();
        assert!(rounds.call("c1", "r1"));
        assert!(rounds.call("c2", "r1"));
        assert!(!rounds.call("c1", "r1"), "the same call announced twice");
        assert!(!rounds.answered("r1"));
        assert!(!rounds.response_done("r1"), "one call still out");
        assert!(
            rounds.answered("r1"),
            "last answer after the response ended"
        );
        assert!(!rounds.answered("r1"), "continued only once");
    }

    #[test]
    fn answers_before_the_response_ends() {
        let mut rounds = ToolRounds::default();
        rounds.call("c1", "r1");
        assert!(!rounds.answered("r1"));
        assert!(rounds.response_done("r1"));
        assert!(
            !rounds.response_done("r2"),
            "a response without calls needs nothing"
        );
    }

    #[test]
    fn abandoned_rounds_never_continue() {
        let mut rounds = ToolRounds::default();
        rounds.call("c1", "r1");
        rounds.abandon("r1");
        assert!(!rounds.answered("r1"));
        assert!(!rounds.response_done("r1"));
    }
}
