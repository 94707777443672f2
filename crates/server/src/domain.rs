//! The gateway's domain: orders, refunds and the notification outbox as
//! typed values, and the rules that move them.
//!
//! Every state is an enum with the spelling the store keeps (the strings
//! of the first schema, so existing data stays valid) and a method giving
//! the wire value it stands for. Ids and money are the protocol's types
//! ([`OutTradeNo`], [`UserConfirmKey`], [`Amount`], [`Currency`]) plus
//! [`EftTradeNo`]; the interface, wallet, payment type and scene are the
//! catalogue's enums.
//!
//! A state change is a method that checks the rule and returns what the
//! change owes: [`Order::settle`] gives a [`Transition`] carrying the new
//! state and the outbox row ([`NewNotification`]) the order's service owes
//! under its [`Notify`] policy; [`Order::plan_refund`] decides a refund;
//! [`Refund::complete`] finishes an apply-refund. The store applies a
//! transition only to a row still in the state it was planned from, in the
//! same transaction as its outbox row; nothing here does I/O.
//!
//! # Layout
//! - [`EftTradeNo`] and the stored enums ([`OrderState`], [`RefundState`],
//!   [`RefundEffect`], [`OutboxStatus`], [`AttemptOutcome`], [`Delivery`]).
//! - [`Order`]: expiry, settlement, close and the refund rule.
//! - [`NewRefund`], [`Refund`]: a refund and its completion.
//! - [`NewNotification`], [`Notification`], [`AttemptRecord`], [`Attempt`]:
//!   the outbox.

use std::fmt;

use time::OffsetDateTime;
use vmp_protocol::Params;
use vmp_protocol::catalogue::{Notify, PayScene, PayType, SceneType, Service, Wallet};
use vmp_protocol::fields::{OutTradeNo, UserConfirmKey};
use vmp_protocol::notify::TradeNotification;
use vmp_protocol::status::{RefundStatus, TradeStatus, TradeType};
use vmp_protocol::vmptime::VmpTime;
use vmp_protocol::{Amount, Currency};

/// A stored value that is none of its type's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {what}")]
pub struct InvalidValue {
    /// What was being read.
    pub what: &'static str,
}

/// `eft_trade_no`: the gateway's order number, digits only, at most 28
/// (the wire's length; the gateway issues 23, see [`crate::ids`]).
///
/// ```
/// use vmp_server::domain::EftTradeNo;
/// assert!(EftTradeNo::parse("01261126142200357000000").is_ok());
/// assert!(EftTradeNo::parse("12a").is_err());
/// assert!(EftTradeNo::parse("").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EftTradeNo(String);

impl EftTradeNo {
    /// Most digits.
    pub const MAX_DIGITS: usize = 28;

    /// Checks and wraps a number.
    ///
    /// # Errors
    /// [`InvalidValue`] unless `s` is 1 to 28 ASCII digits.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        Self::from_string(s.to_owned())
    }

    /// [`EftTradeNo::parse`] without copying the text.
    ///
    /// # Errors
    /// As [`EftTradeNo::parse`].
    pub fn from_string(s: String) -> Result<Self, InvalidValue> {
        if s.is_empty() || s.len() > Self::MAX_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue { what: "eft_trade_no" });
        }
        Ok(Self(s))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits, moved out.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for EftTradeNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EftTradeNo").field(&self.0).finish()
    }
}

impl fmt::Display for EftTradeNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EftTradeNo {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for EftTradeNo {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for EftTradeNo {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

impl PartialEq<&str> for EftTradeNo {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::str::FromStr for EftTradeNo {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

vmp_protocol::wire_enum! {
    /// Where an order is (`orders.state`). Stored as the first schema's
    /// strings: `PENDING`, then the final `trade_status` values.
    pub enum OrderState ("orders.state") {
        /// Placed, not paid, not expired yet (`PENDING`; on the wire `TRADE_PROCESSING`).
        Pending = "PENDING",
        /// Paid (`TRADE_SUCCESS`).
        Paid = "TRADE_SUCCESS",
        /// The payment failed (`TRADE_FAIL`).
        Failed = "TRADE_FAIL",
        /// Closed unpaid (expired, cancelled, closed by the merchant) or
        /// refunded in full (`TRADE_CLOSED`).
        Closed = "TRADE_CLOSED",
        /// Paid and refunded in part (`TRADE_REFUND`).
        PartlyRefunded = "TRADE_REFUND",
    }
}

impl OrderState {
    /// The wire `trade_status`: a pending order is `TRADE_PROCESSING`.
    pub fn trade_status(self) -> TradeStatus {
        match self {
            Self::Pending => TradeStatus::TradeProcessing,
            Self::Paid => TradeStatus::TradeSuccess,
            Self::Failed => TradeStatus::TradeFail,
            Self::Closed => TradeStatus::TradeClosed,
            Self::PartlyRefunded => TradeStatus::TradeRefund,
        }
    }

    /// The wire `trade_status` as static text.
    pub const fn wire_str(self) -> &'static str {
        match self {
            Self::Pending => "TRADE_PROCESSING",
            other => other.as_str(),
        }
    }

