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
