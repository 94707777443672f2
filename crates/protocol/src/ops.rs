//! Query, Refund, Refund-status query and Close: the requests a merchant
//! sends about an existing order (protocol reference §3.5–§3.7).
//!
//! Every request names its order by `eft_trade_no` or `out_trade_no`; when
//! both are sent, `eft_trade_no` wins (as eftPay's docs say).

use crate::amount::{Amount, AmountError};
use crate::codes::ReturnStatus;
use crate::fields::{BuyerType, FieldProblem, HttpUrl, OutTradeNo};
use crate::params::{Params, ValueKind};

/// The `querytype` every query carries.
pub const QUERY_TYPE_OUT_TRADE: &str = "OUT_TRADE";

/// Generic query service on `JSAPIService.do` ("new interface").
pub const SERVICE_COMMON_QUERY: &str = "service.common.Query";
/// Refund-to-account status query.
pub const SERVICE_REFUND_STATUS_QUERY: &str = "service.unified.RefundStatusQuery";
/// Generic refund for any wallet.
pub const SERVICE_COMMON_REFUND: &str = "service.common.Refund";
/// Generic close for any wallet.
pub const SERVICE_COMMON_CLOSE: &str = "service.common.Close";

/// One refund service: which wallets it may refund and whether it is an
/// "apply" refund (answered `APPLY_SUCCESS`, completed asynchronously).
#[derive(Debug, PartialEq, Eq)]
pub struct RefundService {
    /// `service` name.
    pub name: &'static str,
    /// Wallets whose orders it refunds; empty means any.
    pub wallets: &'static [&'static str],
    /// Apply-refund: answered `APPLY_SUCCESS`, completed later with a notification.
    pub apply: bool,
    /// Whether the name is evidenced in eftPay material (otherwise chosen by
    /// analogy with the PreOrder name, see README).
    pub evidenced: bool,
}

/// Refund services, one or more per wallet family of the ten PreOrder services.
pub static REFUND_SERVICES: [RefundService; 12] = [
    RefundService {
        name: "service.alipay.wap.Refund",
        wallets: &["ALIPAYCN", "ALIPAYHK"],
        apply: false,
        evidenced: true,
    },
    RefundService {
        name: "service.alipay.web.Refund",
        wallets: &["ALIPAYCN", "ALIPAYHK"],
        apply: false,
        evidenced: true,
    },
    RefundService {
        name: "service.wechat.web.Refund",
        wallets: &["WECHATCN", "WECHATHK"],
        apply: false,
        evidenced: true,
    },
    RefundService {
        name: "service.wechat.web.ApplyRefund",
        wallets: &["WECHATCN", "WECHATHK"],
        apply: true,
        evidenced: true,
    },
    RefundService { name: "service.icbc.wap.Refund", wallets: &["ICBCWAP"], apply: false, evidenced: true },
    RefundService { name: "service.unionpay.online.web.Refund", wallets: &["UNIONPAY"], apply: false, evidenced: true },
    RefundService { name: "service.oct.online.Refund", wallets: &["OCT"], apply: false, evidenced: true },
    RefundService { name: "service.mpgs.web.Refund", wallets: &["MPGS"], apply: false, evidenced: true },
    RefundService { name: "service.ae.web.Refund", wallets: &["AE"], apply: false, evidenced: false },
    RefundService { name: "service.payme.web.Refund", wallets: &["PAYME"], apply: false, evidenced: false },
    RefundService { name: "service.bocvmp.upi.wap.Refund", wallets: &["BOCVMPUPI"], apply: false, evidenced: false },
    RefundService { name: SERVICE_COMMON_REFUND, wallets: &[], apply: false, evidenced: true },
];

/// Close services (chosen by analogy: eftPay documents Close only for QR
/// codes). One per wallet family, plus `service.common.Close`.
pub static CLOSE_SERVICES: [(&str, &[&str]); 10] = [
    ("service.alipay.wap.Close", &["ALIPAYCN", "ALIPAYHK"]),
    ("service.wechat.web.Close", &["WECHATCN", "WECHATHK"]),
    ("service.icbc.wap.Close", &["ICBCWAP"]),
    ("service.unionpay.online.web.Close", &["UNIONPAY"]),
    ("service.oct.online.Close", &["OCT"]),
    ("service.mpgs.web.Close", &["MPGS"]),
    ("service.ae.web.Close", &["AE"]),
    ("service.payme.web.Close", &["PAYME"]),
    ("service.bocvmp.upi.wap.Close", &["BOCVMPUPI"]),
    (SERVICE_COMMON_CLOSE, &[]),
];

