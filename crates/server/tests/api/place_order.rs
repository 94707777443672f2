//! Place an Order on JSAPIService.do: the seed example, every service,
//! every refusal, idempotency under concurrency, durability.

use vmp_protocol::{Params, Service};
use vmp_server::merchant::MerchantStatus;

use crate::helpers::{assert_signed, spawn_app, spawn_in, vmp_now};

#[tokio::test]
async fn seed_example_request_gets_exactly_the_seed_answer_fields_signed() {
    // Arrange
    let app = spawn_app().await;
    let req = app.seed_request("20190824010716");

    // Act
    let answer = app.post(&req).await;

    // Assert
    assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
    let mut keys: Vec<_> = answer.keys().collect();
    keys.sort_unstable();
    let mut seed_keys = vec![
        "user_confirm_key",
        "wallet",
        "pay_apptrade",
        "return_char",
        "transaction_amount",
        "sign",
        "fee_type",
        "tid",
        "eft_trade_no",
        "out_trade_no",
        "payType",
        "buyerType",
        "return_status",
        "time",
    ];
    seed_keys.sort_unstable();
    assert_eq!(keys, seed_keys);
    assert_eq!(answer.get_raw("return_char").map(|v| v.as_str()), Some(""));
    assert_eq!(answer.get_raw("tid").map(|v| v.as_str()), Some(""));
    assert_eq!(answer.get("transaction_amount"), Some("0.02"));
    assert_eq!(answer.get("buyerType"), Some("andriod"));
    assert_eq!(answer.get("fee_type"), Some("HKD"));
    assert_eq!(answer.get("payType"), Some("Alipay"));
    assert_eq!(answer.get("wallet"), Some("ALIPAYHK"));
    assert_eq!(answer.get("user_confirm_key"), Some(app.key.as_str()));
    let eft = answer.get("eft_trade_no").unwrap();
    assert!(eft.len() <= 28 && eft.bytes().all(|b| b.is_ascii_digit()), "{eft}");
    let link = answer.get("pay_apptrade").unwrap();
    let prefix = format!("{}/VMP/wap/payPage?userkey={}&outTradeNo=20190824010716&sign=", app.base, app.key);
    assert!(link.starts_with(&prefix), "{link}");
    assert_eq!(link.len() - prefix.len(), 64);
    assert_signed(&answer, &app.secret);
    assert_eq!(app.order_count().await, 1);
}

