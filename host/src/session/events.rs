//! The few Realtime events the gateway reads, writes or rewrites; everything else passes
//! through untouched. Also the gateway's own `voxgate.*` events.

use serde_json::{Value, json};

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
