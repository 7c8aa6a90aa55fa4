//! The session settings the gateway keeps: the template, merged with the client's
//! `session.update`s, as the upstream must see them — always carrying the gateway's own
//! `search_knowledge_base` tool, which a client can neither replace nor remove.

use crate::tools::knowledge_search::{self, NAME as SEARCH_TOOL};
use crate::upstream::Flavour;
use serde_json::{Map, Value, json};

/// Merge `update` over `base`: objects merge key by key (recursively), anything else replaces.
pub fn merge(base: &mut Value, update: &Value) {
    match (base, update) {
        (Value::Object(base), Value::Object(update)) => {
            for (key, value) in update {
                match base.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, update) => *base = update.clone(),
    }
}

/// The session settings as the upstream must see them: the gateway's tool first, then the
/// client's own function tools (a client tool with the gateway's name is replaced).
pub fn upstream_session(merged: &Value, flavour: Flavour) -> Value {
    let mut session = merged.clone();
    if !session.is_object() {
        session = Value::Object(Map::new());
    }
    let client_tools: Vec<Value> = session
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter(|t| t.get("name").and_then(Value::as_str) != Some(SEARCH_TOOL))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut tools = vec![knowledge_search::definition()];
    tools.extend(client_tools);
    session["tools"] = Value::Array(tools);
    if session.get("tool_choice").is_none() {
        session["tool_choice"] = json!("auto");
    }
    if flavour == Flavour::Ga && session.get("type").is_none() {
        session["type"] = json!("realtime");
    }
    session
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_update_merges_and_gateway_tool_survives() {
        let mut session =
            json!({"voice":"alloy","turn_detection":{"type":"server_vad","threshold":0.5}});
        merge(
            &mut session,
            &json!({"voice":"verse","turn_detection":{"threshold":0.8},"tools":[{"type":"function","name":"get_weather"}]}),
        );
        let upstream = upstream_session(&session, Flavour::Preview);
        assert_eq!(upstream["voice"], "verse");
        assert_eq!(
            upstream["turn_detection"],
            json!({"type":"server_vad","threshold":0.8})
        );
        let names: Vec<&str> = upstream["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, [SEARCH_TOOL, "get_weather"]);
    }

    #[test]
    fn client_cannot_replace_or_remove_the_gateway_tool() {
        let mut session = json!({});
        merge(
            &mut session,
            &json!({"tools":[{"type":"function","name":SEARCH_TOOL,"description":"evil"}]}),
        );
        let upstream = upstream_session(&session, Flavour::Ga);
        assert_eq!(upstream["tools"], json!([knowledge_search::definition()]));
        assert_eq!(upstream["type"], "realtime");
        merge(&mut session, &json!({"tools":[]}));
        assert_eq!(
            upstream_session(&session, Flavour::Preview)["tools"],
            json!([knowledge_search::definition()])
        );
    }
}