/// Looks up a refund service.
pub fn refund_service(name: &str) -> Option<&'static RefundService> {
    REFUND_SERVICES.iter().find(|s| s.name == name)
}

/// Looks up a close service: its wallets (empty = any).
pub fn close_service(name: &str) -> Option<&'static [&'static str]> {
    CLOSE_SERVICES.iter().find(|(n, _)| *n == name).map(|(_, w)| *w)
}

/// Which order a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeRef {
    /// By the gateway's number (wins when both are sent).
    Eft(String),
    /// By the merchant's number.
    Out(OutTradeNo),
}

/// Why a query, refund or close request was refused before touching any order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpsError {
    /// A required parameter is missing or empty.
    #[error("parameter error: {0} is required")]
    Missing(&'static str),
    /// Neither `eft_trade_no` nor `out_trade_no`.
    #[error("parameter error: eft_trade_no or out_trade_no is required")]
    MissingTradeRef,
    /// A documented parameter was not a JSON string.
    #[error("parameter error: {0} must be a JSON string")]
    NotAString(&'static str),
    /// A parameter breaks its rule.
    #[error("parameter error: check {field} ({problem})")]
    Field {
        /// Wire name.
        field: &'static str,
        /// What is wrong.
        problem: FieldProblem,
    },
    /// `querytype` is not `OUT_TRADE`.
    #[error("parameter error: check querytype (OUT_TRADE)")]
    QueryType,
    /// `return_amount` is not a valid amount.
    #[error("parameter error: check return_amount ({0})")]
    Amount(AmountError),
}

impl OpsError {
    /// The `return_status` for this refusal.
    pub fn return_status(&self) -> ReturnStatus {
        match self {
            Self::Amount(AmountError::Zero) => ReturnStatus::AmountOutOfRange,
            _ => ReturnStatus::InvalidParameter,
        }
    }
}

fn strings_only(p: &Params, names: &[&'static str]) -> Result<(), OpsError> {
    for &name in names {
        if p.get_raw(name).is_some_and(|v| v.kind() == ValueKind::Other) {
            return Err(OpsError::NotAString(name));
        }
    }
    Ok(())
}

fn bounded(p: &Params, name: &'static str, max: usize) -> Result<Option<String>, OpsError> {
    match p.get(name) {
        None => Ok(None),
        Some(v) if v.chars().count() > max => Err(OpsError::Field { field: name, problem: FieldProblem::TooLong(max) }),
        Some(v) if v.chars().any(char::is_control) => {
            Err(OpsError::Field { field: name, problem: FieldProblem::Invalid("must not contain control characters") })
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// Reads `eft_trade_no` / `out_trade_no` (the former wins).
///
/// # Errors
/// [`OpsError`] when neither is sent or one is malformed.
pub fn trade_ref(p: &Params) -> Result<TradeRef, OpsError> {
    if let Some(eft) = bounded(p, "eft_trade_no", 28)? {
        if !eft.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(OpsError::Field {
                field: "eft_trade_no",
                problem: FieldProblem::Invalid("printable ASCII only"),
            });
        }
        return Ok(TradeRef::Eft(eft));
    }
    match p.get("out_trade_no") {
        Some(o) => OutTradeNo::parse(o)
            .map(TradeRef::Out)
            .map_err(|problem| OpsError::Field { field: "out_trade_no", problem }),
        None => Err(OpsError::MissingTradeRef),
    }
}

fn refund_no(p: &Params, name: &'static str) -> Result<Option<String>, OpsError> {
    let v = bounded(p, name, 28)?;
    if let Some(v) = &v
        && !v.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(OpsError::Field {
            field: name,
            problem: FieldProblem::Invalid("printable ASCII without spaces only"),
        });
    }
    Ok(v)
}

fn query_type(p: &Params) -> Result<(), OpsError> {
    match p.get("querytype") {
        None => Err(OpsError::Missing("querytype")),
        Some(QUERY_TYPE_OUT_TRADE) => Ok(()),
        Some(_) => Err(OpsError::QueryType),
    }
}

/// A trade query (`QRcodeTradeQuery.do` or `service.common.Query`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    /// The order.
    pub trade: TradeRef,
    /// When set, the answer describes this refund (`out_refund_no`) instead of the sale.
    pub refund_no: Option<String>,
}

impl TryFrom<&Params> for QueryRequest {
    type Error = OpsError;
    fn try_from(p: &Params) -> Result<Self, OpsError> {
        strings_only(p, &["querytype", "eft_trade_no", "out_trade_no", "refund_no"])?;
        query_type(p)?;
        Ok(Self { trade: trade_ref(p)?, refund_no: refund_no(p, "refund_no")? })
    }
}

/// `service.unified.RefundStatusQuery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundStatusRequest {
    /// The order.
    pub trade: TradeRef,
    /// The refund (`out_refund_no` given at refund time).
    pub refund_no: String,
}

impl TryFrom<&Params> for RefundStatusRequest {
    type Error = OpsError;
    fn try_from(p: &Params) -> Result<Self, OpsError> {
        strings_only(p, &["querytype", "eft_trade_no", "out_trade_no", "refund_no"])?;
        query_type(p)?;
        let trade = trade_ref(p)?;
        let refund_no = refund_no(p, "refund_no")?.ok_or(OpsError::Missing("refund_no"))?;
        Ok(Self { trade, refund_no })
    }
}

/// A refund request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// The service.
    pub service: &'static RefundService,
    /// The order.
    pub trade: TradeRef,
    /// The merchant's refund number, unique per merchant.
    pub out_refund_no: String,
    /// `return_amount` as sent.
    pub amount_text: String,
    /// The refund amount.
    pub amount: Amount,
    /// `total_fee` (the order amount) as sent, if sent.
    pub total_fee: Option<Amount>,
    /// `wallet`, if sent (must match the order).
    pub wallet: Option<String>,
    /// `payType`, if sent (must match the order).
    pub pay_type: Option<String>,
    /// `buyerType`, if sent (echoed).
    pub buyer_type: Option<BuyerType>,
    /// `reason`, if sent.
    pub reason: Option<String>,
    /// `notify_url` (apply-refunds only), if sent.
    pub notify_url: Option<HttpUrl>,
}

