//! Validators shared by the provider block and the resources. Each returns a
//! user-facing sentence; callers attach it to the attribute path.

use url::{Host, Url};

/// Whether a URL's host is a loopback address (the emulator's), where plain
/// `http` is allowed.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `value` for messages, with any `user:password@` replaced by `***@`
/// (see [`shown_url`], which finds them with the URL parser).
pub(crate) fn redact_userinfo(value: &str) -> String {
    shown_url(value)
}

/// How a URL setting is quoted in messages. Credentials are found by the
/// URL parser, not in the text: `https:user:pw@host`, `https:/user:pw@host`
/// and `https:\\user:pw@host` all parse as `https://user:pw@host`, and none
/// has the `://` a text search looks for. A URL with credentials is shown
/// as parsed with them replaced by `***`; one that does not parse is shown
/// only up to a scheme when it has an `@` anywhere.
pub(crate) fn shown_url(original: &str) -> String {
    match Url::parse(original) {
        Ok(url) if !url.username().is_empty() || url.password().is_some() => {
            let mut clean = url.clone();
            let _ = clean.set_username("");
            let _ = clean.set_password(None);
            let text = clean.to_string();
            match text.split_once("//") {
                Some((scheme, rest)) => format!("{scheme}//***@{rest}"),
                None => "***".to_owned(),
            }
        }
        // `user:pw@host` parses with the scheme `user`: nothing of a URL
        // that is neither http nor https, with an `@`, is quoted.
        Ok(url) if original.contains('@') && !matches!(url.scheme(), "http" | "https") => {
            "***".to_owned()
        }
        Ok(_) => original.to_owned(),
        Err(_) if original.contains('@') => match original.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
            {
                format!("{scheme}:***")
            }
            _ => "***".to_owned(),
        },
        Err(_) => original.to_owned(),
    }
}

/// An absolute `https` URL (or `http` on a loopback host). The text is never
/// normalised: what the user wrote is what is sent. Messages never repeat
/// credentials embedded in it ([`shown_url`]).
pub(crate) fn https_url(original: &str) -> Result<Url, String> {
    let shown = shown_url(original);
    let value = shown.as_str();
    let url = Url::parse(original).map_err(|e| {
        format!("{value:?} is not an absolute URL ({e}). Write it in full, e.g. \"https://example.com\".")
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(format!(
                "{value:?} uses http. Only https is accepted, except for loopback hosts \
                 (localhost, 127.0.0.1, ::1) such as the local emulator."
            ));
        }
        // The "scheme" may be a user name (`user:pw@host`).
        _ if shown != original => {
            return Err(format!("{value:?} is not an https URL. Use an https URL."));
        }
        other => {
            return Err(format!(
                "{value:?} uses the scheme {other:?}. Use an https URL."
            ));
        }
    }
    if url.host().is_none() {
        return Err(format!("{value:?} has no host."));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{value:?} contains credentials. Remove the user:password@ part."
        ));
    }
    Ok(url)
}

