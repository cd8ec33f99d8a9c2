//! `--debug` (reattach) mode: the provider runs on its own, e.g. under a
//! debugger, and Terraform attaches to it through `TF_REATTACH_PROVIDERS`.

use serde_json::json;

use super::listener::Network;

/// The `TF_REATTACH_PROVIDERS` value for one provider.
///
/// `Test: true` matters: with it Terraform takes the protocol version from
/// `ProtocolVersion` and never kills the process; without it Terraform
/// assumes protocol 5.
pub fn reattach_config(
    provider_address: &str,
    network: Network,
    address: &str,
    pid: u32,
) -> String {
    json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": 6,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": network.to_string(), "String": address },
        }
    })
    .to_string()
}

/// What `--debug` prints on stdout once the server is listening.
pub fn debug_instructions(
    provider_address: &str,
    network: Network,
    address: &str,
    pid: u32,
) -> String {
    // POSIX single quotes; a quote inside (only possible in a path) is closed,
    // escaped and reopened.
    let config = reattach_config(provider_address, network, address, pid).replace('\'', r"'\''");
    format!(
        "Provider {provider_address} started in debug mode (pid {pid}).\n\
         To use it, run Terraform in a shell with this variable set:\n\
         \n\
         \tTF_REATTACH_PROVIDERS='{config}'\n\
         \n\
         Terraform will talk to this process instead of starting the provider itself.\n\
         Stop it with Ctrl-C.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reattach_json_matches_terraforms_expected_shape() {
        let got: serde_json::Value = serde_json::from_str(&reattach_config(
            "registry.terraform.io/example/example",
            Network::Unix,
            "/tmp/x/plugin.sock",
            4242,
        ))
        .unwrap();
        let want = serde_json::json!({
            "registry.terraform.io/example/example": {
                "Protocol": "grpc", "ProtocolVersion": 6, "Pid": 4242, "Test": true,
                "Addr": {"Network": "unix", "String": "/tmp/x/plugin.sock"}
            }
        });
        assert_eq!(got, want);
    }

    #[test]
    fn instructions_carry_a_shell_ready_assignment() {
        let text = debug_instructions("acme/foo", Network::Tcp, "127.0.0.1:1234", 7);
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("TF_REATTACH_PROVIDERS='"))
            .expect("assignment line");
        let json = line
            .trim_start()
            .strip_prefix("TF_REATTACH_PROVIDERS='")
            .and_then(|s| s.strip_suffix('\''))
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["acme/foo"]["Addr"]["Network"], "tcp");
        assert_eq!(v["acme/foo"]["Addr"]["String"], "127.0.0.1:1234");
    }
}
