//! go-plugin AutoMTLS, server side.
//!
//! Terraform generates a throwaway client certificate (ECDSA P-521, CA:TRUE),
//! hands it over in `PLUGIN_CLIENT_CERT`, and trusts whatever server
//! certificate we print on the handshake line. We answer with a fresh
//! self-signed certificate and accept exactly Terraform's certificate back.
//!
//! The client certificate is pinned by byte comparison instead of webpki path
//! validation because webpki refuses a CA certificate used as an end entity;
//! the pin is the stronger check anyway (only our parent knows the key).

use std::sync::Arc;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SerialNumber,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName as TlsName, ServerConfig,
    SignatureScheme,
};
use time::{Duration, OffsetDateTime};

use super::TransportError;

/// Server-side TLS material for one plugin process.
pub(crate) struct AutoMtls {
    pub(crate) config: Arc<ServerConfig>,
    /// Our leaf certificate, for field 6 of the handshake line.
    pub(crate) server_cert_der: CertificateDer<'static>,
}

/// Builds the TLS configuration that requires the certificate in `client_cert_pem`.
pub(crate) fn auto_mtls(client_cert_pem: &str) -> Result<AutoMtls, TransportError> {
    let client_cert = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
        .map_err(|e| TransportError::ClientCert(e.to_string()))?;
    let (server_cert_der, key) = server_identity()?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = PinnedClientCert::new(client_cert, &provider);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TransportError::Tls)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![server_cert_der.clone()], key)
        .map_err(TransportError::Tls)?;
    // grpc-go (>= 1.67) refuses TLS servers that do not negotiate h2.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(AutoMtls {
        config: Arc::new(config),
        server_cert_der,
    })
}

/// A fresh self-signed leaf that Go's client accepts when it is its own root:
/// SAN `localhost` (Go matches SANs only), EKU serverAuth, valid from a little
/// in the past to tolerate clock skew. Not a CA, so rustls clients in tests can
/// pin it as a trust anchor as well.
fn server_identity() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TransportError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(TransportError::ServerCert)?;
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned()]).map_err(TransportError::ServerCert)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "localhost");
    name.push(DnType::OrganizationName, "tfplugin");
    params.distinguished_name = name;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(365);
    params.serial_number = Some(SerialNumber::from_slice(&rand::random::<[u8; 16]>()));
    let cert = params
        .self_signed(&key)
        .map_err(TransportError::ServerCert)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((cert.der().clone(), key))
}

/// Accepts only a client presenting exactly the expected certificate.
#[derive(Debug)]
pub(crate) struct PinnedClientCert {
    expected: CertificateDer<'static>,
    // aws-lc-rs verifies P-521 (Terraform's key type); ring-based lists do not.
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    pub(crate) fn new(expected: CertificateDer<'static>, provider: &CryptoProvider) -> Self {
        PinnedClientCert {
            expected,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    // No CA names: Terraform's cert is self-issued and Go picks it regardless.
    fn root_hint_subjects(&self) -> &[TlsName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!(
                "refused a TLS client whose certificate is not the one Terraform announced"
            );
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    // Advertised in CertificateRequest; Go only sends a certificate whose key
    // can sign with one of these, so P-521 must be listed.
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> CryptoProvider {
        rustls::crypto::aws_lc_rs::default_provider()
    }

    #[test]
    fn advertises_p521_and_requires_a_certificate() {
        let (cert, _) = server_identity().unwrap();
        let v = PinnedClientCert::new(cert, &provider());
        assert!(v.client_auth_mandatory());
        assert!(v.root_hint_subjects().is_empty());
        assert!(
            v.supported_verify_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
    }

    #[test]
    fn accepts_only_the_pinned_certificate() {
        let (pinned, _) = server_identity().unwrap();
        let (other, _) = server_identity().unwrap();
        let v = PinnedClientCert::new(pinned.clone(), &provider());
        let now = UnixTime::now();
        assert!(v.verify_client_cert(&pinned, &[], now).is_ok());
        assert!(v.verify_client_cert(&other, &[], now).is_err());
    }

    #[test]
    fn rejects_client_cert_env_without_pem() {
        let err = auto_mtls("not a certificate").err().unwrap();
        assert!(matches!(err, TransportError::ClientCert(_)), "{err}");
    }

    #[test]
    fn server_config_negotiates_h2_only() {
        let (cert, _) = server_identity().unwrap();
        let pem = pem_of(&cert);
        let tls = auto_mtls(&pem).unwrap();
        assert_eq!(tls.config.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(!tls.server_cert_der.is_empty());
    }

    fn pem_of(der: &CertificateDer<'_>) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let body: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            body.join("\n")
        )
    }
}
