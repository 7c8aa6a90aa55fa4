//! The simulator's conversation: what it answers to each client event.
use super::*;

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[test]
fn text_turn_in_both_flavours() {
    for (flavour, delta) in [
        (Flavour::Preview, "response.text.delta"),
        (Flavour::Ga, "response.output_text.delta"),
    ] {
        let mut c = Conversation::new(flavour, "sess_1".into());
        c.handle(r#"{"type":"session.update","session":{"modalities":["text"],"output_modalities":["text"]}}"#);
        c.handle(r#"{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"hello there"}]}}"#);
        let events = c.handle(r#"{"type":"response.create"}"#);
        let t = types(&events);
        assert_eq!(t[0], "response.created");
        assert!(t.contains(&delta), "{t:?}");
        assert_eq!(*t.last().unwrap(), "response.done");
        let text: String = events
            .iter()
            .filter(|e| e["type"] == delta)
            .map(|e| e["delta"].as_str().unwrap())
            .collect();
        assert_eq!(text, "You said: hello there");
    }
}

#[test]
fn question_with_a_tool_becomes_a_function_call_then_quotes_the_output() {
    let mut c = Conversation::new(Flavour::Preview, "sess_1".into());
    c.handle(r#"{"type":"session.update","session":{"modalities":["text"],"tools":[{"type":"function","name":"search_knowledge_base"}]}}"#);
    c.handle(r#"{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"What is a breaker?"}]}}"#);
    let events = c.handle(r#"{"type":"response.create"}"#);
    let done = events
        .iter()
        .find(|e| e["type"] == "response.function_call_arguments.done")
        .unwrap();
    assert_eq!(done["name"], "search_knowledge_base");
    let args: Value = serde_json::from_str(done["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["query"], "What is a breaker?");
    let call_id = done["call_id"].as_str().unwrap();
    c.handle(&json!({"type":"conversation.item.create","item":{"type":"function_call_output","call_id":call_id,"output":"A breaker stops calls."}}).to_string());
    let answer = c.handle(r#"{"type":"response.create"}"#);
    let done = answer
        .iter()
        .find(|e| e["type"] == "response.text.done")
        .unwrap();
    assert_eq!(
        done["text"],
        "According to the knowledge base: A breaker stops calls."
    );
}

#[test]
fn malformed_events_get_errors() {
    let mut c = Conversation::new(Flavour::Ga, "sess_1".into());
    for bad in [
        "not json",
        "{}",
        r#"{"type":"nope"}"#,
        r#"{"type":"session.update"}"#,
        r#"{"type":"input_audio_buffer.append","audio":"***"}"#,
    ] {
        let events = c.handle(bad);
        assert_eq!(types(&events), ["error"], "{bad}");
    }
}

#[test]
fn audio_commit_makes_a_deterministic_transcript() {
    let mut c = Conversation::new(Flavour::Preview, "sess_1".into());
    c.handle(r#"{"type":"input_audio_buffer.append","audio":"AAAAAA=="}"#);
    let events = c.handle(r#"{"type":"input_audio_buffer.commit"}"#);
    assert_eq!(types(&events)[0], "input_audio_buffer.committed");
    assert_eq!(
        c.items()[0]["content"][0]["transcript"],
        "Simulated transcript of 4 bytes of audio."
    );
}
