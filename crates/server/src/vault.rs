//! Encryption at rest of the gateway's secrets: merchant secrets and the
//! pay-link key (docs/architecture.md "Secrets at rest").
//!
//! A [`MasterKey`] (32 random bytes, given with `--master-key-file` or
//! `VMP_MASTER_KEY`) never reaches the database. The store keeps a table of
//! master key *versions*, each known by a check value (an HMAC of a fixed
//! text under the key) that identifies the key without revealing it. A
//! secret is stored as
//!
//! ```text
//! vmp-sealed:v{version}:{base64url(nonce ‖ XChaCha20-Poly1305 ciphertext ‖ tag)}
//! ```
//!
//! with a fresh 24-byte random nonce and, as associated data, what the
//! secret protects (the merchant's `user_confirm_key`, or the setting's
//! name), so a sealed value copied onto another merchant does not open.
//!
//! The [`Vault`] holds the keys an instance was given, by version, and
//! which version new secrets are sealed under. It reloads its key file when
//! it meets a version it does not know (another process rotated the master
//! key), which is how a running gateway follows `vmp admin rotate-master-key`.
//! Without any key (sandbox only) the vault seals nothing: values are stored
//! as they are.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

/// What every sealed value starts with (then the key version and `:`).
pub const SEALED_PREFIX: &str = "vmp-sealed:v";

const NONCE_LEN: usize = 24;

/// A 32-byte master key. `Debug` never shows it.
pub struct MasterKey {
    bytes: SecretBox<[u8; 32]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

/// Why a master key (or the set of keys) was refused. Each message is one
/// line and never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    /// Neither 64 hex digits nor base64.
    #[error(
        "{source_name}: a master key is 32 bytes written as 64 hex digits or 44 base64 characters \
         (make one with `vmp admin new-master-key`); this one is neither"
    )]
    Encoding {
        /// Where the key came from (`VMP_MASTER_KEY`, the file and line).
        source_name: String,
    },
    /// Decoded to the wrong number of bytes.
    #[error("{source_name}: a master key is 32 bytes, this one is {len} bytes")]
    Length {
        /// Where the key came from.
        source_name: String,
        /// Bytes it decoded to.
        len: usize,
    },
    /// A key file or variable with no key in it.
    #[error("{0}: no master key in it")]
    Empty(String),
    /// The key file could not be read.
    #[error("reading the master key file {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The OS's reason.
        reason: String,
    },
    /// Both the file and the variable were given.
    #[error("give the master key with --master-key-file or VMP_MASTER_KEY, not both")]
    Both,
}

impl MasterKey {
    /// Parses 64 hex digits or standard base64 (44 characters) of 32 bytes;
    /// `source_name` names where it came from in the error.
    ///
    /// # Errors
    /// [`MasterKeyError::Encoding`] or [`MasterKeyError::Length`].
    pub fn parse(text: &str, source_name: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let is_hex = !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit());
        let decoded = if is_hex { hex::decode(text).ok() } else { STANDARD.decode(text).ok() };
        let Some(bytes) = decoded else {
            return Err(MasterKeyError::Encoding { source_name: source_name.to_owned() });
        };
        let len = bytes.len();
        let bytes = SecretBox::new(Box::new(bytes));
        let array: [u8; 32] = bytes
            .expose_secret()
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::Length { source_name: source_name.to_owned(), len })?;
        Ok(Self { bytes: SecretBox::new(Box::new(array)) })
    }

    /// A fresh random key.
    ///
    /// # Errors
    /// When the OS random source fails.
    pub fn generate() -> std::io::Result<Self> {
        let mut array = [0u8; 32];
        getrandom::fill(&mut array).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self { bytes: SecretBox::new(Box::new(array)) })
    }

    /// The key as base64 (what `vmp admin new-master-key` prints).
    pub fn encoded(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.bytes.expose_secret()))
    }

    /// The key's check value: HMAC-SHA256 of a fixed text under the key,
    /// 32 hex digits. Stored beside the version; reveals nothing of the key.
    pub fn check(&self) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(self.bytes.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"OpenVMP master key check v1");
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// A second copy (the key ring hands back keys it did not match).
    fn duplicate(&self) -> Self {
        Self { bytes: SecretBox::new(Box::new(*self.bytes.expose_secret())) }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.bytes.expose_secret().into())
    }
}

