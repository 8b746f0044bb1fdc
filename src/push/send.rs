//! One push request: the payload encrypted for the device (aes128gcm, RFC 8291, see `ece`),
//! VAPID, `TTL`, `Urgency` and `Topic` headers, sent with `reqwest`; and what the push service's
//! answer means for the notification.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::HeaderValue;
use sha2::{Digest, Sha256};

use super::ece;
use super::subscription::{self, AllowHttpLoopback};
use super::vapid::Vapid;
use crate::domain::push::Urgency;

/// Longest wait for a push service's answer. Past it the outcome is unknown: the notification is
/// sent again once its lease runs out (`push::dispatch::LEASE` is longer than this).
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// A notification for one device.
#[derive(Debug)]
pub struct Message<'a> {
    pub endpoint: &'a str,
    pub p256dh: &'a [u8],
    pub auth: &'a [u8],
    pub payload: Vec<u8>,
    /// Seconds the push service may keep it (0: deliver now or drop).
    pub ttl_s: u32,
    pub urgency: Urgency,
    /// Replaces an undelivered message with the same topic (see [`topic`]).
    pub topic: Option<String>,
}

/// What the push service's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (2xx).
    Delivered,
    /// 404 or 410: the subscription is over; delete it.
    Gone,
    /// 429, 5xx, or no connection could be made: try again later (after `Retry-After` if given).
    Retry(Option<Duration>),
    /// Another 4xx: the request itself is wrong; retrying would not help.
    Rejected(u16),
    /// No answer in time, or the connection broke after the request went out: it may have been
    /// delivered. Left to its lease, so sent again only in this case.
    Unknown,
}

/// Sends notifications; one per node (keeps connections to push services alive).
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow: AllowHttpLoopback,
}

impl Sender {
    pub fn new(allow: AllowHttpLoopback) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PublicOnly { allow }))
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Self { client, allow })
    }

    /// Encrypts and sends `m`, signed with `vapid` for `subject` at `now`.
    pub async fn send(
        &self,
        vapid: &Vapid,
        subject: &str,
        m: Message<'_>,
        now: DateTime<Utc>,
    ) -> Outcome {
        let request = match self.request(vapid, subject, m, now) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "a push could not be built; dropped");
                return Outcome::Rejected(0);
            }
        };
        match self.client.execute(request).await {
            Ok(resp) => classify(resp.status(), retry_after(resp.headers())),
            Err(e) if e.is_timeout() => Outcome::Unknown,
            // Nothing reached the push service.
            Err(e) if e.is_connect() => Outcome::Retry(None),
            Err(e) if e.is_builder() => Outcome::Rejected(0),
            Err(_) => Outcome::Unknown,
        }
    }

    /// Builds the encrypted request for `m`, signed at `now`, without sending it.
    pub fn request(
        &self,
        vapid: &Vapid,
        subject: &str,
        m: Message<'_>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<reqwest::Request> {
        // Checked again: the rules may have changed since the subscription was stored.
        let url = subscription::check_endpoint(m.endpoint, self.allow)?;
        let body = ece::encrypt(&m.payload, m.p256dh, m.auth)?;
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        let headers = request.headers_mut();
        headers.insert("ttl", m.ttl_s.into());
        headers.insert(
            reqwest::header::CONTENT_ENCODING,
            HeaderValue::from_static("aes128gcm"),
        );
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.insert(
            reqwest::header::AUTHORIZATION,
            vapid.authorization(&url, subject, now).parse()?,
        );
        headers.insert("urgency", HeaderValue::from_static(m.urgency.as_str()));
        if let Some(topic) = m.topic {
            headers.insert("topic", topic.parse()?);
        }
        *request.body_mut() = Some(body.into());
        Ok(request)
    }
}

/// The meaning of a push service's status.
pub fn classify(status: StatusCode, retry_after: Option<Duration>) -> Outcome {
    match status.as_u16() {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => Outcome::Retry(retry_after),
        other => Outcome::Rejected(other),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: push services send seconds).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// A push `Topic` for `key`: at most 32 base64url characters (RFC 8030 5.4), so a hash.
pub fn topic(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..24])
}

