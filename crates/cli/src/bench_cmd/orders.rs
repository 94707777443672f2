//! Pre-signed Place an Order requests across the ten services, and how
//! their answers are judged.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use hyper::{Method, Uri};
use serde::Deserialize;
use vmp_protocol::catalogue::Notify;
use vmp_protocol::request::QUERY_TYPE_OUT_TRADE;
use vmp_protocol::{Params, Service, sign};

use super::load::{Answer, Inspect, Req};

/// Place an Order's ten services, in eftPay's order: the benchmark's mix stays
/// the same as the catalogue grows, so runs of different builds compare.
const SERVICES: [Service; 10] = [
    Service::AlipayWap,
    Service::WechatMobileH5,
    Service::WechatOauth2,
    Service::IcbcWap,
    Service::UnionPayOnline,
    Service::OctOnline,
    Service::MpgsWeb,
    Service::AeWeb,
    Service::PaymeWeb,
    Service::BocVmpUpiWap,
];

/// The Place an Order endpoint.
pub const JSAPI_PATH: &str = "/VMP/Servlet/JSAPIService.do";
/// The query endpoint.
pub const QUERY_PATH: &str = "/VMP/Servlet/QRcodeTradeQuery.do";

/// Amounts cycled through; none ends in a sandbox magic decimal
/// (`.44`, `.45`, `.77`, `.80`, `.81`), so every order is accepted and
/// every sandbox payment succeeds.
const AMOUNTS: [&str; 8] = ["12.50", "0.10", "88", "199.99", "7.25", "1.00", "45.60", "3.30"];
const BUYER_TYPES: [&str; 3] = ["ios", "android", "others"];
const LANGS: [&str; 3] = ["en", "cn", "hk"];

/// The services whose sales are notified (the catalogue's `Notify`:
/// Octopus and JETCO never are), for orders that carry a `notify_url`.
static NOTIFIED: LazyLock<Vec<Service>> =
    LazyLock::new(|| SERVICES.iter().copied().filter(|s| s.spec().notify != Notify::Never).collect());

/// Who places the orders and how they are numbered.
#[derive(Clone)]
pub struct OrderPlan {
    /// The merchant's `user_confirm_key`.
    pub key: String,
    /// The merchant's secret.
    pub secret: Arc<str>,
    /// `out_trade_no` of order `i` is `{prefix}{i}`.
    pub prefix: String,
    /// `notify_url` to put in every order, if any.
    pub notify_url: Option<String>,
    /// `time` to sign with (yyyyMMddHHmmss, UTC+8).
    pub time: String,
}

impl OrderPlan {
    /// `out_trade_no` of order `i`.
    pub fn out_trade_no(&self, i: usize) -> String {
        format!("{}{i}", self.prefix)
    }

    /// The signed body of order `i`: the services in turn (with a
    /// `notify_url`, those that notify), then wallet, pay_scene, lang,
    /// buyerType and amount varying with `i`.
    pub fn order_body(&self, i: usize) -> String {
        let services = if self.notify_url.is_some() { &NOTIFIED[..] } else { &SERVICES[..] };
        let spec = services[i % services.len()].spec();
        let round = i / services.len();
        let mut p = Params::new()
            .with("service", spec.label())
            .with("user_confirm_key", self.key.as_str())
            .with("transaction_amount", AMOUNTS[i % AMOUNTS.len()])
            .with("out_trade_no", self.out_trade_no(i))
            .with("payType", spec.pay_type().map_or("", |p| p.as_str()))
            .with("buyerType", BUYER_TYPES[i % BUYER_TYPES.len()])
            .with("wallet", spec.wallets[round % spec.wallets.len()].as_str())
            .with("subject", "OpenVMP bench order")
            .with("body", "vmp bench")
            .with("pay_scene", spec.pay_scenes[round % spec.pay_scenes.len()].as_str())
            .with("time", self.time.as_str());
        if spec.lang {
            p.set("lang", LANGS[round % LANGS.len()]);
        }
        if let Some(url) = &self.notify_url {
            p.set("notify_url", url.as_str());
        }
        sign::sign_in_place(&self.secret, &mut p);
        p.to_json()
    }

    /// The signed query of the order numbered `out_trade_no`.
    pub fn query_body(&self, out_trade_no: &str) -> String {
        let mut p = Params::new()
            .with("user_confirm_key", self.key.as_str())
            .with("querytype", QUERY_TYPE_OUT_TRADE)
            .with("out_trade_no", out_trade_no)
            .with("time", self.time.as_str());
        sign::sign_in_place(&self.secret, &mut p);
        p.to_json()
    }
}

/// Signs orders `0..n` on every core (before any clock starts).
pub fn presign(plan: &OrderPlan, uri: &Uri, n: usize) -> Vec<Req> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(n.max(1));
    let chunk = n.div_ceil(threads).max(1);
    let mut parts: Vec<Vec<Req>> = Vec::with_capacity(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (from, to) = ((t * chunk).min(n), ((t + 1) * chunk).min(n));
                s.spawn(move || {
                    (from..to)
                        .map(|i| Req { method: Method::POST, uri: uri.clone(), body: Bytes::from(plan.order_body(i)) })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panic while signing is a bug; surface it as one.
            parts.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
    });
    parts.into_iter().flatten().collect()
}

#[derive(Deserialize)]
struct VmpAnswer<'a> {
    #[serde(borrow)]
    return_status: Cow<'a, str>,
    #[serde(default, borrow)]
    out_trade_no: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    eft_trade_no: Option<Cow<'a, str>>,
}

/// Judges Place an Order answers: counted by `return_status`; a `00`
/// answer's `eft_trade_no` is collected, and an answer whose
/// `out_trade_no` is not the request's is counted as `00 (wrong order)`.
pub fn inspect_orders(plan: &OrderPlan) -> Inspect {
    let prefix = plan.prefix.clone();
    Arc::new(move |i, _sent, status, body| {
        if status != 200 {
            return Answer { label: format!("HTTP {status}"), id: None };
        }
        let Ok(a) = serde_json::from_slice::<VmpAnswer<'_>>(body) else {
            return Answer { label: "unreadable answer".to_owned(), id: None };
        };
        if a.return_status != "00" {
            return Answer { label: a.return_status.into_owned(), id: None };
        }
        let ours = a
            .out_trade_no
            .as_deref()
            .and_then(|o| o.strip_prefix(prefix.as_str()))
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n == i);
        match (ours, a.eft_trade_no) {
            (true, Some(eft)) if !eft.is_empty() => Answer { label: "00".to_owned(), id: Some(eft.into_owned()) },
            _ => Answer { label: "00 (wrong order)".to_owned(), id: None },
        }
    })
}

/// Judges query answers: `found` when the answer is `00` with the expected
/// `eft_trade_no` (given per request index).
pub fn inspect_queries(expected: Arc<Vec<String>>) -> Inspect {
    Arc::new(move |i, _sent, status, body| {
        let label = match serde_json::from_slice::<VmpAnswer<'_>>(body) {
            Ok(a) if status == 200 && a.return_status == "00" => {
                if a.eft_trade_no.as_deref() == expected.get(i).map(String::as_str) {
                    "found".to_owned()
                } else {
                    "wrong eft_trade_no".to_owned()
                }
            }
            Ok(a) => format!("return_status {}", a.return_status),
            Err(_) => format!("HTTP {status}, unreadable answer"),
        };
        Answer { label, id: None }
    })
}
