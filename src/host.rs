//! Who and where: the machine's host name and the OS account, for lock records, backup manifests
//! and the audit trail's default actor.

/// `user@host` of the OS account running vannactl.
pub fn default_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        // SAFETY: getuid cannot fail.
        .unwrap_or_else(|_| format!("uid{}", unsafe { libc::getuid() }));
    format!("{user}@{}", hostname())
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
