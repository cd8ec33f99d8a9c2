//! End-to-end checks of the plugin transport, in process: a server bound the
//! way Terraform launches it, and clients that behave like go-plugin's host
//! (and like intruders).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use futures_util::stream;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P521_SHA512,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tfplugin::plugin::{
    CLIENT_CERT_KEY, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, Network, PROTOCOL_VERSIONS_KEY,
    PluginEnv, PluginServer, TransportError, UNIX_SOCKET_DIR_KEY,
};
use tfplugin::proto::plugin::Empty;
use tfplugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use tfplugin::proto::plugin::grpc_stdio_client::GrpcStdioClient;
use tfplugin::proto::tfplugin6 as tf;
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tower::service_fn;

const ADDRESS: &str = "registry.terraform.io/example/example";

/// Upper bound for "the server stops"; only there so a regression fails
/// instead of hanging the test run.
const STOP_BOUND: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// A provider that implements nothing: the transport must not care.

struct StubProvider;

type NoItems<T> = stream::Empty<Result<T, Status>>;

macro_rules! stub_provider {
    ($($method:ident => $module:ident;)*) => {
        #[tonic::async_trait]
        impl tf::provider_server::Provider for StubProvider {
            $(
                async fn $method(
                    &self,
                    _: Request<tf::$module::Request>,
                ) -> Result<Response<tf::$module::Response>, Status> {
                    Err(Status::unimplemented(concat!("stub: ", stringify!($method))))
                }
            )*

            type ListResourceStream = NoItems<tf::list_resource::Event>;
            async fn list_resource(
                &self,
                _: Request<tf::list_resource::Request>,
            ) -> Result<Response<Self::ListResourceStream>, Status> {
                Err(Status::unimplemented("stub: list_resource"))
            }

            type ReadStateBytesStream = NoItems<tf::read_state_bytes::Response>;
            async fn read_state_bytes(
                &self,
                _: Request<tf::read_state_bytes::Request>,
            ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
                Err(Status::unimplemented("stub: read_state_bytes"))
            }

            async fn write_state_bytes(
                &self,
                _: Request<Streaming<tf::write_state_bytes::RequestChunk>>,
            ) -> Result<Response<tf::write_state_bytes::Response>, Status> {
                Err(Status::unimplemented("stub: write_state_bytes"))
            }

            type InvokeActionStream = NoItems<tf::invoke_action::Event>;
            async fn invoke_action(
                &self,
                _: Request<tf::invoke_action::Request>,
            ) -> Result<Response<Self::InvokeActionStream>, Status> {
                Err(Status::unimplemented("stub: invoke_action"))
            }
        }
    };
}

stub_provider! {
    get_metadata => get_metadata;
    get_provider_schema => get_provider_schema;
    validate_provider_config => validate_provider_config;
    validate_resource_config => validate_resource_config;
    validate_data_resource_config => validate_data_resource_config;
    upgrade_resource_state => upgrade_resource_state;
    get_resource_identity_schemas => get_resource_identity_schemas;
    upgrade_resource_identity => upgrade_resource_identity;
    configure_provider => configure_provider;
    read_resource => read_resource;
    plan_resource_change => plan_resource_change;
    apply_resource_change => apply_resource_change;
    import_resource_state => import_resource_state;
    move_resource_state => move_resource_state;
    read_data_source => read_data_source;
    generate_resource_config => generate_resource_config;
    validate_ephemeral_resource_config => validate_ephemeral_resource_config;
    open_ephemeral_resource => open_ephemeral_resource;
    renew_ephemeral_resource => renew_ephemeral_resource;
    close_ephemeral_resource => close_ephemeral_resource;
    validate_list_resource_config => validate_list_resource_config;
    get_functions => get_functions;
    call_function => call_function;
    validate_state_store_config => validate_state_store;
    configure_state_store => configure_state_store;
    lock_state => lock_state;
    unlock_state => unlock_state;
    get_states => get_states;
    delete_state => delete_state;
    plan_action => plan_action;
    validate_action_config => validate_action_config;
    stop_provider => stop_provider;
}

// ---------------------------------------------------------------------------
// Host side helpers.