    /// Whether the sale's outcome is decided (anything but pending).
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }
}

vmp_protocol::wire_enum! {
    /// Where a refund is (`refunds.status`).
    pub enum RefundState ("refunds.status") {
        /// An apply-refund not completed yet.
        Processing = "PROCESSING",
        /// The money is back with the buyer.
        Success = "SUCCESS",
        /// The refund failed.
        Fail = "FAIL",
    }
}

impl RefundState {
    /// The wire `refund_status`.
    pub fn refund_status(self) -> RefundStatus {
        match self {
            Self::Processing => RefundStatus::Processing,
            Self::Success => RefundStatus::Success,
            Self::Fail => RefundStatus::Fail,
        }
    }
}

vmp_protocol::wire_enum! {
    /// What a refund did to its order (`refunds.trade_status`, the
    /// `trade_status` reported for the refund).
    pub enum RefundEffect ("refunds.trade_status") {
        /// The order keeps a balance (`TRADE_REFUND`).
        PartlyRefunded = "TRADE_REFUND",
        /// The refund completed a full refund (`TRADE_CLOSED`).
        FullyRefunded = "TRADE_CLOSED",
    }
}

impl RefundEffect {
    /// The order's state after the refund.
    pub fn order_state(self) -> OrderState {
        match self {
            Self::PartlyRefunded => OrderState::PartlyRefunded,
            Self::FullyRefunded => OrderState::Closed,
        }
    }

    /// The wire `trade_status`.
    pub fn trade_status(self) -> TradeStatus {
        self.order_state().trade_status()
    }
}

vmp_protocol::wire_enum! {
    /// Where an outbox row is (`notifications.status`).
    pub enum OutboxStatus ("notifications.status") {
        /// Waiting for its next attempt.
        Pending = "pending",
        /// Acknowledged by the merchant.
        Delivered = "delivered",
        /// Given up: its schedule ran out, or it cannot be sent.
        Failed = "failed",
    }
}

vmp_protocol::wire_enum! {
    /// How one delivery attempt ended (`notification_attempts.outcome`).
    pub enum AttemptOutcome ("notification_attempts.outcome") {
        /// The merchant acknowledged it.
        Delivered = "delivered",
        /// An answer came, but not a success acknowledgement.
        Rejected = "rejected",
        /// No answer (connect error, timeout, refused target).
        Error = "error",
    }
}

vmp_protocol::wire_enum! {
    /// How often an outbox row is tried (`notifications.delivery`): the
    /// [`Notify`] policy of the order's service, minus `Never`, which
    /// writes no row.
    pub enum Delivery ("notifications.delivery") {
        /// Until acknowledged or the retry schedule runs out.
        Retried = "retried",
        /// One attempt, never retried.
        Once = "once",
    }
}

impl Delivery {
    /// The delivery a [`Notify`] policy asks for; `None`: no notification.
    pub fn of(notify: Notify) -> Option<Self> {
        match notify {
            Notify::Retried | Notify::PaidOnly => Some(Self::Retried),
            Notify::Once => Some(Self::Once),
            Notify::Never => None,
        }
    }
}

/// An order, as stored. Also what [`crate::store::Store::place_order`] inserts.
///
/// Its state moves only through [`Order::settle`], [`Order::expire`],
/// [`Order::close`] and [`Order::plan_refund`], which the store applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Gateway order number.
    pub eft_trade_no: EftTradeNo,
    /// The merchant.
    pub user_confirm_key: UserConfirmKey,
    /// The merchant's order number.
    pub out_trade_no: OutTradeNo,
    /// Idempotency fingerprint of the request.
    pub fingerprint: String,
    /// The sale interface it was placed with.
    pub service: Service,
    /// `payType` (`paytype` in the qrcode scene). `None` while a cashier
    /// order waits for the buyer to choose a wallet.
    pub pay_type: Option<PayType>,
    /// `wallet` (`payment_type` in the qrcode scene). `None` while a
    /// cashier order waits for the buyer to choose one.
    pub wallet: Option<Wallet>,
    /// `pay_scene`; `None` for the scenes without one (qrcode).
    pub pay_scene: Option<PayScene>,
    /// `buyerType`, as sent.
    pub buyer_type: String,
    /// The amount, minor units.
    pub amount: Amount,
    /// The amount text as sent (echoed where the wire echoes it).
    pub amount_text: String,
    /// `fee_type`.
    pub currency: Currency,
    /// `subject`.
    pub subject: String,
    /// `body`.
    pub body: Option<String>,
    /// `tid`.
    pub tid: Option<String>,
    /// `notify_url`.
    pub notify_url: Option<String>,
    /// `return_url`.
    pub return_url: Option<String>,
    /// `lang`.
    pub lang: Option<String>,
    /// `scheme`.
    pub scheme: Option<String>,
    /// `packageName`.
    pub package_name: Option<String>,
    /// `app_link`.
    pub app_link: Option<String>,
    /// `active_time`, seconds.
    pub active_time: i64,
    /// The request's `time`.
    pub request_time: String,
    /// Gateway time of creation, unix seconds.
    pub created_at: i64,
    /// When the unpaid order expires, unix seconds.
    pub expires_at: i64,
    /// Where it is.
    pub state: OrderState,
    /// When the order reached a final state, unix seconds.
    pub final_at: Option<i64>,
    /// The wallet side's transaction number (sandbox-generated).
    pub transaction_id: Option<String>,
    /// Card scheme of a card payment (MPGS, AE).
    pub card_scheme: Option<String>,
    /// Sum of its refunds (completed and in progress), minor units.
    pub refunded_minor: i64,
    /// The fields of its scene beyond Place an Order's (the jsapi scene's
    /// `scene_type` and buyer id); `None` for web, wap and app orders.
    pub scene_fields: Option<Box<SceneFields>>,
}

/// The scene-specific fields of an order (`orders.scene_fields`, one JSON
/// object of strings): the jsapi scene's (docs/protocol.md "The jsapi
/// scene").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneFields {
    /// `scene_type`.
    pub scene_type: SceneType,
    /// `openid`.
    pub openid: Option<String>,
    /// `sub_openid`.
    pub sub_openid: Option<String>,
    /// `receipt=Y`.
    pub receipt: bool,
    /// `goods_tag`.
    pub goods_tag: Option<String>,
    /// `detail`, the JSON object's text as sent.
    pub detail: Option<String>,
    /// `scene_info`, the JSON object's text as sent.
    pub scene_info: Option<String>,
}

impl SceneFields {
    /// The stored form: a JSON object of strings, absent fields left out.
    pub fn to_json(&self) -> String {
        let mut p = Params::new().with("scene_type", self.scene_type.as_str());
        for (name, value) in [
            ("openid", &self.openid),
            ("sub_openid", &self.sub_openid),
            ("goods_tag", &self.goods_tag),
            ("detail", &self.detail),
            ("scene_info", &self.scene_info),
        ] {
            if let Some(v) = value {
                p.set(name, v);
            }
        }
        if self.receipt {
            p.set("receipt", "Y");
        }
        p.to_json()
    }

