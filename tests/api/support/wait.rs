//! Waiting on a condition with a deadline: what tests do instead of sleeping for a fixed time.

/// What a probe of [`wait_until`] answers: done (with a value), or not yet (with what it saw, for
/// the failure message).
pub trait Probe {
    type Done;
    fn done(self) -> Result<Self::Done, String>;
}

impl Probe for bool {
    type Done = ();
    fn done(self) -> Result<(), String> {
        if self { Ok(()) } else { Err("false".into()) }
    }
}

impl<T> Probe for Option<T> {
    type Done = T;
    fn done(self) -> Result<T, String> {
        self.ok_or_else(|| "nothing yet".into())
    }
}

impl<T, E: std::fmt::Debug> Probe for Result<T, E> {
    type Done = T;
    fn done(self) -> Result<T, String> {
        self.map_err(|seen| format!("{seen:?}"))
    }
}

/// Runs `probe` until it is done and returns what it gave; fails the test, naming `what` and the
/// last thing the probe saw, once `within` has passed. The probe runs again at once after a short
/// pause (5 ms, doubling to 50 ms): waiting costs what the condition takes, not a fixed time.
pub async fn wait_until<P: Probe>(
    what: &str,
    within: std::time::Duration,
    mut probe: impl AsyncFnMut() -> P,
) -> P::Done {
    let deadline = tokio::time::Instant::now() + within;
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match probe().await.done() {
            Ok(done) => return done,
            Err(seen) => assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not within {within:?}; last seen: {seen}"
            ),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(50));
    }
}