/// A client identity made the way go-plugin's `generateCert` makes Terraform's.
struct ClientIdentity {
    pem: String,
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

fn go_plugin_client_identity() -> ClientIdentity {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "localhost");
    name.push(DnType::OrganizationName, "HashiCorp");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::seconds(30);
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
    let cert = params.self_signed(&key).unwrap();
    ClientIdentity {
        pem: cert.pem(),
        der: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn managed_env(socket_dir: &Path, client_cert_pem: Option<&str>) -> PluginEnv {
    let mut vars = vec![
        (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE.to_owned()),
        (PROTOCOL_VERSIONS_KEY, "5,6".to_owned()),
        (UNIX_SOCKET_DIR_KEY, socket_dir.to_str().unwrap().to_owned()),
    ];
    if let Some(pem) = client_cert_pem {
        vars.push((CLIENT_CERT_KEY, pem.to_owned()));
    }
    vars.into_iter().collect()
}

/// The handshake line, parsed the way go-plugin's client does.
struct Handshake {
    socket: PathBuf,
    server_cert: Option<CertificateDer<'static>>,
}

fn parse_handshake(line: &str) -> Handshake {
    assert!(!line.contains('\n'), "one line only: {line:?}");
    let parts: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(parts.len(), 6, "six fields: {line}");
    assert_eq!(parts[0], "1", "core protocol");
    assert_eq!(parts[1], "6", "app protocol");
    assert_eq!(parts[2], "unix", "network");
    assert_eq!(parts[4], "grpc", "protocol");
    // go-plugin only parses certificates longer than 50 characters.
    let server_cert = (parts[5].len() > 50).then(|| {
        CertificateDer::from(
            STANDARD_NO_PAD
                .decode(parts[5])
                .expect("RawStdEncoding base64"),
        )
    });
    assert!(
        server_cert.is_some() || parts[5].is_empty(),
        "cert field: {}",
        parts[5]
    );
    Handshake {
        socket: PathBuf::from(parts[3]),
        server_cert,
    }
}

fn tls_client_config(
    server_cert: &CertificateDer<'static>,
    client: Option<&ClientIdentity>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(server_cert.clone()).unwrap();
    let builder = ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        Some(id) => builder
            .with_client_auth_cert(vec![id.der.clone()], id.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

async fn tls_connect(
    socket: &Path,
    config: Arc<ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<UnixStream>> {
    let tcp = UnixStream::connect(socket).await?;
    TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

async fn tls_channel(
    socket: &Path,
    config: Arc<ClientConfig>,
) -> Result<Channel, tonic::transport::Error> {
    let socket = socket.to_path_buf();
    // The URI is a placeholder: the connector decides where to dial, like go-plugin's "unused".
    Endpoint::from_static("http://unused")
        .connect_with_connector(service_fn(move |_: Uri| {
            let (socket, config) = (socket.clone(), config.clone());
            async move { tls_connect(&socket, config).await.map(TokioIo::new) }
        }))
        .await
}

async fn plain_channel(socket: &Path) -> Channel {
    let socket = socket.to_path_buf();
    Endpoint::from_static("http://unused")
        .connect_with_connector(service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { UnixStream::connect(socket).await.map(TokioIo::new) }
        }))
        .await
        .unwrap()
}

async fn health_of_plugin(channel: Channel) -> Result<i32, Status> {
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "plugin".into(),
        })
        .await?;
    Ok(reply.into_inner().status)
}

async fn shutdown_and_wait(channel: Channel, server: JoinHandle<Result<(), TransportError>>) {
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown RPC");
    tokio::time::timeout(STOP_BOUND, server)
        .await
        .expect("serve returns after Shutdown")
        .expect("server task")
        .expect("clean shutdown");
}

/// Binds like a Terraform-launched process and starts serving the stub.
async fn start_managed(
    socket_dir: &Path,
    client_cert_pem: Option<&str>,
) -> (Handshake, JoinHandle<Result<(), TransportError>>) {
    let env = managed_env(socket_dir, client_cert_pem);
    let server = PluginServer::bind_managed(&env, ADDRESS, Network::Unix)
        .await
        .unwrap();
    let handshake = parse_handshake(&server.handshake_line().to_string());
    let task = tokio::spawn(server.run(StubProvider, std::future::pending()));
    (handshake, task)
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn auto_mtls_with_terraforms_p521_ca_cert_serves_health_and_shuts_down() {
    let dir = tempfile::tempdir().unwrap();
    let client = go_plugin_client_identity();
    let (hs, server) = start_managed(dir.path(), Some(&client.pem)).await;
    assert_eq!(hs.socket.parent(), Some(dir.path()));
    let server_cert = hs
        .server_cert
        .expect("server cert on the handshake line under AutoMTLS");

    // grpc-go insists on ALPN h2; check what the server negotiates for TLS 1.3 and 1.2.
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        let config = tls_client_config(&server_cert, Some(&client), versions);
        let tls = tls_connect(&hs.socket, config)
            .await
            .expect("TLS handshake");
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    }

    let config = tls_client_config(&server_cert, Some(&client), rustls::ALL_VERSIONS);
    let channel = tls_channel(&hs.socket, config).await.expect("connect");
    assert_eq!(
        health_of_plugin(channel.clone())
            .await
            .expect("health check"),
        ServingStatus::Serving as i32
    );

    shutdown_and_wait(channel, server).await;
    assert!(!hs.socket.exists(), "socket removed after shutdown");
}

#[tokio::test]
async fn auto_mtls_refuses_clients_without_terraforms_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let client = go_plugin_client_identity();
    let stranger = go_plugin_client_identity();
    let (hs, server) = start_managed(dir.path(), Some(&client.pem)).await;
    let server_cert = hs.server_cert.clone().unwrap();

    for (who, identity) in [
        ("no certificate", None),
        ("another certificate", Some(&stranger)),
    ] {
        for versions in [
            &[&rustls::version::TLS13][..],
            &[&rustls::version::TLS12][..],
        ] {
            let config = tls_client_config(&server_cert, identity, versions);
            // With TLS 1.3 the client learns of the refusal only on its first read.
            let attempt = async {
                let channel = tls_channel(&hs.socket, config)
                    .await
                    .map_err(|e| e.to_string())?;
                health_of_plugin(channel).await.map_err(|e| e.to_string())
            };
            let outcome = attempt.await;
            assert!(
                outcome.is_err(),
                "{who} over {versions:?} was accepted: {outcome:?}"
            );
        }
    }

    // The refusals did not hurt the server: Terraform's own certificate still works.
    let config = tls_client_config(&server_cert, Some(&client), rustls::ALL_VERSIONS);
    let channel = tls_channel(&hs.socket, config).await.unwrap();
    assert_eq!(
        health_of_plugin(channel.clone()).await.unwrap(),
        ServingStatus::Serving as i32
    );
    shutdown_and_wait(channel, server).await;
}

#[tokio::test]
async fn plaintext_when_tls_is_disabled_routes_to_the_provider_with_large_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (hs, server) = start_managed(dir.path(), None).await;
    assert!(
        hs.server_cert.is_none(),
        "no cert field without PLUGIN_CLIENT_CERT"
    );