impl RefundRequest {
    /// Parses a refund request for `service`.
    ///
    /// # Errors
    /// [`OpsError`] naming the parameter.
    pub fn parse(service: &'static RefundService, p: &Params) -> Result<Self, OpsError> {
        strings_only(
            p,
            &[
                "return_amount",
                "total_fee",
                "out_trade_no",
                "eft_trade_no",
                "payType",
                "buyerType",
                "reason",
                "wallet",
                "out_refund_no",
                "pay_scene",
                "notify_url",
            ],
        )?;
        let trade = trade_ref(p)?;
        let out_refund_no = refund_no(p, "out_refund_no")?.ok_or(OpsError::Missing("out_refund_no"))?;
        let amount_text = p.get("return_amount").ok_or(OpsError::Missing("return_amount"))?;
        let amount = Amount::parse(amount_text).map_err(OpsError::Amount)?;
        let total_fee = match p.get("total_fee") {
            None => None,
            Some(t) => Some(Amount::parse(t).map_err(|e| OpsError::Field {
                field: "total_fee",
                problem: FieldProblem::Invalid(match e {
                    AmountError::Zero => "must be greater than 0",
                    _ => "digits with at most 2 decimals",
                }),
            })?),
        };
        if !service.wallets.is_empty() && p.get("wallet").is_none() {
            return Err(OpsError::Missing("wallet"));
        }
        let wallet = bounded(p, "wallet", 20)?;
        let pay_type = bounded(p, "payType", 20)?;
        let buyer_type = match p.get("buyerType") {
            None => None,
            Some(b) => Some(BuyerType::parse(b).map_err(|problem| OpsError::Field { field: "buyerType", problem })?),
        };
        let reason = bounded(p, "reason", 256)?;
        let notify_url = match p.get("notify_url") {
            None => None,
            Some(u) => Some(HttpUrl::parse(u).map_err(|problem| OpsError::Field { field: "notify_url", problem })?),
        };
        Ok(Self {
            service,
            trade,
            out_refund_no,
            amount_text: amount_text.to_owned(),
            amount,
            total_fee,
            wallet,
            pay_type,
            buyer_type,
            reason,
            notify_url,
        })
    }
}

