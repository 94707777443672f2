//! Trade and refund states as they appear on the wire: `trade_status`
//! (eftPay's "Appendix 2"), `trade_type` ("Appendix 4") and
//! `refund_status`. Unknown values are kept verbatim, never guessed at: a
//! client reading a newer gateway must not fail, and must not take an
//! unknown value for success.

use std::fmt;

/// `trade_status` (eftPay's "Appendix 2"). Only [`TradeStatus::TradeSuccess`]
/// means a sale was paid; unknown values are kept, never guessed at.
///
/// ```
/// use vmp_protocol::status::TradeStatus;
/// assert_eq!(TradeStatus::parse("TRADE_SUCCESS"), TradeStatus::TradeSuccess);
/// assert!(TradeStatus::parse("TRADE_SUCCESS").is_paid());
/// assert_eq!(TradeStatus::parse("NEW_ONE").as_str(), "NEW_ONE");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TradeStatus {
    /// `TRADE_SUCCESS`: paid. The only success value for a sale.
    TradeSuccess,
    /// `TRADE_PROCESSING`: in progress, not final.
    TradeProcessing,
    /// `APPLY_SUCCESS`: a refund application was accepted.
    ApplySuccess,
    /// `TRADE_REFUND`: partially refunded.
    TradeRefund,
    /// `TRADE_CLOSED`: sale closed or expired unpaid; refund fully done.
    TradeClosed,
    /// `TRADE_FAIL`: failed.
    TradeFail,
    /// `WAIT_BUYER_PAY`: created, not paid yet.
    WaitBuyerPay,
    /// Any other value, kept verbatim; treat it as pending.
    Unknown(String),
}

impl TradeStatus {
    /// Reads a wire value (exact, case-sensitive); anything unlisted becomes
    /// [`TradeStatus::Unknown`].
    pub fn parse(s: &str) -> Self {
        match s {
            "TRADE_SUCCESS" => Self::TradeSuccess,
            "TRADE_PROCESSING" => Self::TradeProcessing,
            "APPLY_SUCCESS" => Self::ApplySuccess,
            "TRADE_REFUND" => Self::TradeRefund,
            "TRADE_CLOSED" => Self::TradeClosed,
            "TRADE_FAIL" => Self::TradeFail,
            "WAIT_BUYER_PAY" => Self::WaitBuyerPay,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::TradeSuccess => "TRADE_SUCCESS",
            Self::TradeProcessing => "TRADE_PROCESSING",
            Self::ApplySuccess => "APPLY_SUCCESS",
            Self::TradeRefund => "TRADE_REFUND",
            Self::TradeClosed => "TRADE_CLOSED",
            Self::TradeFail => "TRADE_FAIL",
            Self::WaitBuyerPay => "WAIT_BUYER_PAY",
            Self::Unknown(s) => s,
        }
    }

    /// Whether this status means the sale was paid (`TRADE_SUCCESS` only).
    pub fn is_paid(&self) -> bool {
        *self == Self::TradeSuccess
    }
}

impl fmt::Display for TradeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `trade_type` (eftPay's "Appendix 4").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TradeType {
    /// `SALE`: a payment.
    Sale,
    /// `REFUND`: a refund.
    Refund,
    /// Any other value, kept verbatim.
    Unknown(String),
}

impl TradeType {
    /// Reads a wire value (exact); anything unlisted becomes [`TradeType::Unknown`].
    pub fn parse(s: &str) -> Self {
        match s {
            "SALE" => Self::Sale,
            "REFUND" => Self::Refund,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sale => "SALE",
            Self::Refund => "REFUND",
            Self::Unknown(s) => s,
        }
    }
}

impl fmt::Display for TradeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `refund_status` of a refund-status query.
///
/// ```
/// use vmp_protocol::status::RefundStatus;
/// assert_eq!(RefundStatus::parse("PROCESSING"), RefundStatus::Processing);
/// assert!(RefundStatus::parse("SUCCESS").is_final());
/// assert_eq!(RefundStatus::parse("LATER").as_str(), "LATER");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    /// `SUCCESS`: the money is back with the buyer.
    Success,
    /// `PROCESSING`: not complete yet; ask again later.
    Processing,
    /// `FAIL`: the refund failed.
    Fail,
    /// Any other value, kept verbatim; treat it as not final.
    Unknown(String),
}

impl RefundStatus {
    /// Reads a wire value (exact); anything unlisted becomes [`RefundStatus::Unknown`].
    pub fn parse(s: &str) -> Self {
        match s {
            "SUCCESS" => Self::Success,
            "PROCESSING" => Self::Processing,
            "FAIL" => Self::Fail,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "SUCCESS",
            Self::Processing => "PROCESSING",
            Self::Fail => "FAIL",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the refund will not change any more (`SUCCESS` or `FAIL`).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Success | Self::Fail)
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
