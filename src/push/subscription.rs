//! A browser's PushSubscription, checked before it is stored: where the push service is (an
//! https endpoint on a public address; plain http to a loopback address only when the node allows
//! it, for tests) and the keys the payload is encrypted for (a P-256 point and a 16-byte secret).

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde::Deserialize;

/// Longest endpoint accepted (real ones are under 500 bytes).
pub const MAX_ENDPOINT: usize = 2048;

/// The subscription JSON a browser's `PushSubscription.toJSON()` gives. Unknown keys are refused
/// like everywhere; `expirationTime`, which browsers send, is read and ignored.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionJson {
    /// The push service's URL: `https` to a public address (plain `http` to a loopback address
    /// only on a node started with `NENUFAR_PUSH_ALLOW_HTTP_LOOPBACK=1`, for tests), at most 2048
    /// bytes, without credentials or a fragment.
    #[schema(format = "uri", max_length = 2048, pattern = "^https?://")]
    pub endpoint: String,
    pub keys: KeysJson,
    /// Sent by browsers (milliseconds since the epoch, or null); ignored.
    #[serde(default, rename = "expirationTime")]
    #[schema(value_type = Option<f64>)]
    pub expiration_time: Option<serde_json::Value>,
}

impl crate::input::Input for SubscriptionJson {}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysJson {
    /// The device's P-256 public key, base64url with or without padding (uncompressed point,
    /// 65 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{87}=?$")]
    pub p256dh: String,
    /// The device's authentication secret, base64url with or without padding (16 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{22}(==)?$")]
    pub auth: String,
}

/// A subscription that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: String,
    pub p256dh: Vec<u8>,
    pub auth: Vec<u8>,
}

/// Why a subscription is refused (the message is shown to the client).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Invalid {
    #[error("endpoint: not a URL")]
    NotUrl,
    #[error("endpoint: longer than {MAX_ENDPOINT} bytes")]
    TooLong,
    #[error("endpoint: must be https")]
    NotHttps,
    #[error("endpoint: a private, loopback or reserved address is not a push service")]
    PrivateAddress,
    #[error("endpoint: must not carry credentials or a fragment")]
    Userinfo,
    #[error("keys.p256dh: must be a base64url uncompressed P-256 point (65 bytes)")]
    BadKey,
    #[error("keys.auth: must be 16 bytes, base64url")]
    BadAuth,
}

/// Whether plain http to a loopback address is allowed (`NENUFAR_PUSH_ALLOW_HTTP_LOOPBACK=1`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllowHttpLoopback(pub bool);

/// Checks a browser's subscription.
pub fn validate(
    json: &SubscriptionJson,
    allow: AllowHttpLoopback,
) -> Result<Subscription, Invalid> {
    check_endpoint(&json.endpoint, allow)?;
    let p256dh = decode(&json.keys.p256dh).ok_or(Invalid::BadKey)?;
    if p256dh.len() != 65 || p256::PublicKey::from_sec1_bytes(&p256dh).is_err() {
        return Err(Invalid::BadKey);
    }
    let auth = decode(&json.keys.auth).ok_or(Invalid::BadAuth)?;
    if auth.len() != 16 {
        return Err(Invalid::BadAuth);
    }
    Ok(Subscription {
        endpoint: json.endpoint.clone(),
        p256dh,
        auth,
    })
}

/// Checks an endpoint URL (also used again before each send: see `push::send`).
pub fn check_endpoint(endpoint: &str, allow: AllowHttpLoopback) -> Result<reqwest::Url, Invalid> {
    if endpoint.len() > MAX_ENDPOINT {
        return Err(Invalid::TooLong);
    }
    let url = reqwest::Url::parse(endpoint).map_err(|_| Invalid::NotUrl)?;
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(Invalid::Userinfo);
    }
    let host = match url.host().ok_or(Invalid::NotUrl)? {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                Host::Loopback
            } else {
                Host::Name
            }
        }
        url::Host::Ipv4(ip) => Host::of(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Host::of(IpAddr::V6(ip)),
    };
    match (url.scheme(), host) {
        ("http" | "https", Host::Loopback) if allow.0 => Ok(url),
        ("https", Host::Name | Host::Public) => Ok(url),
        ("https", Host::Loopback | Host::Private) => Err(Invalid::PrivateAddress),
        _ => Err(Invalid::NotHttps),
    }
}

/// What an endpoint's host is.
#[derive(Debug, Clone, Copy)]
enum Host {
    /// A DNS name (its addresses are checked when connecting: see `push::send`).
    Name,
    Public,
    Loopback,
    Private,
}

impl Host {
    fn of(ip: IpAddr) -> Self {
        if ip.is_loopback() {
            Self::Loopback
        } else if public(ip).is_some() {
            Self::Public
        } else {
            Self::Private
        }
    }
}

