//! `/healthz` is liveness only; `/readyz` probes a write through the store.

use std::time::Duration;

use vmp_server::readiness::NotReady;

use crate::helpers::spawn_app;

#[tokio::test]
async fn readyz_is_200_while_the_store_takes_writes_and_healthz_never_touches_it() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let ready = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();

    // Assert
    assert_eq!(ready.status().as_u16(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    app.state.store().close().await.unwrap();
    let health = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!((health.status().as_u16(), health.text().await.unwrap().as_str()), (200, "ok"));
}

#[tokio::test]
async fn readyz_is_503_with_a_reason_once_the_writer_is_gone() {
    // Arrange
    let app = spawn_app().await;
    app.state.store().close().await.unwrap();

    // Act
    let resp = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();

    // Assert
    assert_eq!(resp.status().as_u16(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["reason"], "store writer stopped");
}

#[tokio::test]
async fn a_verdict_is_reused_for_a_second_so_probes_cost_at_most_one_write_per_second() {
    // Arrange
    let app = spawn_app().await;
    let readiness = app.state.readiness();
    assert_eq!(readiness.check(&app.state).await, Ok(()));

    // Act: the store stops taking writes.
    app.state.store().close().await.unwrap();

    // Assert
    for _ in 0..100 {
        assert_eq!(readiness.check(&app.state).await, Ok(()), "the last verdict, not a new probe");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(readiness.check(&app.state).await, Err(NotReady::WriterStopped));
}

#[tokio::test]
async fn readyz_is_503_once_shutdown_has_begun() {
    let app = spawn_app().await;
    app.state.readiness().shutting_down();
    assert_eq!(app.state.readiness().check(&app.state).await, Err(NotReady::ShuttingDown));
}

#[tokio::test]
async fn owed_notifications_counts_pending_ones_and_the_oldest_queue_time() {
    // Arrange: nothing owed yet.
    let app = spawn_app().await;
    let owed = app.state.store().owed_notifications().await.unwrap();
    assert_eq!((owed.count, owed.oldest_created_at), (0, None));

    // Act: a paid order whose notify_url refuses connections.
    let mut p = app.seed_request("OWED1");
    p.set("notify_url", "http://127.0.0.1:9/notify");
    app.sign(&mut p);
    let a = app.post(&p).await;
    assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
    let eft = a.get("eft_trade_no").unwrap();
    let paid = app
        .client
        .post(format!("{}/sandbox/orders/{eft}/pay", app.base))
        .json(&serde_json::json!({"outcome": "success"}))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status().as_u16(), 200);

    // Assert
    let owed = app.state.store().owed_notifications().await.unwrap();
    assert_eq!(owed.count, 1);
    assert_eq!(owed.oldest_created_at, Some(app.state.clock().now().unix_timestamp()));
}