/// A close request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    /// The service's wallets (empty = any).
    pub wallets: &'static [&'static str],
    /// The order.
    pub trade: TradeRef,
    /// `wallet`, if sent (must match the order).
    pub wallet: Option<String>,
}

impl CloseRequest {
    /// Parses a close request for a close service with `wallets`.
    ///
    /// # Errors
    /// [`OpsError`] naming the parameter.
    pub fn parse(wallets: &'static [&'static str], p: &Params) -> Result<Self, OpsError> {
        strings_only(p, &["out_trade_no", "eft_trade_no", "wallet", "payType"])?;
        Ok(Self { wallets, trade: trade_ref(p)?, wallet: bounded(p, "wallet", 20)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Params {
        Params::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn eft_trade_no_wins_over_out_trade_no() {
        let q =
            QueryRequest::try_from(&p(r#"{"querytype":"OUT_TRADE","eft_trade_no":"123","out_trade_no":"A"}"#)).unwrap();
        assert_eq!(q.trade, TradeRef::Eft("123".into()));
        let q =
            QueryRequest::try_from(&p(r#"{"querytype":"OUT_TRADE","eft_trade_no":"","out_trade_no":"A"}"#)).unwrap();
        assert!(matches!(q.trade, TradeRef::Out(_)));
    }

    #[test]
    fn query_rules() {
        for (json, want) in [
            (r#"{"eft_trade_no":"1"}"#, OpsError::Missing("querytype")),
            (r#"{"querytype":"REFUND","eft_trade_no":"1"}"#, OpsError::QueryType),
            (r#"{"querytype":"OUT_TRADE"}"#, OpsError::MissingTradeRef),
            (r#"{"querytype":"OUT_TRADE","eft_trade_no":1}"#, OpsError::NotAString("eft_trade_no")),
        ] {
            assert_eq!(QueryRequest::try_from(&p(json)).unwrap_err(), want, "{json}");
        }
        assert_eq!(
            RefundStatusRequest::try_from(&p(r#"{"querytype":"OUT_TRADE","out_trade_no":"A"}"#)).unwrap_err(),
            OpsError::Missing("refund_no")
        );
    }

    #[test]
    fn refund_rules() {
        let alipay = refund_service("service.alipay.wap.Refund").unwrap();
        let ok = r#"{"out_trade_no":"A","out_refund_no":"R1","return_amount":"0.50","wallet":"ALIPAYHK"}"#;
        let r = RefundRequest::parse(alipay, &p(ok)).unwrap();
        assert_eq!(r.amount.minor(), 50);
        let cases = [
            (r#"{"out_trade_no":"A","return_amount":"1","wallet":"ALIPAYHK"}"#, OpsError::Missing("out_refund_no")),
            (r#"{"out_trade_no":"A","out_refund_no":"R","wallet":"ALIPAYHK"}"#, OpsError::Missing("return_amount")),
            (
                r#"{"out_trade_no":"A","out_refund_no":"R","return_amount":"1.234","wallet":"ALIPAYHK"}"#,
                OpsError::Amount(AmountError::TooManyDecimals),
            ),
            (
                r#"{"out_trade_no":"A","out_refund_no":"R","return_amount":"0","wallet":"ALIPAYHK"}"#,
                OpsError::Amount(AmountError::Zero),
            ),
            (r#"{"out_trade_no":"A","out_refund_no":"R","return_amount":"1"}"#, OpsError::Missing("wallet")),
        ];
        for (json, want) in cases {
            assert_eq!(RefundRequest::parse(alipay, &p(json)).unwrap_err(), want, "{json}");
        }
        let common = refund_service(SERVICE_COMMON_REFUND).unwrap();
        assert!(
            RefundRequest::parse(common, &p(r#"{"eft_trade_no":"1","out_refund_no":"R","return_amount":"1"}"#)).is_ok()
        );
        assert_eq!(OpsError::Amount(AmountError::Zero).return_status(), ReturnStatus::AmountOutOfRange);
    }

    #[test]
    fn every_wallet_of_the_ten_services_has_a_refund_and_a_close_service() {
        for s in &crate::PRE_ORDER_SERVICES {
            for w in s.wallets {
                assert!(REFUND_SERVICES.iter().any(|r| r.wallets.contains(w)), "refund for {w}");
                assert!(CLOSE_SERVICES.iter().any(|(_, ws)| ws.contains(w)), "close for {w}");
            }
        }
    }
}
