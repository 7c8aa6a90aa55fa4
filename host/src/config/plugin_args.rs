//! The plugin options of `voxgate serve` (`PLUGIN_*`, `BACKOFF_PLUGIN_*`, `RAG_PLUGIN_*`),
//! flattened into [`ServeArgs`](super::ServeArgs) and turned into [`PluginSettings`].

use super::values::{Seconds, parse_mib, positive_seconds};
use super::{concurrent_calls, defaults, mib};
use crate::plugins::{PluginSettings, SlotLimits};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Where plugins are and what each slot may use.
#[derive(Debug, Clone, Args)]
pub struct PluginArgs {
    /// Directory holding the plugin slots `backoff.wasm` and `rag.wasm` (the build fills the default one; missing files are seeded with the built-in defaults).
    #[arg(
        long,
        env = "PLUGIN_DIR",
        value_name = "PLUGIN_DIR",
        default_value = defaults::PLUGIN_DIR
    )]
    pub plugin_dir: PathBuf,
    /// Directory for precompiled plugin artifacts (default: PLUGIN_DIR/.cache).
    #[arg(long, env = "PLUGIN_CACHE_DIR", value_name = "PLUGIN_CACHE_DIR")]
    pub plugin_cache_dir: Option<PathBuf>,
    /// Deadline of one backoff plugin call, seconds.
    #[arg(long, env = "BACKOFF_PLUGIN_DEADLINE", value_name = "BACKOFF_PLUGIN_DEADLINE", default_value_t = Seconds(defaults::BACKOFF_PLUGIN_DEADLINE))]
    pub backoff_plugin_deadline: Seconds,
    /// Memory cap of the backoff plugin, MiB.
    #[arg(long, env = "BACKOFF_PLUGIN_MEMORY_MIB", value_name = "BACKOFF_PLUGIN_MEMORY_MIB", default_value_t = defaults::BACKOFF_PLUGIN_MEMORY_MIB, value_parser = parse_mib)]
    pub backoff_plugin_memory_mib: u32,
    /// Deadline of one RAG plugin call, seconds.
    #[arg(long, env = "RAG_PLUGIN_DEADLINE", value_name = "RAG_PLUGIN_DEADLINE", default_value_t = Seconds(defaults::RAG_PLUGIN_DEADLINE))]
    pub rag_plugin_deadline: Seconds,
    /// Memory cap of the RAG plugin, MiB.
    #[arg(long, env = "RAG_PLUGIN_MEMORY_MIB", value_name = "RAG_PLUGIN_MEMORY_MIB", default_value_t = defaults::RAG_PLUGIN_MEMORY_MIB, value_parser = parse_mib)]
    pub rag_plugin_memory_mib: u32,
    /// Largest plugin file, bytes (larger ones are refused before compiling).
    #[arg(long, env = "PLUGIN_MAX_BYTES", value_name = "PLUGIN_MAX_BYTES", default_value_t = defaults::PLUGIN_MAX_BYTES)]
    pub plugin_max_bytes: u64,
    /// PLUGIN_MAX_BYTES for the backoff slot alone.
    #[arg(
        long,
        env = "BACKOFF_PLUGIN_MAX_BYTES",
        value_name = "BACKOFF_PLUGIN_MAX_BYTES"
    )]
    pub backoff_plugin_max_bytes: Option<u64>,
    /// PLUGIN_MAX_BYTES for the RAG slot alone (Python components are tens of MB).
    #[arg(
        long,
        env = "RAG_PLUGIN_MAX_BYTES",
        value_name = "RAG_PLUGIN_MAX_BYTES"
    )]
    pub rag_plugin_max_bytes: Option<u64>,
    /// Seconds compiling a new plugin file may take before it is refused.
    #[arg(long, env = "PLUGIN_COMPILE_TIMEOUT", value_name = "PLUGIN_COMPILE_TIMEOUT", default_value_t = Seconds(defaults::PLUGIN_COMPILE_TIMEOUT))]
    pub plugin_compile_timeout: Seconds,
    /// Seconds starting one plugin instance (instantiation and a first call) may take, outside any call.
    #[arg(long, env = "PLUGIN_START_TIMEOUT", value_name = "PLUGIN_START_TIMEOUT", default_value_t = Seconds(defaults::PLUGIN_START_TIMEOUT))]
    pub plugin_start_timeout: Seconds,
    /// Calls of one plugin slot running at once (0: one fewer than the cores, at least 1).
    #[arg(long, env = "PLUGIN_MAX_CONCURRENT_CALLS", value_name = "PLUGIN_MAX_CONCURRENT_CALLS", default_value_t = defaults::PLUGIN_MAX_CONCURRENT_CALLS)]
    pub plugin_max_concurrent_calls: u32,
    /// Calls of one plugin slot waiting for a place (more fall back at once).
    #[arg(long, env = "PLUGIN_MAX_QUEUED_CALLS", value_name = "PLUGIN_MAX_QUEUED_CALLS", default_value_t = defaults::PLUGIN_MAX_QUEUED_CALLS)]
    pub plugin_max_queued_calls: u32,
    /// Bytes of precompiled plugin artifacts kept (least recently used evicted).
    #[arg(long, env = "PLUGIN_CACHE_MAX_BYTES", value_name = "PLUGIN_CACHE_MAX_BYTES", default_value_t = defaults::PLUGIN_CACHE_MAX_BYTES)]
    pub plugin_cache_max_bytes: u64,
    /// Bytes of RAG indexes kept in memory for fresh plugin instances (one blob at most a quarter).
    #[arg(long, env = "RAG_INDEX_CACHE_MAX_BYTES", value_name = "RAG_INDEX_CACHE_MAX_BYTES", default_value_t = defaults::RAG_INDEX_CACHE_MAX_BYTES)]
    pub rag_index_cache_max_bytes: u64,
}

