//! Where the gateway may send notifications (SSRF protection).
//!
//! In production mode the gateway never connects to loopback, private,
//! link-local (including cloud metadata), carrier-grade NAT, multicast or
//! unspecified addresses, and merchant URLs use ports 80/443 unless the
//! merchant is allow-listed for another port (docs/protocol.md "Place an Order"). Checks
//! happen twice: on the URL when an order is placed (IP literals, ports),
//! and at connect time on every address a hostname resolves to, through a
//! resolver the HTTP client must use — so a DNS answer that changes later,
//! or points somewhere private from the start, is caught too. Redirects are
//! never followed. Sandbox mode allows everything (merchants test against
//! localhost).

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

/// Whether the gateway must refuse to connect to `ip` in production.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254 metadata)
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] == 0x64 && seg[1] == 0xff9b) // NAT64 64:ff9b::/96 can reach private IPv4
                || (seg[0] == 0x2002) // 6to4 embeds IPv4
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, incl. 169.254.169.254 metadata
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0 // 0.0.0.0/8 "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT 100.64/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments 192.0.0/24
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18/15
        || a >= 240 // reserved 240/4
}

/// Why a merchant URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    /// Not http(s).
    #[error("must be http or https")]
    Scheme,
    /// A port other than 80/443 that the merchant is not allow-listed for.
    #[error("port {0} needs approval; use 80 or 443")]
    Port(u16),
    /// An IP literal in a forbidden range.
    #[error("private, loopback or link-local address not allowed")]
    Address,
}

/// The production rules for a merchant URL, before any DNS lookup.
///
/// # Errors
/// [`UrlRefusal`] says which rule the URL breaks.
pub fn check_url(url: &url::Url, allowed_ports: &[u16]) -> Result<(), UrlRefusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlRefusal::Scheme);
    }
    let port = url.port_or_known_default().unwrap_or(0);
    if port != 80 && port != 443 && !allowed_ports.contains(&port) {
        return Err(UrlRefusal::Port(port));
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        _ => None,
    };
    if literal.is_some_and(is_forbidden) {
        return Err(UrlRefusal::Address);
    }
    Ok(())
}

/// A boxed lookup future.
pub type Lookup = Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;

/// Name resolution, injectable so tests can make any name resolve anywhere
/// without touching the network.
pub trait HostResolver: Send + Sync + 'static {
    /// Resolves `host`.
    fn lookup(&self, host: &str) -> Lookup;
}

/// The operating system's resolver.
#[derive(Debug, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn lookup(&self, host: &str) -> Lookup {
        let host = host.to_owned();
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    }
}

/// The connect-time guard's refusal: every address of `host` is forbidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedAddress {
    /// The host that resolved only to forbidden addresses.
    pub host: String,
}

impl fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blocked: {} resolves only to private, loopback or link-local addresses", self.host)
    }
}

impl std::error::Error for BlockedAddress {}

/// The resolver the notification client uses: looks names up with the
/// injected resolver and, when guarding, drops every forbidden address.
pub struct GuardedResolver {
    inner: Arc<dyn HostResolver>,
    guard: bool,
}

impl GuardedResolver {
    /// Guards (production) or passes through (sandbox).
    pub fn new(inner: Arc<dyn HostResolver>, guard: bool) -> Self {
        Self { inner, guard }
    }

    /// The guard's decision for `host`: the addresses it may connect to.
    ///
    /// # Errors
    /// The lookup's error, or [`BlockedAddress`] when nothing is left.
    pub async fn allowed_addrs(&self, host: &str) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let addrs = self.inner.lookup(host).await?;
        let allowed: Vec<SocketAddr> =
            if self.guard { addrs.into_iter().filter(|a| !is_forbidden(a.ip())).collect() } else { addrs };
        if allowed.is_empty() {
            return Err(Box::new(BlockedAddress { host: host.to_owned() }));
        }
        Ok(allowed)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let inner = Arc::clone(&self.inner);
        let guard = self.guard;
        Box::pin(async move {
            let me = GuardedResolver { inner, guard };
            let addrs = me.allowed_addrs(&host).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether an error chain contains the guard's refusal.
pub fn is_blocked(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        // Layers in between may re-box the error, which hides its type; its
        // message still says what it is.
        if e.is::<BlockedAddress>() || e.to_string().starts_with("blocked: ") {
            return true;
        }
        cur = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn forbidden_ranges() {
        let forbidden = [
            "127.0.0.1",
            "127.255.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "192.0.0.170",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "ff02::1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
        ];
        for ip in forbidden {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} must be forbidden");
        }
        let allowed =
            ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.169.0.1", "203.0.113.10", "2001:4860:4860::8888"];
        for ip in allowed {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} must be allowed");
        }
    }

    #[test]
    fn url_rules() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(check_url(&u("https://merchant.example/notify"), &[]), Ok(()));
        assert_eq!(check_url(&u("http://merchant.example:80/n"), &[]), Ok(()));
        assert_eq!(check_url(&u("https://merchant.example:8443/n"), &[]), Err(UrlRefusal::Port(8443)));
        assert_eq!(check_url(&u("https://merchant.example:8443/n"), &[8443]), Ok(()));
        assert_eq!(check_url(&u("http://127.0.0.1/n"), &[]), Err(UrlRefusal::Address));
        assert_eq!(check_url(&u("http://169.254.169.254/latest/meta-data"), &[]), Err(UrlRefusal::Address));
        assert_eq!(check_url(&u("http://[::1]/n"), &[]), Err(UrlRefusal::Address));
        assert_eq!(check_url(&u("http://[::ffff:192.168.0.1]/n"), &[]), Err(UrlRefusal::Address));
        assert_eq!(check_url(&u("http://10.0.0.1:8080/n"), &[8080]), Err(UrlRefusal::Address));
        assert_eq!(check_url(&u("ftp://merchant.example/n"), &[]), Err(UrlRefusal::Scheme));
    }

    struct Fixed(HashMap<&'static str, Vec<IpAddr>>);

    impl HostResolver for Fixed {
        fn lookup(&self, host: &str) -> Lookup {
            let found = self.0.get(host).cloned().unwrap_or_default();
            Box::pin(async move { Ok(found.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect()) })
        }
    }

    fn resolver() -> Arc<dyn HostResolver> {
        Arc::new(Fixed(HashMap::from([
            ("private.test", vec!["10.0.0.7".parse().unwrap()]),
            ("metadata.test", vec!["169.254.169.254".parse().unwrap()]),
            ("mixed.test", vec!["127.0.0.1".parse().unwrap(), "203.0.113.10".parse().unwrap()]),
            ("public.test", vec!["203.0.113.20".parse().unwrap()]),
        ])))
    }

    #[tokio::test]
    async fn the_connect_time_guard_drops_forbidden_addresses_of_any_name() {
        let guarded = GuardedResolver::new(resolver(), true);
        for host in ["private.test", "metadata.test", "unknown.test"] {
            let err = guarded.allowed_addrs(host).await.unwrap_err();
            assert!(is_blocked(err.as_ref()), "{host}: {err}");
        }
        let mixed = guarded.allowed_addrs("mixed.test").await.unwrap();
        assert_eq!(mixed, vec![SocketAddr::new("203.0.113.10".parse().unwrap(), 0)], "only the public address is kept");
        assert_eq!(guarded.allowed_addrs("public.test").await.unwrap().len(), 1);
        // Sandbox: no guard.
        let open = GuardedResolver::new(resolver(), false);
        assert_eq!(open.allowed_addrs("private.test").await.unwrap().len(), 1);
    }
}
