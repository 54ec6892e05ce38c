//! Configuration: flag > environment > `.env` file > profile default, with each value's source kept.

mod mask;
mod resolve;
mod settings;
mod vars;

pub use mask::{mask_secret, mask_url};
pub use resolve::{Resolved, Source, Sources};
pub use settings::{parse_bool, BackupRepo, Profile, S3Settings, Settings, SystemDbUrl};
pub use vars::{spec, VarKind, VarSpec, VARS};
