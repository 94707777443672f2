//! Row → record mapping shared by both backends.

use secrecy::SecretString;

use super::{AttemptRow, NotificationRow, OrderRecord, RefundRecord, StoreError};
use crate::merchant::{Merchant, MerchantStatus};

/// Typed column access, implemented for each backend's row type (sqlx's
/// rows for reads, rusqlite's for the SQLite writer thread).
pub(crate) trait StoreRow {
    /// The driver's error.
    type Error;
    fn text(&self, col: &str) -> Result<String, Self::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, Self::Error>;
    fn int(&self, col: &str) -> Result<i64, Self::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, Self::Error>;
}

impl StoreRow for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, col: &str) -> Result<String, rusqlite::Error> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, rusqlite::Error> {
        self.get(col)
    }
    fn int(&self, col: &str) -> Result<i64, rusqlite::Error> {
        self.get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, rusqlite::Error> {
        self.get(col)
    }
}

macro_rules! store_row {
    ($row:ty) => {
        impl crate::store::rows::StoreRow for $row {
            type Error = sqlx::Error;
            fn text(&self, col: &str) -> Result<String, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
            fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
                sqlx::Row::try_get(self, col)
            }
        }
    };
}
pub(crate) use store_row;

/// Columns of an order, in `SELECT` order.
pub(crate) const ORDER_COLUMNS: &str = "eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, \
     pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, \
     package_name, app_link, active_time, request_time, created_at, expires_at, state, final_at, transaction_id, card_scheme, \
     refunded_minor";

/// Columns of a refund.
pub(crate) const REFUND_COLUMNS: &str = "id, eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, \
     amount_text, reason, status, trade_status, notify_url, created_at, complete_after, completed_at";

/// Columns of a notification.
pub(crate) const NOTIFICATION_COLUMNS: &str =
    "id, eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, next_attempt_at, delivered_at";

pub(crate) fn order<R: StoreRow + ?Sized>(r: &R) -> Result<OrderRecord, R::Error> {
    Ok(OrderRecord {
        eft_trade_no: r.text("eft_trade_no")?,
        user_confirm_key: r.text("user_confirm_key")?,
        out_trade_no: r.text("out_trade_no")?,
        fingerprint: r.text("fingerprint")?,
        service: r.text("service")?,
        pay_type: r.text("pay_type")?,
        wallet: r.text("wallet")?,
        pay_scene: r.text("pay_scene")?,
        buyer_type: r.text("buyer_type")?,
        amount_minor: r.int("amount_minor")?,
        amount_text: r.text("amount_text")?,
        currency: r.text("currency")?,
        subject: r.text("subject")?,
        body: r.opt_text("body")?,
        tid: r.opt_text("tid")?,
        notify_url: r.opt_text("notify_url")?,
        return_url: r.opt_text("return_url")?,
        lang: r.opt_text("lang")?,
        scheme: r.opt_text("scheme")?,
        package_name: r.opt_text("package_name")?,
        app_link: r.opt_text("app_link")?,
        active_time: r.int("active_time")?,
        request_time: r.text("request_time")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        state: r.text("state")?,
        final_at: r.opt_int("final_at")?,
        transaction_id: r.opt_text("transaction_id")?,
        card_scheme: r.opt_text("card_scheme")?,
        refunded_minor: r.int("refunded_minor")?,
    })
}

pub(crate) fn refund<R: StoreRow + ?Sized>(r: &R) -> Result<RefundRecord, R::Error> {
    Ok(RefundRecord {
        id: r.int("id")?,
        eft_trade_no: r.text("eft_trade_no")?,
        user_confirm_key: r.text("user_confirm_key")?,
        out_refund_no: r.text("out_refund_no")?,
        fingerprint: r.text("fingerprint")?,
        service: r.text("service")?,
        amount_minor: r.int("amount_minor")?,
        amount_text: r.text("amount_text")?,
        reason: r.opt_text("reason")?,
        status: r.text("status")?,
        trade_status: r.text("trade_status")?,
        notify_url: r.opt_text("notify_url")?,
        created_at: r.int("created_at")?,
        complete_after: r.opt_int("complete_after")?,
        completed_at: r.opt_int("completed_at")?,
    })
}

pub(crate) fn notification<R: StoreRow + ?Sized>(r: &R) -> Result<NotificationRow, R::Error> {
    Ok(NotificationRow {
        id: r.int("id")?,
        eft_trade_no: r.text("eft_trade_no")?,
        user_confirm_key: r.text("user_confirm_key")?,
        url: r.text("url")?,
        trade_status: r.text("trade_status")?,
        payload: r.text("payload")?,
        status: r.text("status")?,
        attempts: r.int("attempts")?,
        next_attempt_at: r.int("next_attempt_at")?,
        delivered_at: r.opt_int("delivered_at")?,
    })
}

pub(crate) fn merchant<R: StoreRow + ?Sized>(r: &R) -> Result<Merchant, StoreError>
where
    StoreError: From<R::Error>,
{
    let status = r.text("status")?;
    Ok(Merchant {
        key: r.text("user_confirm_key")?,
        name: r.text("name")?,
        secret: SecretString::from(r.text("secret")?),
        status: MerchantStatus::parse(&status).ok_or(StoreError::Corrupt("merchants.status"))?,
        allowed_ports: crate::merchant::parse_ports(&r.text("allowed_ports")?),
    })
}

pub(crate) fn attempt<R: StoreRow + ?Sized>(r: &R) -> Result<AttemptRow, R::Error> {
    Ok(AttemptRow {
        attempt: r.int("attempt")?,
        attempted_at: r.int("attempted_at")?,
        http_status: r.opt_int("http_status")?,
        latency_ms: r.int("latency_ms")?,
        outcome: r.text("outcome")?,
        excerpt: r.text("excerpt")?,
    })
}