/// Resolves push service names to public addresses only, so a name pointing into the private
/// network cannot make a node call it (loopback too when allowed, for tests).
#[derive(Debug)]
struct PublicOnly {
    allow: AllowHttpLoopback,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let addrs: Vec<SocketAddr> = found
                .filter(|a| {
                    subscription::public(a.ip()).is_some() || (allow.0 && a.ip().is_loopback())
                })
                .collect();
            if addrs.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_mean_delivered_gone_retry_or_rejected() {
        let s = |n| StatusCode::from_u16(n).unwrap();
        assert_eq!(classify(s(201), None), Outcome::Delivered);
        assert_eq!(classify(s(404), None), Outcome::Gone);
        assert_eq!(classify(s(410), None), Outcome::Gone);
        let wait = Some(Duration::from_secs(7));
        assert_eq!(classify(s(429), wait), Outcome::Retry(wait));
        assert_eq!(classify(s(503), None), Outcome::Retry(None));
        assert_eq!(classify(s(400), None), Outcome::Rejected(400));
        assert_eq!(classify(s(413), None), Outcome::Rejected(413));
    }

    #[test]
    fn a_request_carries_ttl_urgency_topic_vapid_and_an_aes128gcm_body() {
        let (private, _) = super::super::vapid::generate();
        let vapid = Vapid::from_private(&private).unwrap();
        let device = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let p256dh = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &device.public_key(),
            false,
        );
        let auth = [7u8; 16];
        let sender = Sender::new(AllowHttpLoopback(false)).unwrap();
        let m = Message {
            endpoint: "https://push.example.net:8443/p/abc",
            p256dh: p256dh.as_bytes(),
            auth: &auth,
            payload: br#"{"title":"hi"}"#.to_vec(),
            ttl_s: 600,
            urgency: Urgency::Low,
            topic: Some(topic("rank:h")),
        };
        let r = sender
            .request(&vapid, "mailto:ops@brand.example", m, Utc::now())
            .unwrap();
        let h = |name: &str| r.headers().get(name).unwrap().to_str().unwrap().to_owned();
        assert_eq!(h("ttl"), "600");
        assert_eq!(h("urgency"), "low");
        assert_eq!(h("topic"), topic("rank:h"));
        assert_eq!(h("content-encoding"), "aes128gcm");
        assert!(h("authorization").starts_with("vapid t="));
        assert!(h("authorization").ends_with(&format!(", k={}", vapid.public_key_b64())));
        let body = r.body().unwrap().as_bytes().unwrap().to_vec();
        let plain = web_push_native::decrypt(
            body,
            &device,
            &web_push_native::Auth::clone_from_slice(&auth),
        )
        .unwrap();
        assert_eq!(plain, br#"{"title":"hi"}"#);
        // An endpoint the rules refuse is not even built.
        let m = Message {
            endpoint: "https://10.0.0.1/p",
            p256dh: p256dh.as_bytes(),
            auth: &auth,
            payload: vec![],
            ttl_s: 60,
            urgency: Urgency::High,
            topic: None,
        };
        assert!(
            sender
                .request(&vapid, "mailto:ops@brand.example", m, Utc::now())
                .is_err()
        );
    }

    #[tokio::test]
    async fn names_resolve_to_public_addresses_only_loopback_when_allowed() {
        let resolve = |allow: bool| {
            PublicOnly {
                allow: AllowHttpLoopback(allow),
            }
            .resolve("localhost".parse().unwrap())
        };
        // localhost has only loopback addresses: refused, unless loopback is allowed.
        assert!(resolve(false).await.is_err());
        let found: Vec<SocketAddr> = resolve(true).await.unwrap().collect();
        assert!(!found.is_empty() && found.iter().all(|a| a.ip().is_loopback()));
    }

    #[test]
    fn topics_are_32_base64url_characters() {
        let t = topic("rank:0f650b00-cdae-4176-9c13-840c9c100f2c");
        assert_eq!(t.len(), 32);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(t, topic("rank:another"));
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert(reqwest::header::RETRY_AFTER, "99999999".parse().unwrap());
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
