//! `psutilversion`: the psutil release whose Linux semantics glint
//! reproduces (array lengths in processlist, rounding), not a library glint
//! uses.

use serde_json::Value;

use super::Plugin;

pub const PSUTIL_VERSION: [u64; 3] = [7, 2, 2];

pub struct PsutilVersion;

impl Plugin for PsutilVersion {
    fn quick(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "psutilversion"
    }

    fn collect(&mut self) -> Value {
        PSUTIL_VERSION.iter().map(|&n| Value::from(n)).collect()
    }
}