    /// Reads the stored form.
    ///
    /// # Errors
    /// [`InvalidValue`] when it is not such an object.
    pub fn parse(json: &str) -> Result<Self, InvalidValue> {
        let invalid = || InvalidValue { what: "orders.scene_fields" };
        let p = Params::from_json(json.as_bytes()).map_err(|_| invalid())?;
        let text = |name: &str| p.get(name).map(str::to_owned);
        Ok(Self {
            scene_type: p.get("scene_type").and_then(SceneType::parse).ok_or_else(invalid)?,
            openid: text("openid"),
            sub_openid: text("sub_openid"),
            receipt: p.get("receipt") == Some("Y"),
            goods_tag: text("goods_tag"),
            detail: text("detail"),
            scene_info: text("scene_info"),
        })
    }
}

/// What the wallet (or the buyer) decided for a pending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleOutcome {
    /// Paid.
    Paid,
    /// The payment failed.
    Failed,
    /// Abandoned, timed out, or expired unpaid.
    Closed,
}

impl SaleOutcome {
    fn state(self) -> OrderState {
        match self {
            Self::Paid => OrderState::Paid,
            Self::Failed => OrderState::Failed,
            Self::Closed => OrderState::Closed,
        }
    }
}

/// A pending order's move to a final state, with the notification it owes.
/// [`crate::store::Store::settle`] applies it only while the order is
/// still pending, and writes the notification in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The order.
    pub eft_trade_no: EftTradeNo,
    /// The final state.
    pub state: OrderState,
    /// When, unix seconds.
    pub at: i64,
    /// The wallet side's transaction number.
    pub transaction_id: String,
    /// Card scheme of a card payment.
    pub card_scheme: Option<String>,
    /// The outbox row owed, if any.
    pub notification: Option<NewNotification>,
}

/// The order is final already; carries its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the order is final already ({0})")]
pub struct AlreadyFinal(pub OrderState);

/// Why an order cannot be refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRefusal {
    /// Pending or failed: nothing was paid.
    NotPaid,
    /// Closed: refunded in full, or closed unpaid.
    Closed,
    /// The refund would take the total past the order amount.
    Exceeds,
}

/// What storing a refund does, once [`Order::plan_refund`] allowed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundPlan {
    /// The order's refunded total after it, minor units.
    pub refunded_minor: i64,
    /// What it does to the order (and so the order's new state).
    pub effect: RefundEffect,
    /// The refund's state: `Processing` for an apply-refund.
    pub state: RefundState,
    /// When it completed, if it completes at once.
    pub completed_at: Option<i64>,
}

