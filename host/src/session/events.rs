//! The few Realtime events the gateway reads, writes or rewrites; everything else passes
//! through untouched. Also the gateway's own `voxgate.*` events.
//!
//! The hot path reads only a frame's head: appended audio from the client and deltas from the
//! upstream (50 a second each way in a voice call) are recognised by a borrowed parse of their
//! top-level `type` (and, for an append, the checks a full parse would make) and forwarded as
//! the original text; every other event is parsed into a value and checked as before.

use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use std::borrow::Cow;

/// A string field that is only ever a string (`null` or another type fails the head parse, and
/// the full parse then says precisely what is wrong).
fn string_only<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Cow::<'de, str>::deserialize(d).map(Some)
}

/// The top-level fields the hot path reads, borrowed from the frame; the rest is skipped.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "string_only")]
    audio: Option<Cow<'a, str>>,
    /// Read only to check it (a string when present).
    #[serde(rename = "event_id", default, borrow, deserialize_with = "string_only")]
    _event_id: Option<Cow<'a, str>>,
}

fn head(text: &str) -> Option<Head<'_>> {
    // A struct would also read from an array; only objects are events.
    if !text.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Whether `text` is an `input_audio_buffer.append` that passes every check
/// [`parse_client`] makes (a JSON object, `audio` and any `event_id` strings). Anything else,
/// appends with a problem included, goes through [`parse_client`].
pub fn is_valid_append(text: &str) -> bool {
    head(text).is_some_and(|h| {
        // `event_id`, when present, is a string: the head parse refuses anything else.
        h.kind == "input_audio_buffer.append" && h.audio.is_some()
    })
}

/// Upstream events the gateway reads (restore memory, the journal's acknowledgements, restore
/// echoes, responses in flight, function calls, errors). Every other event passes to the client
/// as it is, unread: a kind that starts mattering to the gateway must be added here.
const READ_FROM_UPSTREAM: &[&str] = &[
    "error",
    "session.created",
    "session.updated",
    "conversation.item.created",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.retrieved",
    "conversation.item.deleted",
    "conversation.item.truncated",
    "conversation.item.input_audio_transcription.completed",
    "input_audio_buffer.committed",
    "input_audio_buffer.cleared",
    "response.created",
    "response.done",
    "response.cancelled",
    "response.output_item.done",
    "response.function_call_arguments.done",
];

/// Whether an upstream frame passes to the client as it is, unread: the streaming deltas
/// (audio, transcripts, text) and every other event nothing in the gateway reads.
pub fn passes_through(text: &str) -> bool {
    head(text).is_some_and(|h| !READ_FROM_UPSTREAM.contains(&h.kind.as_ref()))
}

/// A Realtime `error` event (`{type:"error", error:{type, code, message, param, event_id}}`).
pub fn error(code: &str, message: impl Into<String>) -> Value {
    error_for(code, message, None)
}

/// An `error` event about one client event (its `event_id` is echoed back).
pub fn error_for(code: &str, message: impl Into<String>, event_id: Option<&str>) -> Value {
    json!({
        "type": "error",
        "event_id": format!("evt_voxgate_{}", rand::random::<u32>()),
        "error": {
            "type": if code.starts_with("upstream") { "server_error" } else { "invalid_request_error" },
            "code": code,
            "message": message.into(),
            "param": null,
            "event_id": event_id,
        }
    })
}

/// `voxgate.upstream.reconnecting` / `voxgate.upstream.reconnected` (see README, "Events").
pub fn upstream_notice(kind: &str, detail: Value) -> Value {
    let mut event = json!({ "type": kind });
    if let (Some(map), Value::Object(extra)) = (event.as_object_mut(), detail) {
        map.extend(extra);
    }
    event
}

/// A client event the gateway accepted: valid JSON object with a string `type`.
#[derive(Debug)]
pub struct ClientEvent {
    pub kind: String,
    pub value: Value,
}

/// Check a client text frame. The error is the message of the `invalid_event` error.
pub fn parse_client(text: &str) -> Result<ClientEvent, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("The event is not valid JSON: {e}."))?;
    let Some(object) = value.as_object() else {
        return Err("The event must be a JSON object.".into());
    };
    let kind = match object.get("type") {
        Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
        Some(Value::String(_)) => return Err("The event's 'type' is empty.".into()),
        Some(_) => return Err("The event's 'type' must be a string.".into()),
        None => return Err("The event has no 'type'.".into()),
    };
    check_fields(&kind, &value)?;
    Ok(ClientEvent { kind, value })
}

