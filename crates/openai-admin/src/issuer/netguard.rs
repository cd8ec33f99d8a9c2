//! Where OIDC discovery documents and JWKS may be fetched from: public
//! addresses only, checked on every address a host name resolves to, right
//! before connecting (so a name that resolves to a private address, or that
//! changes between check and use, is refused too). Loopback is allowed only
//! when the caller says so (the emulator's `allow_loopback_key_fetch`, the
//! provider's test override), as tests and the emulator's built-in issuer
//! need it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why `ip` is not a public unicast address, or `None` when it is.
/// IPv4 written inside IPv6 (mapped, compatible, NAT64 well-known prefix) is
/// judged as the IPv4 address it carries.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if a == 0 || ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("an unspecified, broadcast, multicast or reserved address")
    } else if ip.is_documentation() || (a == 198 && (b & 0xfe) == 18) || (a == 192 && b == 0) {
        Some("a documentation, benchmarking or protocol address")
    } else {
        None
    }
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated) and the NAT64 prefix 64:ff9b::/96.
    if (s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified())
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        let o = ip.octets();
        return non_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if s[0] & 0xfe00 == 0xfc00 {
        Some("a private (unique local) address")
    } else if s[0] & 0xffc0 == 0xfe80 || s[0] & 0xffc0 == 0xfec0 {
        Some("a link-local or site-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if s[0] == 0x2001 && s[1] == 0xdb8 {
        Some("a documentation address")
    } else {
        None
    }
}

/// Whether a key fetch may connect to `ip`.
pub fn allowed(ip: IpAddr, allow_loopback: bool) -> Result<(), &'static str> {
    let loopback = match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
    };
    if loopback && allow_loopback {
        return Ok(());
    }
    non_public(ip).map_or(Ok(()), Err)
}

/// The host of `url` when it is an IP literal (reqwest does not resolve
/// those, so [`GuardedResolver`] never sees them).
pub fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// A DNS resolver for reqwest that drops every address a key fetch may not
/// connect to, and fails when none is left.
pub struct GuardedResolver {
    pub allow_loopback: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allowed(a.ip(), allow_loopback).is_ok())
                .collect();
            if kept.is_empty() {
                let why = found
                    .first()
                    .and_then(|a| allowed(a.ip(), allow_loopback).err())
                    .unwrap_or("no address");
                return Err(format!(
                    "{host} resolves to {why}, which OpenAI does not fetch keys from"
                )
                .into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

impl GuardedResolver {
    pub fn shared(allow_loopback: bool) -> Arc<Self> {
        Arc::new(GuardedResolver { allow_loopback })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused_in_every_spelling() {
        for bad in [
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "fe80::1",
            "fec0::1",
            "fd00::1",
            "fc00::1",
            "::",
            "ff02::1",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(allowed(ip, true).is_err(), "{bad}");
        }
        for good in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(allowed(good.parse().unwrap(), false).is_ok(), "{good}");
        }
    }

    #[test]
    fn loopback_only_when_allowed() {
        for lo in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = lo.parse().unwrap();
            assert!(allowed(ip, true).is_ok(), "{lo}");
            assert!(allowed(ip, false).is_err(), "{lo}");
        }
    }
}
