//! `LimitsConfig`: every server-wide limit (`NENUFAR_LIMITS` profile, rates, connection caps,
//! timeouts, the password-hashing pool), parsed once; errors name the variable.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::ConfigError;
use crate::limits::addr::TrustedProxies;

/// A sustained rate with a burst: `count` events per `period`, and up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Time between two events at the sustained rate.
    pub interval: Duration,
    /// Events allowed at once (at least 1).
    pub burst: u32,
}

impl Rate {
    /// `per_second` events a second (at least one a day), `burst` at once.
    pub fn per_second(per_second: f64, burst: u32) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / per_second.max(1.0 / 86_400.0)),
            burst: burst.max(1),
        }
    }

    /// Parses `N/UNIT[,BURST]` (UNIT `s`, `min` or `h`; BURST defaults to N): `1/s,10`, `30/min`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "expected N/s, N/min or N/h with an optional ,BURST (like 30/min,10), got {text:?}"
            )
        };
        let (rate, burst) = match text.split_once(',') {
            Some((r, b)) => (r.trim(), Some(b.trim())),
            None => (text.trim(), None),
        };
        let (count, unit) = rate.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = match unit.trim() {
            "s" => 1.0,
            "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(bad());
        }
        let burst = match burst {
            None => count,
            Some(b) => b.parse().ok().filter(|b| *b >= 1).ok_or_else(bad)?,
        };
        Ok(Self::per_second(f64::from(count) / period, burst))
    }

    /// The stricter of two rates: the longer interval and the smaller burst.
    pub fn stricter(self, other: Self) -> Self {
        Self {
            interval: self.interval.max(other.interval),
            burst: self.burst.min(other.burst),
        }
    }
}

/// Which set of defaults the limits start from (`NENUFAR_LIMITS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Production defaults (README's configuration table).
    Default,
    /// Every limit raised far above any load a benchmark or load test makes, the hunts' check-in
    /// rate rule included; timeouts unchanged.
    LoadTest,
    /// No limiting layer at all (benchmarks only: to measure what the limits cost).
    Off,
}

impl Profile {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::LoadTest => "load-test",
            Self::Off => "off",
        }
    }
}

/// Every server-wide limit of a node. Rates are counted per node (a cluster of N nodes allows N
/// times each rate), except failed logins per account, counted in PostgreSQL.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    pub profile: Profile,
    /// `NENUFAR_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// `NENUFAR_HEADER_TIMEOUT_MS`: a connection must send a request's whole head within this.
    pub header_timeout: Duration,
    /// `NENUFAR_IDLE_TIMEOUT_MS`: a keep-alive connection with no request is closed after this.
    pub idle_timeout: Duration,
    /// `NENUFAR_REQUEST_TIMEOUT_MS`: a request still unanswered after this gets 503.
    pub request_timeout: Duration,
    /// `NENUFAR_MAX_CONNECTIONS`: open connections of the node (WebSocket sessions included).
    pub max_connections: usize,
    /// `NENUFAR_MAX_CONNECTIONS_PER_ADDRESS`: open connections per client address (per /64).
    pub max_connections_per_address: usize,
    /// `NENUFAR_DB_POOL_WAIT_MS`: how long a request waits for a database connection before 503.
    pub db_pool_wait: Duration,
    /// `NENUFAR_RATE_REQUESTS_PER_TOKEN`: every request carrying a valid bearer token.
    pub requests_per_token: Rate,
    /// `NENUFAR_RATE_REQUESTS_PER_ADDRESS`: every request.
    pub requests_per_address: Rate,
    /// `NENUFAR_RATE_CHECKINS_PER_PLAYER`: the ceiling of every hunt's check-in rule.
    pub checkins_per_player: Rate,
    /// `NENUFAR_RATE_CHECKINS_PER_ADDRESS`.
    pub checkins_per_address: Rate,
    /// `NENUFAR_RATE_LOGINS_PER_ADDRESS`: login attempts.
    pub logins_per_address: Rate,
    /// `NENUFAR_RATE_SIGNUPS_PER_ADDRESS`: account creations (players and staff).
    pub signups_per_address: Rate,
    /// `NENUFAR_LOGIN_FAILURES_PER_ACCOUNT`: failed logins of one e-mail in a window (all nodes).
    pub login_failures_per_account: u32,
    /// `NENUFAR_LOGIN_FAILURE_WINDOW_S`: the window of that count.
    pub login_failure_window: Duration,
    /// `NENUFAR_LIVE_CONNECTIONS_PER_PLAYER`: WebSocket sessions of one player on this node.
    pub live_per_player: usize,
    /// `NENUFAR_LIVE_CONNECTIONS_PER_ADDRESS`: WebSocket sessions from one address on this node.
    pub live_per_address: usize,
    /// `NENUFAR_LIMITER_MAX_KEYS`: keys one rate limiter remembers at most.
    pub limiter_max_keys: usize,
    /// `NENUFAR_PASSWORD_THREADS`: password-hashing threads (default: the cores).
    pub password_threads: usize,
    /// `NENUFAR_PASSWORD_QUEUE`: passwords waiting for a hashing thread before 503.
    pub password_queue: usize,
}