impl Order {
    /// Whether it is pending past its `active_time`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.state == OrderState::Pending && now >= self.expires_at
    }

    /// The state to report at `now`: an expired pending order is closed,
    /// whether or not the sweeper has written that yet.
    pub fn effective_state(&self, now: i64) -> OrderState {
        if self.is_expired(now) { OrderState::Closed } else { self.state }
    }

    /// When it reached its effective state at `now` (its creation while
    /// pending, its expiry once expired).
    pub fn effective_final_at(&self, now: i64) -> Option<i64> {
        match self.final_at {
            Some(t) => Some(t),
            None if self.is_expired(now) => Some(self.expires_at),
            None => None,
        }
    }

    /// Where and how the order's outcome is notified: its `notify_url`,
    /// under its service's [`Notify`] policy; `None` when it is not.
    pub fn notified(&self) -> Option<(&str, Delivery)> {
        Some((self.notify_url.as_deref()?, Delivery::of(self.service.spec().notify)?))
    }

    /// A pending order's final state as the wallet or buyer decided it.
    /// The card scheme is kept for a payment only. The notification owed
    /// follows the service's [`Notify`] policy: none for `Never` (OCT,
    /// JETCO), one attempt for `Once` (UnionPay online), else retried.
    ///
    /// # Errors
    /// [`AlreadyFinal`] when the order is not pending.
    pub fn settle(
        &self,
        outcome: SaleOutcome,
        at: OffsetDateTime,
        transaction_id: String,
        card_scheme: Option<String>,
    ) -> Result<Transition, AlreadyFinal> {
        let card_scheme = if outcome == SaleOutcome::Paid { card_scheme } else { None };
        self.transition(outcome.state(), at, transaction_id, card_scheme, true)
    }

    /// An expired order closes, notified like any outcome ([`Order::settle`]).
    ///
    /// # Errors
    /// [`AlreadyFinal`] when the order is not pending.
    pub fn expire(&self, at: OffsetDateTime, transaction_id: String) -> Result<Transition, AlreadyFinal> {
        self.transition(OrderState::Closed, at, transaction_id, None, true)
    }

    /// The merchant closes a pending order: no notification (it asked).
    ///
    /// # Errors
    /// [`AlreadyFinal`] when the order is not pending.
    pub fn close(&self, at: OffsetDateTime, transaction_id: String) -> Result<Transition, AlreadyFinal> {
        self.transition(OrderState::Closed, at, transaction_id, None, false)
    }

    fn transition(
        &self,
        state: OrderState,
        at: OffsetDateTime,
        transaction_id: String,
        card_scheme: Option<String>,
        notify: bool,
    ) -> Result<Transition, AlreadyFinal> {
        if self.state.is_final() {
            return Err(AlreadyFinal(self.state));
        }
        let when = at.unix_timestamp();
        let owed = notify && self.service.spec().notify.notifies(state == OrderState::Paid);
        let notification = match self.notified().filter(|_| owed) {
            Some((url, delivery)) => {
                let mut after = self.clone();
                after.state = state;
                after.final_at = Some(when);
                after.transaction_id = Some(transaction_id.clone());
                after.card_scheme.clone_from(&card_scheme);
                // The scene's message; `time` is stamped (and the message
                // signed) at each attempt.
                let payload = crate::scenes::sale_notification(&after, at);
                Some(NewNotification {
                    url: url.to_owned(),
                    trade_status: state,
                    payload: payload.to_json(),
                    due_at: when,
                    delivery,
                })
            }
            None => None,
        };
        Ok(Transition {
            eft_trade_no: self.eft_trade_no.clone(),
            state,
            at: when,
            transaction_id,
            card_scheme,
            notification,
        })
    }

    /// The order as it is once `t` applied (what the store returns).
    pub fn apply(&mut self, t: &Transition) {
        self.state = t.state;
        self.final_at = Some(t.at);
        self.transaction_id = Some(t.transaction_id.clone());
        self.card_scheme.clone_from(&t.card_scheme);
    }

    /// The refund rule: only a paid order (fully or partly refunded) can be
    /// refunded, and never past its amount. An apply-refund
    /// (`complete_after`) is stored `Processing`; any other completes at `at`.
    ///
    /// # Errors
    /// [`RefundRefusal`] says why not.
    pub fn plan_refund(
        &self,
        amount: Amount,
        complete_after: Option<i64>,
        at: i64,
    ) -> Result<RefundPlan, RefundRefusal> {
        match self.state {
            OrderState::Paid | OrderState::PartlyRefunded => {}
            OrderState::Closed => return Err(RefundRefusal::Closed),
            OrderState::Pending | OrderState::Failed => return Err(RefundRefusal::NotPaid),
        }
        let total = self.refunded_minor.checked_add(amount.minor()).ok_or(RefundRefusal::Exceeds)?;
        if total > self.amount.minor() {
            return Err(RefundRefusal::Exceeds);
        }
        let effect =
            if total == self.amount.minor() { RefundEffect::FullyRefunded } else { RefundEffect::PartlyRefunded };
        let (state, completed_at) = match complete_after {
            Some(_) => (RefundState::Processing, None),
            None => (RefundState::Success, Some(at)),
        };
        Ok(RefundPlan { refunded_minor: total, effect, state, completed_at })
    }

    /// The order as it is once `plan` applied.
    pub fn apply_refund(&mut self, plan: &RefundPlan) {
        self.refunded_minor = plan.refunded_minor;
        self.state = plan.effect.order_state();
    }

    /// What is left to refund, minor units.
    pub fn refundable_minor(&self) -> i64 {
        self.amount.minor() - self.refunded_minor
    }

    /// The amount a cancel (`QRcodeTradeCancel.do`, a full reversal)
    /// refunds: all that is left of a paid order. An order never paid is
    /// [`RefundRefusal::NotPaid`]; a closed one (cancelled, fully refunded,
    /// closed unpaid) [`RefundRefusal::Closed`].
    ///
    /// # Errors
    /// [`RefundRefusal`] says why not.
    pub fn cancel_amount(&self) -> Result<Amount, RefundRefusal> {
        match self.state {
            OrderState::Paid | OrderState::PartlyRefunded => {
                Amount::from_minor(self.refundable_minor()).map_err(|_| RefundRefusal::Closed)
            }
            OrderState::Closed => Err(RefundRefusal::Closed),
            OrderState::Pending | OrderState::Failed => Err(RefundRefusal::NotPaid),
        }
    }

    /// Whether `wallets` (a service's; empty = any) take this order: any
    /// wallet of the order's family (eftPay's batch refunds send ALIPAYHK
    /// for every Alipay order). An order without a wallet yet (a cashier
    /// order the buyer has not chosen for) is taken only by services of
    /// every wallet.
    pub fn taken_by(&self, wallets: &[Wallet]) -> bool {
        wallets.is_empty() || self.wallet.is_some_and(|o| wallets.iter().any(|w| w.same_family(o)))
    }

    /// Whether a wallet a request names is of this order's family (an
    /// order without a wallet yet matches none).
    pub fn same_family(&self, wallet: Wallet) -> bool {
        self.wallet.is_some_and(|o| o.same_family(wallet))
    }

    /// The order's wallet as the wire spells it (`""` before a cashier
    /// order's buyer chose one).
    pub fn wallet_str(&self) -> &'static str {
        self.wallet.map(Wallet::as_str).unwrap_or_default()
    }

    /// The order's `payType` as the wire spells it (`""` before a cashier
    /// order's buyer chose a wallet).
    pub fn pay_type_str(&self) -> &'static str {
        self.pay_type.map(PayType::as_str).unwrap_or_default()
    }

    /// The `trade_status_sync` message for this order, as of `now`.
    pub fn trade_notification(&self, now: OffsetDateTime) -> TradeNotification {
        let final_at = self.final_at.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()).unwrap_or(now);
        let transaction_id = self.transaction_id.clone().unwrap_or_else(|| format!("SBX{}", self.eft_trade_no));
        TradeNotification {
            user_confirm_key: self.user_confirm_key.as_str().to_owned(),
            trade_no: transaction_id.clone(),
            transaction_id,
            out_trade_no: self.out_trade_no.as_str().to_owned(),
            eft_trade_no: self.eft_trade_no.as_str().to_owned(),
            eftpay_trade_no: self.eft_trade_no.as_str().to_owned(),
            total_fee: self.amount_text.clone(),
            amount: self.amount,
            currency: self.currency.code().to_owned(),
            trade_status: self.state.trade_status(),
            gmt_payment: VmpTime::from_datetime(final_at).to_gmt_string(),
            wallet: self.wallet_str().to_owned(),
            tid: self.tid.clone(),
            trade_type: TradeType::Sale,
            card_scheme: self.card_scheme.clone(),
            time: VmpTime::from_datetime(now),
        }
    }
}

