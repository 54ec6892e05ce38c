//! The admin user: created once from INIT_ADMIN_USERNAME / INIT_ADMIN_PASSWORD, never overwritten
//! by a re-run; the password changes only through an explicit, confirmed reset.
//!
//! Hashes are bcrypt `$2b$` with cost 12 so the Python app's `bcrypt` / passlib verifies them.

use super::password_policy;
use super::{now_text, Db, Val};
use crate::config::Settings;
use crate::error::fail;
use anyhow::Result;
use serde::Serialize;

pub const BCRYPT_COST: u32 = 12;

/// Check a password for `username` against the policy (see [`password_policy`]): `Err` when
/// refused, else the warnings to show (development only).
pub fn check_policy(
    settings: &Settings,
    username: &str,
    password: &str,
    what: &str,
) -> Result<Vec<String>> {
    let examples = password_policy::ExampleValues::discover(settings);
    password_policy::enforce(
        password,
        username,
        settings.is_production(),
        &examples,
        what,
    )
}

/// Production: refuse a bad INIT_ADMIN_PASSWORD before init changes anything, when init would
/// create the admin from it (`db` is `None` when the SQLite file does not exist yet). An existing
/// admin is never overwritten, so then the variable is not used and not checked.
pub fn precheck_init(db: Option<&mut Db>, settings: &Settings) -> Result<()> {
    let (Some(user), Some(pw)) = (
        settings.init_admin_username.as_deref(),
        settings.init_admin_password.as_deref(),
    ) else {
        return Ok(());
    };
    if !settings.is_production() {
        return Ok(());
    }
    let will_create = match db {
        None => true,
        Some(db) => !db.table_exists("users")? || !exists(db, user)?,
    };
    if will_create {
        check_policy(settings, user, pw, "INIT_ADMIN_PASSWORD")?;
    }
    Ok(())
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
    /// What the production password policy would refuse (development accepts it).
    pub warnings: Vec<String>,
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
                warnings: Vec::new(),
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
            warnings: Vec::new(),
        });
    };
    let warnings = check_policy(settings, user, pw, "INIT_ADMIN_PASSWORD")?;
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
        warnings,
    })
}

/// Set a new password for an existing user (the caller has confirmed).
pub fn reset_password(
    db: &mut Db,
    settings: &Settings,
    username: &str,
    password: &str,
) -> Result<AdminOutcome> {
    let warnings = check_policy(settings, username, password, "the new password")?;
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
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_2b_cost_12_and_verifies() {
        let h = hash("s3cret-pass").unwrap();
        assert!(h.starts_with("$2b$12$"), "{h}");
        assert!(bcrypt::verify("s3cret-pass", &h).unwrap());
    }
}
