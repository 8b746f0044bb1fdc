//! The cache settings of `Config`: idle time, sweep interval and the bound of each cache, from
//! `NENUFAR_CACHE_*` variables (errors name the variable).

use std::collections::HashMap;
use std::time::Duration;

use crate::config::ConfigError;

/// How long unused entries stay and how many each cache holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// `NENUFAR_CACHE_IDLE_S` (default 900): a hunt's index, gate, feed and memberships go after
    /// this long unused (they are rebuilt on next use), and at the next sweep once it is archived.
    pub idle: Duration,
    /// `NENUFAR_CACHE_SWEEP_S` (default 30): time between two sweeps.
    pub sweep_every: Duration,
    /// `NENUFAR_CACHE_MAX_HUNTS` (default 2000): hunt indexes, gates and live feeds each hold at
    /// most this many hunts (a feed with subscribers on this node is never evicted).
    pub max_hunts: usize,
    /// `NENUFAR_CACHE_MAX_MEMBERS` (default 500000): memberships (player and hunt) kept.
    pub max_members: usize,
    /// `NENUFAR_CACHE_MAX_TOKENS` (default 200000): verified bearer tokens kept (each at most 60 s).
    pub max_tokens: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(900),
            sweep_every: Duration::from_secs(30),
            max_hunts: 2000,
            max_members: 500_000,
            max_tokens: 200_000,
        }
    }
}

fn number(
    vars: &HashMap<String, String>,
    variable: &'static str,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
) -> Result<u64, ConfigError> {
    match vars
        .get(variable)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| ConfigError {
                variable,
                problem: format!(
                    "expected an integer in [{}, {}], got {v:?}",
                    range.start(),
                    range.end()
                ),
            }),
    }
}

impl CacheConfig {
    /// Reads the `NENUFAR_CACHE_*` variables.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Self {
            idle: Duration::from_secs(number(
                vars,
                "NENUFAR_CACHE_IDLE_S",
                0..=7 * 86_400,
                d.idle.as_secs(),
            )?),
            sweep_every: Duration::from_secs(number(
                vars,
                "NENUFAR_CACHE_SWEEP_S",
                1..=3600,
                d.sweep_every.as_secs(),
            )?),
            max_hunts: count(number(
                vars,
                "NENUFAR_CACHE_MAX_HUNTS",
                1..=1_000_000,
                d.max_hunts as u64,
            )?),
            max_members: count(number(
                vars,
                "NENUFAR_CACHE_MAX_MEMBERS",
                1..=100_000_000,
                d.max_members as u64,
            )?),
            max_tokens: count(number(
                vars,
                "NENUFAR_CACHE_MAX_TOKENS",
                1..=100_000_000,
                d.max_tokens as u64,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_naming_the_variable() {
        assert_eq!(
            CacheConfig::from_vars(&HashMap::new()).unwrap(),
            CacheConfig::default()
        );
        let vars = HashMap::from([("NENUFAR_CACHE_IDLE_S".to_owned(), "2".to_owned())]);
        assert_eq!(
            CacheConfig::from_vars(&vars).unwrap().idle,
            Duration::from_secs(2)
        );
        let bad = HashMap::from([("NENUFAR_CACHE_MAX_HUNTS".to_owned(), "0".to_owned())]);
        assert_eq!(
            CacheConfig::from_vars(&bad).unwrap_err().variable,
            "NENUFAR_CACHE_MAX_HUNTS"
        );
    }
}
