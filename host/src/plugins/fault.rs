//! How a plugin call or load fails, in words an operator can act on: [`CallFault`] for one
//! call (counted by the slot, answered by the caller's fallback), and [`root_cause`] for the
//! one-line reason a file was refused.

/// Why one call failed. The slot counts it; the caller falls back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallFault {
    #[error("no plugin loaded")]
    Missing,
    #[error("plugin trapped: {0}")]
    Trap(String),
    #[error("plugin exceeded its deadline")]
    Timeout,
    #[error("plugin busy: every place and the queue taken")]
    Busy,
    #[error("plugin exceeded its memory cap")]
    Oom,
    #[error("plugin returned nonsense: {0}")]
    Invalid(String),
}

/// The innermost message of an error chain (Wasmtime wraps causes in context).
pub fn root_cause(error: &anyhow::Error) -> String {
    let messages: Vec<String> = error.chain().map(|e| e.to_string()).collect();
    let text = messages.join(": ");
    // Some causes span lines (byte dumps): keep one readable line.
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(400).collect()
}

impl CallFault {
    /// What a failed call's error means; `memory_cap_hit`: the store's limiter refused growth
    /// (a guest that runs out of memory usually traps, so the limiter is what tells).
    pub fn of(error: &wasmtime::Error, memory_cap_hit: bool) -> CallFault {
        if memory_cap_hit {
            CallFault::Oom
        } else if matches!(
            error.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::Interrupt)
        ) {
            CallFault::Timeout
        } else {
            CallFault::Trap(
                format!("{error:#}")
                    .lines()
                    .next()
                    .unwrap_or("trap")
                    .to_string(),
            )
        }
    }
}
