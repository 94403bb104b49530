//! Mints NATS keys and JWTs for an operator-mode nats-server (what `nsc` does), so
//! `.creds` files are tested against the server's own checks: an operator signs an
//! account, the account signs a user.

use aws_lc_rs::signature::Ed25519KeyPair;
use base64::Engine;
use fas::collect::nkey;

pub struct Key {
    pub seed: String,
    pub public: String,
    pair: Ed25519KeyPair,
}

pub fn key(kind: u8, fill: u8) -> Key {
    let seed = nkey::encode_seed(kind, &[fill; 32]);
    let (public, pair) = nkey::keypair(&seed).unwrap();
    Key { seed, public, pair }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT with `nats` claims about `subject`, signed by `issuer`.
pub fn jwt(issuer: &Key, subject: &str, name: &str, nats: serde_json::Value) -> String {
    let header = b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = serde_json::json!({
        "jti": format!("{name}-{subject}"), "iat": 1_700_000_000, "iss": issuer.public,
        "name": name, "sub": subject, "nats": nats,
    });
    let body = b64(claims.to_string().as_bytes());
    let signed = format!("{header}.{body}");
    let sig = b64(issuer.pair.sign(signed.as_bytes()).as_ref());
    format!("{signed}.{sig}")
}

/// An operator, an account with JetStream, a user; the server's configuration lines and
/// the user's `.creds` file.
pub fn operator_mode() -> (String, String) {
    let (op, sys, acc, user) = (
        key(nkey::OPERATOR, 1),
        key(nkey::ACCOUNT, 4),
        key(nkey::ACCOUNT, 2),
        key(nkey::USER, 3),
    );
    // JetStream needs a system account.
    let op_jwt = jwt(
        &op,
        &op.public,
        "op",
        serde_json::json!({"type": "operator", "version": 2, "system_account": sys.public}),
    );
    let sys_jwt = jwt(
        &op,
        &sys.public,
        "SYS",
        serde_json::json!({"type": "account", "version": 2}),
    );
    let acc_jwt = jwt(
        &op,
        &acc.public,
        "acc",
        serde_json::json!({"type": "account", "version": 2, "limits": {
            "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
            "wildcards": true, "conn": -1, "leaf": -1,
            "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}}),
    );
    let user_jwt = jwt(
        &acc,
        &user.public,
        "worker",
        serde_json::json!({"type": "user", "version": 2, "pub": {}, "sub": {},
            "subs": -1, "data": -1, "payload": -1}),
    );
    let conf = format!(
        "operator: {op_jwt}\nsystem_account: {}\nresolver: MEMORY\n\
         resolver_preload: {{ {}: {sys_jwt}, {}: {acc_jwt} }}\n",
        sys.public, sys.public, acc.public
    );
    let creds = format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
        user.seed
    );
    (conf, creds)
}
