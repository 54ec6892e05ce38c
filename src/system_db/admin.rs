//! The admin user: created once from INIT_ADMIN_USERNAME / INIT_ADMIN_PASSWORD, never overwritten
//! by a re-run; the password changes only through an explicit, confirmed reset.
//!
//! Hashes are bcrypt `$2b$` with cost 12 so the Python app's `bcrypt` / passlib verifies them.

use super::{now_text, Db, Val};
use crate::config::Settings;
use crate::error::{fail, usage};
use anyhow::Result;
use serde::Serialize;

pub const BCRYPT_COST: u32 = 12;

/// The placeholder password shipped in `.env.example`; refused in production.
pub const EXAMPLE_PASSWORD: &str = "change-me-please";

/// Production minimum password length.
pub const MIN_PRODUCTION_LEN: usize = 12;

/// Check a password against the policy. bcrypt reads only 72 bytes, and Python's bcrypt rejects
/// longer ones, so that limit holds everywhere; production also refuses the example password and
/// passwords shorter than [`MIN_PRODUCTION_LEN`].
pub fn check_policy(password: &str, production: bool) -> Result<()> {
    if password.is_empty() {
        return Err(usage("the admin password is empty"));
    }
    if password.len() > 72 {
        return Err(usage(format!(
            "the admin password is {} bytes; bcrypt uses at most 72 — choose a shorter one",
            password.len()
        )));
    }
    if production {
        if example_passwords().iter().any(|e| e == password) {
            return Err(usage(
                "INIT_ADMIN_PASSWORD is still the example value from .env.example; set a real password before running in production",
            ));
        }
        if password.chars().count() < MIN_PRODUCTION_LEN {
            return Err(usage(format!(
                "the admin password has {} characters; production requires at least {MIN_PRODUCTION_LEN}",
                password.chars().count()
            )));
        }
    }
    Ok(())
}

/// The example password: ours, and whatever `.env.example` in the working folder sets.
fn example_passwords() -> Vec<String> {
    let mut v = vec![EXAMPLE_PASSWORD.to_string()];
    if let Ok(iter) = dotenvy::from_path_iter(".env.example") {
        v.extend(
            iter.flatten()
                .filter(|(k, val)| k == "INIT_ADMIN_PASSWORD" && !val.is_empty())
                .map(|(_, val)| val),
        );
    }
    v
}

pub fn hash(password: &str) -> Result<String> {
    Ok(bcrypt::non_truncating_hash(password, BCRYPT_COST)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdminAction {
    Created,
    /// The user exists; a re-run never overwrites it.
    Exists,
    /// No INIT_ADMIN_USERNAME or INIT_ADMIN_PASSWORD: nothing to create.
    NotConfigured,
    PasswordReset,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdminOutcome {
    pub action: AdminAction,
    pub username: Option<String>,
    pub detail: String,
}

pub fn exists(db: &mut Db, username: &str) -> Result<bool> {
    Ok(db.query_i64(
        "SELECT count(*) FROM users WHERE username = $1",
        &[Val::text(username)],
    )? > 0)
}

/// Create the admin from the settings when it does not exist yet.
pub fn ensure_admin(db: &mut Db, settings: &Settings) -> Result<AdminOutcome> {
    if let Some(user) = settings.init_admin_username.as_deref() {
        if exists(db, user)? {
            return Ok(AdminOutcome {
                action: AdminAction::Exists,
                username: Some(user.to_string()),
                detail: format!("admin {user:?} exists; left unchanged"),
            });
        }
    }
    let (Some(user), Some(pw)) = (
        settings.init_admin_username.as_deref(),
        settings.init_admin_password.as_deref(),
    ) else {
        let missing = if settings.init_admin_username.is_none() {
            "INIT_ADMIN_USERNAME"
        } else {
            "INIT_ADMIN_PASSWORD"
        };
        return Ok(AdminOutcome {
            action: AdminAction::NotConfigured,
            username: settings.init_admin_username.clone(),
            detail: format!("{missing} is empty; no admin user created"),
        });
    };
    check_policy(pw, settings.is_production())?;
    let hashed = hash(pw)?;
    let now = now_text();
    db.in_tx(|db| {
        db.exec(
            "INSERT INTO users (username, password_hash, role, is_active, created_at, updated_at) \
             VALUES ($1, $2, 'admin', $3, $4, $5)",
            &[
                Val::text(user),
                Val::text(hashed),
                Val::Int(1),
                Val::text(now.clone()),
                Val::text(now.clone()),
            ],
        )
    })?;
    Ok(AdminOutcome {
        action: AdminAction::Created,
        username: Some(user.to_string()),
        detail: format!("admin {user:?} created (bcrypt cost {BCRYPT_COST})"),
    })
}

/// Set a new password for an existing user (the caller has confirmed).
pub fn reset_password(
    db: &mut Db,
    username: &str,
    password: &str,
    production: bool,
) -> Result<AdminOutcome> {
    check_policy(password, production)?;
    if !exists(db, username)? {
        return Err(fail(
            "user_missing",
            format!("no user {username:?} in the system DB; run `vannactl init` with INIT_ADMIN_USERNAME/INIT_ADMIN_PASSWORD to create the admin"),
        ));
    }
    let hashed = hash(password)?;
    db.in_tx(|db| {
        db.exec(
            "UPDATE users SET password_hash = $1, updated_at = $2 WHERE username = $3",
            &[
                Val::text(hashed),
                Val::text(now_text()),
                Val::text(username),
            ],
        )
    })?;
    Ok(AdminOutcome {
        action: AdminAction::PasswordReset,
        username: Some(username.to_string()),
        detail: format!("password of {username:?} reset"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(check_policy("short", false).is_ok());
        assert!(check_policy("short", true).is_err());
        assert!(check_policy(EXAMPLE_PASSWORD, true).is_err());
        assert!(check_policy("correct horse battery", true).is_ok());
        assert!(check_policy(&"x".repeat(73), false).is_err());
        assert!(check_policy("", false).is_err());
    }

    #[test]
    fn hash_is_2b_cost_12_and_verifies() {
        let h = hash("s3cret-pass").unwrap();
        assert!(h.starts_with("$2b$12$"), "{h}");
        assert!(bcrypt::verify("s3cret-pass", &h).unwrap());
    }
}
