//! Grades a merchant's notify handler (`vmp check-handler`, and the
//! console after it): fires a fixed set of notifications at the URL given,
//! and says per case what the handler answered and whether that is right
//! (README "Testing your integration in CI").
//!
//! The rules, the gateway's own: a notification counts as acknowledged
//! when the answer is HTTP 2xx with the plain text `success` or a JSON
//! `{"return_code":"success",…}` whose `sign` verifies
//! ([`vmp_protocol::notify::is_ack_success`]). A handler must
//! - acknowledge a valid notification, also the second time it arrives
//!   (the gateway delivers at least once), and a refund's before or after
//!   its sale;
//! - never acknowledge a forged one (any signed field changed, a field
//!   added, `sign` missing or made with another secret) nor a stale one
//!   (`time` more than 30 minutes off): acknowledging tells the gateway to
//!   stop, and a forger could mark an order paid;
//! - answer within the gateway's timeout (10 s by default), or the gateway
//!   counts the attempt as failed.
//!
//! The cases ([`cases`]) and the grading of one answer ([`grade`]) are pure;
//! [`run`] does the HTTP. Each case uses an order number of its own
//! (`VMPCHK…`), so cases run at once; with a real order
//! ([`CheckOptions::out_trade_no`]) they run one after another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use time::OffsetDateTime;
use vmp_protocol::notify::{TradeNotification, TradeStatus, TradeType, is_ack_success};
use vmp_protocol::{Amount, Params, VmpTime, sign};

/// The gateway's default notification timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Most bytes of a handler's answer read (and shown, clipped further).
const ANSWER_MAX: usize = 4096;
/// Characters of an answer shown in a report.
const SHOWN_MAX: usize = 120;

/// What to check, and as whom.
#[derive(Clone)]
pub struct CheckOptions {
    /// The handler's URL (http or https).
    pub url: url::Url,
    /// The merchant's `user_confirm_key`.
    pub key: String,
    /// The merchant's secret: valid notifications are signed with it, and
    /// signed acks verified.
    pub secret: SecretString,
    /// How long an answer may take.
    pub timeout: Duration,
    /// A real order of the merchant to report on (a handler that checks
    /// the order against its records needs one); `None`: a made-up order
    /// per case.
    pub out_trade_no: Option<String>,
    /// The order amount (`total_fee`).
    pub amount: Amount,
}

impl std::fmt::Debug for CheckOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckOptions")
            .field("url", &self.url.as_str())
            .field("key", &self.key)
            .field("secret", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .field("out_trade_no", &self.out_trade_no)
            .field("amount", &self.amount)
            .finish()
    }
}

/// What a step expects of the handler's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// An acknowledgement.
    Ack,
    /// Anything but an acknowledgement.
    Refuse,
    /// Any answer, in time (the gateway sends it again if it is not an ack).
    Answer,
}

/// One notification of a case, before it is sent.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What it is, in words.
    pub sent: String,
    /// The JSON body.
    pub body: String,
    /// What the handler should do with it.
    pub expect: Expect,
}

/// A case: notifications sent in order, each graded.
#[derive(Debug, Clone)]
pub struct Case {
    /// A stable name (`valid`, `tampered:total_fee`, …), for CI.
    pub name: String,
    /// What it checks, in words.
    pub description: String,
    /// The notifications, in the order they are sent.
    pub probes: Vec<Probe>,
}

/// What the handler answered one notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// HTTP status (`None`: no answer).
    pub http_status: Option<u16>,
    /// The start of the answer's body.
    pub body: String,
    /// Milliseconds until the answer was read.
    pub latency_ms: u64,
    /// Whether it is an acknowledgement by the gateway's rule.
    pub acked: bool,
    /// Why there was no answer (timeout, connect error), if so.
    pub error: Option<String>,
}

/// One graded notification.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// What was sent.
    pub sent: String,
    /// What was expected.
    pub expect: Expect,
    /// What came back.
    pub answer: Answer,
    /// Whether that is right.
    pub ok: bool,
    /// What is wrong, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// One graded case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The case's name.
    pub name: String,
    /// What it checks.
    pub description: String,
    /// Whether every step was right.
    pub passed: bool,
    /// Each notification and its grade.
    pub steps: Vec<Step>,
}

