//! `voxgate plugin check`: a component checked as the gateway would load it, with a report.

use std::io::Write;

pub fn check(file: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let report = voxgate::plugins::check::check(file, &voxgate::Config::default().plugins);
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "file:    {}", report.file)?;
        writeln!(out, "sha256:  {}", report.sha256)?;
        writeln!(
            out,
            "world:   {}",
            report.world.as_deref().unwrap_or("(none)")
        )?;
        writeln!(out, "imports:")?;
        for import in &report.imports {
            writeln!(out, "  {import}")?;
        }
        writeln!(out, "probes:")?;
        for probe in &report.probes {
            writeln!(out, "  {probe}")?;
        }
        for problem in &report.problems {
            writeln!(out, "problem: {problem}")?;
        }
        writeln!(
            out,
            "{}",
            if report.passed() {
                "OK: ready to ship"
            } else {
                "FAILED"
            }
        )?;
    }
    if report.passed() {
        Ok(())
    } else {
        anyhow::bail!("{} does not pass the check", file.display())
    }
}
