//! `return_status` codes (eftPay's "Appendix 3") and the `return_char`
//! text eftPay sends with each (docs/protocol.md "Return codes").
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
    /// `46` — refund refused by the wallet's frequency limit.
    RefundRateLimited,
    /// `51` — refund failed upstream (`ILLEGAL_ARGUMENT`).
    RefundFailedUpstream,
    /// `54` — close failed, order already paid.
    CloseFailedPaid,
    /// `60` — WeChat Pay's own error, passed through.
    WechatError,
    /// `61` — WeChat Pay's own error, passed through (another channel).
    WechatRefused,
    /// `-1` — system exception.
    SystemError,
    /// `-05` — the interface is not provisioned for this merchant.
    InterfaceUnavailable,
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
    /// `-53` — refund failed: the merchant account's balance is too low.
    InsufficientBalance,
    /// `-99` — invalid parameters / operation not supported.
    NotSupported,
}

impl ReturnStatus {
    /// Every variant, for tables and tests.
    pub const ALL: [ReturnStatus; 31] = [
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
        Self::RefundRateLimited,
        Self::RefundFailedUpstream,
        Self::CloseFailedPaid,
        Self::WechatError,
        Self::WechatRefused,
        Self::SystemError,
        Self::InterfaceUnavailable,
        Self::NoSecret,
        Self::InvalidParameter,
        Self::WalletRestricted,
        Self::WalletNotSupported,
        Self::OverTransactionLimit,
        Self::CurrencyNotSupported,
        Self::InsufficientBalance,
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
            Self::RefundRateLimited => "46",
            Self::RefundFailedUpstream => "51",
            Self::CloseFailedPaid => "54",
            Self::WechatError => "60",
            Self::WechatRefused => "61",
            Self::SystemError => "-1",
            Self::InterfaceUnavailable => "-05",
            Self::NoSecret => "-11",
            Self::InvalidParameter => "-13",
            Self::WalletRestricted => "-16",
            Self::WalletNotSupported => "-17",
            Self::OverTransactionLimit => "-23",
            Self::CurrencyNotSupported => "-24",
            Self::InsufficientBalance => "-53",
            Self::NotSupported => "-99",
        }
    }

    /// eftPay's own `return_char` for this code, as its live answers show
    /// it; `{}` marks the part that names something (a field, a wallet list,
    /// a merchant key). Texts eftPay was never seen sending are OpenVMP's
    /// choice, in the same style (docs/protocol.md "Return codes").
    ///
    /// ```
    /// use vmp_protocol::ReturnStatus;
    /// assert_eq!(ReturnStatus::SignatureError.template(), "签名异常，不予继续访问");
    /// assert_eq!(ReturnStatus::InvalidParameter.text("out_trade_no"), "参数错误:请检查请求接口参数: out_trade_no");
    /// ```
    pub fn template(self) -> &'static str {
        match self {
            Self::Accepted => "",
            Self::PaySceneNotSupported => "固定场景{}",
            Self::DuplicateOrder => "已存在交易,out_trade_no必须唯一",
            Self::TradeNotExist => "TRADE_NOT_EXIST",
            Self::ParameterError => "参数错误",
            Self::AmountOutOfRange => "Amount outside range",
            Self::SignatureError => "签名异常，不予继续访问",
            Self::TimeMismatch => {
                "时间匹对异常，客户端时间与服务器时间相差不能超过三十分钟；请检查客户端时间，检查请求参数time，或通知运营"
            }
            Self::DuplicateRefund => "重复退款",
            Self::AlreadyPaidOrClosed => "退款请求失败，订单已关闭",
            Self::NotPaid => "退款请求失败，付款完成订单才能退款",
            Self::RefundExceedsAmount => "退款请求失败，退款金额有误，累积退款金额不能大于订单金额",
            Self::InvalidPayType => "必须传入有效的paytype：{}",
            Self::MerchantUnusable => "User_Confirm_Key[{}]对应用户状态不可用",
            Self::UpstreamError => "二维码获取通信异常",
            Self::RefundOrderNotExist => "退款请求失败，订单不存在",
            Self::RefundRateLimited => "退款失败：频率限制，1个月之前的订单申请退款请降低频率再重试。",
            Self::RefundFailedUpstream => "退款失败：ILLEGAL_ARGUMENT",
            Self::CloseFailedPaid => "关闭失败，交易已付款",
            Self::WechatError => "微信服务器返回错误描述：{}",
            Self::WechatRefused => "微信返回错误：{}",
            Self::SystemError => "系统异常",
            Self::InterfaceUnavailable => "接口[{}]创建失败",
            Self::NoSecret => "private_key为空",
            Self::InvalidParameter => "参数错误:请检查请求接口参数: {}",
            Self::WalletRestricted => "钱包类型限制，支持钱包类型为：{}",
            Self::WalletNotSupported => "暂不支持该钱包类型，payment_type[{}]",
            Self::OverTransactionLimit => "已超出金额限制，单笔金额限制为：{}",
            Self::CurrencyNotSupported => "不支持该币种：{}",
            Self::InsufficientBalance => "退款失败：账户余额不足",
            Self::NotSupported => "参数无效",
        }
    }

    /// [`ReturnStatus::template`] with its `{}` filled with `detail`,
    /// clipped to the 100 characters of `return_char`.
    pub fn text(self, detail: &str) -> String {
        crate::answer::clip_return_char(&self.template().replacen("{}", detail, 1))
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
    fn every_text_fits_return_char() {
        for s in ReturnStatus::ALL {
            assert!(s.template().chars().count() <= 100, "{s}");
            assert!(s.template().matches("{}").count() <= 1, "{s}");
        }
        assert_eq!(ReturnStatus::Accepted.text("x"), "");
        assert_eq!(ReturnStatus::WalletRestricted.text("ALIPAYHK"), "钱包类型限制，支持钱包类型为：ALIPAYHK");
        assert_eq!(ReturnStatus::InvalidParameter.text(&"f".repeat(200)).chars().count(), 100);
    }

    #[test]
    fn only_non_negative_codes_are_signed() {
        assert!(ReturnStatus::Accepted.is_signed());
        assert!(ReturnStatus::SignatureError.is_signed());
        assert!(!ReturnStatus::InvalidParameter.is_signed());
        assert!(!ReturnStatus::SystemError.is_signed());
    }
}
