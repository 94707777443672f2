//! `return_status` codes (protocol reference §5.1, eftPay's "Appendix 3").
//!
//! Codes are strings on the wire and may be negative. By eftPay's rule,
//! answers carry `time` and `sign` only when the code is `>= 00`.

/// A `return_status` value the gateway emits or a client may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReturnStatus {
    /// `00` — request accepted (never means "paid").
    Accepted,
    /// `02` — `pay_scene` not valid for this service.
    PaySceneNotSupported,
    /// `03` — `out_trade_no` already used by a different order.
    DuplicateOrder,
    /// `05` — the order (or refund) does not exist.
    TradeNotExist,
    /// `06` — parameter error.
    ParameterError,
    /// `09` — amount outside the accepted range.
    AmountOutOfRange,
    /// `10` — signature error, access refused.
    SignatureError,
    /// `12` — `time` more than 30 minutes from the gateway clock.
    TimeMismatch,
    /// `14` — duplicate refund.
    DuplicateRefund,
    /// `15` — order already paid, or closed.
    AlreadyPaidOrClosed,
    /// `16` — order not paid (cannot refund).
    NotPaid,
    /// `18` — cumulative refunds would exceed the order amount.
    RefundExceedsAmount,
    /// `20` — `payType` not valid.
    InvalidPayType,
    /// `22` — the merchant is not in a usable state.
    MerchantUnusable,
    /// `24` — upstream (wallet channel) failure.
    UpstreamError,
    /// `31` — refund failed: the order does not exist.
    RefundOrderNotExist,
    /// `54` — close failed, order already paid.
    CloseFailedPaid,
    /// `-1` — system exception.
    SystemError,
    /// `-11` — the merchant has no secret configured.
    NoSecret,
    /// `-13` — parameter error: a named parameter is missing or malformed.
    InvalidParameter,
    /// `-16` — `wallet` not valid for this service.
    WalletRestricted,
    /// `-17` — wallet type not supported.
    WalletNotSupported,
    /// `-23` — over the single-transaction amount limit.
    OverTransactionLimit,
    /// `-24` — currency not supported.
    CurrencyNotSupported,
    /// `-99` — invalid parameters / operation not supported.
    NotSupported,
}

impl ReturnStatus {
    /// Every variant, for tables and tests.
    pub const ALL: [ReturnStatus; 25] = [
        Self::Accepted,
        Self::PaySceneNotSupported,
        Self::DuplicateOrder,
        Self::TradeNotExist,
        Self::ParameterError,
        Self::AmountOutOfRange,
        Self::SignatureError,
        Self::TimeMismatch,
        Self::DuplicateRefund,
        Self::AlreadyPaidOrClosed,
        Self::NotPaid,
        Self::RefundExceedsAmount,
        Self::InvalidPayType,
        Self::MerchantUnusable,
        Self::UpstreamError,
        Self::RefundOrderNotExist,
        Self::CloseFailedPaid,
        Self::SystemError,
        Self::NoSecret,
        Self::InvalidParameter,
        Self::WalletRestricted,
        Self::WalletNotSupported,
        Self::OverTransactionLimit,
        Self::CurrencyNotSupported,
        Self::NotSupported,
    ];

    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Accepted => "00",
            Self::PaySceneNotSupported => "02",
            Self::DuplicateOrder => "03",
            Self::TradeNotExist => "05",
            Self::ParameterError => "06",
            Self::AmountOutOfRange => "09",
            Self::SignatureError => "10",
            Self::TimeMismatch => "12",
            Self::DuplicateRefund => "14",
            Self::AlreadyPaidOrClosed => "15",
            Self::NotPaid => "16",
            Self::RefundExceedsAmount => "18",
            Self::InvalidPayType => "20",
            Self::MerchantUnusable => "22",
            Self::UpstreamError => "24",
            Self::RefundOrderNotExist => "31",
            Self::CloseFailedPaid => "54",
            Self::SystemError => "-1",
            Self::NoSecret => "-11",
            Self::InvalidParameter => "-13",
            Self::WalletRestricted => "-16",
            Self::WalletNotSupported => "-17",
            Self::OverTransactionLimit => "-23",
            Self::CurrencyNotSupported => "-24",
            Self::NotSupported => "-99",
        }
    }

    /// Parses a wire code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether answers with this code carry `time` and `sign` (code `>= 00`).
    pub fn is_signed(self) -> bool {
        !self.code().starts_with('-')
    }
}

impl std::fmt::Display for ReturnStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for s in ReturnStatus::ALL {
            assert_eq!(ReturnStatus::from_code(s.code()), Some(s));
        }
        let mut codes: Vec<_> = ReturnStatus::ALL.iter().map(|s| s.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ReturnStatus::ALL.len());
    }

    #[test]
    fn only_non_negative_codes_are_signed() {
        assert!(ReturnStatus::Accepted.is_signed());
        assert!(ReturnStatus::SignatureError.is_signed());
        assert!(!ReturnStatus::InvalidParameter.is_signed());
        assert!(!ReturnStatus::SystemError.is_signed());
    }
}
