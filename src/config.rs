//! `Config`: every `NENUFAR_*` variable parsed once at start-up; errors name the variable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use thiserror::Error;

/// A value that must never be printed (database URLs carry passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The clear value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The node's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `NENUFAR_DATABASE_URL`: an external PostgreSQL; `None` means the embedded default cluster.
    pub database_url: Option<Secret>,
    /// `NENUFAR_DATA_DIR`: where the embedded cluster lives.
    pub data_dir: Option<PathBuf>,
    /// `NENUFAR_STATE_DIR` (absolute): where the default embedded cluster (`main`) and the list of
    /// clusters live; unset: `/var/lib/nenufar` as root, the XDG directories otherwise.
    pub state_dir: Option<PathBuf>,
    /// `NENUFAR_BIND`, default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `NENUFAR_DB_POOL_SIZE`, default 24.
    pub db_pool_size: usize,
    /// `NENUFAR_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `NENUFAR_LOG_BACKTRACES`: `1` logs the backtrace of an internal error (default `0`: its
    /// cause chain only; anyhow captures one only under `RUST_BACKTRACE` or `RUST_LIB_BACKTRACE`).
    pub log_backtraces: bool,
    /// `NENUFAR_VAPID_SUBJECT` (a `mailto:` or `https:` URI) and
    /// `NENUFAR_PUSH_ALLOW_HTTP_LOOPBACK` (`1`: plain-http push endpoints on loopback, for tests).
    pub push: crate::push::PushSettings,
    /// `NENUFAR_CACHE_*`: bounds and idle time of the node's caches (`cache::config`).
    pub caches: crate::cache::CacheConfig,
    /// `NENUFAR_LIMITS` and every server-wide limit (`limits::config`).
    pub limits: crate::limits::config::LimitsConfig,
    /// `NENUFAR_TEST_CLOCK_FILE`, read only by builds with the `test-clock` feature: a file holding
    /// the instant the node takes for now (`clock::file`); unset, the system clock.
    #[cfg(feature = "test-clock")]
    pub test_clock_file: Option<PathBuf>,
}

/// A variable with a bad value.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Parses a map of variables (tests pass their own).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let database_url = match get("NENUFAR_DATABASE_URL") {
            None => None,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(Secret::new(url.to_owned()))
            }
            Some(_) => {
                return Err(ConfigError {
                    variable: "NENUFAR_DATABASE_URL",
                    problem: "must be a postgresql:// URL (for a unix socket: postgresql:///db?host=/dir)".into(),
                });
            }
        };
        let bind = match get("NENUFAR_BIND") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v.parse().map_err(|_| ConfigError {
                variable: "NENUFAR_BIND",
                problem: format!("expected an address like 127.0.0.1:8080, got {v:?}"),
            })?,
        };
        let db_pool_size = match get("NENUFAR_DB_POOL_SIZE") {
            None => 24,
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| ConfigError {
                    variable: "NENUFAR_DB_POOL_SIZE",
                    problem: format!("expected an integer in [1, 500], got {v:?}"),
                })?,
        };
        let log_format = match get("NENUFAR_LOG_FORMAT") {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(v) => {
                return Err(ConfigError {
                    variable: "NENUFAR_LOG_FORMAT",
                    problem: format!("expected text or json, got {v:?}"),
                });
            }
        };
        let log_backtraces = match get("NENUFAR_LOG_BACKTRACES") {
            None | Some("0") => false,
            Some("1") => true,
            Some(v) => {
                return Err(ConfigError {
                    variable: "NENUFAR_LOG_BACKTRACES",
                    problem: format!("expected 0 or 1, got {v:?}"),
                });
            }
        };
        let subject = match get("NENUFAR_VAPID_SUBJECT") {
            None => None,
            Some(v) => {
                crate::push::vapid::check_subject(v).map_err(|e| ConfigError {
                    variable: "NENUFAR_VAPID_SUBJECT",
                    problem: e.to_string(),
                })?;
                Some(v.to_owned())
            }
        };
        let allow_http_loopback = match get("NENUFAR_PUSH_ALLOW_HTTP_LOOPBACK") {
            None | Some("0") => false,
            Some("1") => true,
            Some(v) => {
                return Err(ConfigError {
                    variable: "NENUFAR_PUSH_ALLOW_HTTP_LOOPBACK",
                    problem: format!("expected 0 or 1, got {v:?}"),
                });
            }
        };
        let limits = crate::limits::config::LimitsConfig::from_vars(vars)?;
        Ok(Self {
            database_url,
            data_dir: get("NENUFAR_DATA_DIR").map(PathBuf::from),
            state_dir: absolute_dir(get("NENUFAR_STATE_DIR"), "NENUFAR_STATE_DIR")?,
            bind,
            db_pool_size,
            log_format,
            log_backtraces,
            push: crate::push::PushSettings {
                subject,
                allow_http_loopback: crate::push::subscription::AllowHttpLoopback(
                    allow_http_loopback,
                ),
            },
            caches: crate::cache::CacheConfig::from_vars(vars)?,
            limits,
            #[cfg(feature = "test-clock")]
            test_clock_file: get("NENUFAR_TEST_CLOCK_FILE").map(PathBuf::from),
        })
    }
}

/// An optional directory that must be absolute (so it does not depend on the current directory).
fn absolute_dir(
    value: Option<&str>,
    variable: &'static str,
) -> Result<Option<PathBuf>, ConfigError> {
    match value.map(PathBuf::from) {
        Some(dir) if !dir.is_absolute() => Err(ConfigError {
            variable,
            problem: format!("expected an absolute path, got {dir:?}"),
        }),
        dir => Ok(dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_no_variable() {
        let c = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert!(c.database_url.is_none());
    }

    #[test]
    fn errors_name_the_variable_and_urls_never_print() {
        let e = Config::from_vars(&vars(&[("NENUFAR_BIND", "nope")])).unwrap_err();
        assert_eq!(e.variable, "NENUFAR_BIND");
        let c = Config::from_vars(&vars(&[(
            "NENUFAR_DATABASE_URL",
            "postgresql://u:hunter2@h/db",
        )]))
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(Config::from_vars(&vars(&[("NENUFAR_DATABASE_URL", "mysql://x")])).is_err());
    }

    #[test]
    fn the_state_dir_must_not_depend_on_the_current_directory() {
        let e = Config::from_vars(&vars(&[("NENUFAR_STATE_DIR", "state")])).unwrap_err();
        assert_eq!(e.variable, "NENUFAR_STATE_DIR");
        let c = Config::from_vars(&vars(&[("NENUFAR_STATE_DIR", "/srv/nenufar")])).unwrap();
        assert_eq!(c.state_dir, Some(PathBuf::from("/srv/nenufar")));
    }
}
