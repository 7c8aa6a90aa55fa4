//! The gateway process itself: its resident memory (for `/health`) and its open-file limit,
//! raised so the gateway can hold many sessions (each holds two sockets).

/// This process's resident memory, bytes (Linux; `None` elsewhere).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// Raise `RLIMIT_NOFILE` to its hard limit; logs how many sessions that allows.
pub fn raise_open_files() -> u64 {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        if ok && limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit = raised;
            }
        }
        let files: u64 = limit.rlim_cur;
        // Two sockets per session, plus headroom for plugins, logs and the listener.
        let sessions = files.saturating_sub(64) / 2;
        tracing::info!("open-file limit {files}: room for about {sessions} concurrent sessions");
        files
    }
    #[cfg(not(unix))]
    {
        0
    }
}