/// Field types of the events the gateway itself reads.
fn check_fields(kind: &str, value: &Value) -> Result<(), String> {
    let expect = |field: &str, ok: fn(&Value) -> bool, what: &str| -> Result<(), String> {
        match value.get(field) {
            Some(v) if ok(v) => Ok(()),
            Some(_) => Err(format!("'{kind}': '{field}' must be {what}.")),
            None => Err(format!("'{kind}' needs '{field}' ({what}).")),
        }
    };
    if let Some(id) = value.get("event_id")
        && !id.is_string()
    {
        return Err(format!("'{kind}': 'event_id' must be a string."));
    }
    match kind {
        "session.update" => {
            expect("session", Value::is_object, "an object")?;
            if let Some(tools) = value["session"].get("tools")
                && !tools.is_array()
            {
                return Err("'session.update': 'session.tools' must be an array.".into());
            }
            Ok(())
        }
        "input_audio_buffer.append" => expect("audio", Value::is_string, "a base64 string"),
        "conversation.item.create" => {
            expect("item", Value::is_object, "an object")?;
            match value["item"].get("type") {
                Some(Value::String(_)) => Ok(()),
                _ => Err("'conversation.item.create': 'item.type' must be a string.".into()),
            }
        }
        "conversation.item.delete"
        | "conversation.item.retrieve"
        | "conversation.item.truncate" => expect("item_id", Value::is_string, "a string"),
        "response.create" => match value.get("response") {
            None | Some(Value::Object(_)) => Ok(()),
            Some(_) => Err("'response.create': 'response' must be an object.".into()),
        },
        _ => Ok(()),
    }
}

/// A function call the model made, from either event that announces one.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCall {
    pub call_id: String,
    pub name: String,
    pub arguments: String,
    pub response_id: Option<String>,
}

/// `response.function_call_arguments.done` or `response.output_item.done` with a function call.
pub fn function_call(event: &Value) -> Option<FunctionCall> {
    let kind = event.get("type")?.as_str()?;
    let source = match kind {
        "response.function_call_arguments.done" => event,
        "response.output_item.done" if event["item"]["type"] == "function_call" => &event["item"],
        _ => return None,
    };
    Some(FunctionCall {
        call_id: source.get("call_id")?.as_str()?.to_string(),
        name: source.get("name")?.as_str()?.to_string(),
        arguments: source
            .get("arguments")
            .and_then(Value::as_str)
            .unwrap_or("{}")
            .to_string(),
        response_id: event
            .get("response_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_are_recognised_only_when_a_full_parse_would_accept_them() {
        assert!(is_valid_append(
            r#"{"type":"input_audio_buffer.append","audio":"AAAA","event_id":"e1"}"#
        ));
        assert!(is_valid_append(
            r#" {"event_id":"e","audio":"AA","type":"input_audio_buffer.append","x":[1,{}]}"#
        ));
        for problem in [
            r#"{"type":"input_audio_buffer.append"}"#,
            r#"{"type":"input_audio_buffer.append","audio":5}"#,
            r#"{"type":"input_audio_buffer.append","audio":null}"#,
            r#"{"type":"input_audio_buffer.append","audio":"A","event_id":7}"#,
            r#"{"type":"input_audio_buffer.append","audio":"A","event_id":null}"#,
            r#"{"type":"input_audio_buffer.append","audio":"A","audio":"B"}"#,
            r#"["input_audio_buffer.append","AAAA"]"#,
            r#"{"type":"input_audio_buffer.append","audio":"A""#,
            r#"{"type":"response.create","audio":"A"}"#,
        ] {
            assert!(!is_valid_append(problem), "{problem}");
            let full = parse_client(problem);
            if problem.contains("response.create") {
                assert!(full.is_ok());
            } else if !problem.contains(r#""audio":"B""#) {
                assert!(full.is_err(), "the full parse refuses it too: {problem}");
            }
        }
    }

    #[test]
    fn only_deltas_pass_through_unread() {
        assert!(passes_through(
            r#"{"type":"response.output_audio.delta","delta":"AAAA","event_id":"e"}"#
        ));
        assert!(passes_through(
            r#"{"type":"response.text.delta","delta":"hi"}"#
        ));
        for read in [
            r#"{"type":"response.done","response":{}}"#,
            r#"{"type":"conversation.item.created","item":{}}"#,
            r#"{"type":"error","error":{}}"#,
            r#"{"type":5}"#,
            "not json",
        ] {
            assert!(!passes_through(read), "{read}");
        }
    }

    #[test]
    fn client_events_are_checked() {
        assert!(parse_client(r#"{"type":"response.create"}"#).is_ok());
        assert!(
            parse_client(r#"{"type":"brand.new.event","x":1}"#).is_ok(),
            "unknown types pass"
        );
        for (bad, says) in [
            ("nope", "not valid JSON"),
            ("[1]", "JSON object"),
            ("{}", "no 'type'"),
            (r#"{"type":5}"#, "must be a string"),
            (r#"{"type":"session.update"}"#, "needs 'session'"),
            (
                r#"{"type":"session.update","session":{"tools":{}}}"#,
                "tools",
            ),
            (
                r#"{"type":"input_audio_buffer.append","audio":3}"#,
                "base64",
            ),
            (
                r#"{"type":"conversation.item.create","item":{}}"#,
                "item.type",
            ),
        ] {
            let error = parse_client(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn function_calls_from_both_events() {
        let a = json!({"type":"response.function_call_arguments.done","call_id":"c1","name":"f","arguments":"{}","response_id":"r"});
        let b = json!({"type":"response.output_item.done","response_id":"r","item":{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"}});
        assert_eq!(function_call(&a), function_call(&b));
        assert!(
            function_call(&json!({"type":"response.output_item.done","item":{"type":"message"}}))
                .is_none()
        );
    }
}
