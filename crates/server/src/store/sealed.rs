//! Secrets in the store, sealed by the instance's [`Vault`]: merchant
//! secrets (current and previous) and the [`SEALED_SETTINGS`]. Written once
//! for both backends over [`super::ops`]; docs/architecture.md "Secrets at
//! rest" tells the whole story.
//!
//! Every write of a sealed value carries the key version it was sealed
//! under, and the SQL writes it only while that is still the store's newest
//! version (`sql::sealing_under!`). A writer whose ring is behind a rotation
//! therefore writes nothing, reloads its keys (the store's versions and its
//! key file) and seals again. A read that meets a version it has no key
//! for reloads the same way, at most once a second.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use sqlx::Connection as _;

use super::db::Db;
use super::ops::{self, SealedValue};
use super::{EnsuredMerchant, NewMerchant, PromoteOutcome, Rekeyed, SqlStore, StoreError, Unlocked};
use crate::merchant::{Merchant, MerchantStatus, PreviousSecret};
use crate::vault::{Binding, KeySource, Vault, VaultError, stored_version};

/// Gateway settings stored sealed (the rest are plain).
pub const SEALED_SETTINGS: &[&str] = &[crate::paylink::LINK_KEY_SETTING];

/// Reads that meet an unknown key version reload the keys at most this often.
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// The store's vault, and one reload at a time.
#[derive(Default)]
pub(crate) struct VaultCell {
    vault: Vault,
    /// When the keys were last reloaded for a read.
    reloaded: tokio::sync::Mutex<Option<Instant>>,
}

/// Which stored values a pass re-seals.
#[derive(Debug, Clone, Copy)]
enum Pass {
    /// Values still in clear (the first start with a key).
    Clear,
    /// Values under any version but this one (a rotation).
    AllBut(i64),
}

impl Pass {
    fn wants(self, stored: &str) -> Result<bool, VaultError> {
        let version = stored_version(stored)?;
        Ok(match self {
            Pass::Clear => version == 0,
            Pass::AllBut(target) => version != target,
        })
    }
}