/// A cancel (`QRcodeTradeCancel.do`) to store: a refund of all that is
/// left of a paid order, which closes it. [`crate::store::Store::cancel`]
/// decides the amount with [`Order::cancel_amount`] inside the writer's
/// transaction and stores the refund as [`NewCancel::refund`] builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCancel {
    /// The order.
    pub eft_trade_no: EftTradeNo,
    /// The merchant.
    pub user_confirm_key: UserConfirmKey,
    /// Now, unix seconds.
    pub at: i64,
}

impl NewCancel {
    /// The refund number a cancel is stored under, `cancel <eft_trade_no>`:
    /// no merchant's refund number can be it (those have no spaces), and
    /// an order has at most one cancel.
    pub fn refund_no(&self) -> String {
        format!("cancel {}", self.eft_trade_no)
    }

    /// The refund that reverses `amount` (what is left of the order).
    pub fn refund(&self, amount: Amount) -> NewRefund {
        NewRefund {
            eft_trade_no: self.eft_trade_no.clone(),
            user_confirm_key: self.user_confirm_key.clone(),
            out_refund_no: self.refund_no(),
            fingerprint: String::new(),
            service: Service::QrcodeCancel,
            amount,
            amount_text: amount.to_decimal_string(),
            reason: Some("cancel".to_owned()),
            complete_after: None,
            notify_url: None,
            at: self.at,
        }
    }
}

/// The wallet a cashier order's buyer chose, to store
/// ([`crate::store::Store::choose_wallet`] applies it only to a pending
/// order without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletChoice {
    /// The order.
    pub eft_trade_no: EftTradeNo,
    /// The wallet's `payType`.
    pub pay_type: PayType,
    /// The wallet.
    pub wallet: Wallet,
}

/// Why a buyer cannot choose a wallet for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceRefusal {
    /// Not a cashier order: its wallet was the merchant's.
    #[error("not a cashier order")]
    NotCashier,
    /// The buyer chose already.
    #[error("a wallet was chosen already")]
    Chosen,
    /// The order is no longer pending.
    #[error("the order is final")]
    Final,
    /// The cashier does not offer this wallet.
    #[error("the cashier does not offer this wallet")]
    NotOffered,
}

impl Order {
    /// The buyer of a cashier order chooses `wallet` (one of
    /// [`Service::cashier_wallets`]), once, while the order is pending.
    ///
    /// # Errors
    /// [`ChoiceRefusal`] says why not.
    pub fn choose(&self, wallet: Wallet, now: i64) -> Result<WalletChoice, ChoiceRefusal> {
        if self.service.spec().scene != vmp_protocol::catalogue::Scene::Cashier {
            return Err(ChoiceRefusal::NotCashier);
        }
        if self.effective_state(now) != OrderState::Pending {
            return Err(ChoiceRefusal::Final);
        }
        if self.wallet.is_some() {
            return Err(ChoiceRefusal::Chosen);
        }
        if !Service::cashier_wallets().contains(&wallet) {
            return Err(ChoiceRefusal::NotOffered);
        }
        Ok(WalletChoice { eft_trade_no: self.eft_trade_no.clone(), pay_type: wallet.family(), wallet })
    }
}

/// A refund to store. [`crate::store::Store::refund`] checks it against the
/// order with [`Order::plan_refund`] inside the writer's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// The order.
    pub eft_trade_no: EftTradeNo,
    /// The merchant.
    pub user_confirm_key: UserConfirmKey,
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// Idempotency fingerprint of the request.
    pub fingerprint: String,
    /// The refund interface.
    pub service: Service,
    /// The amount.
    pub amount: Amount,
    /// The amount as sent.
    pub amount_text: String,
    /// Reason, if sent.
    pub reason: Option<String>,
    /// Apply-refund: stored `Processing`, completed at this time.
    pub complete_after: Option<i64>,
    /// Where to notify an apply-refund's completion.
    pub notify_url: Option<String>,
    /// Now, unix seconds.
    pub at: i64,
}

/// A stored refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Row id.
    pub id: i64,
    /// The order.
    pub eft_trade_no: EftTradeNo,
    /// The merchant.
    pub user_confirm_key: UserConfirmKey,
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// Idempotency fingerprint.
    pub fingerprint: String,
    /// The refund interface.
    pub service: Service,
    /// The amount.
    pub amount: Amount,
    /// The amount as sent.
    pub amount_text: String,
    /// Reason.
    pub reason: Option<String>,
    /// Where it is.
    pub state: RefundState,
    /// What it did to the order.
    pub effect: RefundEffect,
    /// Completion notification target.
    pub notify_url: Option<String>,
    /// Created, unix seconds.
    pub created_at: i64,
    /// When an apply-refund completes.
    pub complete_after: Option<i64>,
    /// Completed, unix seconds.
    pub completed_at: Option<i64>,
}

