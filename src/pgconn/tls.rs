//! The rustls side of a PostgreSQL connection, with libpq's rules: which root certificates, which
//! client certificate and key (and whether the key file is safe), and a verifier that checks what
//! the `sslmode` asks for and remembers why it refused a certificate, for the error message.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where trust comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// `sslrootcert=system`: the operating system's store.
    System,
    /// A PEM file (the URL's, `PGSSLROOTCERT`, or `~/.postgresql/root.crt`).
    File(PathBuf),
}

impl RootSource {
    pub fn describe(&self) -> String {
        match self {
            RootSource::System => "the system trust store (sslrootcert=system)".into(),
            RootSource::File(p) => format!("sslrootcert {}", p.display()),
        }
    }
}

/// Why a handshake's certificate was refused: the rustls error and the certificate itself.
pub type Rejection = Arc<Mutex<Option<(rustls::Error, Vec<u8>)>>>;

/// A file problem, already in words (the caller adds the URL).
pub type FileError = String;

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Trust anchors from `source`; `Ok(None)` when the file does not exist (libpq then verifies
/// nothing, unless the sslmode is verify-ca or verify-full).
pub fn load_roots(source: &RootSource) -> Result<Option<RootCertStore>, FileError> {
    let mut store = RootCertStore::empty();
    match source {
        RootSource::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(
                    "sslrootcert=system found no certificates in the system trust store; install \
                     ca-certificates or set SSL_CERT_FILE to a CA bundle"
                        .into(),
                );
            }
        }
        RootSource::File(p) => {
            if !p.exists() {
                return Ok(None);
            }
            let certs = CertificateDer::pem_file_iter(p)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    format!("cannot read the root certificate file {}: {e}", p.display())
                })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "the root certificate file {} holds no PEM certificate",
                    p.display()
                ));
            }
        }
    }
    Ok(Some(store))
}

/// A client certificate chain and its key.
pub struct ClientAuth {
    pub certs: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// libpq's rule: a certificate file that does not exist means no client certificate; once there
/// is one, its key must exist, be a regular file and not be readable by group or others.
pub fn load_client_auth(cert: &Path, key: &Path) -> Result<Option<ClientAuth>, FileError> {
    if !cert.exists() {
        return Ok(None);
    }
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the client certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "the client certificate file {} holds no PEM certificate",
            cert.display()
        ));
    }
    let meta = std::fs::metadata(key).map_err(|_| {
        format!(
            "client certificate {} is present but its private key {} does not exist; set sslkey \
             (PGSSLKEY) to the key file",
            cert.display(),
            key.display()
        )
    })?;
    check_key_mode(key, &meta)?;
    let text = std::fs::read(key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    if String::from_utf8_lossy(&text).contains("ENCRYPTED") {
        return Err(format!(
            "the private key {} is encrypted, which vannactl cannot use; store it decrypted \
             (`openssl pkey -in KEY -out KEY.plain`, mode 0600)",
            key.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&text).map_err(|_| {
        format!(
            "the private key file {} holds no PEM private key",
            key.display()
        )
    })?;
    Ok(Some(ClientAuth { certs, key }))
}

/// libpq refuses a key others could read: mode 0600 or less when the current user owns it, 0640
/// or less when root owns it (a key shared through a group), any other owner refused.
fn check_key_mode(key: &Path, meta: &std::fs::Metadata) -> Result<(), FileError> {
    if !meta.is_file() {
        return Err(format!(
            "the private key {} is not a regular file",
            key.display()
        ));
    }
    let mode = meta.mode() & 0o777;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let unsafe_mode = if meta.uid() == me {
        mode & 0o077 != 0
    } else if meta.uid() == 0 {
        mode & 0o037 != 0
    } else {
        return Err(format!(
            "the private key {} must be owned by the current user or root",
            key.display()
        ));
    };
    if unsafe_mode {
        return Err(format!(
            "the private key {} has group or world access (mode {mode:04o}); run `chmod 600 {}` \
             (0640 is allowed when root owns it)",
            key.display(),
            key.display()
        ));
    }
    Ok(())
}

/// What the verifier checks: nothing (libpq's require/prefer/allow without a root certificate),
/// the chain (verify-ca, or a root certificate present), or the chain and the host name.
pub struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
    rejected: Rejection,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("chain", &self.chain.is_some())
            .field("check_name", &self.check_name)
            .finish()
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Ok(v) => Ok(v),
            // webpki checks the name only after the chain, so a name error means a trusted chain.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(e) => {
                *self.rejected.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((e.clone(), end_entity.to_vec()));
                Err(e)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls configuration for one connection attempt. `roots`: None verifies nothing.
pub fn client_config(
    roots: Option<RootCertStore>,
    check_name: bool,
    client: Option<ClientAuth>,
    rejected: Rejection,
) -> Result<ClientConfig, String> {
    let provider = provider();
    let chain = match roots {
        Some(r) => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(r), provider.clone())
                .build()
                .map_err(|e| format!("cannot use the root certificates: {e}"))?,
        ),
        None => None,
    };
    let verifier = Arc::new(Verifier {
        chain,
        check_name,
        provider: provider.clone(),
        rejected,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match client {
        Some(c) => builder
            .with_client_auth_cert(c.certs, c.key)
            .map_err(|e| format!("the client certificate and key do not form a pair: {e}")),
        None => Ok(builder.with_no_client_auth()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn key_at(d: &Path, mode: u32) -> PathBuf {
        let p = d.join("client.key");
        std::fs::write(&p, "not read before the mode check").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn key_readable_by_others_is_refused_before_it_is_read() {
        let d = tempfile::tempdir().unwrap();
        let cert = d.path().join("client.crt");
        std::fs::write(&cert, crate::pgconn::cert::TEST_PEM).unwrap();
        let err = load_client_auth(&cert, &key_at(d.path(), 0o644))
            .err()
            .unwrap();
        assert!(err.contains("group or world access (mode 0644)"), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains("not read before"), "{err}");
        // 0600 passes the mode check and fails only on the content.
        let err = load_client_auth(&cert, &key_at(d.path(), 0o600))
            .err()
            .unwrap();
        assert!(err.contains("holds no PEM private key"), "{err}");
    }

    #[test]
    fn missing_key_and_missing_certificate() {
        let d = tempfile::tempdir().unwrap();
        let cert = d.path().join("client.crt");
        // No certificate file: no client certificate at all, as libpq.
        assert!(load_client_auth(&cert, &d.path().join("nope.key"))
            .unwrap()
            .is_none());
        std::fs::write(&cert, crate::pgconn::cert::TEST_PEM).unwrap();
        let err = load_client_auth(&cert, &d.path().join("nope.key"))
            .err()
            .unwrap();
        assert!(err.contains("its private key"), "{err}");
        assert!(err.contains("nope.key does not exist"), "{err}");
    }

    #[test]
    fn root_file_absent_empty_or_valid() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("root.crt");
        assert!(load_roots(&RootSource::File(p.clone())).unwrap().is_none());
        std::fs::write(&p, "no pem here").unwrap();
        let err = load_roots(&RootSource::File(p.clone())).err().unwrap();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        std::fs::write(&p, crate::pgconn::cert::TEST_PEM).unwrap();
        assert_eq!(load_roots(&RootSource::File(p)).unwrap().unwrap().len(), 1);
    }
}
