//! VAPID (RFC 8292): the deployment's P-256 key and the signed `Authorization` header that tells a
//! push service who sends. The JWT is built here (ES256 over `aud`, `exp`, `sub`) rather than by a
//! JWT crate: it is three fields, and RFC 8292 caps `exp` at 24 hours whatever the message's TTL.
//! `exp` and the reuse of a signed header follow the `now` the caller reads on the node's clock.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;

use crate::cache::Cache;

/// How long a signature stays valid: 12 hours (RFC 8292 allows at most 24).
const VALID_S: u64 = 12 * 60 * 60;
/// How long a signed header is reused for the same push service (an ECDSA signature costs about
/// as much as encrypting a message): it then still has at least 11 hours to run.
const REUSE_S: u64 = 60 * 60;
/// Push services (origins, with a subject) whose header is kept. Browsers use a handful; a header
/// is worth nothing after `REUSE_S`, when the sweep drops it, so the bound is not configurable.
const MAX_PUSH_SERVICES: usize = 1024;

/// Why a VAPID subject is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be a mailto: or https: URI (push services refuse others), got {0:?}")]
pub struct BadSubject(pub String);

/// Checks `NENUFAR_VAPID_SUBJECT`: a `mailto:` address or an `https:` URL.
pub fn check_subject(subject: &str) -> Result<(), BadSubject> {
    let ok = match subject.split_once(':') {
        Some(("mailto", rest)) => {
            rest.split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                && !rest.contains(char::is_whitespace)
        }
        Some(("https", rest)) => {
            rest.starts_with("//") && rest.len() > 2 && !rest.contains(char::is_whitespace)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(BadSubject(subject.to_owned()))
    }
}

/// An `Authorization` header and when it was signed (Unix seconds).
type Signed = (String, u64);

/// The deployment's key pair.
#[derive(Clone)]
pub struct Vapid {
    key: SigningKey,
    /// The uncompressed public point, base64url without padding (the `k=` of the header and the
    /// browser's `applicationServerKey`).
    public_b64: String,
    /// Signed headers by (push service origin, subject), with when they were signed.
    signed: Arc<Cache<(String, String), Signed>>,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid")
            .field("public", &self.public_b64)
            .finish_non_exhaustive()
    }
}

/// A fresh key pair: (32-byte private scalar, 65-byte uncompressed public point).
pub fn generate() -> (Vec<u8>, Vec<u8>) {
    let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let public = secret
        .public_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    (secret.to_bytes().to_vec(), public)
}

impl Vapid {
    /// The stored key (`private`: the 32-byte scalar).
    pub fn from_private(private: &[u8]) -> anyhow::Result<Self> {
        let key = SigningKey::from_slice(private)
            .map_err(|_| anyhow::anyhow!("the stored VAPID private key is not a P-256 scalar"))?;
        let point = key.verifying_key().to_encoded_point(false);
        Ok(Self {
            key,
            public_b64: URL_SAFE_NO_PAD.encode(point.as_bytes()),
            signed: Arc::new(Cache::new(
                "vapid_headers",
                MAX_PUSH_SERVICES,
                Duration::from_secs(REUSE_S),
            )),
        })
    }

    pub fn public_key_b64(&self) -> &str {
        &self.public_b64
    }

    /// The `Authorization` header for a push at `now` to `endpoint` (its origin is the JWT's
    /// `aud`) by the contact `subject`; signed at most once an hour per push service.
    pub fn authorization(
        &self,
        endpoint: &reqwest::Url,
        subject: &str,
        now: DateTime<Utc>,
    ) -> String {
        let now = unix_s(now);
        let key = (endpoint.origin().ascii_serialization(), subject.to_owned());
        if let Some((header, _)) = self
            .signed
            .get_if(&key, |(_, at)| now.saturating_sub(*at) < REUSE_S)
        {
            return header;
        }
        let token = self.jwt(&key.0, now + VALID_S, subject);
        let header = format!("vapid t={token}, k={}", self.public_b64);
        self.signed.insert(key, (header.clone(), now));
        header
    }

    /// Signed headers kept.
    pub fn headers_kept(&self) -> usize {
        self.signed.len()
    }

    /// Drops headers too old at `now` to be reused; returns how many.
    pub fn sweep(&self, now: DateTime<Utc>) -> usize {
        let now = unix_s(now);
        self.signed
            .remove_where(|_, (_, at)| now.saturating_sub(*at) >= REUSE_S)
            .len()
    }

    fn jwt(&self, audience: &str, exp: u64, subject: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({"aud": audience, "exp": exp, "sub": subject});
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// Unix seconds (0 before 1970).
fn unix_s(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    use super::*;

    #[test]
    fn subjects_must_be_mailto_or_https() {
        for good in ["mailto:ops@brand.example", "https://brand.example/contact"] {
            assert_eq!(check_subject(good), Ok(()), "{good}");
        }
        for bad in [
            "ops@brand.example",
            "mailto:nobody",
            "http://brand.example",
            "https:",
            "mailto:a b@x.example",
            "",
        ] {
            assert!(check_subject(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_jwt_is_es256_over_aud_exp_sub_and_verifies_with_the_public_key() {
        let (private, public) = generate();
        let vapid = Vapid::from_private(&private).unwrap();
        assert_eq!(vapid.public_key_b64(), URL_SAFE_NO_PAD.encode(&public));
        let url = reqwest::Url::parse("https://push.example.net:8443/p/abc?x=1").unwrap();
        let signed_at = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let header = vapid.authorization(&url, "mailto:ops@brand.example", signed_at);
        let (t, k) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap();
        assert_eq!(k, vapid.public_key_b64());
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        // The origin keeps a non-default port; the path and query are not part of it.
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!(claims["sub"], "mailto:ops@brand.example");
        // Twelve hours from the signature, within RFC 8292's 24.
        assert_eq!(claims["exp"].as_u64(), Some(1_790_000_000 + 12 * 60 * 60));
        let key = VerifyingKey::from_sec1_bytes(&public).unwrap();
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        assert!(key.verify(input.as_bytes(), &sig).is_ok());
        assert!(key.verify(b"tampered", &sig).is_err());
        // Reused for the same push service within the hour, signed anew for another.
        let later = signed_at + chrono::Duration::minutes(59);
        assert_eq!(
            vapid.authorization(&url, "mailto:ops@brand.example", later),
            header
        );
        let other = reqwest::Url::parse("https://fcm.googleapis.com/x").unwrap();
        assert_ne!(
            vapid.authorization(&other, "mailto:ops@brand.example", later),
            header
        );
    }

    #[test]
    fn a_header_an_hour_old_is_signed_again_and_swept() {
        let (private, _) = generate();
        let vapid = Vapid::from_private(&private).unwrap();
        let url = reqwest::Url::parse("https://push.example.net/p/abc").unwrap();
        let t0 = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let first = vapid.authorization(&url, "mailto:ops@brand.example", t0);
        assert_eq!(vapid.sweep(t0 + chrono::Duration::minutes(59)), 0);
        let hour = t0 + chrono::Duration::hours(1);
        let second = vapid.authorization(&url, "mailto:ops@brand.example", hour);
        assert_ne!(second, first, "signed again after an hour");
        assert_eq!(vapid.headers_kept(), 1);
        assert_eq!(vapid.sweep(hour + chrono::Duration::hours(1)), 1);
        assert_eq!(vapid.headers_kept(), 0);
    }
}
