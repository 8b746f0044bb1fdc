//! Password hashing bounded by construction: a fixed set of hashing threads (the cores by
//! default), each owning one argon2 memory block set allocated once and reused, behind a bounded
//! queue that answers 503 `unavailable` when full. However many logins arrive at once, the memory
//! hashing uses is `threads x m_cost` KiB (19 MiB each with argon2's defaults), whatever the
//! allocator does: no allocation per hash, so nothing for a per-thread arena to keep.
//!
//! Verification recomputes the hash with the stored PHC string's algorithm, version, parameters
//! and salt into the thread's blocks and compares in constant time (`password_hash::Output`'s
//! equality). A login for an unknown e-mail spends exactly the same work (`spend`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::anyhow;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use tokio::sync::oneshot;

use crate::error::AppError;

/// Bytes of a new hash's salt.
const SALT_BYTES: usize = 16;
/// A fixed salt for the work spent on unknown e-mails (nothing is stored or compared).
const SPEND_SALT: &[u8; SALT_BYTES] = b"nenufar-no-acct!";

/// Hashing counters for `/metrics`.
#[derive(Debug, Default)]
pub struct PasswordMetrics {
    /// Argon2 computations done (hashes, verifications and the work spent on unknown e-mails).
    pub hashed: AtomicU64,
    /// Requests refused because the queue was full.
    pub refused: AtomicU64,
}

enum Work {
    Hash(String),
    Verify { password: String, phc: String },
    Spend(String),
}

enum Done {
    Hashed(String),
    Verified(bool),
    Spent,
}

struct Job {
    work: Work,
    reply: oneshot::Sender<anyhow::Result<Done>>,
}

/// The node's hashing pool.
pub struct Passwords {
    tx: SyncSender<Job>,
    pub metrics: Arc<PasswordMetrics>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

impl Passwords {
    /// `threads` hashing threads behind a queue of `queue` waiting passwords. The threads stop
    /// when the pool is dropped; each allocates its block set on its first job.
    pub fn new(threads: usize, queue: usize) -> Self {
        let (tx, rx) = mpsc::sync_channel(queue);
        let rx = Arc::new(Mutex::new(rx));
        let metrics = Arc::new(PasswordMetrics::default());
        for i in 0..threads.max(1) {
            let (rx, metrics) = (rx.clone(), metrics.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("nenufar-hash-{i}"))
                .spawn(move || work(&rx, &metrics));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        Self { tx, metrics }
    }

    async fn run(&self, work: Work) -> Result<Done, AppError> {
        let (reply, answer) = oneshot::channel();
        match self.tx.try_send(Job { work, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.metrics.refused.fetch_add(1, Ordering::Relaxed);
                return Err(AppError::Unavailable("too many logins at once"));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppError::Unavailable("password hashing stopped"));
            }
        }
        answer
            .await
            .map_err(|_| AppError::Internal(anyhow!("a hashing thread dropped a job")))?
            .map_err(AppError::Internal)
    }

    /// Sets the pool's counters on `m` (at scrape).
    pub fn report(&self, m: &crate::telemetry::Metrics) {
        use crate::telemetry::recorder::names::{PASSWORD_HASHES, PASSWORD_QUEUE_FULL};
        m.set_counter(
            PASSWORD_HASHES,
            &[],
            self.metrics.hashed.load(Ordering::Relaxed),
        );
        m.set_counter(
            PASSWORD_QUEUE_FULL,
            &[],
            self.metrics.refused.load(Ordering::Relaxed),
        );
    }

    /// A new argon2id PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        match self.run(Work::Hash(password)).await? {
            Done::Hashed(phc) => Ok(phc),
            _ => Err(AppError::Internal(anyhow!("hashing answered another job"))),
        }
    }

    /// Whether `password` matches the stored PHC string.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, AppError> {
        match self.run(Work::Verify { password, phc }).await? {
            Done::Verified(ok) => Ok(ok),
            _ => Err(AppError::Internal(anyhow!("hashing answered another job"))),
        }
    }

    /// Spends the work of a verification without any stored hash (unknown e-mails), so response
    /// times do not tell which accounts exist.
    pub async fn spend(&self, password: String) -> Result<(), AppError> {
        self.run(Work::Spend(password)).await.map(|_| ())
    }
}

