//! Server-wide limits, one node's share: the configuration, the client address, keyed rate
//! limiters (`governor`, and a GCRA of our own for check-ins), and counted slots for connections.
//! Pure mechanism: no HTTP and no database here; `http` and `service` decide where each applies.
//!
//! Every rate is counted per node: a cluster of N nodes allows N times each rate (a load balancer
//! spreading one client over nodes spreads its cells too). Failed logins per account are the
//! exception: they are counted in PostgreSQL (`db::login_attempts`), so they hold across nodes.

pub mod addr;
pub mod config;
pub mod gcra;
pub mod keyed;
pub mod slots;

use std::sync::Arc;
use std::time::{Duration, Instant};

use addr::AddrKey;
use config::{LimitsConfig, Rate};
use gcra::{Cell, Gcra};
use keyed::KeyedLimiter;
use slots::{Slot, Slots};

use crate::domain::ids::{HuntId, PlayerId};

/// A request refused by a limit: answer 429 `rate_limited` with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// Which limit refused (metrics and logs).
    pub limiter: &'static str,
    /// How long until the limit admits again.
    pub retry_after: Duration,
}

/// The cells a check-in took (per player in its hunt, and per address): given back when it turns
/// out to replay a stored key.
#[derive(Debug)]
pub struct CheckinCells {
    player: Option<Cell<(HuntId, PlayerId)>>,
    address: Option<Cell<AddrKey>>,
}

/// A SHA-256 token hash, the key of the per-token limiter.
pub type TokenKey = [u8; 32];

/// This node's limiters, built once from the configuration.
#[derive(Debug)]
pub struct Limiters {
    pub config: LimitsConfig,
    requests_per_token: KeyedLimiter<TokenKey>,
    requests_per_address: KeyedLimiter<AddrKey>,
    logins_per_address: KeyedLimiter<AddrKey>,
    signups_per_address: KeyedLimiter<AddrKey>,
    checkins_per_player: Gcra<(HuntId, PlayerId)>,
    checkins_per_address: Gcra<AddrKey>,
    /// WebSocket sessions per player and per address.
    live_per_player: Arc<Slots<PlayerId>>,
    live_per_address: Arc<Slots<AddrKey>>,
    /// Open connections, all and per address.
    connections: Arc<Slots<()>>,
    connections_per_address: Arc<Slots<AddrKey>>,
}

/// A WebSocket session's slots, released when the session ends.
#[derive(Debug)]
pub struct LiveSlots {
    _player: Option<Slot<PlayerId>>,
    _address: Option<Slot<AddrKey>>,
}

/// An open connection's slots, released when the connection (and any session it became) ends.
#[derive(Debug)]
pub struct ConnectionSlots {
    _all: Option<Slot<()>>,
    _address: Option<Slot<AddrKey>>,
}

/// A request's share of its connection's slots (a request extension): a WebSocket session keeps
/// it for as long as it lives, so an upgraded connection still counts against the caps.
#[derive(Debug, Clone)]
pub struct ConnectionHold(pub Arc<ConnectionSlots>);

impl Limiters {
    /// The limiters of `config`.
    pub fn new(config: LimitsConfig) -> Self {
        let keys = config.limiter_max_keys;
        Self {
            requests_per_token: KeyedLimiter::new(
                "requests_per_token",
                config.requests_per_token,
                keys,
            ),
            requests_per_address: KeyedLimiter::new(
                "requests_per_address",
                config.requests_per_address,
                keys,
            ),
            logins_per_address: KeyedLimiter::new(
                "logins_per_address",
                config.logins_per_address,
                keys,
            ),
            signups_per_address: KeyedLimiter::new(
                "signups_per_address",
                config.signups_per_address,
                keys,
            ),
            checkins_per_player: Gcra::new("checkins_per_player", keys),
            checkins_per_address: Gcra::new("checkins_per_address", keys),
            live_per_player: Slots::new("live_per_player", config.live_per_player),
            live_per_address: Slots::new("live_per_address", config.live_per_address),
            connections: Slots::new("connections", config.max_connections),
            connections_per_address: Slots::new(
                "connections_per_address",
                config.max_connections_per_address,
            ),
            config,
        }
    }

    fn enforced(&self) -> bool {
        self.config.enforced()
    }

    /// One request from `addr`, with a verified bearer token's key if any.
    pub fn check_request(
        &self,
        addr: AddrKey,
        token: Option<&TokenKey>,
    ) -> Result<(), RateLimited> {
        if !self.enforced() {
            return Ok(());
        }
        self.requests_per_address.check(&addr)?;
        match token {
            Some(t) => self.requests_per_token.check(t),
            None => Ok(()),
        }
    }

    /// Counts a request whose token was verified only while it was served (see the layer).
    pub fn count_token(&self, token: &TokenKey) {
        if self.enforced() {
            let _ = self.requests_per_token.check(token);
        }
    }

    /// One login attempt from `addr`.
    pub fn check_login(&self, addr: AddrKey) -> Result<(), RateLimited> {
        if !self.enforced() {
            return Ok(());
        }
        self.logins_per_address.check(&addr)
    }