/// Every case's grade.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The handler checked.
    pub url: String,
    /// The timeout answers were held to, in milliseconds.
    pub timeout_ms: u64,
    /// Cases passed.
    pub passed: usize,
    /// Cases failed.
    pub failed: usize,
    /// The slowest answer, in milliseconds.
    pub slowest_ms: u64,
    /// Each case.
    pub cases: Vec<CaseReport>,
}

impl Report {
    /// Whether every case passed.
    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }

    /// The report as text, one line per case and one per wrong step.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for c in &self.cases {
            let _ = writeln!(out, "{} {:<26} {}", if c.passed { "PASS" } else { "FAIL" }, c.name, c.description);
            for s in c.steps.iter().filter(|s| !s.ok) {
                let got = match (&s.answer.error, s.answer.http_status) {
                    (Some(e), _) => e.clone(),
                    (None, Some(status)) => format!("HTTP {status} {:?}", s.answer.body),
                    (None, None) => "no answer".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "       {}: {} (answered {got} in {} ms)",
                    s.sent,
                    s.problem.as_deref().unwrap_or("wrong"),
                    s.answer.latency_ms
                );
            }
        }
        let _ = writeln!(
            out,
            "{} passed, {} failed; slowest answer {} ms (allowed {} ms)",
            self.passed, self.failed, self.slowest_ms, self.timeout_ms
        );
        out
    }
}

/// Grades one answer against what was expected; the text says what is wrong.
///
/// # Errors
/// The problem, in words, when the answer is not right.
pub fn grade(expect: Expect, answer: &Answer, timeout: Duration) -> Result<(), String> {
    let allowed = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    if let Some(e) = &answer.error {
        return Err(format!("no answer ({e}); the gateway counts the attempt as failed and sends it again"));
    }
    if answer.latency_ms > allowed {
        return Err(format!("answered after {} ms, over the {allowed} ms the gateway waits", answer.latency_ms));
    }
    match expect {
        Expect::Ack if !answer.acked => {
            Err("not acknowledged: answer HTTP 2xx with `success` or a signed {\"return_code\":\"success\"}; \
             the gateway keeps sending it"
                .to_owned())
        }
        Expect::Refuse if answer.acked => {
            Err("acknowledged a notification that does not verify: verify sign and time before acting on it".to_owned())
        }
        _ => Ok(()),
    }
}

/// The order a case reports on.
struct Order {
    out_trade_no: String,
    eft_trade_no: String,
    transaction_id: String,
}

fn order(opts: &CheckOptions, run: &str, index: usize) -> Order {
    let eft = format!("99{run}{index:06}");
    Order {
        out_trade_no: opts.out_trade_no.clone().unwrap_or_else(|| format!("VMPCHK{run}{index:02}")),
        transaction_id: format!("CHK{eft}"),
        eft_trade_no: eft,
    }
}

fn sale(opts: &CheckOptions, o: &Order, now: OffsetDateTime) -> TradeNotification {
    let time = VmpTime::from_datetime(now);
    TradeNotification {
        user_confirm_key: opts.key.clone(),
        trade_no: o.transaction_id.clone(),
        transaction_id: o.transaction_id.clone(),
        out_trade_no: o.out_trade_no.clone(),
        eft_trade_no: o.eft_trade_no.clone(),
        eftpay_trade_no: o.eft_trade_no.clone(),
        total_fee: opts.amount.to_decimal_string(),
        amount: opts.amount,
        currency: "HKD".to_owned(),
        trade_status: TradeStatus::TradeSuccess,
        gmt_payment: time.to_gmt_string(),
        wallet: "ALIPAYHK".to_owned(),
        tid: None,
        trade_type: TradeType::Sale,
        card_scheme: None,
        time,
    }
}

/// A full refund's notification, as the gateway sends an apply-refund's.
fn refund(opts: &CheckOptions, o: &Order, now: OffsetDateTime) -> Params {
    let mut n = sale(opts, o, now);
    n.trade_type = TradeType::Refund;
    n.trade_status = TradeStatus::TradeClosed;
    let mut p = n.to_params();
    p.set("out_refund_no", format!("{}R", o.out_trade_no)).set("original_amount", opts.amount.to_decimal_string());
    p
}

fn signed(secret: &str, mut p: Params) -> String {
    sign::sign_in_place(secret, &mut p);
    p.to_json()
}

