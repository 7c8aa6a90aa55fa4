//! What the gateway process itself uses, read from `/proc/<pid>`: CPU time (user + system, all
//! threads) and resident memory. Only the gateway's own process: not the load clients, not a
//! simulator running elsewhere.

use std::time::Duration;

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub cpu: Duration,
    pub rss_bytes: u64,
}

/// Read `/proc/<pid>/stat` and `/proc/<pid>/status`.
pub fn sample(pid: u32) -> anyhow::Result<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| anyhow::anyhow!("--gateway-pid {pid}: cannot read /proc/{pid}/stat: {e}"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| anyhow::anyhow!("--gateway-pid {pid}: cannot read /proc/{pid}/status: {e}"))?;
    Ok(Sample {
        cpu: cpu_time(&stat)
            .ok_or_else(|| anyhow::anyhow!("/proc/{pid}/stat: no CPU times in {stat:?}"))?,
        rss_bytes: rss(&status)
            .ok_or_else(|| anyhow::anyhow!("/proc/{pid}/status: no VmRSS line"))?,
    })
}

/// utime + stime (fields 14 and 15; the command name before them may hold spaces).
fn cpu_time(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a constant of the running system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

fn rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = sample(std::process::id()).unwrap();
        assert!(me.rss_bytes > 0);
        let stat = "42 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0";
        let ticks = cpu_time(stat).unwrap().as_secs_f64();
        // SAFETY: as above.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        assert!((ticks - 300.0 / hz).abs() < 1e-9);
        assert!(sample(u32::MAX).is_err());
    }
}
