//! Secrets at rest (master key) and merchant secret rotation with overlap.

use std::path::Path;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use vmp_protocol::{Params, format_time, sign};
use vmp_server::merchant::{self, MerchantStatus, Overlap, SecretChangeError};
use vmp_server::paylink::LINK_KEY_SETTING;
use vmp_server::vault::{KeySource, MasterKey};
use vmp_server::{Application, Mode, Settings};

use crate::helpers::{TestApp, assert_signed, postgres_for, spawn_in_with, test_master_key};
use crate::receiver::{Behaviour, Receiver, params};

/// A gateway on `data` whose merchant cache is off (a rotation applies at
/// once), with `keys` as its master keys.
async fn spawn_keyed(data: &Path, keys: KeySource) -> TestApp {
    spawn_in_with(data.to_path_buf(), |s| {
        s.master_key = keys;
        s.merchant_cache_ttl = Duration::ZERO;
    })
    .await
}

/// A Place an Order request signed with `secret`, stamped with the gateway's time.
fn order(app: &TestApp, out_trade_no: &str, secret: &str, notify_url: Option<&str>) -> Params {
    let mut p = app.seed_request(out_trade_no);
    p.remove("return_url");
    if let Some(url) = notify_url {
        p.set("notify_url", url);
    }
    p.set("time", format_time(app.state.clock().now()));
    sign::sign_in_place(secret, &mut p);
    p
}

fn now(app: &TestApp) -> i64 {
    app.state.clock().now().unix_timestamp()
}

/// Every byte the store holds for this app: SQLite's three files (after a
/// checkpoint too), or PostgreSQL's merchants and settings rows as text.
async fn stored_bytes(data: &Path) -> Vec<Vec<u8>> {
    use sqlx::Connection;
    if let Ok(url) = std::fs::read_to_string(data.join("postgres-url")) {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut out = Vec::new();
        for q in ["SELECT m::text AS t FROM merchants m", "SELECT s::text AS t FROM gateway_settings s"] {
            for row in sqlx::query(q).fetch_all(&mut c).await.unwrap() {
                out.push(sqlx::Row::get::<String, _>(&row, "t").into_bytes());
            }
        }
        return out;
    }
    let db = data.join(vmp_server::store::DB_FILE);
    let files = |out: &mut Vec<Vec<u8>>| {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            out.push(std::fs::read(&name).unwrap_or_default());
        }
    };
    let mut out = Vec::new();
    files(&mut out);
    // Moves the WAL's pages into the main file without emptying the WAL.
    let url = format!("sqlite://{}", db.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut c).await.unwrap();
    c.close().await.unwrap();
    files(&mut out);
    out
}