fn probe(sent: impl Into<String>, body: String, expect: Expect) -> Probe {
    Probe { sent: sent.into(), body, expect }
}

/// A value different from `value`, for tampering with `field`.
fn tampered(field: &str, value: &str) -> String {
    match field {
        "total_fee" => if value == "999999.99" { "0.01" } else { "999999.99" }.to_owned(),
        "trade_status" => if value == "TRADE_SUCCESS" { "TRADE_FAIL" } else { "TRADE_SUCCESS" }.to_owned(),
        "trade_type" => if value == "SALE" { "REFUND" } else { "SALE" }.to_owned(),
        "currency" => if value == "HKD" { "CNY" } else { "HKD" }.to_owned(),
        // Still a valid time, and inside the window: only the signature can tell.
        "time" => VmpTime::parse(value)
            .map(|t| VmpTime::from_datetime(t.datetime() - time::Duration::minutes(1)).to_string())
            .unwrap_or_else(|_| "20000101000000".to_owned()),
        _ => format!("{value}1"),
    }
}

/// Every case, built for `now` (UTC). `run` distinguishes this run's order
/// numbers from another's (digits, e.g. `yyMMddHHmmssSSS`).
pub fn cases(opts: &CheckOptions, run: &str, now: OffsetDateTime) -> Vec<Case> {
    let secret = opts.secret.expose_secret();
    let mut out = Vec::new();
    let mut next_order = {
        let mut i = 0;
        move || {
            i += 1;
            order(opts, run, i)
        }
    };
    let mut case = |name: &str, description: &str, probes: Vec<Probe>| {
        out.push(Case { name: name.to_owned(), description: description.to_owned(), probes });
    };

    let o = next_order();
    let valid = sale(opts, &o, now).to_params();
    case(
        "valid",
        "a valid, signed sale notification is acknowledged",
        vec![probe("valid sale", signed(secret, valid.clone()), Expect::Ack)],
    );

    let genuine = {
        let mut p = valid.clone();
        sign::sign_in_place(secret, &mut p);
        p
    };
    for field in valid.keys().map(str::to_owned).collect::<Vec<_>>() {
        let mut p = genuine.clone();
        let value = p.get(&field).unwrap_or_default().to_owned();
        p.set(field.as_str(), tampered(&field, &value));
        case(
            &format!("tampered:{field}"),
            &format!("{field} changed after signing is refused"),
            vec![probe(format!("sale with {field} changed"), p.to_json(), Expect::Refuse)],
        );
    }
    let mut added = genuine.clone();
    added.set("rate", "1.0");
    case(
        "tampered:added_field",
        "a field added after signing is refused",
        vec![probe("sale with an unsigned field added", added.to_json(), Expect::Refuse)],
    );

    let mut unsigned = valid.clone();
    unsigned.remove("sign");
    case(
        "sign:missing",
        "a notification without sign is refused",
        vec![probe("sale without sign", unsigned.to_json(), Expect::Refuse)],
    );
    case(
        "sign:wrong",
        "a notification signed with another secret is refused",
        vec![probe(
            "sale signed with another secret",
            signed("not-the-merchant-secret", valid.clone()),
            Expect::Refuse,
        )],
    );

    for (name, minutes, word) in [("time:stale", -40, "40 minutes old"), ("time:future", 40, "40 minutes ahead")] {
        let o = next_order();
        let p = sale(opts, &o, now + time::Duration::minutes(minutes)).to_params();
        case(
            name,
            &format!("a correctly signed notification whose time is {word} is refused"),
            vec![probe(format!("sale with time {word}"), signed(secret, p), Expect::Refuse)],
        );
    }

    let o = next_order();
    let first = sale(opts, &o, now).to_params();
    let again = sale(opts, &o, now + time::Duration::seconds(15)).to_params();
    case(
        "duplicate",
        "the same notification twice is acknowledged both times",
        vec![
            probe("sale", signed(secret, first), Expect::Ack),
            probe("the same sale again (a retry)", signed(secret, again), Expect::Ack),
        ],
    );

    let o = next_order();
    case(
        "refund_after_sale",
        "a refund's notification after its sale's is acknowledged",
        vec![
            probe("sale", signed(secret, sale(opts, &o, now).to_params()), Expect::Ack),
            probe("its refund", signed(secret, refund(opts, &o, now)), Expect::Ack),
        ],
    );

    let o = next_order();
    case(
        "refund_before_sale",
        "a refund arriving before its sale does not stop the sale, and its retry is acknowledged",
        vec![
            probe("refund (its sale not seen yet)", signed(secret, refund(opts, &o, now)), Expect::Answer),
            probe("the sale", signed(secret, sale(opts, &o, now).to_params()), Expect::Ack),
            probe("the refund again (a retry)", signed(secret, refund(opts, &o, now)), Expect::Ack),
        ],
    );
    out
}

