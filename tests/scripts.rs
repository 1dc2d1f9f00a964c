//! The repository's own scripts, run in a controlled environment: `scripts/tools` must install
//! a tool whose executable is missing (issue 16: an installer function named like the tool made
//! `command -v chromium` succeed, so Chromium was never installed on a fresh machine).

use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write stub");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A PATH where Chromium does not exist: the host's /usr/bin and /bin as symlinks, minus every
/// `chromium*`, `apt-get` and `id`, plus stubs of `apt-get` (records its arguments; `install`
/// puts a `chromium` stub on PATH, as the real package does) and `id` (prints `uid`).
struct CleanPath {
    dir: PathBuf,
}

impl CleanPath {
    fn new(name: &str, uid: u32) -> CleanPath {
        let dir = std::env::temp_dir().join(format!("pt-clean-path-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        for host in ["/usr/bin", "/bin"] {
            let Ok(entries) = std::fs::read_dir(host) else {
                continue;
            };
            for entry in entries.flatten() {
                let file = entry.file_name();
                let text = file.to_string_lossy();
                if text.starts_with("chromium") || text == "apt-get" || text == "id" {
                    continue;
                }
                let link = bin.join(&file);
                if !link.exists() {
                    let _ = symlink(entry.path(), link);
                }
            }
        }
        let log = dir.join("apt-get.log");
        write_executable(
            &bin.join("apt-get"),
            &format!(
                "#!/bin/bash\necho \"$*\" >> {log}\nif [ \"$1\" = install ]; then printf '#!/bin/bash\\necho Chromium 0.0\\n' > {bin}/chromium; chmod +x {bin}/chromium; fi\n",
                log = log.display(),
                bin = bin.display()
            ),
        );
        write_executable(&bin.join("id"), &format!("#!/bin/bash\necho {uid}\n"));
        CleanPath { dir }
    }

    /// Runs `scripts/tools chromium` with only this PATH.
    fn run_tools(&self) -> std::process::Output {
        Command::new(self.dir.join("bin/bash"))
            .arg(root().join("scripts/tools"))
            .arg("chromium")
            .env_clear()
            .env("PATH", self.dir.join("bin"))
            .env("HOME", &self.dir)
            .output()
            .expect("run scripts/tools")
    }

    fn apt_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("apt-get.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for CleanPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn tools_installs_chromium_when_its_executable_is_missing() {
    let clean = CleanPath::new("root", 0);
    assert!(
        !clean.dir.join("bin/chromium").exists(),
        "the clean PATH must start without chromium"
    );
    let first = clean.run_tools();
    assert!(
        first.status.success(),
        "scripts/tools chromium failed: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(
        clean.apt_calls(),
        vec!["update -qq", "install -y -qq chromium"],
        "the installer must run when chromium is missing"
    );
    assert!(clean.dir.join("bin/chromium").exists());

    // Installed: a second run leaves it alone.
    let second = clean.run_tools();
    assert!(second.status.success());
    assert_eq!(clean.apt_calls().len(), 2, "no second installation");
}

#[test]
fn tools_without_root_says_how_to_install_chromium() {
    let clean = CleanPath::new("user", 1000);
    let out = clean.run_tools();
    assert_eq!(out.status.code(), Some(1));
    assert!(clean.apt_calls().is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("error: chromium is required (Debian: sudo apt-get install chromium)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn scripts_look_tools_up_as_executables() {
    // `command -v X` also finds a shell function or alias named X; `type -P` only executables.
    for script in [
        "scripts/tools",
        "scripts/test",
        "scripts/check-stack",
        "scripts/check-report",
        ".ci/run",
    ] {
        let text = std::fs::read_to_string(root().join(script)).expect("script");
        let offending: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && l.contains("command -v"))
            .collect();
        assert!(
            offending.is_empty(),
            "{script} uses `command -v`: {offending:?}"
        );
    }
}
