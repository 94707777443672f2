//! The store contract, run against whichever backend the suite uses
//! (SQLite, or PostgreSQL with `VMP_TEST_DATABASE_URL`): two stores on one
//! database behave like two gateway instances.

use std::sync::Arc;

use vmp_server::store::{self, NewNotification, OrderRecord, PlaceOutcome, SettleOutcome, Settlement, Store};

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

fn order(app: &crate::helpers::TestApp, eft: &str, out: &str) -> OrderRecord {
    OrderRecord {
        eft_trade_no: eft.into(),
        user_confirm_key: app.key.clone(),
        out_trade_no: out.into(),
        fingerprint: "f".into(),
        service: "service.alipay.wap.PreOrder".into(),
        pay_type: "Alipay".into(),
        wallet: "ALIPAYHK".into(),
        pay_scene: "WAP".into(),
        buyer_type: "others".into(),
        amount_minor: 100,
        amount_text: "1.00".into(),
        currency: "HKD".into(),
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
        state: "PENDING".into(),
        final_at: None,
        transaction_id: None,
        card_scheme: None,
        refunded_minor: 0,
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
    let settle = |state: &str| Settlement {
        eft_trade_no: "9900000000000000000001".into(),
        state: state.into(),
        at: T + 100,
        transaction_id: "T".into(),
        card_scheme: None,
        notification: Some(NewNotification {
            url: "http://127.0.0.1:9/n".into(),
            trade_status: state.into(),
            payload: "{}".into(),
            due_at: T + 100,
        }),
    };
    let (x, y) = tokio::join!(a.settle(settle("TRADE_SUCCESS")), b.settle(settle("TRADE_FAIL")));
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
            o.user_confirm_key = "OV0000000000".into();
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
