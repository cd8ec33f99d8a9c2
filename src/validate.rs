//! Validators shared by the provider block and the resources. Each returns a
//! user-facing sentence; callers attach it to the attribute path.

use url::{Host, Url};

/// Whether a URL's host is a loopback address (the emulator's), where plain
/// `http` is allowed.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// An absolute `https` URL (or `http` on a loopback host). The text is never
/// normalised: what the user wrote is what is sent.
pub fn https_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| {
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

#[cfg(test)]
mod tests {
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
        // A private address is not loopback.
        assert!(https_url("http://10.0.0.1/v1").is_err());
    }
}