// Every method here is private to the store; `Db` is too.
#[allow(private_bounds)]
impl<DB> SqlStore<DB>
where
    DB: sqlx::Database,
    DB::Connection: Db,
{
    fn vault(&self) -> &Vault {
        &self.vault.vault
    }

    /// Reloads the store's key versions and the key source, if `needed`
    /// still holds once this task's turn comes (another may have reloaded
    /// meanwhile). `limited`: not again within [`RELOAD_AT_MOST_EVERY`].
    async fn reload_keys(&self, needed: impl Fn(&Vault) -> bool, limited: bool) -> Result<(), StoreError> {
        let mut last = self.vault.reloaded.lock().await;
        if !needed(self.vault()) || (limited && last.is_some_and(|at| at.elapsed() < RELOAD_AT_MOST_EVERY)) {
            return Ok(());
        }
        *last = Some(Instant::now());
        let mut c = self.pool.acquire().await?;
        let versions = ops::master_keys(&mut *c).await?;
        self.vault().refresh(&versions)?;
        tracing::info!(version = self.vault().current(), "reloaded the master keys");
        Ok(())
    }

    /// Opens a stored value; a version this instance does not know yet
    /// makes it reload its keys once.
    async fn open_value(&self, stored: &SecretString, binding: Binding<'_>) -> Result<SecretString, StoreError> {
        match self.vault().open(stored.expose_secret(), binding) {
            Err(VaultError::UnknownVersion(v)) => {
                self.reload_keys(|vault| !vault.has_version(v), true).await?;
                Ok(self.vault().open(stored.expose_secret(), binding)?)
            }
            other => Ok(other?),
        }
    }

    /// After a guarded write changed nothing: whether it was because the
    /// store's key version is no longer `sealed_under` (then the keys are
    /// reloaded, and the caller seals again).
    async fn version_moved(&self, db: &mut DB::Connection, sealed_under: i64) -> Result<bool, StoreError> {
        let now_version = ops::key_version(db).await?;
        if now_version == sealed_under {
            return Ok(false);
        }
        self.reload_keys(|vault| vault.current() != now_version, false).await?;
        Ok(true)
    }

    pub(super) async fn read_merchant(&self, key: &str) -> Result<Option<Merchant>, StoreError> {
        let stored = {
            let mut c = self.pool.acquire().await?;
            ops::merchant(&mut *c, key).await?
        };
        let Some(stored) = stored else { return Ok(None) };
        let mut merchant = stored.merchant;
        let binding = Binding::Merchant(key);
        merchant.secret = self.open_value(&stored.secret, binding).await?;
        if let Some((secret, until, signs)) = stored.previous {
            merchant.previous = Some(PreviousSecret { secret: self.open_value(&secret, binding).await?, until, signs });
        }
        Ok(Some(merchant))
    }

    pub(super) async fn insert_merchant(&self, new: NewMerchant) -> Result<(), StoreError> {
        let m = &new.merchant;
        for _ in 0..2 {
            let sealed = self.vault().seal(m.secret.expose_secret(), Binding::Merchant(&m.key))?;
            let mut c = self.pool.acquire().await?;
            if ops::add_merchant(&mut *c, m, &sealed, new.created_at).await? == 1 {
                return Ok(());
            }
            if !self.version_moved(&mut c, sealed.version).await? {
                return Err(StoreError::DuplicateMerchant(m.key.clone()));
            }
        }
        Err(StoreError::Rotation("the master key changed twice meanwhile; try again"))
    }

    pub(super) async fn write_secret(
        &self,
        key: &str,
        secret: &SecretString,
        previous_until: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        for _ in 0..2 {
            let sealed = self.vault().seal(secret.expose_secret(), Binding::Merchant(key))?;
            let mut c = self.pool.acquire().await?;
            if ops::replace_secret(&mut *c, key, &sealed, previous_until, now).await? == 1 {
                return Ok(true);
            }
            if !self.version_moved(&mut c, sealed.version).await? {
                return Ok(false);
            }
        }
        Err(StoreError::Rotation("the master key changed twice meanwhile; try again"))
    }

    /// `vmp serve --sandbox-merchant`: creates the merchant, or gives the
    /// existing one this secret (ending any rotation) and makes it active.
    pub(super) async fn ensure(&self, new: NewMerchant) -> Result<EnsuredMerchant, StoreError> {
        let (key, secret) = (new.merchant.key.clone(), new.merchant.secret.clone());
        match self.read_merchant(&key).await? {
            Some(existing)
                if existing.secret.expose_secret() == secret.expose_secret()
                    && existing.previous.is_none()
                    && existing.status == MerchantStatus::Active =>
            {
                return Ok(EnsuredMerchant::Unchanged);
            }
            Some(_) => {}
            None => match self.insert_merchant(new).await {
                Ok(()) => return Ok(EnsuredMerchant::Created),
                // Another instance created it meanwhile: give it this secret.
                Err(StoreError::DuplicateMerchant(_)) => {}
                Err(e) => return Err(e),
            },
        }
        let mut c = self.pool.acquire().await?;
        ops::set_merchant_status(&mut *c, &key, MerchantStatus::Active).await?;
        drop(c);
        self.write_secret(&key, &secret, None, 0).await?;
        Ok(EnsuredMerchant::Updated)
    }

    pub(super) async fn promote(&self, key: &str, now: i64) -> Result<PromoteOutcome, StoreError> {
        let mut c = self.pool.acquire().await?;
        if ops::promote_secret(&mut *c, key, now).await? {
            return Ok(PromoteOutcome::Promoted);
        }
        Ok(match ops::merchant(&mut *c, key).await? {
            Some(_) => PromoteOutcome::NoRotation,
            None => PromoteOutcome::NotFound,
        })
    }

    pub(super) async fn sealed_setting(&self, name: &str, init: SecretString) -> Result<SecretString, StoreError> {
        let binding = Binding::Setting(name);
        for _ in 0..2 {
            let mut c = self.pool.acquire().await?;
            if let Some(stored) = ops::setting(&mut *c, name).await? {
                return self.open_value(&SecretString::from(stored), binding).await;
            }
            let sealed = self.vault().seal(init.expose_secret(), binding)?;
            ops::init_sealed_setting(&mut *c, name, &sealed).await?;
            if let Some(stored) = ops::setting(&mut *c, name).await? {
                return self.open_value(&SecretString::from(stored), binding).await;
            }
            self.version_moved(&mut c, sealed.version).await?;
        }
        Err(StoreError::Rotation("the master key changed twice meanwhile; try again"))
    }

    pub(super) async fn take_keys(&self, source: KeySource, now: i64) -> Result<Unlocked, StoreError> {
        let mut c = self.pool.acquire().await?;
        let mut versions = ops::master_keys(&mut *c).await?;
        let keys = source.load().map_err(VaultError::from)?;
        if keys.is_empty() {
            if !versions.is_empty() {
                return Err(VaultError::NoKey.into());
            }
            return Ok(Unlocked { version: 0, encrypted: 0 });
        }
        if versions.is_empty() {
            if keys.len() != 1 {
                return Err(VaultError::SeveralFirstKeys(keys.len()).into());
            }
            // Another instance may register its key first: then ours must match it.
            ops::register_key(&mut *c, 1, &keys[0].check(), now).await?;
            versions = ops::master_keys(&mut *c).await?;
        }
        self.vault().install(source, &versions)?;
        let encrypted = self.reseal(&mut c, Pass::Clear).await?;
        let version = self.vault().current();
        if encrypted > 0 {
            ops::forget_replaced(&mut *c).await?;
            tracing::info!(version, encrypted, "encrypted the secrets stored in clear");
        }
        Ok(Unlocked { version, encrypted })
    }

    pub(super) async fn rekey(&self, now: i64) -> Result<Rekeyed, StoreError> {
        let mut c = self.pool.acquire().await?;
        let versions = ops::master_keys(&mut *c).await?;
        let Some(newest) = versions.last().map(|v| v.version) else {
            return Err(StoreError::Rotation(
                "this store is not encrypted yet: give a master key to `vmp serve` (or any vmp command) first",
            ));
        };
        let source = self.vault().source();
        let new_keys = self.vault().install(source.clone(), &versions)?;
        let unfinished = versions.iter().any(|v| v.retired_at.is_none() && v.version < newest);
        let target = match new_keys.as_slice() {
            [] if unfinished => newest,
            [] => {
                return Err(StoreError::Rotation(
                    "no new master key among the given keys: add one (vmp admin new-master-key) beside the current one",
                ));
            }
            [key] => {
                if !ops::register_key(&mut *c, newest + 1, &key.check(), now).await? {
                    return Err(StoreError::Rotation("another master key rotation registered a key meanwhile"));
                }
                newest + 1
            }
            _ => {
                return Err(StoreError::Rotation(
                    "more than one new master key among the given keys: give the current key and one new key",
                ));
            }
        };
        self.vault().install(source, &ops::master_keys(&mut *c).await?)?;
        // Most values move here, each by compare-and-swap, while the
        // gateway keeps serving; the last pass runs with writers of sealed
        // values held off, so nothing is left under an older version.
        let mut resealed = self.reseal(&mut c, Pass::AllBut(target)).await?;
        let mut tx = c.begin().await?;
        ops::lock_sealed(&mut *tx).await?;
        resealed += self.reseal(&mut tx, Pass::AllBut(target)).await?;
        let retired = ops::retire_keys_below(&mut *tx, target, now).await?;
        tx.commit().await?;
        ops::forget_replaced(&mut *c).await?;
        tracing::info!(version = target, resealed, retired, "master key rotated");
        Ok(Rekeyed { version: target, resealed, retired })
    }

    /// Seals again, under the current version, every value `pass` wants;
    /// how many were replaced (a value changed meanwhile is left to the
    /// next pass).
    async fn reseal(&self, db: &mut DB::Connection, pass: Pass) -> Result<u64, StoreError> {
        let mut done = 0;
        for (key, secret, previous) in ops::merchant_secrets(db).await? {
            let binding = Binding::Merchant(&key);
            done += self.reseal_one(db, pass, SealedValue::Secret(&key), &secret, binding).await?;
            if let Some(previous) = previous {
                done += self.reseal_one(db, pass, SealedValue::Previous(&key), &previous, binding).await?;
            }
        }
        for name in SEALED_SETTINGS {
            if let Some(stored) = ops::setting(db, name).await? {
                let stored = SecretString::from(stored);
                done += self.reseal_one(db, pass, SealedValue::Setting(name), &stored, Binding::Setting(name)).await?;
            }
        }
        Ok(done)
    }

    async fn reseal_one(
        &self,
        db: &mut DB::Connection,
        pass: Pass,
        what: SealedValue<'_>,
        stored: &SecretString,
        binding: Binding<'_>,
    ) -> Result<u64, StoreError> {
        if !pass.wants(stored.expose_secret())? {
            return Ok(0);
        }
        let plain = if stored_version(stored.expose_secret())? == 0 {
            stored.clone()
        } else {
            self.open_value(stored, binding).await?
        };
        let sealed = self.vault().seal(plain.expose_secret(), binding)?;
        Ok(u64::from(ops::reseal(db, what, stored.expose_secret(), &sealed).await?))
    }
}