/// `Some(())` when `ip` is a public unicast address; `None` for loopback, private, link-local,
/// shared (CGNAT), unique-local, multicast, documentation and other reserved ranges.
pub fn public(ip: IpAddr) -> Option<()> {
    let reserved = match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || (a == 198 && (b == 18 || b == 19)) // benchmarking (RFC 2544)
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link local
                || seg[0] == 0x2001 && seg[1] == 0x0db8 // documentation
        }
    };
    (!reserved).then_some(())
}

/// Decodes base64url with or without padding (browsers differ).
fn decode(text: &str) -> Option<Vec<u8>> {
    if text.len() > 200 {
        return None;
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    fn sub(endpoint: &str, p256dh: &str, auth: &str) -> SubscriptionJson {
        SubscriptionJson {
            endpoint: endpoint.into(),
            keys: KeysJson {
                p256dh: p256dh.into(),
                auth: auth.into(),
            },
            expiration_time: None,
        }
    }

    #[test]
    fn a_browser_subscription_passes_with_or_without_padding() {
        let ok = validate(
            &sub("https://fcm.googleapis.com/fcm/send/abc", P256DH, AUTH),
            AllowHttpLoopback(false),
        )
        .unwrap();
        assert_eq!((ok.p256dh.len(), ok.auth.len()), (65, 16));
        let padded = format!("{AUTH}==");
        assert!(
            validate(
                &sub("https://push.example.net/x", P256DH, &padded),
                AllowHttpLoopback(false)
            )
            .is_ok()
        );
    }

    #[test]
    fn endpoints_must_be_https_on_public_addresses_unless_loopback_http_is_allowed() {
        let no = AllowHttpLoopback(false);
        let yes = AllowHttpLoopback(true);
        let cases = [
            ("http://push.example.net/x", no, Err(Invalid::NotHttps)),
            ("http://127.0.0.1:9000/x", no, Err(Invalid::NotHttps)),
            ("http://127.0.0.1:9000/x", yes, Ok(())),
            ("http://localhost:9000/x", yes, Ok(())),
            ("http://[::1]:9000/x", yes, Ok(())),
            ("http://10.0.0.1/x", yes, Err(Invalid::NotHttps)),
            ("https://10.0.0.1/x", yes, Err(Invalid::PrivateAddress)),
            ("https://192.168.1.2/x", no, Err(Invalid::PrivateAddress)),
            ("https://172.16.0.1/x", no, Err(Invalid::PrivateAddress)),
            (
                "https://169.254.169.254/latest",
                no,
                Err(Invalid::PrivateAddress),
            ),
            ("https://100.64.0.1/x", no, Err(Invalid::PrivateAddress)),
            ("https://[fd00::1]/x", no, Err(Invalid::PrivateAddress)),
            (
                "https://[::ffff:10.0.0.1]/x",
                no,
                Err(Invalid::PrivateAddress),
            ),
            ("https://127.0.0.1/x", no, Err(Invalid::PrivateAddress)),
            ("https://localhost/x", no, Err(Invalid::PrivateAddress)),
            ("https://8.8.8.8/x", no, Ok(())),
            (
                "https://user:pw@push.example.net/x",
                no,
                Err(Invalid::Userinfo),
            ),
            ("ftp://push.example.net/x", no, Err(Invalid::NotHttps)),
            ("not a url", no, Err(Invalid::NotUrl)),
        ];
        for (endpoint, allow, want) in cases {
            assert_eq!(
                check_endpoint(endpoint, allow).map(drop),
                want,
                "{endpoint} {allow:?}"
            );
        }
        let long = format!("https://push.example.net/{}", "a".repeat(MAX_ENDPOINT));
        assert_eq!(check_endpoint(&long, no).map(drop), Err(Invalid::TooLong));
    }

    #[test]
    fn keys_must_be_a_curve_point_and_a_16_byte_secret() {
        let e = "https://push.example.net/x";
        let no = AllowHttpLoopback(false);
        // Right length, not on the curve (the last byte changed).
        let mut off = URL_SAFE_NO_PAD.decode(P256DH).unwrap();
        off[64] ^= 1;
        let off = URL_SAFE_NO_PAD.encode(off);
        for (p, a, want) in [
            ("", AUTH, Invalid::BadKey),
            ("!!!", AUTH, Invalid::BadKey),
            (&off[..], AUTH, Invalid::BadKey),
            (&P256DH[..40], AUTH, Invalid::BadKey),
            (P256DH, "", Invalid::BadAuth),
            (P256DH, "AAAA", Invalid::BadAuth),
        ] {
            assert_eq!(validate(&sub(e, p, a), no), Err(want), "{p} {a}");
        }
    }
}