/// Where an instance's master keys come from.
#[derive(Clone, Default)]
pub enum KeySource {
    /// No key: secrets are stored in clear (sandbox only).
    #[default]
    None,
    /// Keys given at start (`VMP_MASTER_KEY`, comma-separated); fixed for
    /// the life of the process.
    Keys(Arc<Vec<MasterKey>>),
    /// A key file, one key per line (`#` comments and blank lines
    /// ignored); read again when the store names a key version this
    /// instance does not know.
    File(PathBuf),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::None => f.write_str("None"),
            KeySource::Keys(k) => write!(f, "Keys({} [REDACTED])", k.len()),
            KeySource::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

impl KeySource {
    /// The source given by a `--master-key-file` and a `VMP_MASTER_KEY`
    /// value (either or neither). The variable's keys are parsed now, the
    /// file is checked now and read again later.
    ///
    /// # Errors
    /// Both given, or a key that does not parse.
    pub fn from_options(file: Option<&Path>, variable: Option<&str>) -> Result<Self, MasterKeyError> {
        let source = match (file, variable) {
            (Some(_), Some(_)) => return Err(MasterKeyError::Both),
            (Some(path), None) => KeySource::File(path.to_owned()),
            (None, Some(text)) => KeySource::Keys(Arc::new(parse_keys(text, "VMP_MASTER_KEY", ',')?)),
            (None, None) => KeySource::None,
        };
        source.load()?;
        Ok(source)
    }

    /// Whether any key is configured.
    pub fn is_some(&self) -> bool {
        !matches!(self, KeySource::None)
    }

    /// The keys, read now (the file is read each time).
    ///
    /// # Errors
    /// The file is unreadable, empty, or holds a key that does not parse.
    pub fn load(&self) -> Result<Arc<Vec<MasterKey>>, MasterKeyError> {
        match self {
            KeySource::None => Ok(Arc::new(Vec::new())),
            KeySource::Keys(keys) => Ok(Arc::clone(keys)),
            KeySource::File(path) => {
                let name = path.display().to_string();
                let text = SecretString::from(
                    std::fs::read_to_string(path)
                        .map_err(|e| MasterKeyError::Read { path: name.clone(), reason: e.to_string() })?,
                );
                Ok(Arc::new(parse_keys(text.expose_secret(), &name, '\n')?))
            }
        }
    }
}

/// Parses keys separated by `sep` (blank parts and `#` lines skipped).
fn parse_keys(text: &str, name: &str, sep: char) -> Result<Vec<MasterKey>, MasterKeyError> {
    let mut keys = Vec::new();
    for (n, part) in text.split(sep).enumerate() {
        let part = part.trim();
        if part.is_empty() || part.starts_with('#') {
            continue;
        }
        let at = if sep == '\n' { format!("{name} line {}", n + 1) } else { name.to_owned() };
        keys.push(MasterKey::parse(part, &at)?);
    }
    if keys.is_empty() {
        return Err(MasterKeyError::Empty(name.to_owned()));
    }
    Ok(keys)
}

/// A master key version the store knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVersion {
    /// 1, 2, …: the newest is the one new secrets are sealed under.
    pub version: i64,
    /// [`MasterKey::check`] of its key.
    pub check: String,
    /// When a rotation finished moving every secret off it (unix seconds).
    pub retired_at: Option<i64>,
}

/// Why a stored secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Sealed under a key version this instance has no key for.
    #[error("master key version {0} is not among this instance's master keys")]
    UnknownVersion(i64),
    /// The value does not open: wrong key, or the row was altered or moved.
    #[error("a stored secret does not decrypt under master key version {0} (wrong key or altered row)")]
    Tampered(i64),
    /// Not the sealed format.
    #[error("a stored secret is not in the sealed format")]
    Malformed,
    /// A clear value in a store whose secrets are encrypted.
    #[error("a stored secret is in clear although this store is encrypted")]
    Clear,
    /// Sealed, but this instance has no master key.
    #[error("this store's secrets are encrypted; give its master key with --master-key-file or VMP_MASTER_KEY")]
    NoKey,
    /// The key source failed when reloaded.
    #[error(transparent)]
    Key(#[from] MasterKeyError),
    /// The store is encrypted under a version none of the given keys is.
    #[error(
        "the master key does not match this store: its secrets are encrypted under master key version {version} \
         (check {check}), which is not among the given keys"
    )]
    WrongKey {
        /// The version missing.
        version: i64,
        /// The first 8 hex digits of its check value.
        check: String,
    },
    /// A store not yet encrypted got several keys: which one to use is unclear.
    #[error("this store is not encrypted yet: give exactly one master key to start with ({0} were given)")]
    SeveralFirstKeys(usize),
    /// The OS random source failed.
    #[error("random source failed")]
    Random,
}

