//! `vmp merchant add|list|disable|enable|rotate-secret|promote-secret|reset-secret`,
//! working on the store directly (safe while a gateway runs on it: SQLite
//! WAL with a busy timeout; running gateways see a change within their
//! merchant cache's second).

use std::sync::Arc;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use vmp_protocol::fields::UserConfirmKey;
use vmp_server::config::{SECRET_MAX_CHARS, secret_is_valid};
use vmp_server::merchant::{self, Merchant, MerchantStatus, Overlap, generate_key, generate_secret};
use vmp_server::store::{NewMerchant, Store, StoreError};

use crate::cli::{DataDir, MerchantCommand};

pub async fn run(cmd: MerchantCommand) -> anyhow::Result<()> {
    match cmd {
        MerchantCommand::Add { data, user_confirm_key, secret, name, allow_port } => {
            add(&data, user_confirm_key, secret, name, allow_port).await
        }
        MerchantCommand::List { data } => list(&data).await,
        MerchantCommand::Disable { key, data } => set_status(&data, &key, MerchantStatus::Disabled).await,
        MerchantCommand::Enable { key, data } => set_status(&data, &key, MerchantStatus::Active).await,
        MerchantCommand::RotateSecret { key, overlap, data } => {
            let overlap: Overlap =
                overlap.parse().map_err(|e| anyhow::anyhow!("invalid --overlap {overlap:?}: {e}"))?;
            new_secret(&data, &key, Some(overlap)).await
        }
        MerchantCommand::ResetSecret { key, data } => new_secret(&data, &key, None).await,
        MerchantCommand::PromoteSecret { key, data } => promote(&data, &key).await,
    }
}

async fn open(data: &DataDir) -> anyhow::Result<Arc<dyn Store>> {
    data.open_store().await
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `rotate-secret` (with an overlap) and `reset-secret` (without).
async fn new_secret(data: &DataDir, key: &str, overlap: Option<Overlap>) -> anyhow::Result<()> {
    let store = open(data).await?;
    let now = now();
    let rotated = merchant::rotate_secret(store.as_ref(), key, overlap, now).await;
    store.close().await?;
    let secret = rotated?;
    println!("user_confirm_key: {key}");
    println!("secret:           {}", secret.expose_secret());
    match overlap {
        Some(o) => {
            let until = time::OffsetDateTime::from_unix_timestamp(now + i64::from(o.secs()))?;
            let until = until.format(&time::format_description::well_known::Rfc3339)?;
            println!("overlap until:    {until}");
            println!(
                "requests signed with the old or the new secret verify until then; notifications keep the old \
                 secret until `vmp merchant promote-secret {key}` or the end of the overlap"
            );
        }
        None => println!("the old secret no longer verifies"),
    }
    Ok(())
}

async fn promote(data: &DataDir, key: &str) -> anyhow::Result<()> {
    let store = open(data).await?;
    let promoted = merchant::promote_secret(store.as_ref(), key, now()).await;
    store.close().await?;
    promoted?;
    println!("merchant {key}: notifications and return_url payloads are now signed with the new secret");
    Ok(())
}

async fn add(
    data: &DataDir,
    key: Option<String>,
    secret: Option<SecretString>,
    name: String,
    allowed_ports: Vec<u16>,
) -> anyhow::Result<()> {
    let key = match key {
        Some(k) => UserConfirmKey::parse(&k)
            .map_err(|e| anyhow::anyhow!("invalid --user-confirm-key: {e}"))?
            .as_str()
            .to_owned(),
        None => generate_key()?,
    };
    let secret = match secret {
        Some(secret) => {
            if !secret_is_valid(secret.expose_secret()) {
                bail!("invalid --secret: 1 to {SECRET_MAX_CHARS} characters, no spaces or control characters");
            }
            secret
        }
        None => generate_secret()?,
    };
    if name.trim().is_empty() || name.chars().count() > 128 {
        bail!("invalid --name: 1 to 128 characters");
    }
    let store = open(data).await?;
    let merchant = Merchant {
        key: key.clone(),
        name,
        secret: secret.clone(),
        status: MerchantStatus::Active,
        allowed_ports,
        previous: None,
    };
    let added = store.add_merchant(NewMerchant { merchant, created_at: now() }).await;
    store.close().await?;
    match added {
        Ok(()) => {}
        Err(StoreError::DuplicateMerchant(k)) => {
            bail!("a merchant with user_confirm_key {k} already exists")
        }
        Err(e) => return Err(e).context("adding the merchant"),
    }
    println!("user_confirm_key: {key}");
    println!("secret:           {}", secret.expose_secret());
    Ok(())
}

async fn list(data: &DataDir) -> anyhow::Result<()> {
    let store = open(data).await?;
    let merchants = store.list_merchants().await;
    store.close().await?;
    let merchants = merchants.context("listing merchants")?;
    println!("{:<12}  {:<8}  NAME", "KEY", "STATUS");
    for m in merchants {
        println!("{:<12}  {:<8}  {}", m.key, m.status.as_str(), m.name);
    }
    Ok(())
}

async fn set_status(data: &DataDir, key: &str, status: MerchantStatus) -> anyhow::Result<()> {
    let store = open(data).await?;
    let found = store.set_merchant_status(key, status).await;
    store.close().await?;
    if !found.context("updating the merchant")? {
        bail!("no merchant with user_confirm_key {key}");
    }
    println!("merchant {key} is now {}", status.as_str());
    Ok(())
}