/// One hashing thread: its block set, reused for every job until the pool is dropped.
fn work(rx: &Mutex<Receiver<Job>>, metrics: &PasswordMetrics) {
    let mut blocks: Vec<Block> = Vec::new();
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(PoisonError::into_inner);
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        if blocks.is_empty() {
            blocks = vec![Block::default(); Params::DEFAULT_M_COST as usize];
        }
        let done = match job.work {
            Work::Hash(password) => hash(&password, &mut blocks).map(Done::Hashed),
            Work::Verify { password, phc } => {
                verify(&password, &phc, &mut blocks).map(Done::Verified)
            }
            Work::Spend(password) => {
                let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
                compute(
                    &Argon2::default(),
                    &password,
                    SPEND_SALT,
                    &mut out,
                    &mut blocks,
                )
                .map(|()| Done::Spent)
            }
        };
        metrics.hashed.fetch_add(1, Ordering::Relaxed);
        let _ = job.reply.send(done);
    }
}

/// Runs argon2 into `blocks` (never allocating); refuses parameters needing more memory.
fn compute(
    argon: &Argon2<'_>,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
    blocks: &mut [Block],
) -> anyhow::Result<()> {
    let needed = argon.params().block_count();
    let blocks = blocks.get_mut(..needed).ok_or_else(|| {
        anyhow!("a password hash needs {needed} KiB, more than the hashing pool holds per thread")
    })?;
    argon
        .hash_password_into_with_memory(password.as_bytes(), salt, out, blocks)
        .map_err(|e| anyhow!("argon2: {e}"))
}

fn hash(password: &str, blocks: &mut [Block]) -> anyhow::Result<String> {
    let mut salt = [0u8; SALT_BYTES];
    rand::rng().fill_bytes(&mut salt);
    let argon = Argon2::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, password, &salt, &mut out, blocks)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow!("salt: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

fn verify(password: &str, phc: &str, blocks: &mut [Block]) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(phc).map_err(|e| anyhow!("stored password hash: {e}"))?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm).map_err(|e| anyhow!("stored hash algorithm: {e}"))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| anyhow!("stored hash version: {e}"))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| anyhow!("stored hash params: {e}"))?;
    let expected = parsed
        .hash
        .ok_or_else(|| anyhow!("stored hash has no output"))?;
    let mut salt = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| anyhow!("stored hash has no salt"))?
        .decode_b64(&mut salt)
        .map_err(|e| anyhow!("stored hash salt: {e}"))?;
    let mut out = [0u8; 64];
    let out = out
        .get_mut(..expected.len())
        .ok_or_else(|| anyhow!("stored hash output too long"))?;
    compute(
        &Argon2::new(algorithm, version, params),
        password,
        salt,
        out,
        blocks,
    )?;
    // Output's equality is constant-time.
    Ok(Output::new(out).map_err(|e| anyhow!("output: {e}"))? == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_old_hashes_still_verify() {
        let pool = Passwords::new(1, 4);
        let phc = pool.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            pool.verify("correct horse".into(), phc.clone())
                .await
                .unwrap()
        );
        assert!(!pool.verify("wrong horse".into(), phc).await.unwrap());
        // A hash made the way nenufar did before the pool (argon2's own PasswordHasher).
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let old = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(
            pool.verify("correct horse".into(), old.clone())
                .await
                .unwrap()
        );
        assert!(!pool.verify("nope".into(), old).await.unwrap());
        pool.spend("x".into()).await.unwrap();
        assert_eq!(pool.metrics.hashed.load(Ordering::Relaxed), 6);
    }

    #[tokio::test]
    async fn a_hash_needing_more_memory_than_a_thread_holds_is_an_error_not_an_allocation() {
        let pool = Passwords::new(1, 4);
        let params = Params::new(Params::DEFAULT_M_COST * 2, 1, 1, None).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let big = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        assert!(pool.verify("pw".into(), big).await.is_err());
    }
}
