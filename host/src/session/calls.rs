//! The gateway's own tool calls: a `search_knowledge_base` call is answered by a task on the
//! knowledge search (breaker + retry + plugin); once every call of a response is answered and
//! the response is over ([`ToolRounds`](super::rounds::ToolRounds)), `response.create` lets the
//! model go on. Other tools' calls pass to the client, which answers them.

use super::events::FunctionCall;
use super::{Flow, Session, ToolResult};
use crate::tools::knowledge_search;
use serde_json::{Value, json};
use tracing::Instrument;

impl Session {
    pub(super) fn on_function_call(&mut self, call: FunctionCall) {
        if call.name != knowledge_search::NAME {
            return; // the client's own tool: it answers
        }
        let response_id = call
            .response_id
            .or_else(|| self.active_response.clone())
            .unwrap_or_default();
        if !self.rounds.call(&call.call_id, &response_id) {
            return; // already being answered
        }
        let query = serde_json::from_str::<Value>(&call.arguments)
            .ok()
            .and_then(|args| args.get("query").and_then(Value::as_str).map(str::to_owned));
        let search = self.ctx.search.clone();
        let kb_id = self.init.kb_id.clone();
        let results = self.tool_tx.clone();
        tokio::spawn(
            async move {
                let output = match query {
                    Some(query) => search.answer(&kb_id, &query).await,
                    None => "Invalid search arguments: expected {\"query\": \"...\"}.".to_string(),
                };
                let _ = results.send(ToolResult {
                    call_id: call.call_id,
                    response_id,
                    output,
                });
            }
            .in_current_span(),
        );
    }

    pub(super) async fn on_tool_result(&mut self, result: ToolResult) -> Flow {
        let item = json!({
            "type": "conversation.item.create",
            "item": { "type": "function_call_output", "call_id": result.call_id, "output": result.output },
        });
        if let Flow::Reconnect(why) = self.send_upstream_value(item).await {
            return Flow::Reconnect(why);
        }
        if self.rounds.answered(&result.response_id) {
            return self.continue_response().await;
        }
        Flow::Continue
    }

    /// All of a response's tool calls are answered and the response is over: go on.
    pub(super) async fn continue_response(&mut self) -> Flow {
        self.send_upstream_value(json!({ "type": "response.create" }))
            .await
    }
}
