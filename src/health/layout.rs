//! The deployment's layout as a health finding: two settings naming one file is critical.

use super::{Check, Status};
use crate::layout::Layout;

pub fn layout_check(layout: &Layout) -> Check {
    let (status, detail) = match layout.conflicts.as_slice() {
        [] => (
            Status::Ok,
            format!("{} places, each with one owner", layout.roles.len()),
        ),
        [only] => (Status::Critical, only.message.clone()),
        [first, rest @ ..] => (
            Status::Critical,
            format!("{} (and {} more)", first.message, rest.len()),
        ),
    };
    Check {
        component: "config",
        name: "layout".into(),
        status,
        latency_ms: 0.0,
        detail,
    }
}