/// An apply-refund's completion, with the notification it owes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundCompletion {
    /// The refund's row id.
    pub refund_id: i64,
    /// When, unix seconds.
    pub at: i64,
    /// The outbox row owed, if the refund has a `notify_url`.
    pub notification: Option<NewNotification>,
}

/// The refund is not in progress (completed or failed already).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the refund is not in progress ({0})")]
pub struct NotProcessing(pub RefundState);

impl Refund {
    /// The wire `trade_status` of the refund: `APPLY_SUCCESS` while an
    /// apply-refund is in progress, else its effect on the order.
    pub fn trade_status(&self) -> TradeStatus {
        match self.state {
            RefundState::Processing => TradeStatus::ApplySuccess,
            _ => self.effect.trade_status(),
        }
    }

    /// [`Refund::trade_status`] as static text.
    pub fn trade_status_str(&self) -> &'static str {
        match self.state {
            RefundState::Processing => "APPLY_SUCCESS",
            _ => self.effect.as_str(),
        }
    }

    /// Completes an apply-refund at `at`. Its notification (to the
    /// refund's `notify_url`) is retried like a sale's: only WeChat has
    /// apply-refunds, and the merchant asked for it with the refund.
    ///
    /// # Errors
    /// [`NotProcessing`] when it is not in progress.
    pub fn complete(&self, order: &Order, at: OffsetDateTime) -> Result<RefundCompletion, NotProcessing> {
        if self.state != RefundState::Processing {
            return Err(NotProcessing(self.state));
        }
        let notification = self.notify_url.as_ref().map(|url| {
            let payload = crate::scenes::refund_notification(order, self, at);
            NewNotification {
                url: url.clone(),
                trade_status: self.effect.order_state(),
                payload: payload.to_json(),
                due_at: at.unix_timestamp(),
                delivery: Delivery::Retried,
            }
        });
        Ok(RefundCompletion { refund_id: self.id, at: at.unix_timestamp(), notification })
    }
}

/// A notification to queue (an outbox row), owed by a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// Target URL.
    pub url: String,
    /// The `trade_status` it reports (never `Pending`).
    pub trade_status: OrderState,
    /// Unsigned message JSON, without `time` (stamped per attempt).
    pub payload: String,
    /// First attempt due at, unix seconds.
    pub due_at: i64,
    /// Retried, or tried once.
    pub delivery: Delivery,
}

/// A queued notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Outbox id.
    pub id: i64,
    /// The order it reports on.
    pub eft_trade_no: EftTradeNo,
    /// The merchant.
    pub user_confirm_key: UserConfirmKey,
    /// Target URL.
    pub url: String,
    /// Reported `trade_status`.
    pub trade_status: OrderState,
    /// Unsigned message JSON without `time`.
    pub payload: String,
    /// Where it is.
    pub status: OutboxStatus,
    /// Attempts made so far.
    pub attempts: i64,
    /// Next attempt due at, unix seconds.
    pub next_attempt_at: i64,
    /// When delivered, unix seconds.
    pub delivered_at: Option<i64>,
    /// Retried, or tried once.
    pub delivery: Delivery,
}

impl Notification {
    /// When attempt number `attempt` (just made, at `now`) is retried, per
    /// `schedule`; `None` for a row delivered once, or when the schedule
    /// has run out.
    pub fn retry_at(&self, attempt: i64, now: i64, schedule: &vmp_protocol::retry::RetrySchedule) -> Option<i64> {
        if self.delivery == Delivery::Once {
            return None;
        }
        u32::try_from(attempt).ok().and_then(|a| schedule.next_delay(a)).map(|d| now + i64::from(d))
    }
}

/// The result of one delivery attempt, and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Outbox id.
    pub notification_id: i64,
    /// Attempt number (1-based).
    pub attempt: i64,
    /// When it started, unix seconds.
    pub attempted_at: i64,
    /// HTTP status, if an answer came.
    pub http_status: Option<i64>,
    /// How long it took.
    pub latency_ms: i64,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// First bytes of the answer, or the error.
    pub excerpt: String,
    /// The signed message as sent (`None`: nothing was sent).
    pub body: Option<String>,
    /// `Some(t)`: retry at `t`; `None`: final (delivered, or given up).
    pub retry_at: Option<i64>,
}

/// An outbox row's state after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxUpdate {
    /// The row's new status.
    pub status: OutboxStatus,
    /// Its next attempt, when it is retried.
    pub next_attempt_at: Option<i64>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
}

impl AttemptRecord {
    /// What the attempt does to its outbox row: delivered, retried, or given up.
    pub fn outbox_update(&self) -> OutboxUpdate {
        match (self.outcome, self.retry_at) {
            (AttemptOutcome::Delivered, _) => OutboxUpdate {
                status: OutboxStatus::Delivered,
                next_attempt_at: None,
                delivered_at: Some(self.attempted_at),
            },
            (_, Some(t)) => {
                OutboxUpdate { status: OutboxStatus::Pending, next_attempt_at: Some(t), delivered_at: None }
            }
            (_, None) => OutboxUpdate { status: OutboxStatus::Failed, next_attempt_at: None, delivered_at: None },
        }
    }
}

/// A recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Attempt number.
    pub attempt: i64,
    /// When, unix seconds.
    pub attempted_at: i64,
    /// HTTP status, if any.
    pub http_status: Option<i64>,
    /// Duration.
    pub latency_ms: i64,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// Answer excerpt or error.
    pub excerpt: String,
    /// The signed message as sent (`None`: nothing was sent, or recorded
    /// before bodies were kept).
    pub body: Option<String>,
}

