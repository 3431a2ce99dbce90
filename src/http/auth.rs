//! HTTP Basic authentication with Glances' password file format (spec §15):
//! `<salt>$<hex>` where hex = PBKDF2-SHA256(hex(PBKDF2-SHA256(plain, "")), salt),
//! 100 000 rounds, 128-byte keys.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ROUNDS: u32 = 100_000;
const KEY_LEN: usize = 128;
/// Successful Authorization headers remembered (as digests) so a polling
/// dashboard does not cost 200 000 PBKDF2 rounds per request.
const VERIFIED_CACHE: usize = 16;

fn pbkdf2_hex(password: &[u8], salt: &[u8]) -> String {
    let mut key = [0u8; KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, &mut key);
    hex::encode(key)
}

/// The stored form of `plain` with `salt`: `"<salt>$<hex>"`.
pub fn hash_password(plain: &str, salt: &str) -> String {
    let inner = pbkdf2_hex(plain.as_bytes(), b"");
    format!("{salt}${}", pbkdf2_hex(inner.as_bytes(), salt.as_bytes()))
}

/// Whether `plain` matches a stored `"<salt>$<hex>"`, in constant time.
pub fn verify(plain: &str, stored: &str) -> bool {
    let Some((salt, _)) = stored.split_once('$') else {
        return false;
    };
    let candidate = hash_password(plain, salt);
    candidate.as_bytes().ct_eq(stored.as_bytes()).into()
}

/// A fresh 32-hex-character salt from the kernel's random source.
pub fn new_salt() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Where `<user>.pwd` may live: `[passwords] local_password_path`, glint's
/// config dir, then Glances' (so an existing Glances password file works).
pub fn password_dirs(configured: Option<&str>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = configured.filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    let user_dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(base) = user_dir {
        dirs.push(base.join("glint"));
        dirs.push(base.join("glances"));
    }
    dirs
}

pub fn password_file(dir: &Path, user: &str) -> PathBuf {
    dir.join(format!("{user}.pwd"))
}

/// Find and load `<user>.pwd` from the first directory that has it.
pub fn load(user: &str, configured_dir: Option<&str>) -> Result<Auth, String> {
    let dirs = password_dirs(configured_dir);
    for dir in &dirs {
        let file = password_file(dir, user);
        match std::fs::read_to_string(&file) {
            Ok(stored) if stored.trim().contains('$') => return Ok(Auth::new(user, &stored)),
            Ok(_) => return Err(format!("{}: not a Glances/glint password file", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        }
    }
    let tried: Vec<String> = dirs
        .iter()
        .map(|d| password_file(d, user).display().to_string())
        .collect();
    Err(format!(
        "a password is required but no password file exists (looked for {}); create one with: echo 'PASSWORD' | glint --set-password -u {user}",
        tried.join(", ")
    ))
}

/// Hash `plain` and write it to `<dir>/<user>.pwd` (mode 0600).
pub fn store(user: &str, dir: &Path, plain: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir)?;
    let file = password_file(dir, user);
    let stored = hash_password(plain, &new_salt()?);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&file)?;
    std::io::Write::write_all(&mut f, stored.as_bytes())?;
    Ok(file)
}

pub struct Auth {
    user: String,
    stored: String,
    verified: Mutex<Vec<[u8; 32]>>,
}

impl Auth {
    pub fn new(user: &str, stored: &str) -> Auth {
        Auth {
            user: user.to_string(),
            stored: stored.trim().to_string(),
            verified: Mutex::new(Vec::new()),
        }
    }

    /// Check an `Authorization` header value.
    pub fn allows(&self, header: Option<&str>) -> bool {
        let Some(header) = header else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(header.as_bytes()).into();
        if let Ok(cache) = self.verified.lock()
            && cache.iter().any(|d| bool::from(d.ct_eq(&digest)))
        {
            return true;
        }
        let ok = self.check_basic(header);
        if ok && let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CACHE {
                cache.remove(0);
            }
            cache.push(digest);
        }
        ok
    }

    fn check_basic(&self, header: &str) -> bool {
        let Some(encoded) = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic ")) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, password)) = text.split_once(':') else {
            return false;
        };
        let user_ok: bool = user.as_bytes().ct_eq(self.user.as_bytes()).into();
        // Always hash, so a wrong user costs the same time as a wrong password.
        let password_ok = verify(password, &self.stored);
        user_ok & password_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pw: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
        )
    }

    #[test]
    fn glances_scheme_round_trips() {
        let stored = hash_password("s3cret", "0123456789abcdef0123456789abcdef");
        assert!(stored.starts_with("0123456789abcdef0123456789abcdef$"));
        assert_eq!(stored.len(), 32 + 1 + 256);
        assert!(verify("s3cret", &stored));
        assert!(!verify("s3cret!", &stored));
        assert!(!verify("s3cret", "garbage"));
    }

    #[test]
    fn accepts_a_password_file_written_by_glances() {
        // Made by Glances 3.4.0.5's GlancesPassword for the password "hunter2".
        let stored = include_str!("../../tests/fixtures/auth/glances.pwd");
        assert!(verify("hunter2", stored));
        assert!(!verify("hunter3", stored));
    }

    #[test]
    fn basic_header_checks() {
        let auth = Auth::new("glances", &hash_password("pw", "abcd"));
        assert!(auth.allows(Some(&basic("glances", "pw"))));
        assert!(auth.allows(Some(&basic("glances", "pw"))), "cached path");
        assert!(!auth.allows(Some(&basic("glances", "nope"))));
        assert!(!auth.allows(Some(&basic("root", "pw"))));
        assert!(!auth.allows(Some("Basic !!!")));
        assert!(!auth.allows(Some("Bearer x")));
        assert!(!auth.allows(Some(&basic("undefined", "undefined"))));
        assert!(!auth.allows(None));
    }
}
