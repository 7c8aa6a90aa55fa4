//! The gateway's own tool calls: a `search_knowledge_base` call is answered by a search task
//! (RAG breaker + retry + plugin); once every call of a response is answered and the response
//! is over, `response.create` lets the model go on. Other tools' calls pass to the client.

use super::events::FunctionCall;
use super::tools::SEARCH_TOOL;
use super::{Flow, Session, ToolResult};
use serde_json::{Value, json};

impl Session {
    pub(super) fn on_function_call(&mut self, call: FunctionCall) {
        if call.name != SEARCH_TOOL || !self.handled_calls.insert(call.call_id.clone()) {
            return; // the client's own tool (it answers), or already being answered
        }
        let response_id = call
            .response_id
            .or_else(|| self.active_response.clone())
            .unwrap_or_default();
        self.rounds
            .entry(response_id.clone())
            .or_default()
            .outstanding += 1;
        let query = serde_json::from_str::<Value>(&call.arguments)
            .ok()
            .and_then(|args| args.get("query").and_then(Value::as_str).map(str::to_owned));
        let gateway = self.gateway.clone();
        let kb_id = self.init.kb_id.clone();
        let results = self.tool_tx.clone();
        tokio::spawn(async move {
            let output = match query {
                Some(query) => crate::rag::answer(&gateway, &kb_id, &query).await,
                None => "Invalid search arguments: expected {\"query\": \"...\"}.".to_string(),
            };
            let _ = results.send(ToolResult {
                call_id: call.call_id,
                response_id,
                output,
            });
        });
    }

    pub(super) async fn on_tool_result(&mut self, result: ToolResult) -> Flow {
        let item = json!({
            "type": "conversation.item.create",
            "item": { "type": "function_call_output", "call_id": result.call_id, "output": result.output },
        });
        if let Flow::Reconnect(why) = self.send_upstream_value(item).await {
            return Flow::Reconnect(why);
        }
        if let Some(round) = self.rounds.get_mut(&result.response_id) {
            round.outstanding = round.outstanding.saturating_sub(1);
        }
        self.maybe_continue_response(result.response_id).await
    }

    /// All of a response's tool calls answered and the response over: let the model go on.
    pub(super) async fn maybe_continue_response(&mut self, response_id: String) -> Flow {
        let ready = self
            .rounds
            .get(&response_id)
            .is_some_and(|r| r.response_done && r.outstanding == 0);
        if !ready {
            return Flow::Continue;
        }
        self.rounds.remove(&response_id);
        self.send_upstream_value(json!({ "type": "response.create" }))
            .await
    }
}