/// A pending HKD 10.00 order of `service` paid with `wallet`, placed at
/// 1000 (unix seconds) for 60 seconds, without a `notify_url`: the unit
/// tests' order.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn sample_order(service: Service, wallet: Wallet) -> Order {
    Order {
        eft_trade_no: EftTradeNo::parse("01240101000000000000001").unwrap(),
        user_confirm_key: UserConfirmKey::parse("OV0000000001").unwrap(),
        out_trade_no: OutTradeNo::parse("O1").unwrap(),
        fingerprint: "f".into(),
        service,
        pay_type: Some(wallet.family()),
        wallet: Some(wallet),
        pay_scene: service.spec().default_pay_scene(),
        buyer_type: "others".into(),
        amount: Amount::from_minor(1000).unwrap(),
        amount_text: "10.00".into(),
        currency: Currency::Hkd,
        subject: "s".into(),
        body: None,
        tid: None,
        notify_url: None,
        return_url: None,
        lang: None,
        scheme: None,
        package_name: None,
        app_link: None,
        active_time: 60,
        request_time: "20240101000000".into(),
        created_at: 1000,
        expires_at: 1060,
        state: OrderState::Pending,
        final_at: None,
        transaction_id: None,
        card_scheme: None,
        refunded_minor: 0,
        scene_fields: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmp_protocol::retry::RetrySchedule;

    fn order(service: Service, wallet: Wallet, notify: bool) -> Order {
        let mut o = sample_order(service, wallet);
        o.notify_url = notify.then(|| "https://m.example/n".to_owned());
        o
    }

    fn at(t: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(t).unwrap()
    }

    #[test]
    fn stored_spellings_round_trip_and_pending_is_processing_on_the_wire() {
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(*s));
            assert_eq!(s.trade_status().as_str(), s.wire_str());
        }
        assert_eq!(OrderState::Pending.trade_status(), TradeStatus::TradeProcessing);
        assert!(OrderState::parse("TRADE_PROCESSING").is_none(), "the wire value is not a stored state");
        for s in RefundState::ALL {
            assert_eq!(RefundState::parse(s.as_str()), Some(*s));
            assert_eq!(s.refund_status().as_str(), s.as_str());
        }
        for e in RefundEffect::ALL {
            assert_eq!(e.trade_status().as_str(), e.as_str());
        }
        assert!(OutboxStatus::parse("PENDING").is_none());
        assert!(EftTradeNo::parse(&"1".repeat(29)).is_err());
        assert!(EftTradeNo::parse(&"1".repeat(28)).is_ok());
    }

    #[test]
    fn settling_owes_the_notification_the_services_policy_asks_for() {
        let cases = [
            (Service::AlipayWap, Wallet::AlipayHk, Some(Delivery::Retried)),
            (Service::UnionPayOnline, Wallet::UnionPay, Some(Delivery::Once)),
            (Service::OctOnline, Wallet::Oct, None),
            (Service::JetcoWap, Wallet::JetcoHk, None),
        ];
        for (service, wallet, owed) in cases {
            let o = order(service, wallet, true);
            let t = o.settle(SaleOutcome::Paid, at(1010), "T1".into(), Some("VISA".into())).unwrap();
            assert_eq!(t.state, OrderState::Paid);
            assert_eq!(t.notification.as_ref().map(|n| n.delivery), owed, "{service:?}");
            if let Some(n) = t.notification {
                assert_eq!(n.trade_status, OrderState::Paid);
                assert!(n.payload.contains("\"trade_status\":\"TRADE_SUCCESS\""), "{}", n.payload);
                assert!(!n.payload.contains("\"time\""));
            }
            assert!(
                order(service, wallet, false)
                    .settle(SaleOutcome::Paid, at(1010), "T".into(), None)
                    .unwrap()
                    .notification
                    .is_none()
            );
        }
    }

    #[test]
    fn only_a_pending_order_moves_and_closing_on_request_owes_nothing() {
        let mut o = order(Service::AlipayWap, Wallet::AlipayHk, true);
        let close = o.close(at(1010), "T".into()).unwrap();
        assert_eq!((close.state, close.notification), (OrderState::Closed, None));
        let failed = o.settle(SaleOutcome::Failed, at(1010), "T".into(), Some("VISA".into())).unwrap();
        assert_eq!(failed.card_scheme, None, "a scheme is kept for payments only");
        o.apply(&failed);
        assert_eq!(o.state, OrderState::Failed);
        assert_eq!(o.settle(SaleOutcome::Paid, at(1011), "T".into(), None), Err(AlreadyFinal(OrderState::Failed)));
        assert_eq!(o.expire(at(2000), "T".into()), Err(AlreadyFinal(OrderState::Failed)));
    }

    #[test]
    fn an_expired_pending_order_reads_as_closed_before_the_sweeper_writes_it() {
        let o = order(Service::AlipayWap, Wallet::AlipayHk, false);
        assert_eq!(o.effective_state(1059), OrderState::Pending);
        assert_eq!(o.effective_state(1060), OrderState::Closed);
        assert_eq!(o.effective_final_at(1060), Some(1060));
        let t = o.expire(at(1060), "T".into()).unwrap();
        assert_eq!(t.state, OrderState::Closed);
    }

    #[test]
    fn refunds_need_a_paid_order_and_never_pass_its_amount() {
        let mut o = order(Service::AlipayWap, Wallet::AlipayHk, false);
        let amount = |m| Amount::from_minor(m).unwrap();
        assert_eq!(o.plan_refund(amount(1), None, 5), Err(RefundRefusal::NotPaid));
        o.state = OrderState::Paid;
        let part = o.plan_refund(amount(400), None, 5).unwrap();
        assert_eq!(
            part,
            RefundPlan {
                refunded_minor: 400,
                effect: RefundEffect::PartlyRefunded,
                state: RefundState::Success,
                completed_at: Some(5)
            }
        );
        o.apply_refund(&part);
        assert_eq!(o.state, OrderState::PartlyRefunded);
        assert_eq!(o.plan_refund(amount(601), None, 5), Err(RefundRefusal::Exceeds));
        let rest = o.plan_refund(amount(600), Some(10), 5).unwrap();
        assert_eq!(
            (rest.effect, rest.state, rest.completed_at),
            (RefundEffect::FullyRefunded, RefundState::Processing, None)
        );
        o.apply_refund(&rest);
        assert_eq!(o.state, OrderState::Closed);
        assert_eq!(o.plan_refund(amount(1), None, 5), Err(RefundRefusal::Closed));
    }

    #[test]
    fn a_cancel_reverses_what_is_left_of_a_paid_order_only() {
        let mut o = order(Service::AlipayQrcode, Wallet::AlipayHk, false);
        assert_eq!(o.cancel_amount(), Err(RefundRefusal::NotPaid));
        o.state = OrderState::Failed;
        assert_eq!(o.cancel_amount(), Err(RefundRefusal::NotPaid));
        o.state = OrderState::Paid;
        assert_eq!(o.cancel_amount().map(Amount::minor), Ok(1000));
        o.apply_refund(&o.plan_refund(Amount::from_minor(300).unwrap(), None, 5).unwrap());
        assert_eq!(o.cancel_amount().map(Amount::minor), Ok(700), "the rest of a partly refunded order");
        let cancel =
            NewCancel { eft_trade_no: o.eft_trade_no.clone(), user_confirm_key: o.user_confirm_key.clone(), at: 9 };
        let refund = cancel.refund(o.cancel_amount().unwrap());
        assert_eq!((refund.service, refund.amount_text.as_str()), (Service::QrcodeCancel, "7.00"));
        assert!(refund.out_refund_no.contains(' '), "no merchant refund number can be it");
        o.apply_refund(&o.plan_refund(refund.amount, None, 9).unwrap());
        assert_eq!((o.state, o.cancel_amount()), (OrderState::Closed, Err(RefundRefusal::Closed)));
    }

    #[test]
    fn a_cashier_buyer_chooses_an_offered_wallet_once_while_the_order_is_pending() {
        let mut o = order(Service::UnitedWap, Wallet::AlipayHk, false);
        o.wallet = None;
        o.pay_type = None;
        assert!(o.taken_by(&[]) && !o.taken_by(&[Wallet::AlipayHk]), "no family yet: generic services only");
        let choice = o.choose(Wallet::BocPayUpi, 1000).unwrap();
        assert_eq!((choice.wallet, choice.pay_type), (Wallet::BocPayUpi, PayType::Bocvmp));
        assert_eq!(o.choose(Wallet::AlipayBoth, 1000), Err(ChoiceRefusal::NotOffered), "a QR-code-only wallet");
        assert_eq!(o.choose(Wallet::Mpgs, 1060), Err(ChoiceRefusal::Final), "expired");
        o.wallet = Some(Wallet::Mpgs);
        assert_eq!(o.choose(Wallet::AlipayHk, 1000), Err(ChoiceRefusal::Chosen));
        let web = order(Service::AlipayWap, Wallet::AlipayHk, false);
        assert_eq!(web.choose(Wallet::AlipayHk, 1000), Err(ChoiceRefusal::NotCashier));
    }

    #[test]
    fn a_qrcode_sale_owes_the_qrcode_scenes_notification() {
        let o = order(Service::WechatQrcode, Wallet::WechatCn, true);
        let t = o.settle(SaleOutcome::Paid, at(1010), "T1".into(), None).unwrap();
        let payload = t.notification.unwrap().payload;
        assert!(payload.contains(r#""payment_type":"WECHATCN""#) && payload.contains(r#""buyer_id":"#), "{payload}");
        assert!(!payload.contains("notify_type") && !payload.contains(r#""time""#), "{payload}");
        let never = order(Service::PaymeQrcode, Wallet::Payme, true);
        assert!(never.settle(SaleOutcome::Paid, at(1010), "T".into(), None).unwrap().notification.is_none());
    }

    #[test]
    fn a_row_delivered_once_is_never_retried_and_attempts_move_the_row() {
        let schedule = RetrySchedule::default();
        let mut n = Notification {
            id: 1,
            eft_trade_no: EftTradeNo::parse("1").unwrap(),
            user_confirm_key: UserConfirmKey::parse("K").unwrap(),
            url: "u".into(),
            trade_status: OrderState::Paid,
            payload: "{}".into(),
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: 0,
            delivered_at: None,
            delivery: Delivery::Retried,
        };
        assert!(n.retry_at(1, 100, &schedule).is_some());
        n.delivery = Delivery::Once;
        assert_eq!(n.retry_at(1, 100, &schedule), None);
        let mut a = AttemptRecord {
            notification_id: 1,
            attempt: 1,
            attempted_at: 100,
            http_status: None,
            latency_ms: 0,
            outcome: AttemptOutcome::Error,
            excerpt: String::new(),
            body: None,
            retry_at: Some(115),
        };
        assert_eq!(a.outbox_update().status, OutboxStatus::Pending);
        a.retry_at = None;
        assert_eq!(a.outbox_update().status, OutboxStatus::Failed);
        a.outcome = AttemptOutcome::Delivered;
        assert_eq!(a.outbox_update().delivered_at, Some(100));
    }
}