/// Why a URL's host, written as an IP address, is not a public one that
/// OpenAI could fetch from: private, link-local, shared (CGNAT),
/// unspecified, multicast or documentation ranges, also when an IPv4 address
/// is written inside IPv6. Loopback is allowed (the emulator). Host names
/// are not resolved here, so a name that resolves to a private address is
/// left to the server.
pub(crate) fn non_public_ip(url: &Url) -> Option<&'static str> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    fn v4(ip: Ipv4Addr) -> Option<&'static str> {
        let [a, b, ..] = ip.octets();
        if ip.is_loopback() {
            None
        } else if ip.is_private() {
            Some("a private address")
        } else if ip.is_link_local() {
            Some("a link-local address (such as a cloud metadata service)")
        } else if a == 100 && (64..128).contains(&b) {
            Some("a shared (carrier-grade NAT) address")
        } else if ip.is_unspecified() || a == 0 {
            Some("an unspecified address")
        } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
            Some("a broadcast, multicast or reserved address")
        } else if ip.is_documentation() {
            Some("a documentation address")
        } else {
            None
        }
    }
    fn v6(ip: Ipv6Addr) -> Option<&'static str> {
        if let Some(mapped) = ip.to_ipv4_mapped() {
            return v4(mapped);
        }
        let first = ip.segments()[0];
        if ip.is_loopback() {
            None
        } else if ip.is_unspecified() {
            Some("an unspecified address")
        } else if first & 0xfe00 == 0xfc00 {
            Some("a private (unique local) address")
        } else if first & 0xffc0 == 0xfe80 {
            Some("a link-local address")
        } else if ip.is_multicast() {
            Some("a multicast address")
        } else {
            None
        }
    }
    match url.host()? {
        Host::Ipv4(ip) => v4(ip),
        Host::Ipv6(ip) => v6(ip),
        Host::Domain(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_are_never_quoted_however_the_url_is_spelt() {
        for (url, why) in [
            (
                "https:admin:hunter2@api.example.com/v1",
                "contains credentials",
            ),
            (
                "https:/admin:hunter2@api.example.com/v1",
                "contains credentials",
            ),
            (
                "https:\\\\admin:hunter2@api.example.com/v1",
                "contains credentials",
            ),
            (
                "https://admin:hunter2@api.example.com/v1",
                "contains credentials",
            ),
            ("http:admin:hunter2@api.example.com/v1", "uses http"),
            ("http:/admin:hunter2@api.example.com/v1", "uses http"),
            ("http:\\\\admin:hunter2@api.example.com/v1", "uses http"),
            (
                "ftp:admin:hunter2@api.example.com/v1",
                "is not an https URL",
            ),
            ("https://admin:hunter2@", "is not an absolute URL"),
            ("admin:hunter2@api.example.com", "is not an https URL"),
        ] {
            let e = super::https_url(url).unwrap_err();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains("hunter2"), "{url}: {e}");
            assert!(!e.contains("admin:"), "{url}: {e}");
        }
        let e = super::https_url("http:/u:p@example.com/v1").unwrap_err();
        assert!(e.contains("\"http://***@example.com/v1\""), "{e}");
        // Messages that quote a value which is no URL at all (white space).
        for text in ["https:u:hunter2@host x", "https://u:hunter2@host x"] {
            let shown = super::redact_userinfo(text);
            assert!(!shown.contains("hunter2"), "{text}: {shown}");
        }
        // Without credentials, the text is quoted as written.
        let e = super::https_url("http:/example.com/v1").unwrap_err();
        assert!(e.contains("\"http:/example.com/v1\""), "{e}");
    }

    #[test]
    fn non_public_ips_are_named_and_public_ones_and_names_pass() {
        let check = |u: &str| super::non_public_ip(&url::Url::parse(u).unwrap());
        for u in [
            "https://10.0.0.1/x",
            "https://172.16.5.4/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://[fe80::1]/x",
            "https://[fd00::1]/x",
            "https://[::]/x",
        ] {
            assert!(check(u).is_some(), "{u}");
        }
        for u in [
            "https://8.8.8.8/x",
            "https://127.0.0.1:8089/x",
            "https://[::1]/x",
            "https://[2001:4860::8888]/x",
            "https://example.com/x",
        ] {
            assert_eq!(check(u), None, "{u}");
        }
    }

    use super::*;

    #[test]
    fn https_and_loopback_http_are_accepted() {
        assert!(https_url("https://api.openai.com/v1").is_ok());
        assert!(https_url("http://127.0.0.1:8080/v1").is_ok());
        assert!(https_url("http://localhost:1/v1").is_ok());
        assert!(https_url("http://[::1]:1/v1").is_ok());
    }

    #[test]
    fn other_urls_are_refused_with_a_reason() {
        assert!(
            https_url("http://api.openai.com/v1")
                .unwrap_err()
                .contains("uses http")
        );
        assert!(https_url("ftp://x").unwrap_err().contains("scheme"));
        assert!(
            https_url("api.openai.com")
                .unwrap_err()
                .contains("not an absolute URL")
        );
        assert!(
            https_url("https://u:p@x.com")
                .unwrap_err()
                .contains("credentials")
        );
        // Credentials are never echoed, whatever else is wrong.
        for bad in [
            "https://u:hunter2@x.com",
            "ftp://u:hunter2@x.com",
            "http://u:hunter2@x.com/v1",
        ] {
            let e = https_url(bad).unwrap_err();
            assert!(!e.contains("hunter2"), "{e}");
            assert!(e.contains("***@x.com"), "{e}");
        }
        // A private address is not loopback.
        assert!(https_url("http://10.0.0.1/v1").is_err());
    }
}
