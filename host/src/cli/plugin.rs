//! `voxgate plugin check` (a component checked as the gateway would load it) and `voxgate
//! plugin test` (its behaviour probed), each with a report.

use std::io::Write;

pub fn check(
    file: &std::path::Path,
    json: bool,
    settings: &voxgate::plugins::PluginSettings,
) -> anyhow::Result<()> {
    let report = voxgate::plugins::check::check(file, settings);
    // Locked only now: the check's worker threads may log (to stdout) while it runs.
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        header(&mut out, &report)?;
        writeln!(out, "imports:")?;
        for import in &report.imports {
            writeln!(out, "  {import}")?;
        }
        writeln!(out, "probes:")?;
        for probe in &report.probes {
            writeln!(out, "  {probe}")?;
        }
        footer(
            &mut out,
            &report.problems,
            report.passed(),
            "OK: ready to ship",
        )?;
    }
    if report.passed() {
        Ok(())
    } else {
        anyhow::bail!("{} does not pass the check", file.display())
    }
}

/// The lines both reports start with.
fn header(out: &mut impl Write, report: &voxgate::plugins::check::Report) -> std::io::Result<()> {
    writeln!(out, "file:    {}", report.file)?;
    writeln!(out, "sha256:  {}", report.sha256)?;
    let world = report.world.as_deref().unwrap_or("(none)");
    writeln!(out, "world:   {world}")
}

/// The lines both reports end with: the problems, then the verdict.
fn footer(
    out: &mut impl Write,
    problems: &[String],
    passed: bool,
    ok: &str,
) -> std::io::Result<()> {
    for problem in problems {
        writeln!(out, "problem: {problem}")?;
    }
    writeln!(out, "{}", if passed { ok } else { "FAILED" })
}

pub fn test(
    file: &std::path::Path,
    json: bool,
    settings: &voxgate::plugins::PluginSettings,
    options: voxgate::plugins::conformance::Options,
) -> anyhow::Result<()> {
    let report = voxgate::plugins::conformance::test(file, settings, options);
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        let check = &report.check;
        header(&mut out, check)?;
        writeln!(out, "runs:    {} (seed {})", report.runs, report.seed)?;
        writeln!(out, "properties:")?;
        for property in &report.properties {
            let mark = if property.failures == 0 {
                "ok  "
            } else {
                "FAIL"
            };
            writeln!(
                out,
                "  {mark} {} ({} checked, {} failed)",
                property.name, property.checked, property.failures
            )?;
            if let Some(failure) = &property.first_failure {
                writeln!(out, "         first counterexample: {failure}")?;
            }
        }
        for observation in &report.observations {
            writeln!(out, "observed: {observation}")?;
        }
        for (label, what, t) in [
            ("timing: ", "calls", &report.timing),
            ("start:  ", "instances", &report.instantiation),
        ] {
            writeln!(
                out,
                "{label} {} {what}, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
                t.calls, t.p50_us, t.p99_us, t.max_us
            )?;
        }
        if report.instantiation.p99_us > report.call_deadline_ms * 1e3 {
            writeln!(
                out,
                "         over the {} ms call deadline: fine while instances wait (the gateway \
                 starts them at load and replaces faulted ones in the background), but a call \
                 that finds none waiting will time out",
                report.call_deadline_ms
            )?;
        }
        writeln!(
            out,
            "memory:  high-water {:.1} MiB of the slot's {:.0} MiB cap",
            report.memory_peak_bytes as f64 / (1 << 20) as f64,
            report.memory_cap_bytes as f64 / (1 << 20) as f64
        )?;
        footer(
            &mut out,
            &check.problems,
            report.passed(),
            "OK: every property held",
        )?;
    }
    if report.passed() {
        Ok(())
    } else {
        anyhow::bail!("{} fails `plugin test`", file.display())
    }
}
