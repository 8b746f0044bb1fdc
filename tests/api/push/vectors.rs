//! The RFC examples in `shared/testdata/webpush/vectors.json`: the decryption our tests rely on
//! reproduces RFC 8291's example and refuses its tampered variants; RFC 8292's VAPID header has
//! the shape ours has and its signature verifies against its key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

use crate::support::testdata;

fn vectors() -> Value {
    let text = std::fs::read_to_string(testdata("webpush/vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap()
}

/// Decrypts an aes128gcm push body for the device key `ua_private` and secret `auth`.
fn decrypt(body: &[u8], ua_private: &[u8], auth: &[u8]) -> Result<Vec<u8>, String> {
    let secret = p256::SecretKey::from_slice(ua_private).map_err(|e| e.to_string())?;
    let auth = web_push_native::Auth::clone_from_slice(auth);
    web_push_native::decrypt(body.to_vec(), &secret, &auth).map_err(|e| e.to_string())
}

#[test]
fn the_rfc_8291_example_decrypts_and_its_tampered_variants_do_not() {
    let v = vectors();
    let ex = &v["rfc8291_appendix_a"];
    let ua_private = b64(&ex["inputs"]["ua_private"]);
    let auth = b64(&ex["inputs"]["auth_secret"]);
    let body = b64(&ex["output_body"]);
    assert_eq!(body.len(), 144);
    let plain = decrypt(&body, &ua_private, &auth).unwrap();
    assert_eq!(
        String::from_utf8(plain).unwrap(),
        ex["inputs"]["plaintext_utf8"].as_str().unwrap()
    );
    let cases = v["rfc8291_negative_derived"]["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let body = b64(&case["body"]);
        assert!(
            decrypt(&body, &ua_private, &auth).is_err(),
            "{} decrypted",
            case["name"]
        );
    }
    // The right body with the wrong secret fails too.
    let mut wrong = auth.clone();
    wrong[0] ^= 1;
    assert!(decrypt(&b64(&ex["output_body"]), &ua_private, &wrong).is_err());
}

#[test]
fn our_encryption_round_trips_through_that_decryption() {
    let v = vectors();
    let ex = &v["rfc8291_appendix_a"];
    let ua_public = p256::PublicKey::from_sec1_bytes(&b64(&ex["inputs"]["ua_public"])).unwrap();
    let auth = b64(&ex["inputs"]["auth_secret"]);
    let message = br#"{"title":"New clue unlocked"}"#.to_vec();
    let body = web_push_native::encrypt(
        message.clone(),
        &ua_public,
        &web_push_native::Auth::clone_from_slice(&auth),
    )
    .unwrap();
    assert_eq!(
        decrypt(&body, &b64(&ex["inputs"]["ua_private"]), &auth).unwrap(),
        message
    );
}

#[test]
fn the_rfc_8292_vapid_header_verifies_against_its_key() {
    let v = vectors();
    let ex = &v["rfc8292_vapid_example"];
    let header = ex["authorization_header"].as_str().unwrap();
    let (t, k) = header
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .unwrap();
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(parts.len(), 3);
    let jwt_header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(jwt_header, ex["jwt_header"]);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims, ex["jwt_claims"]);
    let key = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    assert!(key.verify(input.as_bytes(), &sig).is_ok());
    assert!(key.verify(b"another message", &sig).is_err());
}
