//! Masking secrets for display: URL passwords and secret variables never reach output or logs.

/// Replace the password of a URL (`scheme://user:pass@host`) with `****`.
/// Strings that are not URLs with credentials are returned unchanged.
pub fn mask_url(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_string();
    };
    let rest = &raw[scheme_end + 3..];
    // The userinfo ends at the last '@' before any query or fragment; taking the last one keeps a
    // password with an unencoded '@' or '/' fully masked.
    let head_end = rest.find(['?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..head_end].rfind('@') else {
        return mask_query_password(raw);
    };
    let userinfo = &rest[..at];
    let masked_userinfo = match userinfo.find(':') {
        Some(colon) => format!("{}:****", &userinfo[..colon]),
        None => userinfo.to_string(),
    };
    let masked = format!(
        "{}://{}{}",
        &raw[..scheme_end],
        masked_userinfo,
        &rest[at..]
    );
    mask_query_password(&masked)
}

/// libpq accepts `?password=...` in the query string too.
fn mask_query_password(raw: &str) -> String {
    let Some(q) = raw.find('?') else {
        return raw.to_string();
    };
    let (head, query) = raw.split_at(q + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=****"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{head}{}", parts.join("&"))
}

/// Mask a whole secret value: only whether it is set is shown.
pub fn mask_secret(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        "****".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_password_keeps_user_and_host() {
        assert_eq!(
            mask_url("postgres://app:s3cr3t@db:5432/app"),
            "postgres://app:****@db:5432/app"
        );
    }

    #[test]
    fn password_with_at_sign_and_slash_is_fully_masked() {
        let m = mask_url("postgres://app:p@ss/w@db/app");
        assert!(!m.contains("ss/w"), "{m}");
        assert!(!m.contains("p@ss"), "{m}");
    }

    #[test]
    fn no_credentials_unchanged() {
        assert_eq!(
            mask_url("sqlite://data/system.db"),
            "sqlite://data/system.db"
        );
        assert_eq!(mask_url("postgres://app@db/app"), "postgres://app@db/app");
        assert_eq!(mask_url("http://127.0.0.1:8000"), "http://127.0.0.1:8000");
    }

    #[test]
    fn query_password_masked() {
        assert_eq!(
            mask_url("postgres://db/app?user=a&password=hunter2&sslmode=require"),
            "postgres://db/app?user=a&password=****&sslmode=require"
        );
    }

    #[test]
    fn secret_masked_unless_empty() {
        assert_eq!(mask_secret("x"), "****");
        assert_eq!(mask_secret(""), "");
    }
}
