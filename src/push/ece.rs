//! Message encryption for Web Push (RFC 8291, the `aes128gcm` content coding of RFC 8188): a
//! fresh P-256 key pair per message, ECDH with the device's key, HKDF-SHA-256 with the device's
//! auth secret, one AES-128-GCM record. Built on `ring` (already here for TLS): its P-256 key
//! agreement costs about 60 us, a fifth of the pure-Rust `p256` one `web-push-native` uses, and
//! the key agreement is nearly all the cost of a push (BENCHMARKS.md, "Web Push"). Checked byte
//! for byte against RFC 8291's example, and decrypted by `web-push-native` and a real push
//! service in the tests.

use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey};
use ring::hkdf::{HKDF_SHA256, KeyType, Prk, Salt};
use ring::rand::{SecureRandom, SystemRandom};

/// The record size written in the header (RFC 8188 2.1): one record holds the whole message.
pub const RECORD_SIZE: u32 = 4096;
/// Longest plaintext one record holds: the record size less the delimiter and the tag.
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - 17;

/// Why a message could not be encrypted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EceError {
    #[error("the payload is longer than {MAX_PLAINTEXT} bytes")]
    TooLong,
    #[error("the device key is not a P-256 point")]
    BadDeviceKey,
    #[error("the auth secret is not 16 bytes")]
    BadAuth,
    #[error("the system random generator failed")]
    Random,
}

/// Encrypts `plaintext` for the device key `ua_public` (65-byte uncompressed point) and its
/// 16-byte `auth` secret: the request body.
pub fn encrypt(plaintext: &[u8], ua_public: &[u8], auth: &[u8]) -> Result<Vec<u8>, EceError> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| EceError::Random)?;
    let private = EphemeralPrivateKey::generate(&ECDH_P256, &rng).map_err(|_| EceError::Random)?;
    let as_public = private.compute_public_key().map_err(|_| EceError::Random)?;
    let device = UnparsedPublicKey::new(&ECDH_P256, ua_public);
    let shared: [u8; 32] = agreement::agree_ephemeral(private, &device, |s| {
        let mut out = [0u8; 32];
        out.copy_from_slice(s);
        out
    })
    .map_err(|_| EceError::BadDeviceKey)?;
    seal(
        plaintext,
        &shared,
        as_public.as_ref(),
        ua_public,
        auth,
        &salt,
    )
}

/// The rest of RFC 8291 once the key agreement is done (`shared`: the ECDH secret of the
/// sender's `as_public` and the device's `ua_public`): separate so the RFC's example, whose
/// sender key is given, can be reproduced exactly.
pub fn seal(
    plaintext: &[u8],
    shared: &[u8],
    as_public: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    salt: &[u8; 16],
) -> Result<Vec<u8>, EceError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EceError::TooLong);
    }
    if auth.len() != 16 {
        return Err(EceError::BadAuth);
    }
    if ua_public.len() != 65 || as_public.len() != 65 {
        return Err(EceError::BadDeviceKey);
    }
    // RFC 8291 3.3: IKM = HKDF(auth, ecdh_secret, "WebPush: info" || 0 || ua_public || as_public, 32).
    let key_info = [b"WebPush: info\0".as_slice(), ua_public, as_public];
    let ikm: [u8; 32] = expand(&Salt::new(HKDF_SHA256, auth).extract(shared), &key_info)?;
    // RFC 8188 2.2 and 2.3: the content-encryption key and nonce.
    let prk = Salt::new(HKDF_SHA256, salt).extract(&ikm);
    let cek: [u8; 16] = expand(&prk, &[b"Content-Encoding: aes128gcm\0"])?;
    let nonce: [u8; 12] = expand(&prk, &[b"Content-Encoding: nonce\0"])?;

    let mut body = Vec::with_capacity(16 + 4 + 1 + 65 + plaintext.len() + 1 + 16);
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(as_public);
    let header = body.len();
    body.extend_from_slice(plaintext);
    // The last (and only) record's padding delimiter.
    body.push(2);
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &cek).map_err(|_| EceError::Random)?);
    let mut record = body.split_off(header);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::empty(),
        &mut record,
    )
    .map_err(|_| EceError::TooLong)?;
    body.extend_from_slice(&record);
    Ok(body)
}

/// HKDF-Expand of `info` into `N` bytes.
fn expand<const N: usize>(prk: &Prk, info: &[&[u8]]) -> Result<[u8; N], EceError> {
    struct Len(usize);
    impl KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let mut out = [0u8; N];
    prk.expand(info, Len(N))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| EceError::TooLong)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    // RFC 8291 section 5 and appendix A.
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AS_PUBLIC: &str =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const ECDH_SECRET: &str = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    #[test]
    fn the_rfc_8291_example_is_reproduced_byte_for_byte() {
        let salt: [u8; 16] = b64(SALT).try_into().unwrap();
        let body = seal(
            b"When I grow up, I want to be a watermelon",
            &b64(ECDH_SECRET),
            &b64(AS_PUBLIC),
            &b64(UA_PUBLIC),
            &b64(AUTH),
            &salt,
        )
        .unwrap();
        assert_eq!(body.len(), 144);
        assert_eq!(URL_SAFE_NO_PAD.encode(&body), BODY);
    }

    #[test]
    fn bad_inputs_are_refused() {
        let (ua, auth) = (b64(UA_PUBLIC), b64(AUTH));
        assert_eq!(
            encrypt(&vec![0; MAX_PLAINTEXT + 1], &ua, &auth),
            Err(EceError::TooLong)
        );
        assert_eq!(encrypt(b"x", &ua, &auth[..8]), Err(EceError::BadAuth));
        let mut off = ua.clone();
        off[64] ^= 1;
        assert_eq!(encrypt(b"x", &off, &auth), Err(EceError::BadDeviceKey));
        let fresh = encrypt(b"x", &ua, &auth).unwrap();
        assert_eq!(fresh.len(), 16 + 4 + 1 + 65 + 1 + 1 + 16);
        assert_ne!(
            fresh,
            encrypt(b"x", &ua, &auth).unwrap(),
            "a fresh key and salt each time"
        );
    }
}
