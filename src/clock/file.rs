//! A clock read from a file, for tests that move time in spawned `nenufar serve` processes: the
//! file holds one RFC 3339 instant, which every `now()` reads. Compiled only with the `test-clock`
//! feature (which release builds and the demo never enable); `NENUFAR_TEST_CLOCK_FILE` names it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use super::Clock;

/// A clock that stands at the instant written in `path`, and moves when the file is rewritten
/// (see [`FileClock::write`]). In-process nodes of a test may share the same file.
#[derive(Debug)]
pub struct FileClock {
    path: PathBuf,
    /// The last instant read, answered while a rewrite is in progress or the file is unreadable.
    last: Mutex<DateTime<Utc>>,
}

impl FileClock {
    /// Opens the clock; the file must already hold an instant.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let now = read(path)?;
        Ok(Self {
            path: path.to_owned(),
            last: Mutex::new(now),
        })
    }

    /// Sets the clock of every process reading `path` to `now`. The file is replaced, never
    /// rewritten in place, so a reader sees the old instant or the new one.
    pub fn write(path: &Path, now: DateTime<Utc>) -> std::io::Result<()> {
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, now.to_rfc3339())?;
        std::fs::rename(&tmp, path)
    }
}

fn read(path: &Path) -> anyhow::Result<DateTime<Utc>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading the test clock {}: {e}", path.display()))?;
    let now = DateTime::parse_from_rfc3339(text.trim()).map_err(|e| {
        anyhow::anyhow!(
            "the test clock {} does not hold an RFC 3339 instant: {e}",
            path.display()
        )
    })?;
    Ok(now.with_timezone(&Utc))
}

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Ok(now) = read(&self.path) {
            *last = now;
        }
        *last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_follows_the_file() {
        let path = std::env::temp_dir().join(format!("nenufar-clock-{}", uuid::Uuid::new_v4()));
        let t0 = Utc::now();
        FileClock::write(&path, t0).unwrap();
        let clock = FileClock::open(&path).unwrap();
        assert_eq!(clock.now(), t0);
        let t1 = t0 + chrono::Duration::hours(3);
        FileClock::write(&path, t1).unwrap();
        assert_eq!(clock.now(), t1);
        // Unreadable: the last instant read.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(clock.now(), t1);
        assert!(FileClock::open(&path).is_err());
    }
}
