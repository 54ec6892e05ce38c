//! What a TLS error message needs from a certificate: issuer and subject common names, the names
//! it is valid for (subjectAltName DNS names and IP addresses) and its expiry. A minimal DER walk
//! over the fixed X.509 layout; anything it cannot read is simply left out of the message.

/// One DER element: (tag, contents, rest of the input).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, mut b) = b.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &x in &b[..n] {
            len = (len << 8) | x as usize;
        }
        b = &b[n..];
        len
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

/// The elements of a constructed value, in order.
fn children(mut b: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let Some((t, c, rest)) = tlv(b) {
        out.push((t, c));
        b = rest;
    }
    out
}

const SEQ: u8 = 0x30;
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct CertNames {
    pub issuer_cn: Option<String>,
    pub subject_cn: Option<String>,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub alt_names: Vec<String>,
    /// notAfter as `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_after: Option<String>,
}

impl CertNames {
    /// The names a client may check the host against: alt names, else the subject CN.
    pub fn hosts(&self) -> String {
        if self.alt_names.is_empty() {
            self.subject_cn.clone().unwrap_or_else(|| "no names".into())
        } else {
            self.alt_names.join(", ")
        }
    }
}

pub fn names(der: &[u8]) -> CertNames {
    parse(der).unwrap_or_default()
}

fn parse(der: &[u8]) -> Option<CertNames> {
    let (SEQ, cert, _) = tlv(der)? else {
        return None;
    };
    let (SEQ, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut fields = children(tbs);
    // The version is an explicit [0]; v1 certificates leave it out.
    if fields.first()?.0 == 0xa0 {
        fields.remove(0);
    }
    // serial, signature algorithm, issuer, validity, subject, key, then optional [1] [2] [3].
    let issuer = fields.get(2)?.1;
    let validity = fields.get(3)?.1;
    let subject = fields.get(4)?.1;
    let mut out = CertNames {
        issuer_cn: common_name(issuer),
        subject_cn: common_name(subject),
        not_after: children(validity).get(1).and_then(|(t, v)| time(*t, v)),
        ..Default::default()
    };
    if let Some((_, ext)) = fields.iter().find(|(t, _)| *t == 0xa3) {
        let (_, list, _) = tlv(ext)?;
        for (_, e) in children(list) {
            let parts = children(e);
            if parts.first().map(|p| p.1) == Some(OID_SAN) {
                let value = parts.last()?.1;
                let (_, names, _) = tlv(value)?;
                for (tag, v) in children(names) {
                    match tag {
                        0x82 => out.alt_names.push(String::from_utf8_lossy(v).into_owned()),
                        0x87 => {
                            if let Some(ip) = ip(v) {
                                out.alt_names.push(ip);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Some(out)
}

fn common_name(name: &[u8]) -> Option<String> {
    for (_, set) in children(name) {
        for (_, atv) in children(set) {
            let parts = children(atv);
            if parts.first().map(|p| p.1) == Some(OID_CN) {
                return parts
                    .get(1)
                    .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
            }
        }
    }
    None
}

fn ip(v: &[u8]) -> Option<String> {
    match v.len() {
        4 => Some(std::net::Ipv4Addr::new(v[0], v[1], v[2], v[3]).to_string()),
        16 => {
            let a: [u8; 16] = v.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(a).to_string())
        }
        _ => None,
    }
}

/// UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, 0x18).
fn time(tag: u8, v: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(v).ok()?;
    let full = match tag {
        0x17 => {
            let yy: u32 = s.get(..2)?.parse().ok()?;
            format!("{}{s}", if yy >= 50 { "19" } else { "20" })
        }
        0x18 => s.to_string(),
        _ => return None,
    };
    let d = |a: usize, b: usize| full.get(a..b);
    Some(format!(
        "{}-{}-{} {}:{}:{} UTC",
        d(0, 4)?,
        d(4, 6)?,
        d(6, 8)?,
        d(8, 10)?,
        d(10, 12)?,
        d(12, 14)?
    ))
}

/// A certificate openssl made: `openssl req -x509 -newkey ec -pkeyopt
/// ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -addext
/// subjectAltName=DNS:localhost,IP:127.0.0.1,email:a@b -days 1` (self-signed).
#[cfg(test)]
pub(crate) const TEST_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBnjCCAUSgAwIBAgIUA91oQcvDClq97glug5ZQHCWul6MwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MB4XDTI2MTIwNDE3MzcyN1oXDTI2MTIwNTE3
MzcyN1owFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAE54BSFcHmdc4pozG1xUqalJHdcK7ZRu+7Ip0fQEZkITtI2OoefzjqlyqI
XtphORnlHuhUzoZ3qjJFOqN8xyTF/aN0MHIwHQYDVR0OBBYEFMgmkpcvl0Uva9wG
fjXsBdo5VfWeMB8GA1UdIwQYMBaAFMgmkpcvl0Uva9wGfjXsBdo5VfWeMA8GA1Ud
EwEB/wQFMAMBAf8wHwYDVR0RBBgwFoIJbG9jYWxob3N0hwR/AAABgQNhQGIwCgYI
KoZIzj0EAwIDSAAwRQIgT3YUJmerqOwdl0+Ver1rfzaeSH1vZJ3jF6i97X+k2UgC
IQCnNBmrQj3UUOJl+ff+ETX2JxD7iN7inemIBcWoIdguyA==
-----END CERTIFICATE-----
";

#[cfg(test)]
mod tests {
    use super::*;

    fn der(pem: &str) -> Vec<u8> {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .to_vec()
    }

    #[test]
    fn names_and_expiry_of_a_real_certificate() {
        let n = names(&der(TEST_PEM));
        assert_eq!(n.issuer_cn.as_deref(), Some("localhost"));
        assert_eq!(n.subject_cn.as_deref(), Some("localhost"));
        assert_eq!(n.alt_names, ["localhost", "127.0.0.1"]);
        assert_eq!(n.not_after.as_deref(), Some("2026-12-05 17:37:27 UTC"));
        assert_eq!(n.hosts(), "localhost, 127.0.0.1");
    }

    #[test]
    fn garbage_yields_nothing_rather_than_a_panic() {
        assert_eq!(names(b""), CertNames::default());
        assert_eq!(
            names(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            CertNames::default()
        );
        let d = der(TEST_PEM);
        for cut in [1, 10, 100, d.len() - 1] {
            let _ = names(&d[..cut]);
        }
    }
}
