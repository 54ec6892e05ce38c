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

/// Have the kernel SIGKILL `cmd`'s child when the thread that spawns it ends (vannactl killed): a
/// child tool (pg_dump, pg_restore, restic) must never outlive vannactl and finish on its own,
/// e.g. read a closed pipe as the end of its input and commit it. PR_SET_PDEATHSIG follows the
/// spawning thread, so spawn from the thread that waits for the child.
pub fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Lower the calling thread's CPU priority (nice +10), and so that of the processes it starts:
/// for work that runs beside more urgent work of the same command. Best effort.
pub fn lower_thread_priority() {
    // SAFETY: gettid and setpriority on the calling thread; no memory is passed.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}