/// What a secret protects: bound to its ciphertext as associated data.
#[derive(Debug, Clone, Copy)]
pub enum Binding<'a> {
    /// A merchant's secret (current or previous), by `user_confirm_key`.
    Merchant(&'a str),
    /// A gateway setting, by name.
    Setting(&'a str),
}

impl Binding<'_> {
    fn aad(self) -> Vec<u8> {
        let (kind, name) = match self {
            Binding::Merchant(k) => (&b"openvmp merchant secret\0"[..], k),
            Binding::Setting(n) => (&b"openvmp setting\0"[..], n),
        };
        [kind, name.as_bytes()].concat()
    }
}

/// A value as written to the store: sealed text, or the secret itself on a
/// store without master key. `Debug` never shows it.
pub struct Sealed {
    text: SecretString,
    /// The key version it is sealed under (0: clear).
    pub version: i64,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed(v{}, [REDACTED])", self.version)
    }
}

impl Sealed {
    /// The stored text.
    pub fn text(&self) -> &str {
        self.text.expose_secret()
    }
}

/// The version a stored value is sealed under (0: clear).
pub fn stored_version(stored: &str) -> Result<i64, VaultError> {
    let Some(rest) = stored.strip_prefix(SEALED_PREFIX) else { return Ok(0) };
    let (version, _) = rest.split_once(':').ok_or(VaultError::Malformed)?;
    version.parse().ok().filter(|v| *v > 0).ok_or(VaultError::Malformed)
}

#[derive(Default)]
struct Ring {
    source: KeySource,
    /// Version → key, for the versions this instance has.
    ciphers: HashMap<i64, Arc<XChaCha20Poly1305>>,
    /// The version new values are sealed under (0: clear).
    current: i64,
}

/// The keys of one instance and what it seals under. Shared by the store;
/// see the module docs.
#[derive(Default)]
pub struct Vault {
    ring: RwLock<Ring>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ring = self.read();
        f.debug_struct("Vault")
            .field("current", &ring.current)
            .field("versions", &ring.ciphers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Vault {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The version new values are sealed under (0: clear).
    pub fn current(&self) -> i64 {
        self.read().current
    }

    /// Whether this instance has the key of `version`.
    pub fn has_version(&self, version: i64) -> bool {
        self.read().ciphers.contains_key(&version)
    }

    /// Whether values are encrypted.
    pub fn is_encrypting(&self) -> bool {
        self.current() > 0
    }

    /// The configured source.
    pub fn source(&self) -> KeySource {
        self.read().source.clone()
    }

    /// Takes `source` and matches its keys to the store's `versions`: every
    /// version not retired must have its key (else [`VaultError::WrongKey`]);
    /// new values are sealed under the newest version. Keys matching no
    /// version are kept aside (a rotation's next key). Returns them.
    ///
    /// # Errors
    /// A key source that fails, a missing key, or a store without versions.
    pub fn install(&self, source: KeySource, versions: &[KeyVersion]) -> Result<Vec<MasterKey>, VaultError> {
        let keys = source.load()?;
        let (ciphers, current, unmatched) = match_keys(&keys, versions);
        for v in versions.iter().filter(|v| v.retired_at.is_none()) {
            if !ciphers.contains_key(&v.version) {
                return Err(VaultError::WrongKey { version: v.version, check: v.check.chars().take(8).collect() });
            }
        }
        let mut ring = self.ring.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        *ring = Ring { source, ciphers, current };
        Ok(unmatched)
    }

    /// Reads the key source again and matches it to `versions` (after
    /// another process registered a new version). Unlike [`Vault::install`],
    /// missing keys are not an error here; using them is.
    ///
    /// # Errors
    /// The key source fails.
    pub fn refresh(&self, versions: &[KeyVersion]) -> Result<(), VaultError> {
        let source = self.source();
        let keys = source.load()?;
        let (ciphers, current, _) = match_keys(&keys, versions);
        let mut ring = self.ring.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.ciphers = ciphers;
        ring.current = current;
        Ok(())
    }

    /// Seals `secret` for `binding` under the current version (stored as it
    /// is when there is no master key).
    ///
    /// # Errors
    /// The current version's key is missing, or the random source fails.
    pub fn seal(&self, secret: &str, binding: Binding<'_>) -> Result<Sealed, VaultError> {
        let (version, cipher) = {
            let ring = self.read();
            if ring.current == 0 {
                return Ok(Sealed { text: SecretString::from(secret.to_owned()), version: 0 });
            }
            let cipher = ring.ciphers.get(&ring.current).ok_or(VaultError::UnknownVersion(ring.current))?;
            (ring.current, Arc::clone(cipher))
        };
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| VaultError::Random)?;
        let aad = binding.aad();
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: secret.as_bytes(), aad: &aad })
            .map_err(|_| VaultError::Random)?;
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        let text = format!("{SEALED_PREFIX}{version}:{}", URL_SAFE_NO_PAD.encode(body));
        Ok(Sealed { text: SecretString::from(text), version })
    }

    /// Opens a stored value bound to `binding`.
    ///
    /// # Errors
    /// [`VaultError::UnknownVersion`] (the caller may refresh and retry),
    /// [`VaultError::Tampered`], [`VaultError::Malformed`],
    /// [`VaultError::Clear`] (clear value in an encrypted store),
    /// [`VaultError::NoKey`].
    pub fn open(&self, stored: &str, binding: Binding<'_>) -> Result<SecretString, VaultError> {
        let version = stored_version(stored)?;
        let ring = self.read();
        if version == 0 {
            return if ring.current == 0 { Ok(SecretString::from(stored.to_owned())) } else { Err(VaultError::Clear) };
        }
        if ring.current == 0 && ring.ciphers.is_empty() {
            return Err(VaultError::NoKey);
        }
        let cipher = ring.ciphers.get(&version).ok_or(VaultError::UnknownVersion(version))?;
        let encoded = stored[SEALED_PREFIX.len()..].split_once(':').map(|(_, b)| b).ok_or(VaultError::Malformed)?;
        let body = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| VaultError::Malformed)?;
        if body.len() < NONCE_LEN {
            return Err(VaultError::Malformed);
        }
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| VaultError::Malformed)?;
        let aad = binding.aad();
        let plain =
            cipher.decrypt(&nonce, Payload { msg: sealed, aad: &aad }).map_err(|_| VaultError::Tampered(version))?;
        let plain = SecretBox::new(plain.into_boxed_slice());
        let text = std::str::from_utf8(plain.expose_secret()).map_err(|_| VaultError::Tampered(version))?;
        Ok(SecretString::from(text.to_owned()))
    }
}

