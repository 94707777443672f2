//! The store contract, run against whichever backend the suite uses
//! (SQLite, or PostgreSQL with `VMP_TEST_DATABASE_URL`): two stores on one
//! database behave like two gateway instances.

use std::sync::Arc;

use vmp_protocol::catalogue::{PayScene, PayType, Service, Wallet};
use vmp_protocol::fields::{OutTradeNo, UserConfirmKey};
use vmp_protocol::{Amount, Currency};
use vmp_server::domain::{Delivery, EftTradeNo, OrderState, OutboxStatus};
use vmp_server::store::{self, NewNotification, Order, PlaceOutcome, SettleOutcome, Store, Transition};

use crate::helpers::{postgres_for, spawn_app};

async fn second_store(app: &crate::helpers::TestApp) -> Arc<dyn Store> {
    let url = postgres_for(&app.data_dir).await;
    store::open(&app.data_dir, url.as_deref(), 16).await.unwrap().0
}

/// The store calls below use times far past the test gateway's frozen clock
/// (which is "now"): its expiry sweeper and notifier, running against the
/// same database, then never touch these rows (an order that expired in 1970
/// was once closed by the sweeper before the test could settle it).
const T: i64 = 4_000_000_000;

fn order(app: &crate::helpers::TestApp, eft: &str, out: &str) -> Order {
    Order {
        eft_trade_no: EftTradeNo::parse(eft).unwrap(),
        user_confirm_key: UserConfirmKey::parse(&app.key).unwrap(),
        out_trade_no: OutTradeNo::parse(out).unwrap(),
        fingerprint: "f".into(),
        service: Service::AlipayWap,
        pay_type: Some(PayType::Alipay),
        wallet: Some(Wallet::AlipayHk),
        pay_scene: Some(PayScene::Wap),
        buyer_type: "others".into(),
        amount: Amount::from_minor(100).unwrap(),
        amount_text: "1.00".into(),
        currency: Currency::Hkd,
        subject: "s".into(),
        body: None,
        tid: None,
        notify_url: Some("http://127.0.0.1:9/n".into()),
        return_url: None,
        lang: None,
        scheme: None,
        package_name: None,
        app_link: None,
        active_time: 1800,
        request_time: "20240101000000".into(),
        created_at: T,
        expires_at: T + 1800,
        state: OrderState::Pending,
        final_at: None,
        transaction_id: None,
        card_scheme: None,
        refunded_minor: 0,
        scene_fields: None,
    }
}