fn contains(haystacks: &[Vec<u8>], needle: &str) -> bool {
    haystacks.iter().any(|h| h.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

#[tokio::test]
async fn with_a_master_key_no_secret_and_not_the_pay_link_key_is_anywhere_in_the_database() {
    for keyed in [false, true] {
        // Arrange: the sandbox merchant, rotated (old and new secret stored), another merchant.
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let keys = if keyed { test_master_key(dir.path()) } else { KeySource::None };
        let app = spawn_keyed(&data, keys).await;
        let extra = "Extra-Merchant-Secret-0123456789";
        app.add_merchant("EXTRA1", extra, MerchantStatus::Active).await;
        let store = app.state.store().as_ref();
        let new = merchant::rotate_secret(store, &app.key, Some(Overlap::default()), now(&app)).await.unwrap();
        let answer = app.post(&order(&app, "AT-REST-1", new.expose_secret(), None)).await;
        assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
        let link_key = store.secret_setting_or_init(LINK_KEY_SETTING, SecretString::from(String::new())).await.unwrap();

        // Act
        let bytes = stored_bytes(&data).await;

        // Assert: found in clear without a key (so the search works), nowhere with one.
        for (what, value) in [
            ("old secret", app.secret.as_str()),
            ("new secret", new.expose_secret()),
            ("added merchant's secret", extra),
            ("pay-link key", link_key.expose_secret()),
        ] {
            assert!(value.len() >= 32, "{what}");
            assert_eq!(contains(&bytes, value), !keyed, "{what} stored in clear: {}", !keyed);
        }
        assert_eq!(contains(&bytes, "vmp-sealed:v1:"), keyed);
        app.stop().await;
    }
}

#[tokio::test]
async fn secrets_stored_in_clear_are_encrypted_by_the_first_start_with_a_key_and_keep_working() {
    // Arrange: a store made without a key.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = spawn_keyed(&data, KeySource::None).await;
    let (key, secret) = (first.key.clone(), first.secret.clone());
    first.stop().await;
    assert!(contains(&stored_bytes(&data).await, &secret));

    // Act
    let app = spawn_keyed(&data, test_master_key(dir.path())).await;

    // Assert: the same secret signs, and the stored value is sealed.
    let mut p = order(&app, "MIGRATED1", &secret, None);
    p.set("user_confirm_key", &key);
    sign::sign_in_place(&secret, &mut p);
    let answer = app.post(&p).await;
    assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
    assert_signed(&answer, &secret);
    app.stop().await;
    let bytes = stored_bytes(&data).await;
    assert!(!contains(&bytes, &secret), "the clear secret is gone, also from freed space and the WAL");
    assert!(contains(&bytes, "vmp-sealed:v1:"));
}

/// Settings for a start on `data` (with the test database when there is one).
async fn settings(data: &Path, mode: Mode, keys: KeySource) -> Settings {
    let mut s = Settings::new(data);
    s.listen = "127.0.0.1:0".parse().unwrap();
    s.database_url = postgres_for(data).await.map(SecretString::from);
    s.mode = mode;
    s.master_key = keys;
    s
}

#[tokio::test]
async fn a_missing_or_wrong_master_key_refuses_to_start_with_one_clear_line_and_changes_nothing() {
    // Arrange: a store encrypted under a key file.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let right = test_master_key(dir.path());
    let app = spawn_keyed(&data, right.clone()).await;
    let (key, secret) = (app.key.clone(), app.secret.clone());
    app.stop().await;
    let other = || KeySource::Keys(std::sync::Arc::new(vec![MasterKey::generate().unwrap()]));
    let two =
        KeySource::Keys(std::sync::Arc::new(vec![MasterKey::generate().unwrap(), MasterKey::generate().unwrap()]));
    let fresh = dir.path().join("fresh");

    let cases = [
        ("another key", data.clone(), Mode::Sandbox, other(), "the master key does not match this store"),
        ("no key", data.clone(), Mode::Sandbox, KeySource::None, "encrypted; give its master key"),
        ("no key in production", data.clone(), Mode::Production, KeySource::None, "production mode needs a master key"),
        ("two keys for a new store", fresh.clone(), Mode::Sandbox, two, "give exactly one master key"),
    ];
    for (what, dir, mode, keys, says) in cases {
        // Act
        let refused = Application::build(settings(&dir, mode, keys).await).await;

        // Assert
        let message = format!("{:#}", refused.err().unwrap_or_else(|| panic!("{what}: started")));
        assert!(message.contains(says) && !message.contains('\n'), "{what}: {message}");
    }

    // Nothing changed: the right key still opens the store, the secret still signs.
    let app = spawn_keyed(&data, right).await;
    let mut p = order(&app, "AFTER1", &secret, None);
    p.set("user_confirm_key", &key);
    sign::sign_in_place(&secret, &mut p);
    assert_eq!(app.post(&p).await.get("return_status"), Some("00"));
}

#[tokio::test]
async fn during_the_overlap_both_secrets_verify_each_answer_signed_with_its_own_and_after_only_the_new_one() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_keyed(&dir.path().join("data"), test_master_key(dir.path())).await;
    let old = app.secret.clone();
    let overlap = Overlap::from_secs(3600).unwrap();

    // Act
    let new = merchant::rotate_secret(app.state.store().as_ref(), &app.key, Some(overlap), now(&app)).await.unwrap();
    let new = new.expose_secret();

    // Assert: both verify; each answer is signed with the secret of its request.
    for (n, secret, other) in [(1, old.as_str(), new), (2, new, old.as_str())] {
        let answer = app.post(&order(&app, &format!("OVERLAP{n}"), secret, None)).await;
        assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
        assert_signed(&answer, secret);
        assert!(sign::verify(other, &answer).is_err(), "not signed with the other secret");
    }
    // A refusal after verification is signed with the verifying secret too.
    let mut conflicting = order(&app, "OVERLAP1", new, None);
    conflicting.set("transaction_amount", "0.03");
    sign::sign_in_place(new, &mut conflicting);
    let refused = app.post(&conflicting).await;
    assert_eq!(refused.get("return_status"), Some("03"), "{}", refused.to_json());
    assert_signed(&refused, new);

    // After the overlap only the new secret verifies.
    app.advance_clock(3600).await;
    let late_old = app.post(&order(&app, "LATE-OLD", &old, None)).await;
    assert_eq!(late_old.get("return_status"), Some("10"), "{}", late_old.to_json());
    let late_new = app.post(&order(&app, "LATE-NEW", new, None)).await;
    assert_eq!(late_new.get("return_status"), Some("00"), "{}", late_new.to_json());
    assert_signed(&late_new, new);
    assert!(app.state.store().order_by_out_trade_no(&app.key, "LATE-OLD").await.unwrap().is_none());
}

/// The notification of a newly paid order, as received.
async fn paid_notification(app: &TestApp, receiver: &Receiver, out: &str, secret: &str) -> Params {
    let calls = receiver.calls();
    let answer = app.post(&order(app, out, secret, Some(&receiver.url))).await;
    assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
    app.sandbox_pay(answer.get("eft_trade_no").unwrap(), "success").await;
    receiver.wait_for_calls(calls + 1).await;
    params(&receiver.bodies().await[calls])
}

#[tokio::test]
async fn notifications_keep_the_old_secret_until_promotion_then_use_the_new_one() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_keyed(&dir.path().join("data"), test_master_key(dir.path())).await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let old = app.secret.clone();
    let store = app.state.store().as_ref();
    let new = merchant::rotate_secret(store, &app.key, Some(Overlap::default()), now(&app)).await.unwrap();
    let new = new.expose_secret();

    // Act + Assert: before promotion, even for an order signed with the new secret.
    let before = paid_notification(&app, &receiver, "NOTE1", new).await;
    assert_eq!(sign::verify(&old, &before), Ok(()), "old secret before promotion");
    assert!(sign::verify(new, &before).is_err());

    merchant::promote_secret(store, &app.key, now(&app)).await.unwrap();
    let after = paid_notification(&app, &receiver, "NOTE2", &old).await;
    assert_eq!(sign::verify(new, &after), Ok(()), "new secret after promotion");
    assert!(sign::verify(&old, &after).is_err());
    // The old secret still verifies requests until the overlap ends.
    let still = app.post(&order(&app, "NOTE3", &old, None)).await;
    assert_eq!(still.get("return_status"), Some("00"));
}