/// Sends one notification and reads the answer.
async fn send(http: &reqwest::Client, opts: &CheckOptions, body: &str) -> Answer {
    let started = Instant::now();
    let elapsed = |started: Instant| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let sent = http
        .post(opts.url.clone())
        .header("content-type", "application/json")
        .timeout(opts.timeout)
        .body(body.to_owned())
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                format!("no answer within {} ms", opts.timeout.as_millis())
            } else if e.is_connect() {
                "connect error".to_owned()
            } else {
                "request error".to_owned()
            };
            return Answer {
                http_status: None,
                body: String::new(),
                latency_ms: elapsed(started),
                acked: false,
                error: Some(what),
            };
        }
    };
    let status = resp.status();
    let mut bytes = Vec::new();
    let mut error = None;
    loop {
        match tokio::time::timeout(opts.timeout.saturating_sub(started.elapsed()), resp.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() >= ANSWER_MAX {
                    break;
                }
            }
            Ok(Ok(None)) => break,
            Ok(Err(_)) => {
                error = Some("the answer broke off".to_owned());
                break;
            }
            Err(_) => {
                error = Some(format!("no answer within {} ms", opts.timeout.as_millis()));
                break;
            }
        }
    }
    let acked = error.is_none() && status.is_success() && is_ack_success(&bytes, Some(opts.secret.expose_secret()));
    Answer {
        http_status: Some(status.as_u16()),
        body: String::from_utf8_lossy(&bytes).trim().chars().take(SHOWN_MAX).collect(),
        latency_ms: elapsed(started),
        acked,
        error,
    }
}

async fn run_case(http: reqwest::Client, opts: Arc<CheckOptions>, case: Case) -> CaseReport {
    let mut steps = Vec::with_capacity(case.probes.len());
    for p in case.probes {
        let answer = send(&http, &opts, &p.body).await;
        let graded = grade(p.expect, &answer, opts.timeout);
        steps.push(Step { sent: p.sent, expect: p.expect, answer, ok: graded.is_ok(), problem: graded.err() });
    }
    CaseReport { passed: steps.iter().all(|s| s.ok), name: case.name, description: case.description, steps }
}