#[tokio::test]
async fn two_instances_see_one_order_one_settlement_and_never_share_a_lease() {
    let app = spawn_app().await;
    let a = Arc::clone(app.state.store());
    let b = second_store(&app).await;

    // The same out_trade_no from two instances: one order.
    let first = a.place_order(order(&app, "9900000000000000000001", "ST1")).await.unwrap();
    let second = b.place_order(order(&app, "9900000000000000000002", "ST1")).await.unwrap();
    assert!(matches!(first, PlaceOutcome::Created(_)));
    assert!(matches!(second, PlaceOutcome::Existing(ref o) if o.eft_trade_no == "9900000000000000000001"));

    // Two settlements from two instances: one applies.
    let settle = |state: OrderState| Transition {
        eft_trade_no: EftTradeNo::parse("9900000000000000000001").unwrap(),
        state,
        at: T + 100,
        transaction_id: "T".into(),
        card_scheme: None,
        notification: Some(NewNotification {
            url: "http://127.0.0.1:9/n".into(),
            trade_status: state,
            payload: "{}".into(),
            due_at: T + 100,
            delivery: Delivery::Retried,
        }),
    };
    let (x, y) = tokio::join!(a.settle(settle(OrderState::Paid)), b.settle(settle(OrderState::Failed)));
    let applied = [x.unwrap(), y.unwrap()].into_iter().filter(|o| matches!(o, SettleOutcome::Applied(_))).count();
    assert_eq!(applied, 1);
    assert_eq!(a.notifications_for_order("9900000000000000000001").await.unwrap().len(), 1);

    // A lease taken by one instance hides the row from the other until it runs out.
    let claimed = a.claim_notifications(T + 100, T + 160, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(b.claim_notifications(T + 100, T + 160, 10).await.unwrap().is_empty(), "leased rows are not claimed twice");
    assert!(b.claim_notifications(T + 159, T + 200, 10).await.unwrap().is_empty());
    let taken_over = b.claim_notifications(T + 160, T + 220, 10).await.unwrap();
    assert_eq!(taken_over.len(), 1, "an expired lease (dead instance) is taken over");
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_failing_write_fails_alone_and_leaves_its_batch_committed() {
    let app = spawn_app().await;
    let store = Arc::clone(app.state.store());
    // Queued together, these land in one or a few group commits. The order
    // naming an unknown merchant breaks the foreign key (checked by the
    // writer's connection): only it may fail.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = Arc::clone(&store);
        let mut o = order(&app, &format!("98000000000000000000{i:02}"), &format!("BATCH{i}"));
        if i == 17 {
            o.user_confirm_key = UserConfirmKey::parse("OV0000000000").unwrap();
        }
        tasks.spawn(async move { (i, store.place_order(o).await) });
    }
    let mut created = 0;
    while let Some(joined) = tasks.join_next().await {
        let (i, outcome) = joined.unwrap();
        if i == 17 {
            assert!(outcome.is_err(), "an order of an unknown merchant must not be stored: {outcome:?}");
        } else {
            assert!(matches!(outcome, Ok(PlaceOutcome::Created(_))), "order {i}: {outcome:?}");
            created += 1;
        }
    }
    assert_eq!(created, 39);
    assert_eq!(store.count_orders().await.unwrap(), 39);
    assert!(store.order_by_eft_trade_no("9800000000000000000017").await.unwrap().is_none());
    assert!(store.order_by_eft_trade_no("9800000000000000000016").await.unwrap().is_some());
}

/// A database as the previous migrations left it, filled through raw SQL.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

impl Raw {
    async fn exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Raw::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
            Raw::Pg(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        }
    }

    async fn close(self) {
        match self {
            Raw::Sqlite(p) => p.close().await,
            Raw::Pg(p) => p.close().await,
        }
    }
}