#[tokio::test]
async fn body_is_read_as_json_whatever_the_content_type_says() {
    let app = spawn_app().await;
    for (i, ct) in
        [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/json;charset=UTF-8")]
            .into_iter()
            .enumerate()
    {
        let req = app.seed_request(&format!("CT{i}"));
        let answer = app.post_raw(req.to_json().into_bytes(), ct).await;
        assert_eq!(answer.get("return_status"), Some("00"), "content-type {ct:?}: {}", answer.to_json());
    }
    assert_eq!(app.order_count().await, 4);
}

#[tokio::test]
async fn every_seed_service_is_accepted_with_each_of_its_wallets_and_scenes() {
    let app = spawn_app().await;
    let mut n = 0;
    for s in Service::web_sales().map(Service::spec) {
        for wallet in s.wallets {
            for scene in s.pay_scenes {
                n += 1;
                let mut p = app.seed_request(&format!("SVC{n}"));
                let pay_type = s.pay_type().map_or("", |p| p.as_str());
                p.set("service", s.label())
                    .set("payType", pay_type)
                    .set("wallet", wallet.as_str())
                    .set("pay_scene", scene.as_str())
                    // Every real client sends lang; services without a choice ignore it.
                    .set("lang", "hk");
                app.sign(&mut p);
                let answer = app.post(&p).await;
                assert_eq!(
                    answer.get("return_status"),
                    Some("00"),
                    "{} {wallet} {scene}: {}",
                    s.label(),
                    answer.to_json()
                );
                assert_eq!(answer.get("payType"), Some(pay_type));
                assert_eq!(answer.get("wallet"), Some(wallet.as_str()));
            }
        }
    }
    assert_eq!(app.order_count().await, n);
}

enum Change {
    /// Set a field, then re-sign (so the field rule is what trips).
    Set(&'static str, String),
    /// Remove a field, then re-sign.
    Remove(&'static str),
    /// Set a field without re-signing.
    SetUnsigned(&'static str, String),
    /// Send these bytes as the body.
    Raw(Vec<u8>),
}

fn hk_time(offset_minutes: i64) -> String {
    vmp_protocol::format_time(time::OffsetDateTime::now_utc() + time::Duration::minutes(offset_minutes))
}

/// eftPay's `return_char` for `10`: it names no field, the code does.
const SIGN_TEXT: &str = "签名异常，不予继续访问";

/// eftPay's `return_char` texts name the field for `-13` and the accepted
/// values for `-16`, `20`, `02`, `-24`; every other code's text is fixed.
/// The English reason is logged.
#[tokio::test]
async fn every_bad_input_gets_its_own_code_names_the_field_and_stores_nothing() {
    // Arrange
    let app = spawn_app().await;
    app.add_merchant("DISABLED1", "disabled-secret", MerchantStatus::Disabled).await;
    let utc_wall_clock = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!("[year][month][day][hour][minute][second]"))
        .unwrap();
    use Change::*;
    let cases: Vec<(&str, Change, &str, &str)> = vec![
        ("unknown merchant", Set("user_confirm_key", "NOSUCHKEY".into()), "-13", "user_confirm_key"),
        ("missing merchant key", Remove("user_confirm_key"), "-13", "user_confirm_key"),
        ("disabled merchant", Set("user_confirm_key", "DISABLED1".into()), "22", "User_Confirm_Key[DISABLED1]"),
        ("wrong signature", SetUnsigned("sign", "0".repeat(64)), "10", SIGN_TEXT),
        ("tampered amount", SetUnsigned("transaction_amount", "0.03".into()), "10", SIGN_TEXT),
        ("missing signature", SetUnsigned("sign", String::new()), "10", SIGN_TEXT),
        ("malformed signature", SetUnsigned("sign", "xyz".into()), "10", SIGN_TEXT),
        ("time 31 minutes ahead", Set("time", hk_time(31)), "12", "time"),
        ("time 31 minutes behind", Set("time", hk_time(-31)), "12", "time"),
        ("time sent in UTC, not UTC+8", Set("time", utc_wall_clock), "12", "time"),
        ("malformed time", Set("time", "2024-01-01".into()), "-13", "time"),
        ("missing time", Remove("time"), "-13", "time"),
        ("unknown service", Set("service", "service.alipay.wap.Nope".into()), "-13", "service"),
        ("missing service", Remove("service"), "-13", "service"),
        ("wallet of another service", Set("wallet", "WECHATHK".into()), "-16", "支持钱包类型为：ALIPAYCN/ALIPAYHK"),
        ("payType of another service", Set("payType", "WeChat".into()), "20", "paytype：Alipay"),
        ("pay_scene not allowed", Set("pay_scene", "WEB".into()), "02", "固定场景WAP"),
        ("missing subject", Remove("subject"), "-13", "subject"),
        ("missing out_trade_no", Remove("out_trade_no"), "-13", "out_trade_no"),
        ("missing transaction_amount", Remove("transaction_amount"), "-13", "transaction_amount"),
        ("missing payType", Remove("payType"), "-13", "payType"),
        ("missing wallet", Remove("wallet"), "-13", "wallet"),
        ("missing buyerType", Remove("buyerType"), "-13", "buyerType"),
        ("over-long out_trade_no", Set("out_trade_no", "1".repeat(29)), "-13", "out_trade_no"),
        ("over-long subject", Set("subject", "中".repeat(257)), "-13", "subject"),
        ("over-long body", Set("body", "b".repeat(129)), "-13", "body"),
        ("over-long tid", Set("tid", "t".repeat(21)), "-13", "tid"),
        (
            "over-long notify_url",
            Set("notify_url", format!("https://m.example/{}", "n".repeat(240))),
            "-13",
            "notify_url",
        ),
        ("amount with 3 decimals", Set("transaction_amount", "1.234".into()), "-13", "transaction_amount"),
        ("negative amount", Set("transaction_amount", "-1".into()), "-13", "transaction_amount"),
        ("zero amount", Set("transaction_amount", "0".into()), "09", "Amount outside range"),
        ("exponent amount", Set("transaction_amount", "1e2".into()), "-13", "transaction_amount"),
        ("alphabetic amount", Set("transaction_amount", "abc".into()), "-13", "transaction_amount"),
        ("amount with leading space", Set("transaction_amount", " 1".into()), "-13", "transaction_amount"),
        ("amount over 8 characters", Set("transaction_amount", "123456789".into()), "-13", "transaction_amount"),
        ("unsupported currency", Set("fee_type", "USD".into()), "-24", "不支持该币种：USD"),
        ("return_url with parameters", Set("return_url", "https://m.example/r?x=1".into()), "-13", "return_url"),
        ("notify_url not http", Set("notify_url", "ftp://m.example/n".into()), "-13", "notify_url"),
        ("bad active_time", Set("active_time", "soon".into()), "-13", "active_time"),
        ("control character in subject", Set("subject", "a\u{1b}b".into()), "-13", "subject"),
        ("malformed JSON", Raw(br#"{"service": "#.to_vec()), "-13", "request body"),
        ("JSON array", Raw(b"[1,2,3]".to_vec()), "-13", "request body"),
        ("JSON string", Raw(br#""hello""#.to_vec()), "-13", "request body"),
        ("not UTF-8", Raw(b"{\"subject\":\"\xff\xfe\"}".to_vec()), "-13", "request body"),
        ("empty body", Raw(Vec::new()), "-13", "request body"),
        ("duplicate key", Raw(br#"{"service":"a","service":"b"}"#.to_vec()), "-13", "service"),
        (
            "body over 64 KiB",
            Raw(format!(r#"{{"subject":"{}"}}"#, "x".repeat(70_000)).into_bytes()),
            "-13",
            "request body",
        ),
        (
            "form-encoded body",
            Raw(b"service=service.alipay.wap.PreOrder&user_confirm_key=1".to_vec()),
            "-13",
            "request body",
        ),
        ("amount as a JSON number", Raw(Vec::new()), "-13", "transaction_amount"),
    ];

    for (i, (what, change, code, names)) in cases.into_iter().enumerate() {
        let mut req = app.seed_request(&format!("BAD{i}"));
        let body = match change {
            Set(k, v) => {
                req.set(k, v);
                app.sign(&mut req);
                req.to_json().into_bytes()
            }
            Remove(k) => {
                req.remove(k);
                app.sign(&mut req);
                req.to_json().into_bytes()
            }
            SetUnsigned(k, v) => {
                req.set(k, v);
                req.to_json().into_bytes()
            }
            Raw(b) if what == "amount as a JSON number" => {
                let _ = b;
                let json = req.to_json().replace(r#""transaction_amount":"0.02""#, r#""transaction_amount":0.02"#);
                let mut p = Params::from_json(json.as_bytes()).unwrap();
                app.sign(&mut p);
                p.to_json().into_bytes()
            }
            Raw(b) => b,
        };

        // Act
        let answer = app.post_raw(body, None).await;

        // Assert
        assert_eq!(answer.get("return_status"), Some(code), "{what}: {}", answer.to_json());
        let text = answer.get("return_char").unwrap_or_default();
        assert!(text.contains(names), "{what}: return_char {text:?} should contain {names:?}");
        assert!(text.chars().count() <= 100, "{what}: return_char too long");
        if code.starts_with('-') {
            assert!(!answer.contains("sign"), "{what}: negative codes are unsigned");
        } else if what == "disabled merchant" {
            assert_signed(&answer, "disabled-secret");
        } else {
            assert_signed(&answer, &app.secret);
        }
    }
    assert_eq!(app.order_count().await, 0, "no refused request may store anything");
}

#[tokio::test]
async fn identical_resubmission_replays_and_a_different_request_gets_03() {
    let app = spawn_app().await;
    let first = app.post(&app.seed_request("IDEM1")).await;
    assert_eq!(first.get("return_status"), Some("00"));

    // A retry with a new time and signature is the same request.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = app.post(&app.seed_request("IDEM1")).await;
    assert_eq!(again.get("return_status"), Some("00"), "{}", again.to_json());
    assert_eq!(again.get("eft_trade_no"), first.get("eft_trade_no"));
    assert_eq!(again.get("pay_apptrade"), first.get("pay_apptrade"));
    assert_signed(&again, &app.secret);

    let mut other = app.seed_request("IDEM1");
    other.set("transaction_amount", "0.03");
    app.sign(&mut other);
    let conflict = app.post(&other).await;
    assert_eq!(conflict.get("return_status"), Some("03"), "{}", conflict.to_json());
    assert!(conflict.get("return_char").unwrap().contains("out_trade_no"));
    assert_signed(&conflict, &app.secret);
    assert_eq!(app.order_count().await, 1);

    // Another merchant may use the same out_trade_no.
    app.add_merchant("OTHER1", "other-secret", MerchantStatus::Active).await;
    let mut p = app.seed_request("IDEM1");
    p.set("user_confirm_key", "OTHER1");
    vmp_protocol::sign::sign_in_place("other-secret", &mut p);
    assert_eq!(app.post(&p).await.get("return_status"), Some("00"));
    assert_eq!(app.order_count().await, 2);
}

#[tokio::test]
async fn fifty_identical_and_fifty_conflicting_requests_at_once_make_one_order() {
    // Arrange
    let app = std::sync::Arc::new(spawn_app().await);
    let identical = app.seed_request("RACE1");
    let mut requests = Vec::new();
    for i in 0..100 {
        if i % 2 == 0 {
            requests.push((true, identical.clone()));
        } else {
            let mut p = identical.clone();
            p.set("subject", format!("conflicting {i}"));
            app.sign(&mut p);
            requests.push((false, p));
        }
    }

    // Act
    let mut tasks = Vec::new();
    for (is_identical, p) in requests {
        let app = std::sync::Arc::clone(&app);
        tasks.push(tokio::spawn(
            async move { (is_identical, p.get("subject").unwrap().to_owned(), app.post(&p).await) },
        ));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }

    // Assert
    assert_eq!(app.order_count().await, 1);
    let stored = app.state.store().order_by_out_trade_no(&app.key, "RACE1").await.unwrap().unwrap();
    let winner_is_identical = stored.subject == "中文测试 test";
    for (is_identical, subject, answer) in &answers {
        let won = subject == &stored.subject;
        let expected = if won { "00" } else { "03" };
        assert_eq!(
            answer.get("return_status"),
            Some(expected),
            "identical={is_identical} subject={subject}: {}",
            answer.to_json()
        );
        if won {
            assert_eq!(answer.get("eft_trade_no"), Some(stored.eft_trade_no.as_str()));
        }
        assert_signed(answer, &app.secret);
    }
    let accepted = answers.iter().filter(|(_, _, a)| a.get("return_status") == Some("00")).count();
    assert_eq!(accepted, if winner_is_identical { 50 } else { 1 });
    let links: std::collections::HashSet<_> =
        answers.iter().filter_map(|(_, _, a)| a.get("pay_apptrade").map(str::to_owned)).collect();
    assert_eq!(links.len(), 1, "every accepted answer carries the same pay_apptrade");
}

#[tokio::test]
async fn concurrent_orders_are_committed_in_shared_batches() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let app = std::sync::Arc::clone(&app);
        tasks.push(tokio::spawn(async move { app.post(&app.seed_request(&format!("GC{i}"))).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().get("return_status"), Some("00"));
    }
    let stats = app.state.store().writer_stats();
    assert_eq!(app.order_count().await, 200);
    assert_eq!(stats.order_writes(), 200);
    assert!(
        stats.order_commits() < stats.order_writes(),
        "group commit: {} commits for {} orders",
        stats.order_commits(),
        stats.order_writes()
    );
    assert!(stats.largest_batch() > 1);
}

#[tokio::test]
async fn answered_orders_survive_a_restart_and_replay_identically() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_in(dir.path().to_path_buf()).await;
    let (key, secret) = (app.key.clone(), app.secret.clone());
    let first = app.post(&app.seed_request("DURABLE1")).await;
    assert_eq!(first.get("return_status"), Some("00"));
    app.stop().await;

    let mut again = spawn_in(dir.path().to_path_buf()).await;
    assert!(again.key.is_empty(), "no second sandbox merchant on restart");
    again.key = key;
    again.secret = secret;
    assert_eq!(again.order_count().await, 1);
    let replay = again.post(&again.seed_request("DURABLE1")).await;
    assert_eq!(replay.get("return_status"), Some("00"), "{}", replay.to_json());
    assert_eq!(replay.get("eft_trade_no"), first.get("eft_trade_no"));
    // The port differs (port 0), the link's query with its token does not.
    let query = |a: &Params| a.get("pay_apptrade").and_then(|l| l.split_once('?')).map(|(_, q)| q.to_owned());
    assert_eq!(query(&replay), query(&first), "the link key persists across restarts");
    again.stop().await;
}

#[tokio::test]
async fn unknown_extra_parameters_are_signed_and_ignored() {
    let app = spawn_app().await;
    let mut p = app.seed_request("EXTRA1");
    p.set("browser", "chrome").set("time", vmp_now());
    app.sign(&mut p);
    assert_eq!(app.post(&p).await.get("return_status"), Some("00"));
}

/// RSM, eftPay's own support tool, sends `lang=en` on every web sale; live
/// eftPay accepted hundreds of them on services without a language choice.
#[tokio::test]
async fn lang_is_accepted_on_every_service_and_honoured_where_the_page_has_a_choice() {
    let app = spawn_app().await;
    // Alipay wap: no language choice; any lang is signed, accepted, not echoed, not kept.
    for (i, lang) in ["en", "fr", "EN"].into_iter().enumerate() {
        let mut p = app.seed_request(&format!("LANG{i}"));
        p.set("lang", lang);
        app.sign(&mut p);
        let a = app.post(&p).await;
        assert_eq!(a.get("return_status"), Some("00"), "lang={lang}: {}", a.to_json());
        assert!(!a.contains("lang"), "lang is not echoed");
        let order = app.state.store().order_by_out_trade_no(&app.key, &format!("LANG{i}")).await.unwrap().unwrap();
        assert_eq!(order.lang, None, "lang={lang} is ignored");
    }
    // MPGS: the page has one; hk is kept, fr is refused naming lang.
    let mpgs = |out: &str, lang: &str| {
        let mut p = app.seed_request(out);
        p.set("service", "service.mpgs.web.PreOrder")
            .set("payType", "Mpgs")
            .set("wallet", "MPGS")
            .set("pay_scene", "WEB")
            .set("lang", lang);
        app.sign(&mut p);
        p
    };
    let a = app.post(&mpgs("LANGM1", "hk")).await;
    assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
    let order = app.state.store().order_by_out_trade_no(&app.key, "LANGM1").await.unwrap().unwrap();
    assert_eq!(order.lang.as_deref(), Some("hk"));
    let a = app.post(&mpgs("LANGM2", "fr")).await;
    assert_eq!(a.get("return_status"), Some("-13"), "{}", a.to_json());
    assert_eq!(a.get("return_char"), Some("参数错误:请检查请求接口参数: lang"));
    assert!(app.state.store().order_by_out_trade_no(&app.key, "LANGM2").await.unwrap().is_none());
}

/// Odoo, Tornado and CardTrain parse every answer body as JSON: an
/// unknown servlet must answer JSON, not an empty 404.
#[tokio::test]
async fn an_unknown_servlet_or_a_planned_service_answers_json_minus_13_naming_it() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(format!("{}/VMP/Servlet/NoSuchThing.do", app.base))
        .body(app.seed_request("U1").to_json())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let a = Params::from_json(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(a.get("return_status"), Some("-13"));
    assert_eq!(a.get("return_char"), Some("参数错误:接口[NoSuchThing.do]不存在"));

    // A service the catalogue lists but the gateway does not serve yet.
    let mut p = app.seed_request("U2");
    p.set("service", "service.mpgs.token.ApplePay");
    app.sign(&mut p);
    let a = app.post(&p).await;
    assert_eq!(a.get("return_status"), Some("-13"), "{}", a.to_json());
    assert_eq!(a.get("return_char"), Some("参数错误:接口[service.mpgs.token.ApplePay]暂不支持"));
    assert_eq!(app.order_count().await, 0);
}

/// The web scene's own sale services as RSM and CardTrain send them.
#[tokio::test]
async fn the_web_scene_sale_services_take_their_orders_as_real_clients_send_them() {
    let app = spawn_app().await;
    let cases = [
        ("service.alipay.web.PreOrder", "Alipay", "ALIPAYHK", "WEB"),
        ("service.wechat.web.PreOrder", "WeChat", "WECHATHK", "WEB"),
        ("service.wechat.web.PreOrder", "WeChat", "WECHATCN", "WAP"),
        ("service.unionpay.web.PreOrder", "UnionPay", "UNIONPAY", "WEB"),
        ("service.jetco.wap.PreOrder", "Jetco", "JETCOHK", "WAP"),
        ("service.bocpayupi.wap.PreOrder", "BOCVMP", "BOCPAYUPI", "APP"),
        ("service.bocpayupi.wap.PreOrder", "BOCPay", "BOCPAYUPI", "APP"),
    ];
    for (i, (service, pay_type, wallet, scene)) in cases.into_iter().enumerate() {
        let mut p = app.seed_request(&format!("WEB{i}"));
        p.set("service", service)
            .set("payType", pay_type)
            .set("wallet", wallet)
            .set("pay_scene", scene)
            .set("lang", "en")
            .set("browser", "Chrome")
            .set("active_time", "1800");
        app.sign(&mut p);
        let a = app.post(&p).await;
        assert_eq!(a.get("return_status"), Some("00"), "{service}: {}", a.to_json());
        assert_eq!((a.get("payType"), a.get("wallet")), (Some(pay_type), Some(wallet)), "{service}");
        assert_signed(&a, &app.secret);
    }
    // Their wallets stay their own: Alipay web refuses a WeChat wallet.
    let mut p = app.seed_request("WEBX");
    p.set("service", "service.alipay.web.PreOrder").set("pay_scene", "WEB").set("wallet", "WECHATHK");
    app.sign(&mut p);
    assert_eq!(app.post(&p).await.get("return_status"), Some("-16"));
}
