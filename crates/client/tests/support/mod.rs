//! Helpers shared by the SDK's test binaries.

#![allow(dead_code)]

use time::OffsetDateTime;
use vmp_client::{Amount, TradeNotification, TradeStatus, TradeType};
use vmp_protocol::VmpTime;

/// A paid-sale notification of order `ORDER-1` (HKD 10.50), stamped `at`.
pub fn paid_notification(at: OffsetDateTime) -> TradeNotification {
    TradeNotification {
        user_confirm_key: "KEY1".into(),
        trade_no: "T1".into(),
        transaction_id: "T1".into(),
        out_trade_no: "ORDER-1".into(),
        eft_trade_no: "0100000000000001".into(),
        eftpay_trade_no: "0100000000000001".into(),
        total_fee: "10.50".into(),
        amount: Amount::from_minor(1050).unwrap(),
        currency: "HKD".into(),
        trade_status: TradeStatus::TradeSuccess,
        gmt_payment: "2024-01-01 11:59:58".into(),
        wallet: "ALIPAYHK".into(),
        tid: None,
        trade_type: TradeType::Sale,
        card_scheme: None,
        time: VmpTime::from_datetime(at),
    }
}