    let channel = plain_channel(&hs.socket).await;
    assert_eq!(
        health_of_plugin(channel.clone()).await.unwrap(),
        ServingStatus::Serving as i32
    );

    // Bigger than tonic's 4 MiB default decode limit: must reach the provider,
    // whose stub answers Unimplemented with its own message.
    let big = tf::validate_provider_config::Request {
        config: Some(tf::DynamicValue {
            msgpack: vec![0xc0; 6 * 1024 * 1024],
            json: vec![],
        }),
    };
    let err = ProviderClient::new(channel.clone())
        .validate_provider_config(big)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
    assert_eq!(err.message(), "stub: validate_provider_config");

    // go-plugin's stdio stream stays open and silent, then ends cleanly at shutdown.
    let mut stdio = GrpcStdioClient::new(channel.clone())
        .stream_stdio(())
        .await
        .unwrap()
        .into_inner();
    shutdown_and_wait(channel, server).await;
    let last = tokio::time::timeout(STOP_BOUND, stdio.message())
        .await
        .unwrap();
    assert!(matches!(last, Ok(None)), "stdio stream: {last:?}");
    assert!(!hs.socket.exists());
}

#[tokio::test]
async fn managed_mode_requires_the_magic_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let env: PluginEnv = [(UNIX_SOCKET_DIR_KEY, dir.path().to_str().unwrap())]
        .into_iter()
        .collect();
    let err = PluginServer::bind_managed(&env, ADDRESS, Network::Unix)
        .await
        .err()
        .expect("refused without cookie");
    assert!(
        matches!(err, TransportError::NotLaunchedByTerraform(_)),
        "{err}"
    );
    assert!(err.to_string().contains("dev_overrides"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no socket created before the cookie check"
    );
}

#[tokio::test]
async fn debug_mode_serves_plaintext_without_cookie_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let env: PluginEnv = [(UNIX_SOCKET_DIR_KEY, dir.path().to_str().unwrap())]
        .into_iter()
        .collect();
    let server = PluginServer::bind_debug(&env, Network::Unix).await.unwrap();
    let socket = PathBuf::from(server.address());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(StubProvider, async {
        let _ = stop_rx.await;
    }));

    let channel = plain_channel(&socket).await;
    assert_eq!(
        health_of_plugin(channel).await.unwrap(),
        ServingStatus::Serving as i32
    );

    stop_tx.send(()).unwrap();
    tokio::time::timeout(STOP_BOUND, task)
        .await
        .expect("run returns once stopped")
        .unwrap()
        .unwrap();
    assert!(!socket.exists());
}