impl LimitsConfig {
    /// The limits of a profile, before any variable overrides them.
    pub fn profile(profile: Profile) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let base = Self {
            profile,
            trusted_proxies: TrustedProxies::default(),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: 20_000,
            max_connections_per_address: 2_000,
            db_pool_wait: Duration::from_secs(5),
            requests_per_token: Rate::per_second(20.0, 200),
            requests_per_address: Rate::per_second(500.0, 2_000),
            checkins_per_player: Rate::per_second(1.0, 10),
            checkins_per_address: Rate::per_second(100.0, 500),
            logins_per_address: Rate::per_second(0.5, 30),
            signups_per_address: Rate::per_second(1.0, 120),
            login_failures_per_account: 10,
            login_failure_window: Duration::from_secs(15 * 60),
            live_per_player: 4,
            live_per_address: 1_000,
            limiter_max_keys: 100_000,
            password_threads: cores,
            password_queue: 32,
        };
        match profile {
            Profile::Default => base,
            Profile::LoadTest | Profile::Off => {
                let high = Rate::per_second(1_000_000.0, 1_000_000);
                Self {
                    max_connections: 200_000,
                    max_connections_per_address: 200_000,
                    requests_per_token: high,
                    requests_per_address: high,
                    checkins_per_player: high,
                    checkins_per_address: high,
                    logins_per_address: high,
                    signups_per_address: high,
                    login_failures_per_account: 1_000_000,
                    live_per_player: 100_000,
                    live_per_address: 200_000,
                    limiter_max_keys: 1_000_000,
                    password_queue: 4_096,
                    ..base
                }
            }
        }
    }

    /// Whether the limiting layer runs at all (`off`: benchmarks only).
    pub fn enforced(&self) -> bool {
        self.profile != Profile::Off
    }

    /// Whether the hunts' own check-in rate rule applies (not under `load-test` or `off`).
    pub fn hunt_rules_apply(&self) -> bool {
        self.profile == Profile::Default
    }

    /// Reads `NENUFAR_LIMITS` and every limit variable over the profile's values.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let profile = match get("NENUFAR_LIMITS") {
            None | Some("default") => Profile::Default,
            Some("load-test") => Profile::LoadTest,
            Some("off") => Profile::Off,
            Some(v) => {
                return Err(ConfigError {
                    variable: "NENUFAR_LIMITS",
                    problem: format!("expected default, load-test or off, got {v:?}"),
                });
            }
        };
        let mut c = Self::profile(profile);
        let error = |variable: &'static str, problem: String| ConfigError { variable, problem };
        if let Some(v) = get("NENUFAR_TRUSTED_PROXIES") {
            c.trusted_proxies =
                TrustedProxies::parse(v).map_err(|p| error("NENUFAR_TRUSTED_PROXIES", p))?;
        }
        let millis = |variable: &'static str, slot: &mut Duration| -> Result<(), ConfigError> {
            if let Some(v) = get(variable) {
                let ms: u64 = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=3_600_000).contains(n))
                    .ok_or_else(|| {
                        error(
                            variable,
                            format!("expected milliseconds in [1, 3600000], got {v:?}"),
                        )
                    })?;
                *slot = Duration::from_millis(ms);
            }
            Ok(())
        };
        millis("NENUFAR_HEADER_TIMEOUT_MS", &mut c.header_timeout)?;
        millis("NENUFAR_IDLE_TIMEOUT_MS", &mut c.idle_timeout)?;
        millis("NENUFAR_REQUEST_TIMEOUT_MS", &mut c.request_timeout)?;
        millis("NENUFAR_DB_POOL_WAIT_MS", &mut c.db_pool_wait)?;
        let count = |variable: &'static str, max: usize, slot: &mut usize| {
            if let Some(v) = get(variable) {
                *slot = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        error(
                            variable,
                            format!("expected an integer in [1, {max}], got {v:?}"),
                        )
                    })?;
            }
            Ok::<_, ConfigError>(())
        };
        count(
            "NENUFAR_MAX_CONNECTIONS",
            10_000_000,
            &mut c.max_connections,
        )?;
        count(
            "NENUFAR_MAX_CONNECTIONS_PER_ADDRESS",
            10_000_000,
            &mut c.max_connections_per_address,
        )?;
        count(
            "NENUFAR_LIVE_CONNECTIONS_PER_PLAYER",
            10_000_000,
            &mut c.live_per_player,
        )?;
        count(
            "NENUFAR_LIVE_CONNECTIONS_PER_ADDRESS",
            10_000_000,
            &mut c.live_per_address,
        )?;
        count(
            "NENUFAR_LIMITER_MAX_KEYS",
            100_000_000,
            &mut c.limiter_max_keys,
        )?;
        count("NENUFAR_PASSWORD_THREADS", 256, &mut c.password_threads)?;
        count("NENUFAR_PASSWORD_QUEUE", 1_000_000, &mut c.password_queue)?;
        let mut failures = c.login_failures_per_account as usize;
        count(
            "NENUFAR_LOGIN_FAILURES_PER_ACCOUNT",
            100_000_000,
            &mut failures,
        )?;
        c.login_failures_per_account = u32::try_from(failures).unwrap_or(u32::MAX);
        let mut window_s = c.login_failure_window.as_secs() as usize;
        count("NENUFAR_LOGIN_FAILURE_WINDOW_S", 86_400 * 30, &mut window_s)?;
        c.login_failure_window = Duration::from_secs(window_s as u64);
        let rate = |variable: &'static str, slot: &mut Rate| {
            if let Some(v) = get(variable) {
                *slot = Rate::parse(v).map_err(|p| error(variable, p))?;
            }
            Ok::<_, ConfigError>(())
        };
        rate("NENUFAR_RATE_REQUESTS_PER_TOKEN", &mut c.requests_per_token)?;
        rate(
            "NENUFAR_RATE_REQUESTS_PER_ADDRESS",
            &mut c.requests_per_address,
        )?;
        rate(
            "NENUFAR_RATE_CHECKINS_PER_PLAYER",
            &mut c.checkins_per_player,
        )?;
        rate(
            "NENUFAR_RATE_CHECKINS_PER_ADDRESS",
            &mut c.checkins_per_address,
        )?;
        rate("NENUFAR_RATE_LOGINS_PER_ADDRESS", &mut c.logins_per_address)?;
        rate(
            "NENUFAR_RATE_SIGNUPS_PER_ADDRESS",
            &mut c.signups_per_address,
        )?;
        Ok(c)
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self::profile(Profile::Default)
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
    fn rates_read_as_count_per_unit_with_a_burst() {
        let r = Rate::parse("30/min,10").unwrap();
        assert_eq!(r.interval, Duration::from_secs(2));
        assert_eq!(r.burst, 10);
        assert_eq!(Rate::parse("2/s").unwrap().burst, 2);
        for bad in ["", "0/s", "1/day", "x/s", "1/s,0", "1/s,x", "1"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_stricter_rate_has_the_longer_interval_and_the_smaller_burst() {
        let a = Rate::per_second(1.0, 10);
        let b = Rate::per_second(0.2, 20);
        assert_eq!(a.stricter(b), Rate::per_second(0.2, 10));
    }

    #[test]
    fn the_load_test_profile_raises_limits_and_variables_override_it() {
        let c = LimitsConfig::from_vars(&vars(&[
            ("NENUFAR_LIMITS", "load-test"),
            ("NENUFAR_PASSWORD_QUEUE", "7"),
        ]))
        .unwrap();
        assert!(c.checkins_per_player.burst > 100_000);
        assert!(!c.hunt_rules_apply());
        assert_eq!(c.password_queue, 7);
        assert!(LimitsConfig::default().hunt_rules_apply());
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (k, v) in [
            ("NENUFAR_LIMITS", "fast"),
            ("NENUFAR_RATE_CHECKINS_PER_PLAYER", "lots"),
            ("NENUFAR_HEADER_TIMEOUT_MS", "0"),
            ("NENUFAR_MAX_CONNECTIONS", "-1"),
            ("NENUFAR_TRUSTED_PROXIES", "10.0.0.0/33"),
        ] {
            let e = LimitsConfig::from_vars(&vars(&[(k, v)])).unwrap_err();
            assert_eq!(e.variable, k);
        }
    }
}
