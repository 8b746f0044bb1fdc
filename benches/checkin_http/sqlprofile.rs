//! A statement-level profile of the measured window, when `NENUFAR_BENCH_PROFILE_SQL=1`: every
//! statement of the benchmark database is logged with its duration (`log_min_duration_statement
//! = 0`, which slows the run down), then the log lines written during the window are grouped by
//! protocol step and statement. Durations are wall-clock time inside PostgreSQL (CPU, lock waits,
//! fsync), not CPU alone.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Whether the profile was asked for.
pub fn enabled() -> bool {
    std::env::var("NENUFAR_BENCH_PROFILE_SQL").is_ok_and(|v| v == "1")
}

/// Prints the statements logged in `log` between byte offsets `from` and `to`, by total time,
/// with their count and time per operation (`ops` operations in the window).
pub fn report(log: &Path, from: u64, to: u64, ops: f64) -> anyhow::Result<()> {
    let mut file = std::fs::File::open(log)?;
    file.seek(SeekFrom::Start(from))?;
    let mut text = String::new();
    file.take(to.saturating_sub(from))
        .read_to_string(&mut text)?;
    // Lines look like `... LOG:  duration: 0.179 ms  execute s36: SELECT ...`.
    let mut by_statement: HashMap<String, (u64, f64)> = HashMap::new();
    for line in text.lines() {
        let Some(rest) = line.split_once("duration: ").map(|(_, r)| r) else {
            continue;
        };
        let Some((ms, what)) = rest.split_once(" ms") else {
            continue;
        };
        let Ok(ms) = ms.parse::<f64>() else { continue };
        let what = what.trim_start();
        let (step, sql) = what.split_once(": ").unwrap_or((what, ""));
        let step = step.split_whitespace().next().unwrap_or_default();
        let sql: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let key = format!("{step:<9} {}", sql.chars().take(90).collect::<String>());
        let slot = by_statement.entry(key).or_default();
        slot.0 += 1;
        slot.1 += ms;
    }
    let mut rows: Vec<_> = by_statement.into_iter().collect();
    rows.sort_by(|a, b| b.1.1.total_cmp(&a.1.1));
    let total: f64 = rows.iter().map(|r| r.1.1).sum();
    let ops = ops.max(1.0);
    println!(
        "  SQL profile of the window: {:.0} us of statement time per check-in; top statements \
         (per check-in: count, us):",
        total * 1000.0 / ops
    );
    for (key, (n, ms)) in rows.iter().take(15) {
        println!(
            "    {:>5.2} x {:>6.0} us  {key}",
            *n as f64 / ops,
            ms * 1000.0 / ops
        );
    }
    Ok(())
}
