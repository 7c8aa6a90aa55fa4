//! `voxgate kb list | search`: the knowledge bases, searched with the same plugin and index
//! the gateway uses (outside any async runtime: plugin calls here are synchronous).

use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;
use voxgate::config::defaults;

#[derive(clap::Args, Clone)]
pub struct KbArgs {
    /// Directory of knowledge bases.
    #[arg(
        long,
        env = "KB_DIR",
        value_name = "KB_DIR",
        default_value = defaults::KB_DIR
    )]
    kb_dir: PathBuf,
    /// Directory holding rag.wasm (the built-in default is used when it is missing).
    #[arg(
        long,
        env = "PLUGIN_DIR",
        value_name = "PLUGIN_DIR",
        default_value = defaults::PLUGIN_DIR
    )]
    plugin_dir: PathBuf,
}

#[derive(Subcommand)]
pub enum KbCommand {
    /// List the knowledge bases with their document and chunk counts.
    List {
        #[command(flatten)]
        dirs: KbArgs,
    },
    /// Search a knowledge base: the ranked hits with scores and chunk ids.
    Search {
        /// The knowledge base.
        kb_id: String,
        /// The query.
        query: String,
        /// How many hits.
        #[arg(long, default_value_t = 5)]
        top_k: u32,
        /// Print the hits as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        dirs: KbArgs,
    },
}

/// A RAG slot loaded like the gateway's, outside a running gateway.
fn rag_slot(
    dirs: &KbArgs,
) -> anyhow::Result<(
    std::sync::Arc<voxgate::kb::KnowledgeBases>,
    voxgate::plugins::Plugins,
)> {
    let mut settings = voxgate::Config::default().plugins;
    settings.dir = dirs.plugin_dir.clone();
    let knowledge = std::sync::Arc::new(voxgate::kb::KnowledgeBases::new(dirs.kb_dir.clone()));
    let metrics = std::sync::Arc::new(voxgate::metrics::Metrics::new());
    let plugins = voxgate::plugins::Plugins::start(
        &settings,
        metrics,
        std::sync::Arc::default(),
        knowledge.clone(),
    )?;
    Ok((knowledge, plugins))
}

pub fn run(command: KbCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        KbCommand::List { dirs } => {
            let knowledge = voxgate::kb::KnowledgeBases::new(dirs.kb_dir.clone());
            writeln!(out, "{:<32} {:>9} {:>7}", "KB", "DOCUMENTS", "CHUNKS")?;
            for (id, loaded) in knowledge.list() {
                match loaded {
                    Ok(kb) => writeln!(out, "{id:<32} {:>9} {:>7}", kb.documents, kb.chunks.len())?,
                    Err(error) => writeln!(out, "{id:<32} error: {error}")?,
                }
            }
            Ok(())
        }
        KbCommand::Search {
            kb_id,
            query,
            top_k,
            json,
            dirs,
        } => {
            voxgate::kb::check(&dirs.kb_dir, &kb_id)
                .map_err(|e| anyhow::anyhow!("{e} (KB_DIR is {})", dirs.kb_dir.display()))?;
            let (_knowledge, plugins) = rag_slot(&dirs)?;
            let hits = voxgate::plugins::run_to_completion(voxgate::plugins::rag::search(
                &plugins.rag,
                &kb_id,
                &query,
                top_k.clamp(1, 100),
            ))??;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&hits)?)?;
            } else if hits.is_empty() {
                writeln!(out, "no hits")?;
            } else {
                for (rank, hit) in hits.iter().enumerate() {
                    let preview: String = hit
                        .content
                        .chars()
                        .take(100)
                        .collect::<String>()
                        .replace('\n', " ");
                    writeln!(
                        out,
                        "{:>2}. {:>7.3}  {}  ({})\n             {preview}",
                        rank + 1,
                        hit.score,
                        hit.chunk_id,
                        hit.title
                    )?;
                }
            }
            Ok(())
        }
    }
}