type Matched = (HashMap<i64, Arc<XChaCha20Poly1305>>, i64, Vec<MasterKey>);

/// Keys by the version whose check they match; the newest version (0 if
/// none); the keys that match no version.
fn match_keys(keys: &[MasterKey], versions: &[KeyVersion]) -> Matched {
    let mut ciphers = HashMap::new();
    let mut unmatched = Vec::new();
    for key in keys {
        let check = key.check();
        match versions.iter().find(|v| v.check == check) {
            Some(v) => {
                ciphers.insert(v.version, Arc::new(key.cipher()));
            }
            None => unmatched.push(key.duplicate()),
        }
    }
    let current = versions.iter().map(|v| v.version).max().unwrap_or(0);
    (ciphers, current, unmatched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault_with(keys: Vec<MasterKey>, versions: &[KeyVersion]) -> Vault {
        let vault = Vault::default();
        vault.install(KeySource::Keys(Arc::new(keys)), versions).unwrap();
        vault
    }

    fn version(v: i64, key: &MasterKey) -> KeyVersion {
        KeyVersion { version: v, check: key.check(), retired_at: None }
    }

    #[test]
    fn keys_parse_from_hex_or_base64_and_bad_ones_are_refused_with_one_line() {
        let hex_key = "00".repeat(32);
        let b64_key = STANDARD.encode([7u8; 32]);
        assert!(MasterKey::parse(&hex_key, "x").is_ok());
        assert!(MasterKey::parse(&format!(" {b64_key}\n"), "x").is_ok());
        let table = [
            ("00".repeat(31), "is 31 bytes"),
            (STANDARD.encode([1u8; 16]), "is 16 bytes"),
            ("not a key!".to_owned(), "neither"),
            (String::new(), "is 0 bytes"),
        ];
        for (text, says) in table {
            let e = MasterKey::parse(&text, "VMP_MASTER_KEY").unwrap_err().to_string();
            assert!(e.contains(says) && e.starts_with("VMP_MASTER_KEY"), "{text:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn debug_never_shows_a_key_or_a_secret() {
        let key = MasterKey::parse(&"ab".repeat(32), "x").unwrap();
        assert!(!format!("{key:?}").contains("abab"));
        let source = KeySource::Keys(Arc::new(vec![key]));
        assert!(!format!("{source:?}").contains("abab"));
        let vault = Vault::default();
        let sealed = vault.seal("clear-secret-value", Binding::Merchant("K")).unwrap();
        assert!(!format!("{sealed:?}").contains("clear-secret-value"));
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_binding() {
        let key = MasterKey::generate().unwrap();
        let versions = [version(1, &key)];
        let vault = vault_with(vec![key.duplicate()], &versions);
        let sealed = vault.seal("s3cret", Binding::Merchant("K1")).unwrap();
        assert_eq!(sealed.version, 1);
        assert!(sealed.text().starts_with("vmp-sealed:v1:") && !sealed.text().contains("s3cret"));
        assert_eq!(vault.open(sealed.text(), Binding::Merchant("K1")).unwrap().expose_secret(), "s3cret");
        // Two seals of one value differ (random nonce).
        assert_ne!(vault.seal("s3cret", Binding::Merchant("K1")).unwrap().text(), sealed.text());
        // Moved to another merchant or to a setting: refused.
        assert_eq!(vault.open(sealed.text(), Binding::Merchant("K2")).unwrap_err(), VaultError::Tampered(1));
        assert_eq!(vault.open(sealed.text(), Binding::Setting("K1")).unwrap_err(), VaultError::Tampered(1));
        // Another key under the same version number: refused.
        let other = MasterKey::generate().unwrap();
        let wrong = vault_with(vec![other.duplicate()], &[version(1, &other)]);
        assert_eq!(wrong.open(sealed.text(), Binding::Merchant("K1")).unwrap_err(), VaultError::Tampered(1));
        // A version this vault has no key for.
        let v2 = sealed.text().replacen("v1:", "v2:", 1);
        assert_eq!(vault.open(&v2, Binding::Merchant("K1")).unwrap_err(), VaultError::UnknownVersion(2));
        // Clear values are refused once the store is encrypted.
        assert_eq!(vault.open("plain", Binding::Merchant("K1")).unwrap_err(), VaultError::Clear);
        // A vault without keys stores and reads clear values, and cannot open sealed ones.
        let clear = Vault::default();
        assert_eq!(clear.seal("plain", Binding::Merchant("K1")).unwrap().text(), "plain");
        assert_eq!(clear.open("plain", Binding::Merchant("K1")).unwrap().expose_secret(), "plain");
        assert_eq!(clear.open(sealed.text(), Binding::Merchant("K1")).unwrap_err(), VaultError::NoKey);
    }

    #[test]
    fn install_refuses_a_ring_without_the_key_of_a_live_version() {
        let (k1, k2) = (MasterKey::generate().unwrap(), MasterKey::generate().unwrap());
        let versions = [version(1, &k1)];
        let vault = Vault::default();
        let e = vault.install(KeySource::Keys(Arc::new(vec![k2.duplicate()])), &versions);
        assert!(matches!(e, Err(VaultError::WrongKey { version: 1, .. })), "{e:?}");
        // A retired version's key may be missing; an extra key is handed back.
        let retired = [KeyVersion { retired_at: Some(5), ..version(1, &k1) }, version(2, &k2)];
        let ring = vec![k2.duplicate(), MasterKey::generate().unwrap()];
        let unmatched = vault.install(KeySource::Keys(Arc::new(ring)), &retired).unwrap();
        assert_eq!((vault.current(), unmatched.len()), (2, 1));
    }

    #[test]
    fn key_files_take_one_key_per_line_with_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let (k1, k2) = (MasterKey::generate().unwrap(), MasterKey::generate().unwrap());
        let text = format!("# old\n{}\n\n{}\n", k1.encoded().expose_secret(), hex::encode(k2.bytes.expose_secret()));
        std::fs::write(&path, text).unwrap();
        let keys = KeySource::from_options(Some(&path), None).unwrap().load().unwrap();
        assert_eq!(keys.iter().map(MasterKey::check).collect::<Vec<_>>(), [k1.check(), k2.check()]);
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(matches!(KeySource::from_options(Some(&path), None), Err(MasterKeyError::Empty(_))));
        std::fs::write(&path, format!("{}\nzz\n", k1.encoded().expose_secret())).unwrap();
        let e = KeySource::from_options(Some(&path), None).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        assert_eq!(KeySource::from_options(Some(&path), Some("x")).unwrap_err(), MasterKeyError::Both);
    }
}