    /// One account creation from `addr`.
    pub fn check_signup(&self, addr: AddrKey) -> Result<(), RateLimited> {
        if !self.enforced() {
            return Ok(());
        }
        self.signups_per_address.check(&addr)
    }

    /// The check-in rate of a player in a hunt: the hunt's rule (when `rule` is given and the
    /// profile applies hunt rules) and the server ceiling, whichever is stricter.
    pub fn checkin_rate(&self, rule: Option<Rate>) -> Rate {
        let ceiling = self.config.checkins_per_player;
        match rule {
            Some(rule) if self.config.hunt_rules_apply() => ceiling.stricter(rule),
            _ => ceiling,
        }
    }

    /// Takes one check-in cell for the player in the hunt and one for the address, both or none.
    pub fn take_checkin(
        &self,
        hunt: HuntId,
        player: PlayerId,
        addr: AddrKey,
        rule: Option<Rate>,
    ) -> Result<CheckinCells, RateLimited> {
        if !self.enforced() {
            return Ok(CheckinCells {
                player: None,
                address: None,
            });
        }
        let now = Instant::now();
        let player_cell =
            self.checkins_per_player
                .take((hunt, player), self.checkin_rate(rule), now)?;
        match self
            .checkins_per_address
            .take(addr, self.config.checkins_per_address, now)
        {
            Ok(address) => Ok(CheckinCells {
                player: Some(player_cell),
                address: Some(address),
            }),
            Err(e) => {
                self.checkins_per_player.give_back(player_cell);
                Err(e)
            }
        }
    }

    /// Gives a check-in's cells back (it replayed a stored key).
    pub fn give_back_checkin(&self, cells: CheckinCells) {
        if let Some(c) = cells.player {
            self.checkins_per_player.give_back(c);
        }
        if let Some(c) = cells.address {
            self.checkins_per_address.give_back(c);
        }
    }

    /// Slots for a WebSocket session of `player` from `addr`.
    pub fn live_slots(&self, player: PlayerId, addr: AddrKey) -> Result<LiveSlots, RateLimited> {
        if !self.enforced() {
            return Ok(LiveSlots {
                _player: None,
                _address: None,
            });
        }
        let refused = |limiter| RateLimited {
            limiter,
            retry_after: Duration::from_secs(5),
        };
        let address = self
            .live_per_address
            .acquire(addr)
            .ok_or(refused("live_per_address"))?;
        let player = self
            .live_per_player
            .acquire(player)
            .ok_or(refused("live_per_player"))?;
        Ok(LiveSlots {
            _player: Some(player),
            _address: Some(address),
        })
    }

    /// Slots for a new connection from `addr` (`None` when a cap is reached); a trusted proxy's
    /// connections carry many clients and are not capped per address.
    pub fn connection_slots(&self, addr: AddrKey, trusted_proxy: bool) -> Option<ConnectionSlots> {
        if !self.enforced() {
            return Some(ConnectionSlots {
                _all: None,
                _address: None,
            });
        }
        let all = self.connections.acquire(())?;
        let address = if trusted_proxy {
            None
        } else {
            Some(self.connections_per_address.acquire(addr)?)
        };
        Some(ConnectionSlots {
            _all: Some(all),
            _address: address,
        })
    }

    /// Forgets keys back at full burst (run periodically).
    pub fn sweep(&self) {
        self.requests_per_token.sweep();
        self.requests_per_address.sweep();
        self.logins_per_address.sweep();
        self.signups_per_address.sweep();
        let now = Instant::now();
        self.checkins_per_player.sweep(now);
        self.checkins_per_address.sweep(now);
    }

    /// Sets keys remembered and requests refused per limiter, and slots held, on `m` (at scrape).
    pub fn report(&self, m: &crate::telemetry::Metrics) {
        use crate::telemetry::recorder::names::{RATE_LIMITED, RATE_LIMITER_KEYS, SLOTS_HELD};
        let keyed = [
            (
                self.requests_per_token.name(),
                self.requests_per_token.len(),
                self.requests_per_token.refused(),
            ),
            (
                self.requests_per_address.name(),
                self.requests_per_address.len(),
                self.requests_per_address.refused(),
            ),
            (
                self.logins_per_address.name(),
                self.logins_per_address.len(),
                self.logins_per_address.refused(),
            ),
            (
                self.signups_per_address.name(),
                self.signups_per_address.len(),
                self.signups_per_address.refused(),
            ),
            (
                self.checkins_per_player.name(),
                self.checkins_per_player.len(),
                self.checkins_per_player.refused(),
            ),
            (
                self.checkins_per_address.name(),
                self.checkins_per_address.len(),
                self.checkins_per_address.refused(),
            ),
        ];
        for (name, keys, refused) in keyed {
            m.set_gauge(RATE_LIMITER_KEYS, &[("limiter", name)], keys as f64);
            m.set_counter(RATE_LIMITED, &[("limiter", name)], refused);
        }
        for (name, held) in [
            (self.connections.name(), self.connections.held()),
            (self.live_per_player.name(), self.live_per_player.held()),
        ] {
            m.set_gauge(SLOTS_HELD, &[("slots", name)], held as f64);
        }
    }
}
