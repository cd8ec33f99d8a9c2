//! The slice of the process environment the go-plugin handshake reads.
//!
//! Captured once so the transport can be driven from tests with an explicit
//! environment, and so nothing unrelated (API keys, tokens) is ever held or
//! printed by this module.

use std::collections::BTreeMap;
use std::fmt;

/// Terraform sets this to [`MAGIC_COOKIE_VALUE`](super::MAGIC_COOKIE_VALUE).
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Comma-separated app protocol versions the host speaks, e.g. `5,6`.
pub const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";
/// PEM client certificate; present exactly when the host wants AutoMTLS.
pub const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";
/// Directory for the unix socket, when the host wants to choose it.
pub const UNIX_SOCKET_DIR_KEY: &str = "PLUGIN_UNIX_SOCKET_DIR";
/// Inclusive TCP port range (only used on the TCP listener path).
pub const MIN_PORT_KEY: &str = "PLUGIN_MIN_PORT";
pub const MAX_PORT_KEY: &str = "PLUGIN_MAX_PORT";

const KEYS: [&str; 6] = [
    MAGIC_COOKIE_KEY,
    PROTOCOL_VERSIONS_KEY,
    CLIENT_CERT_KEY,
    UNIX_SOCKET_DIR_KEY,
    MIN_PORT_KEY,
    MAX_PORT_KEY,
];

/// go-plugin environment variables, by name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PluginEnv {
    vars: BTreeMap<String, String>,
}

impl PluginEnv {
    /// Reads the go-plugin variables from the current process environment.
    /// Variables that are not valid UTF-8 are treated as unset.
    pub fn from_process() -> Self {
        KEYS.iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v)))
            .collect()
    }

    /// The value of `key`, if set. An empty value counts as unset, as in go-plugin.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for PluginEnv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        PluginEnv {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

// Names only: values are long (a PEM cert) and need not end up in logs.
impl fmt::Debug for PluginEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_unset() {
        let env: PluginEnv = [(CLIENT_CERT_KEY, ""), (PROTOCOL_VERSIONS_KEY, "6")]
            .into_iter()
            .collect();
        assert_eq!(env.get(CLIENT_CERT_KEY), None);
        assert_eq!(env.get(PROTOCOL_VERSIONS_KEY), Some("6"));
        assert_eq!(env.get(MAGIC_COOKIE_KEY), None);
    }

    #[test]
    fn debug_shows_names_not_values() {
        let env: PluginEnv = [(CLIENT_CERT_KEY, "-----BEGIN CERTIFICATE-----")]
            .into_iter()
            .collect();
        let shown = format!("{env:?}");
        assert!(shown.contains(CLIENT_CERT_KEY));
        assert!(!shown.contains("BEGIN"));
    }
}