/// Runs every case against the handler and grades it. Only `opts.url` is
/// contacted; redirects are not followed and no proxy is used.
///
/// # Errors
/// When the HTTP client cannot be built.
pub async fn run(opts: CheckOptions, now: OffsetDateTime) -> anyhow::Result<Report> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("OpenVMP-check-handler/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let local = now.to_offset(vmp_protocol::vmptime::VMP_OFFSET);
    let run_id = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}{:03}",
        local.year() % 100,
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        local.millisecond()
    );
    let all = cases(&opts, &run_id, now);
    let sequential = opts.out_trade_no.is_some();
    let opts = Arc::new(opts);
    let mut reports = Vec::with_capacity(all.len());
    if sequential {
        for case in all {
            reports.push(run_case(http.clone(), Arc::clone(&opts), case).await);
        }
    } else {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, case) in all.into_iter().enumerate() {
            let (http, opts) = (http.clone(), Arc::clone(&opts));
            tasks.spawn(async move { (i, run_case(http, opts, case).await) });
        }
        let mut done = Vec::new();
        while let Some(r) = tasks.join_next().await {
            done.push(r?);
        }
        done.sort_by_key(|(i, _)| *i);
        reports = done.into_iter().map(|(_, r)| r).collect();
    }
    let passed = reports.iter().filter(|c| c.passed).count();
    let slowest_ms = reports.iter().flat_map(|c| c.steps.iter()).map(|s| s.answer.latency_ms).max().unwrap_or(0);
    Ok(Report {
        url: opts.url.to_string(),
        timeout_ms: u64::try_from(opts.timeout.as_millis()).unwrap_or(u64::MAX),
        failed: reports.len() - passed,
        passed,
        slowest_ms,
        cases: reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use vmp_protocol::notify::{ack, verify_notification};

    const SECRET: &str = "handler-check-secret";
    const NOW: OffsetDateTime = datetime!(2026-01-02 03:04:05 UTC);

    fn opts() -> CheckOptions {
        CheckOptions {
            url: url::Url::parse("http://127.0.0.1:9/notify").unwrap(),
            key: "K1".into(),
            secret: SecretString::from(SECRET),
            timeout: DEFAULT_TIMEOUT,
            out_trade_no: None,
            amount: Amount::parse("0.01").unwrap(),
        }
    }

    fn answer(status: u16, body: &str, latency_ms: u64) -> Answer {
        let acked = (200..300).contains(&status) && is_ack_success(body.as_bytes(), Some(SECRET));
        Answer { http_status: Some(status), body: body.into(), latency_ms, acked, error: None }
    }

    #[test]
    fn every_case_expects_what_verification_says() {
        // A handler built on the SDK's verification would answer each probe
        // like this; the expectations must agree with it.
        for case in cases(&opts(), "2601021104050", NOW) {
            for p in &case.probes {
                let verifies = verify_notification(p.body.as_bytes(), SECRET, NOW).is_ok();
                match p.expect {
                    Expect::Ack => assert!(verifies, "{}: {}", case.name, p.sent),
                    Expect::Refuse => assert!(!verifies, "{}: {}", case.name, p.sent),
                    Expect::Answer => {}
                }
            }
        }
    }

    #[test]
    fn every_signed_field_is_tampered_with_in_a_case_of_its_own() {
        let all = cases(&opts(), "2601021104050", NOW);
        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        for field in ["notify_type", "user_confirm_key", "out_trade_no", "total_fee", "trade_status", "time"] {
            assert!(names.contains(&format!("tampered:{field}").as_str()), "{field}: {names:?}");
        }
        for name in ["valid", "sign:missing", "sign:wrong", "time:stale", "duplicate", "refund_before_sale"] {
            assert!(names.contains(&name), "{name}");
        }
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "case names are unique");
    }

    #[test]
    fn cases_with_a_real_order_all_name_it() {
        let mut o = opts();
        o.out_trade_no = Some("SHOP-42".into());
        for case in cases(&o, "1", NOW) {
            for p in &case.probes {
                let params = Params::from_json(p.body.as_bytes()).unwrap();
                if !case.name.starts_with("tampered:out_trade_no") {
                    assert_eq!(params.get("out_trade_no"), Some("SHOP-42"), "{}", case.name);
                }
            }
        }
    }

    #[test]
    fn grading_follows_the_gateways_ack_rule_and_timeout() {
        let signed_ack = ack(SECRET, true, NOW).to_json();
        let forged_ack = ack("other", true, NOW).to_json();
        let t = Duration::from_secs(10);
        let table: &[(Expect, Answer, bool, &str)] = &[
            (Expect::Ack, answer(200, "success", 5), true, "plain success"),
            (Expect::Ack, answer(200, &signed_ack, 5), true, "signed JSON ack"),
            (Expect::Ack, answer(200, &forged_ack, 5), false, "ack signed with another secret"),
            (Expect::Ack, answer(500, "success", 5), false, "success with HTTP 500"),
            (Expect::Ack, answer(200, "ok", 5), false, "ok is not an ack"),
            (Expect::Ack, answer(200, "success", 10_001), false, "too slow"),
            (Expect::Refuse, answer(400, "fail", 5), true, "refused"),
            (Expect::Refuse, answer(200, "fail", 5), true, "200 but not an ack"),
            (Expect::Refuse, answer(200, "success", 5), false, "acked a forgery"),
            (Expect::Answer, answer(500, "", 5), true, "any answer"),
            (
                Expect::Answer,
                Answer {
                    http_status: None,
                    body: String::new(),
                    latency_ms: 10_000,
                    acked: false,
                    error: Some("no answer within 10000 ms".into()),
                },
                false,
                "no answer",
            ),
        ];
        for (expect, a, ok, what) in table {
            assert_eq!(grade(*expect, a, t).is_ok(), *ok, "{what}: {:?}", grade(*expect, a, t));
        }
    }

    #[test]
    fn options_never_show_the_secret() {
        assert!(!format!("{:?}", opts()).contains(SECRET));
    }
}
