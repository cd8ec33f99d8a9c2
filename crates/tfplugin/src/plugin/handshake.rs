//! The go-plugin handshake: the magic cookie, app protocol negotiation and
//! the single line the plugin prints on stdout to tell the host where to dial.

use std::fmt;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::env::{MAGIC_COOKIE_KEY, PluginEnv};
use super::listener::Network;

/// The value Terraform puts in `TF_PLUGIN_MAGIC_COOKIE` for provider plugins.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// go-plugin's own protocol version (field 1 of the handshake line).
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// Terraform plugin protocol majors this server speaks, lowest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[u32] = &[6];

/// The binary was started without Terraform's magic cookie, most likely by
/// hand. Its `Display` is the explanation to print on stderr before exiting 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NotLaunchedByTerraform {
    /// Provider source address for the `dev_overrides` hint.
    pub provider_address: String,
    /// Directory holding this executable, if known, for the same hint.
    pub binary_dir: Option<PathBuf>,
}

impl fmt::Display for NotLaunchedByTerraform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self
            .binary_dir
            .as_deref()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "/path/to/the/directory/of/this/binary".to_owned());
        write!(
            f,
            "This binary is a Terraform/OpenTofu provider plugin ({addr}).\n\
             It is not meant to be run directly: Terraform starts it and talks to it over gRPC.\n\
             \n\
             To use a local build, point Terraform at it in your CLI configuration\n\
             (~/.terraformrc, or the file named by TF_CLI_CONFIG_FILE):\n\
             \n\
             \x20 provider_installation {{\n\
             \x20   dev_overrides {{\n\
             \x20     \"{addr}\" = \"{dir}\"\n\
             \x20   }}\n\
             \x20   direct {{}}\n\
             \x20 }}\n\
             \n\
             To attach a debugger, run it with --debug and set the TF_REATTACH_PROVIDERS\n\
             value it prints in the shell where you run Terraform.",
            addr = self.provider_address,
        )
    }
}

/// Fails unless `TF_PLUGIN_MAGIC_COOKIE` holds Terraform's provider cookie.
///
/// go-plugin uses the cookie only as a "were we started by a host?" check, so
/// a mismatch is reported the same way as a missing cookie.
pub fn check_magic_cookie(
    env: &PluginEnv,
    provider_address: &str,
) -> Result<(), NotLaunchedByTerraform> {
    if env.get(MAGIC_COOKIE_KEY) == Some(MAGIC_COOKIE_VALUE) {
        return Ok(());
    }
    Err(NotLaunchedByTerraform {
        provider_address: provider_address.to_owned(),
        binary_dir: std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(PathBuf::from)),
    })
}

/// Picks the app protocol version from the host's `PLUGIN_PROTOCOL_VERSIONS`.
///
/// Mirrors go-plugin: the highest offered version we support wins; when
/// nothing matches (or the list is absent), answer our lowest supported
/// version and let the host reject it with its own clear error.
pub fn negotiate_protocol_version(offered: Option<&str>) -> u32 {
    let lowest = SUPPORTED_PROTOCOL_VERSIONS[0];
    let Some(list) = offered else {
        return lowest;
    };
    let mut versions: Vec<u32> = list
        .split(',')
        .filter_map(|v| {
            let v = v.trim();
            match v.parse() {
                Ok(n) => Some(n),
                Err(_) => {
                    tracing::warn!(
                        value = v,
                        "ignoring malformed PLUGIN_PROTOCOL_VERSIONS entry"
                    );
                    None
                }
            }
        })
        .collect();
    versions.sort_unstable_by(|a, b| b.cmp(a));
    match versions
        .into_iter()
        .find(|v| SUPPORTED_PROTOCOL_VERSIONS.contains(v))
    {
        Some(v) => v,
        None => {
            tracing::warn!(
                offered = list,
                supported = ?SUPPORTED_PROTOCOL_VERSIONS,
                "host offers no protocol version this provider supports"
            );
            lowest
        }
    }
}

/// The line a go-plugin server prints on stdout once it is listening:
/// `CORE|APP|NETWORK|ADDRESS|grpc|SERVER_CERT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeLine {
    pub app_protocol_version: u32,
    pub network: Network,
    pub address: String,
    /// DER of the server's leaf certificate under AutoMTLS; `None` for plaintext.
    pub server_cert_der: Option<Vec<u8>>,
}

impl fmt::Display for HandshakeLine {
    // No trailing newline: the writer adds it, then must flush.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Go decodes field 6 with RawStdEncoding: standard alphabet, no padding.
        let cert = self
            .server_cert_der
            .as_deref()
            .map(|der| STANDARD_NO_PAD.encode(der))
            .unwrap_or_default();
        write!(
            f,
            "{CORE_PROTOCOL_VERSION}|{}|{}|{}|grpc|{cert}",
            self.app_protocol_version, self.network, self.address
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_six_from_terraform_lists_in_any_order() {
        assert_eq!(negotiate_protocol_version(Some("5,6")), 6);
        assert_eq!(negotiate_protocol_version(Some("6,5")), 6);
        assert_eq!(negotiate_protocol_version(Some(" 6 ")), 6);
        assert_eq!(negotiate_protocol_version(Some("junk,6")), 6);
        assert_eq!(negotiate_protocol_version(Some("7,6,5")), 6);
    }

    #[test]
    fn negotiation_falls_back_to_lowest_supported_when_nothing_matches() {
        assert_eq!(negotiate_protocol_version(Some("5")), 6);
        assert_eq!(negotiate_protocol_version(Some("")), 6);
        assert_eq!(negotiate_protocol_version(None), 6);
    }

    #[test]
    fn plaintext_unix_line_has_empty_cert_field() {
        let line = HandshakeLine {
            app_protocol_version: 6,
            network: Network::Unix,
            address: "/tmp/plugin123".into(),
            server_cert_der: None,
        };
        assert_eq!(line.to_string(), "1|6|unix|/tmp/plugin123|grpc|");
    }

    #[test]
    fn tls_tcp_line_carries_unpadded_standard_base64_der() {
        // 4 bytes encode to 6 chars + "==" with padding; Go's RawStdEncoding needs none.
        let line = HandshakeLine {
            app_protocol_version: 6,
            network: Network::Tcp,
            address: "127.0.0.1:10000".into(),
            server_cert_der: Some(vec![0xfb, 0xff, 0x00, 0x01]),
        };
        assert_eq!(line.to_string(), "1|6|tcp|127.0.0.1:10000|grpc|+/8AAQ");
    }

    #[test]
    fn cookie_must_match_exactly() {
        let good: PluginEnv = [(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)]
            .into_iter()
            .collect();
        assert!(check_magic_cookie(&good, "registry.terraform.io/example/example").is_ok());

        let wrong: PluginEnv = [(MAGIC_COOKIE_KEY, "nope")].into_iter().collect();
        assert!(check_magic_cookie(&wrong, "x/y").is_err());
        assert!(check_magic_cookie(&PluginEnv::default(), "x/y").is_err());
    }

    #[test]
    fn missing_cookie_explains_dev_overrides_and_debug() {
        let err = check_magic_cookie(
            &PluginEnv::default(),
            "registry.terraform.io/example/example",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("Terraform"), "{msg}");
        assert!(msg.contains("dev_overrides"), "{msg}");
        assert!(
            msg.contains("\"registry.terraform.io/example/example\" = \""),
            "{msg}"
        );
        assert!(msg.contains("--debug"), "{msg}");
        assert!(msg.contains("TF_REATTACH_PROVIDERS"), "{msg}");
    }
}
