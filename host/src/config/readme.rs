//! The README's configuration table, `voxgate serve --help` and [`defaults`](super::defaults)
//! say the same thing: one row per variable, its default exactly as `--help` shows it.

use super::ServeArgs;
use clap::{Args, Command};
use std::collections::BTreeMap;

const README: &str = include_str!("../../../README.md");

/// `VARIABLE → default column` of every row of the form `` | `VARIABLE` | default | … | ``.
fn readme_rows() -> BTreeMap<String, String> {
    let mut rows = BTreeMap::new();
    for line in README.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[0].is_empty() {
            continue;
        }
        let Some(name) = cells[1].strip_prefix('`').and_then(|c| c.strip_suffix('`')) else {
            continue;
        };
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            rows.insert(name.to_string(), cells[2].to_string());
        }
    }
    rows
}

fn serve_command() -> Command {
    ServeArgs::augment_args(Command::new("serve")).term_width(10_000)
}

#[test]
fn readme_configuration_table_agrees_with_serve_help() {
    let rows = readme_rows();
    let mut command = serve_command();
    let help = command.render_long_help().to_string();
    let mut seen = Vec::new();
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env() else { continue };
        let env = env.to_string_lossy().into_owned();
        assert!(help.contains(&env), "--help does not mention {env}");
        let row = rows
            .get(&env)
            .unwrap_or_else(|| panic!("the README's configuration table has no row for {env}"));
        match arg.get_default_values().first() {
            Some(default) => {
                let default = default.to_string_lossy();
                assert!(
                    row.starts_with(&format!("`{default}`")),
                    "{env}: --help says the default is {default}, the README says {row:?}"
                );
                assert!(
                    help.contains(&format!("[default: {default}]")),
                    "{env}: --help does not show [default: {default}]:\n{help}"
                );
            }
            None => assert!(
                row.starts_with('—'),
                "{env}: no default in --help, the README says {row:?}"
            ),
        }
        seen.push(env);
    }
    for name in rows.keys() {
        assert!(
            seen.contains(name) || name == "RUST_LOG" || name == "LOG_FORMAT",
            "the README documents {name}, which `voxgate serve` does not take"
        );
    }
}