impl PluginArgs {
    /// The validated plugin settings.
    pub fn settings(&self) -> anyhow::Result<PluginSettings> {
        Ok(PluginSettings {
            dir: self.plugin_dir.clone(),
            cache_dir: self.plugin_cache_dir.clone(),
            cache_max_bytes: self.plugin_cache_max_bytes,
            index_cache_max_bytes: self.rag_index_cache_max_bytes,
            backoff: self.slot_limits(
                positive_seconds(self.backoff_plugin_deadline, "BACKOFF_PLUGIN_DEADLINE")?,
                self.backoff_plugin_memory_mib,
                self.backoff_plugin_max_bytes,
            )?,
            rag: self.slot_limits(
                positive_seconds(self.rag_plugin_deadline, "RAG_PLUGIN_DEADLINE")?,
                self.rag_plugin_memory_mib,
                self.rag_plugin_max_bytes,
            )?,
        })
    }

    fn slot_limits(
        &self,
        deadline: Duration,
        memory_mib: u32,
        max_bytes: Option<u64>,
    ) -> anyhow::Result<SlotLimits> {
        Ok(SlotLimits {
            deadline,
            memory_bytes: mib(memory_mib),
            max_file_bytes: max_bytes.unwrap_or(self.plugin_max_bytes),
            compile_timeout: positive_seconds(
                self.plugin_compile_timeout,
                "PLUGIN_COMPILE_TIMEOUT",
            )?,
            start_timeout: positive_seconds(self.plugin_start_timeout, "PLUGIN_START_TIMEOUT")?,
            max_concurrent: concurrent_calls(self.plugin_max_concurrent_calls),
            max_queued: self.plugin_max_queued_calls as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        plugins: PluginArgs,
    }

    fn settings(args: &[&str]) -> anyhow::Result<PluginSettings> {
        let cli = Cli::try_parse_from(std::iter::once("voxgate").chain(args.iter().copied()))?;
        cli.plugins.settings()
    }

    #[test]
    fn zero_deadlines_and_budgets_are_refused_naming_the_variable() {
        for (flag, variable) in [
            ("--backoff-plugin-deadline", "BACKOFF_PLUGIN_DEADLINE"),
            ("--rag-plugin-deadline", "RAG_PLUGIN_DEADLINE"),
            ("--plugin-compile-timeout", "PLUGIN_COMPILE_TIMEOUT"),
            ("--plugin-start-timeout", "PLUGIN_START_TIMEOUT"),
        ] {
            let error = settings(&[flag, "0"]).expect_err("refused").to_string();
            assert!(error.contains(variable), "{flag}: {error}");
        }
        let fine = settings(&["--plugin-start-timeout", "0.5"]).expect("accepted");
        assert_eq!(fine.rag.start_timeout, Duration::from_millis(500));
        assert_eq!(fine.backoff.start_timeout, Duration::from_millis(500));
    }
}
