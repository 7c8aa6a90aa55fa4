//! What a restore makes the new upstream session say that the client must not see again: its
//! `session.created` (the client has its session), the `session.updated` answering the
//! restored settings, and the `conversation.item.*` echoes of the re-created items (until the
//! next response starts). It also tells when the new session has confirmed the whole restore.

use serde_json::Value;
use std::collections::HashSet;

#[derive(Debug, Default)]
pub struct RestoreEcho {
    item_ids: HashSet<String>,
    /// Re-created items whose echo has not arrived yet.
    unconfirmed: HashSet<String>,
    session_updated: bool,
    session_shown: bool,
    awaiting: bool,
}

impl RestoreEcho {
    /// A restore re-created `item_ids` and resent the settings.
    pub fn expect(&mut self, item_ids: impl IntoIterator<Item = String>) {
        self.item_ids = item_ids.into_iter().collect();
        self.unconfirmed = self.item_ids.clone();
        self.session_updated = true;
        self.awaiting = true;
    }

    /// Whether the new session has just echoed the last of the restore (true once per restore).
    pub fn restore_confirmed(&mut self) -> bool {
        let done = self.awaiting && !self.session_updated && self.unconfirmed.is_empty();
        if done {
            self.awaiting = false;
        }
        done
    }

    /// A response started: later item events are news to the client.
    pub fn response_started(&mut self) {
        self.item_ids.clear();
    }

    /// Whether this upstream event only echoes a restore (and is not shown).
    pub fn is_echo(&mut self, kind: &str, event: &Value) -> bool {
        match kind {
            "session.created" => std::mem::replace(&mut self.session_shown, true),
            "session.updated" if self.session_updated => {
                self.session_updated = false;
                true
            }
            "conversation.item.created" | "conversation.item.added" | "conversation.item.done" => {
                let Some(id) = event["item"]["id"].as_str() else {
                    return false;
                };
                self.unconfirmed.remove(id);
                self.item_ids.contains(id)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hides_only_what_a_restore_caused() {
        let mut echo = RestoreEcho::default();
        let created = json!({"type": "session.created"});
        let updated = json!({"type": "session.updated"});
        assert!(
            !echo.is_echo("session.created", &created),
            "the first one is shown"
        );
        assert!(!echo.is_echo("session.updated", &updated));
        echo.expect(["i1".to_string()]);
        assert!(echo.is_echo("session.created", &created));
        assert!(echo.is_echo("session.updated", &updated));
        assert!(!echo.restore_confirmed(), "item i1 not echoed yet");
        assert!(
            !echo.is_echo("session.updated", &updated),
            "only the restore's answer"
        );
        let item = |id: &str| json!({"item": {"id": id}});
        assert!(echo.is_echo("conversation.item.created", &item("i1")));
        assert!(echo.restore_confirmed());
        assert!(!echo.restore_confirmed(), "once per restore");
        assert!(!echo.is_echo("conversation.item.created", &item("i2")));
        echo.response_started();
        assert!(!echo.is_echo("conversation.item.done", &item("i1")));
    }
}
