//! [`ApiError`]: every way a VMP request can fail, mapped to the wire once:
//! [`ApiError::return_status`] is the code, [`ApiError::return_char`]
//! eftPay's own text for it (docs/protocol.md "Return codes"), and
//! `Display` the detailed English reason, which goes to the log.

use vmp_protocol::{ParamsError, RequestError, ReturnStatus, SignatureError};

use crate::store::StoreError;

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A refused or failed VMP request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Body over [`BODY_LIMIT`].
    #[error("parameter error: request body exceeds 65536 bytes")]
    BodyTooLarge,
    /// The body could not be read from the connection.
    #[error("parameter error: request body could not be read")]
    BodyRead,
    /// Body not a JSON object of parameters.
    #[error("parameter error: {0}")]
    Params(#[from] ParamsError),
    /// No `user_confirm_key`.
    #[error("parameter error: user_confirm_key is required")]
    MissingKey,
    /// No merchant with this `user_confirm_key`.
    #[error("parameter error: check user_confirm_key (unknown merchant)")]
    UnknownMerchant,
    /// The merchant is disabled.
    #[error("the merchant of user_confirm_key {0} is not in a usable state")]
    MerchantDisabled(String),
    /// The merchant has no secret configured.
    #[error("private_key is empty: no secret configured for this merchant")]
    NoSecret,
    /// `time` absent or not `yyyyMMddHHmmss`.
    #[error("parameter error: check time (yyyyMMddHHmmss, UTC+8)")]
    BadTime,
    /// `time` more than 30 minutes from the gateway clock.
    #[error("time mismatch: time must be within 30 minutes of gateway time (UTC+8)")]
    TimeOutOfWindow,
    /// Signature missing, malformed or wrong.
    #[error("signature error, access refused: {0}")]
    Signature(#[from] SignatureError),
    /// The path names no servlet of the API.
    #[error("invalid endpoint: {0:?} is no servlet of this API")]
    UnknownEndpoint(String),
    /// The request's fields break a rule (or name no ready interface).
    #[error("{0}")]
    Request(#[from] RequestError),
    /// `out_trade_no` already used by a different order.
    #[error("transaction already exists: out_trade_no must be unique")]
    DuplicateOrder,
    /// The order does not exist (for this merchant).
    #[error("TRADE_NOT_EXIST: no such order for this merchant")]
    TradeNotExist,
    /// The refund does not exist.
    #[error("REFUND_TRADE_NOT_EXIST: no such refund for this order")]
    RefundNotExist,
    /// A refund names an order that does not exist.
    #[error("refund failed: the order does not exist")]
    RefundOrderNotExist,
    /// Refund of an order that is not paid.
    #[error("refund failed: only paid orders can be refunded (trade awaiting payment or failed)")]
    NotPaid,
    /// Refund of a closed order.
    #[error("refund failed: the trade is closed")]
    TradeClosed,
    /// Cumulative refunds would exceed the order amount.
    #[error("refund amount wrong: refunds may not exceed the order amount (refundable now: {0})")]
    RefundExceeds(String),
    /// `out_refund_no` already used by a different refund.
    #[error("duplicate refund: out_refund_no already used by a different refund")]
    DuplicateRefund,
    /// `wallet` does not match the order or the service.
    #[error("wallet must match the original order ({0})")]
    WalletMismatch(String),
    /// `payType` does not match the order.
    #[error("payType must match the original order ({0})")]
    PayTypeMismatch(String),
    /// Close of a paid order.
    #[error("close failed: the trade is already paid")]
    CloseFailedPaid,
    /// Cancel (`QRcodeTradeCancel.do`) of an order that was never paid.
    #[error("cancel failed: the trade is awaiting payment (close an unpaid order instead)")]
    CancelNotPaid,
    /// Cancel of a closed order (cancelled already, fully refunded, closed unpaid).
    #[error("cancel failed: the trade is closed")]
    CancelClosed,
    /// A merchant URL breaks the production rules (port, private address).
    #[error("parameter error: check {0} ({1})")]
    UrlRefused(&'static str, crate::netguard::UrlRefusal),
    /// Sandbox magic amount `.44`: the wallet produced no payment QR code.
    #[error("upstream error: server error, no payment QR code (sandbox amount .44)")]
    UpstreamNoQrCode,
    /// Over the per-IP or per-merchant request rate (answered with HTTP 429).
    #[error("too many requests: over {0} requests per second, retry later")]
    RateLimited(u32),
    /// A sandbox fault rule or the `X-VMP-Sandbox-Fault` header chose this
    /// answer (`crate::faults`); nothing was done.
    #[error("injected sandbox fault ({0})")]
    Injected(crate::faults::Injected),
    /// The `X-VMP-Sandbox-Fault` header is malformed.
    #[error("parameter error: header {0}")]
    FaultHeader(vmp_protocol::faults::FaultRuleError),
    /// Storage failed; details are logged, never sent.
    #[error("system exception, please retry")]
    Store(#[from] StoreError),
}

impl ApiError {
    /// The `return_status` for this error.
    pub fn return_status(&self) -> ReturnStatus {
        match self {
            Self::BodyTooLarge | Self::BodyRead | Self::Params(_) | Self::MissingKey | Self::UnknownMerchant => {
                ReturnStatus::InvalidParameter
            }
            Self::BadTime | Self::UnknownEndpoint(_) => ReturnStatus::InvalidParameter,
            Self::MerchantDisabled(_) => ReturnStatus::MerchantUnusable,
            Self::NoSecret => ReturnStatus::NoSecret,
            Self::TimeOutOfWindow => ReturnStatus::TimeMismatch,
            Self::Signature(_) => ReturnStatus::SignatureError,
            Self::Request(e) => e.return_status(),
            Self::DuplicateOrder => ReturnStatus::DuplicateOrder,
            Self::UpstreamNoQrCode => ReturnStatus::UpstreamError,
            Self::UrlRefused(..) => ReturnStatus::InvalidParameter,
            Self::TradeNotExist | Self::RefundNotExist => ReturnStatus::TradeNotExist,
            Self::RefundOrderNotExist => ReturnStatus::RefundOrderNotExist,
            Self::NotPaid | Self::CancelNotPaid => ReturnStatus::NotPaid,
            Self::TradeClosed | Self::CancelClosed => ReturnStatus::AlreadyPaidOrClosed,
            Self::RefundExceeds(_) => ReturnStatus::RefundExceedsAmount,
            Self::DuplicateRefund => ReturnStatus::DuplicateRefund,
            Self::WalletMismatch(_) => ReturnStatus::WalletRestricted,
            Self::PayTypeMismatch(_) => ReturnStatus::InvalidPayType,
            Self::CloseFailedPaid => ReturnStatus::CloseFailedPaid,
            Self::Store(_) | Self::RateLimited(_) => ReturnStatus::SystemError,
            Self::Injected(i) => i.fault.status.unwrap_or(ReturnStatus::SystemError),
            Self::FaultHeader(_) => ReturnStatus::InvalidParameter,
        }
    }

    /// eftPay's `return_char` for this refusal: its text for the code,
    /// naming the field, wallet or merchant where eftPay's does.
    pub fn return_char(&self) -> String {
        let status = self.return_status();
        match self {
            Self::Params(ParamsError::DuplicateKey(key)) => status.text(key),
            Self::BodyTooLarge | Self::BodyRead | Self::Params(_) => status.text("request body"),
            Self::MissingKey | Self::UnknownMerchant => status.text("user_confirm_key"),
            Self::MerchantDisabled(key) => status.text(key),
            Self::BadTime => status.text("time"),
            Self::UnknownEndpoint(name) => {
                format!("参数错误:接口[{}]不存在", name.chars().take(40).collect::<String>())
            }
            Self::Request(e) => e.return_char(),
            Self::RefundNotExist => "REFUND_TRADE_NOT_EXIST".to_owned(),
            Self::WalletMismatch(allowed) | Self::PayTypeMismatch(allowed) => status.text(allowed),
            Self::UrlRefused(field, _) => status.text(field),
            Self::RateLimited(_) => "请求过于频繁，请稍后再试".to_owned(),
            // eftPay's texts for a refused cancel ("refund/revoke failed").
            Self::CancelNotPaid => "退款/撤销失败，交易待付款".to_owned(),
            Self::CancelClosed => "退款/撤销失败，交易已关闭".to_owned(),
            Self::Injected(i) => i.fault.return_char.clone().unwrap_or_else(|| status.text("")),
            Self::FaultHeader(_) => status.text(vmp_protocol::faults::FAULT_HEADER),
            _ => status.text(""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_char_is_eftpays_text_and_the_log_keeps_the_reason() {
        let e = ApiError::Signature(SignatureError::Mismatch);
        assert_eq!(e.return_char(), "签名异常，不予继续访问");
        assert!(e.to_string().contains("does not match"));
        let e = ApiError::Request(RequestError::Missing("out_trade_no"));
        assert_eq!(e.return_char(), "参数错误:请检查请求接口参数: out_trade_no");
        assert_eq!(ApiError::MerchantDisabled("K1".into()).return_char(), "User_Confirm_Key[K1]对应用户状态不可用");
        assert_eq!(ApiError::TradeNotExist.return_char(), "TRADE_NOT_EXIST");
        assert_eq!(ApiError::RefundNotExist.return_char(), "REFUND_TRADE_NOT_EXIST");
        assert_eq!(ApiError::WalletMismatch("ALIPAYHK".into()).return_char(), "钱包类型限制，支持钱包类型为：ALIPAYHK");
        for e in [ApiError::DuplicateOrder, ApiError::NotPaid, ApiError::TradeClosed, ApiError::CloseFailedPaid] {
            assert!(!e.return_char().is_empty() && !e.return_char().is_ascii(), "{e}");
        }
    }
}