#[tokio::test]
async fn notifications_switch_to_the_new_secret_at_the_end_of_the_overlap_without_promotion() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_keyed(&dir.path().join("data"), test_master_key(dir.path())).await;
    let receiver = Receiver::start(Behaviour::PlainSuccess, &app.secret).await;
    let overlap = Overlap::from_secs(600).unwrap();
    let new = merchant::rotate_secret(app.state.store().as_ref(), &app.key, Some(overlap), now(&app)).await.unwrap();

    app.advance_clock(600).await;
    let after = paid_notification(&app, &receiver, "END1", new.expose_secret()).await;

    assert_eq!(sign::verify(new.expose_secret(), &after), Ok(()));
    assert!(sign::verify(&app.secret, &after).is_err());
}

#[tokio::test]
async fn reset_stops_the_old_secret_at_once_and_bad_changes_change_nothing() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_keyed(&dir.path().join("data"), test_master_key(dir.path())).await;
    let store = app.state.store().as_ref();
    let at = now(&app);

    // Bad changes: each refused, the secret unchanged.
    let unknown = merchant::rotate_secret(store, "NOSUCH", Some(Overlap::default()), at).await;
    assert!(matches!(unknown, Err(SecretChangeError::NoSuchMerchant(_))), "{unknown:?}");
    let unpromotable = merchant::promote_secret(store, &app.key, at).await;
    assert!(matches!(unpromotable, Err(SecretChangeError::NoRotation(_))), "{unpromotable:?}");
    assert!(matches!(merchant::promote_secret(store, "NOSUCH", at).await, Err(SecretChangeError::NoSuchMerchant(_))));
    assert_eq!(app.post(&order(&app, "KEEP1", &app.secret, None)).await.get("return_status"), Some("00"));

    // Act
    let new = merchant::rotate_secret(store, &app.key, None, at).await.unwrap();

    // Assert
    assert_eq!(app.post(&order(&app, "RESET-OLD", &app.secret, None)).await.get("return_status"), Some("10"));
    let answer = app.post(&order(&app, "RESET-NEW", new.expose_secret(), None)).await;
    assert_eq!(answer.get("return_status"), Some("00"));
    assert_signed(&answer, new.expose_secret());
}

#[tokio::test]
async fn production_pay_page_of_a_wallet_without_connector_answers_503_naming_the_wallet() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let mut app = spawn_in_with(dir.path().join("data"), |s| s.mode = Mode::Production).await;
    app.add_merchant("PROD1", "prod-secret-0123456789", MerchantStatus::Active).await;
    app.key = "PROD1".into();
    app.secret = "prod-secret-0123456789".into();
    let mut p = app.seed_request("PROD-PAGE1");
    p.set("return_url", "https://merchant.example/return");
    app.sign(&mut p);
    let answer = app.post(&p).await;
    assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
    let link = answer.get("pay_apptrade").unwrap().to_owned();

    // Act
    let page = app.client.get(&link).send().await.unwrap();
    let mut form: Vec<(String, String)> = url::Url::parse(&link).unwrap().query_pairs().into_owned().collect();
    form.push(("outcome".into(), "success".into()));
    let action = app.client.post(format!("{}/VMP/wap/payPage", app.base)).form(&form).send().await.unwrap();

    // Assert
    for resp in [page, action] {
        assert_eq!(resp.status().as_u16(), 503);
        let html = resp.text().await.unwrap();
        assert!(html.contains("ALIPAYHK payments are not available"), "{html}");
        assert!(html.contains("production mode") && html.contains("no connector"), "{html}");
        assert!(!html.contains("This payment link is not valid") && !html.contains("id=\"pay\""), "{html}");
    }
    let stored = app.state.store().order_by_out_trade_no("PROD1", "PROD-PAGE1").await.unwrap().unwrap();
    assert_eq!(stored.state.as_str(), "PENDING", "nothing was paid");
}
