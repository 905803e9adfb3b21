//! Benchmark support for MemoryStreamer. The load tool lives in
//! `src/bin/memorystreamer-bench.rs`; `benches/run.sh` regenerates
//! `BENCHMARKS.md`.

/// CPU time (user + system) a process has used, from `/proc/<pid>/stat`,
/// in seconds. None when the process or the file is gone.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after ')' are fixed.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After ')': state(3) ppid(4) ... utime is field 14, stime 15 (1-based).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    // sysconf(_SC_CLK_TCK) is 100 on every Linux we target.
    100.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_cpu_time() {
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let cpu = super::process_cpu_seconds(std::process::id()).expect("own stat");
        assert!(cpu >= 0.0);
        assert!(super::process_cpu_seconds(u32::MAX).is_none());
    }
}