/// Opens `data_dir`'s database (SQLite file or fresh PostgreSQL database)
/// and runs only the migrations of the schema before issue #17.
async fn store_with_old_migrations(data_dir: &std::path::Path) -> (Raw, Option<String>) {
    let url = postgres_for(data_dir).await;
    let (backend, last_old) = if url.is_some() { ("postgres", 2) } else { ("sqlite", 4) };
    let old = tempfile::tempdir().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let version: u32 = name.split('_').next().unwrap().parse().unwrap();
        if version <= last_old {
            std::fs::copy(&path, old.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
    let raw = match &url {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            Raw::Pg(pool)
        }
        None => {
            std::fs::create_dir_all(data_dir).unwrap();
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(data_dir.join(vmp_server::store::DB_FILE))
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            migrator.run(&pool).await.unwrap();
            Raw::Sqlite(pool)
        }
    };
    (raw, url)
}

const OLD_ROWS: &str = "
INSERT INTO merchants (user_confirm_key, name, secret, status, created_at) VALUES ('OVMIGRATE001', 'm', 's', 'active', 1);
INSERT INTO orders (eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, pay_scene,
    buyer_type, amount_minor, amount_text, currency, subject, notify_url, active_time, request_time, created_at,
    expires_at, state, final_at, transaction_id, card_scheme, refunded_minor)
VALUES
  ('9700000000000000000001', 'OVMIGRATE001', 'M1', 'f1', 'service.mpgs.web.PreOrder', 'Mpgs', 'MPGS', 'WEB',
   'android', 1000, '10.00', 'HKD', 'paid, part refunded', 'http://127.0.0.1:9/n', 1800, '20240101000000', 100,
   1900, 'TRADE_REFUND', 150, 'SBX1', 'VISA', 400),
  ('9700000000000000000002', 'OVMIGRATE001', 'M2', 'f2', 'service.alipay.wap.PreOrder', 'Alipay', 'ALIPAYHK', 'WAP',
   'ios', 250, '2.5', 'CNY', 'pending', NULL, 60, '20240101000000', 100, 160, 'PENDING', NULL, NULL, NULL, 0),
  ('9700000000000000000003', 'OVMIGRATE001', 'M3', 'f3', 'service.wechat.web.MobileH5', 'WeChat', 'WECHATHK', 'WEB',
   'others', 300, '3.00', 'HKD', 'fully refunded', 'http://127.0.0.1:9/n', 1800, '20240101000000', 100, 1900,
   'TRADE_CLOSED', 120, 'SBX3', NULL, 300);
INSERT INTO refunds (eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, amount_text,
    reason, status, trade_status, notify_url, created_at, complete_after, completed_at)
VALUES
  ('9700000000000000000001', 'OVMIGRATE001', 'R1', 'rf1', 'service.mpgs.web.Refund', 400, '4.00', 'r', 'SUCCESS',
   'TRADE_REFUND', NULL, 160, NULL, 160),
  ('9700000000000000000003', 'OVMIGRATE001', 'R3', 'rf3', 'service.wechat.web.ApplyRefund', 300, '3.00', NULL,
   'PROCESSING', 'TRADE_CLOSED', 'http://127.0.0.1:9/r', 170, 175, NULL);
INSERT INTO notifications (eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts,
    next_attempt_at, lease_until, created_at, delivered_at)
VALUES
  ('9700000000000000000001', 'OVMIGRATE001', 'http://127.0.0.1:9/n', 'TRADE_SUCCESS', '{}', 'delivered', 2, 165,
   NULL, 150, 180),
  ('9700000000000000000003', 'OVMIGRATE001', 'http://127.0.0.1:9/n', 'TRADE_SUCCESS', '{}', 'pending', 1, 999,
   NULL, 120, NULL);
INSERT INTO notification_attempts (notification_id, attempt, attempted_at, http_status, latency_ms, outcome, excerpt)
SELECT id, 1, 150, 500, 12, 'rejected', 'try later' FROM notifications WHERE eft_trade_no = '9700000000000000000001';
INSERT INTO notification_attempts (notification_id, attempt, attempted_at, http_status, latency_ms, outcome, excerpt)
SELECT id, 2, 165, 200, 8, 'delivered', 'SUCCESS' FROM notifications WHERE eft_trade_no = '9700000000000000000001';
";

#[tokio::test]
async fn the_typed_states_migration_keeps_every_old_row_and_then_refuses_bad_states() {
    // Arrange: a store built by the migrations before issue #17, with rows
    // of every table (orders in three states, refunds, outbox rows, attempts).
    let dir = tempfile::tempdir().unwrap();
    let (raw, url) = store_with_old_migrations(dir.path()).await;
    raw.exec(OLD_ROWS).await.unwrap();
    raw.close().await;

    // Act: the current code opens it (and runs the new migration).
    let (s, _) = store::open(dir.path(), url.as_deref(), 16).await.unwrap();

    // Assert: every row survived, read as domain types.
    let paid = s.order_by_eft_trade_no("9700000000000000000001").await.unwrap().unwrap();
    assert_eq!(
        (paid.state, paid.service, paid.wallet, paid.refunded_minor, paid.card_scheme.as_deref()),
        (OrderState::PartlyRefunded, Service::MpgsWeb, Some(Wallet::Mpgs), 400, Some("VISA"))
    );
    let pending = s.order_by_out_trade_no("OVMIGRATE001", "M2").await.unwrap().unwrap();
    assert_eq!((pending.state, pending.currency, pending.amount.minor()), (OrderState::Pending, Currency::Cny, 250));
    assert_eq!(pending.amount_text, "2.5", "the amount text as sent");
    let closed = s.order_by_eft_trade_no("9700000000000000000003").await.unwrap().unwrap();
    assert_eq!(closed.state, OrderState::Closed);
    assert_eq!(s.count_orders().await.unwrap(), 3);
    let r1 = s.refund_by_out_refund_no("OVMIGRATE001", "R1").await.unwrap().unwrap();
    assert_eq!((r1.service, r1.trade_status_str()), (Service::MpgsWebRefund, "TRADE_REFUND"));
    let r3 = s.refund_by_out_refund_no("OVMIGRATE001", "R3").await.unwrap().unwrap();
    assert_eq!((r3.trade_status_str(), r3.complete_after), ("APPLY_SUCCESS", Some(175)));
    assert_eq!(s.due_refunds(200, 10).await.unwrap().len(), 1);
    assert_eq!(s.refunds_total("9700000000000000000001").await.unwrap(), 400);
    let rows = s.notifications_for_order("9700000000000000000001").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].status, rows[0].attempts, rows[0].delivery), (OutboxStatus::Delivered, 2, Delivery::Retried));
    let attempts = s.attempts_for_notification(rows[0].id).await.unwrap();
    assert_eq!(attempts.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["rejected", "delivered"]);
    assert_eq!(s.notifications_for_order("9700000000000000000003").await.unwrap()[0].next_attempt_at, 999);

    // The store goes on writing: a settlement with its outbox row (new ids
    // after the old ones), a claim of the old pending row.
    let t = pending.settle(vmp_server::domain::SaleOutcome::Paid, time::OffsetDateTime::now_utc(), "T2".into(), None);
    assert!(
        matches!(s.settle(t.unwrap()).await.unwrap(), SettleOutcome::Applied(ref o) if o.state == OrderState::Paid)
    );
    assert_eq!(s.claim_notifications(1000, 1060, 10).await.unwrap().len(), 1);
    s.close().await.unwrap();

    // A bad state is now refused, in every status column, and the children
    // still reference the rebuilt tables.
    let raw = match &url {
        Some(url) => Raw::Pg(sqlx::PgPool::connect(url).await.unwrap()),
        None => Raw::Sqlite(
            sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(dir.path().join(vmp_server::store::DB_FILE))
                    .foreign_keys(true),
            )
            .await
            .unwrap(),
        ),
    };
    for bad in [
        "UPDATE orders SET state = 'PAID' WHERE eft_trade_no = '9700000000000000000002'",
        "UPDATE orders SET state = 'TRADE_PROCESSING' WHERE eft_trade_no = '9700000000000000000002'",
        "UPDATE refunds SET trade_status = 'TRADE_SUCCESS' WHERE out_refund_no = 'R1'",
        "UPDATE refunds SET status = 'DONE' WHERE out_refund_no = 'R1'",
        "UPDATE notifications SET trade_status = 'PENDING'",
        "UPDATE notifications SET status = 'sent'",
        "UPDATE notifications SET delivery = 'twice'",
        "UPDATE notification_attempts SET outcome = 'ok'",
        "UPDATE merchants SET status = 'gone'",
        "INSERT INTO notifications (eft_trade_no, user_confirm_key, url, trade_status, payload, status, \
         next_attempt_at, created_at) VALUES ('1234', 'OVMIGRATE001', 'u', 'TRADE_FAIL', '{}', 'pending', 0, 0)",
        "INSERT INTO refunds (eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, \
         amount_text, status, trade_status, created_at) VALUES ('1234', 'OVMIGRATE001', 'RX', 'f', 's', 1, '0.01', \
         'SUCCESS', 'TRADE_REFUND', 0)",
    ] {
        let refused = raw.exec(bad).await;
        assert!(refused.is_err(), "accepted: {bad}");
    }
    // Valid children of the rebuilt tables are accepted (their references resolve).
    raw.exec(
        "INSERT INTO refunds (eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, \
         amount_text, status, trade_status, created_at) VALUES ('9700000000000000000002', 'OVMIGRATE001', 'R2', 'f', \
         'service.alipay.wap.Refund', 1, '0.01', 'SUCCESS', 'TRADE_REFUND', 0)",
    )
    .await
    .unwrap();
    // The cashier scene's orders may have no wallet or payType yet, the
    // qrcode scene's no pay_scene.
    raw.exec("UPDATE orders SET wallet = NULL, pay_type = NULL WHERE eft_trade_no = '9700000000000000000002'")
        .await
        .unwrap();
    raw.exec("UPDATE orders SET pay_scene = NULL WHERE eft_trade_no = '9700000000000000000001'").await.unwrap();
    raw.close().await;
}
