//! A model directory — what `zkoracle compile` and `zkoracle setup` write and every later command reads: its
//! one owner. [`ModelDir`] knows the file names ([`files`]), reads the settings and the owner's weights, and
//! writes every artifact atomically ([`crate::fsutil::write_atomic`]).

use std::path::{Path, PathBuf};

use crate::params::PrivateWeights;
use crate::{CircuitSettings, Result};

/// File names inside a model directory.
pub mod files {
    /// Compiled settings.
    pub const CIRCUIT: &str = "circuit.json";
    /// Proving key.
    pub const PK: &str = "pk.bin";
    /// Verifying key.
    pub const VK: &str = "vk.bin";
    /// The SRS cut to the circuit's k (what prove and verify use).
    pub const SRS: &str = "kzg.srs";
    /// The private parameters and their commitment (`--params private`); keep it secret.
    pub const WEIGHTS: &str = "weights.json";
}

/// A model directory on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelDir {
    root: PathBuf,
}

impl ModelDir {
    /// The model directory at `root` (nothing is read until asked).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `circuit.json`.
    pub fn circuit(&self) -> PathBuf {
        self.root.join(files::CIRCUIT)
    }

    /// `pk.bin`.
    pub fn pk(&self) -> PathBuf {
        self.root.join(files::PK)
    }

    /// `vk.bin`.
    pub fn vk(&self) -> PathBuf {
        self.root.join(files::VK)
    }

    /// `kzg.srs`.
    pub fn srs(&self) -> PathBuf {
        self.root.join(files::SRS)
    }

    /// `weights.json` (the owner's, for `--params private` and `hashed`).
    pub fn weights(&self) -> PathBuf {
        self.root.join(files::WEIGHTS)
    }

    /// Reads `circuit.json`.
    pub fn read_settings(&self) -> Result<CircuitSettings> {
        CircuitSettings::read(&self.circuit())
    }

    /// Writes `circuit.json` atomically.
    pub fn write_settings(&self, settings: &CircuitSettings) -> Result<()> {
        settings.write(&self.circuit())
    }

    /// Reads `weights.json`.
    pub fn read_weights(&self) -> Result<PrivateWeights> {
        PrivateWeights::read(&self.weights())
    }

    /// Writes `weights.json` atomically.
    pub fn write_weights(&self, weights: &PrivateWeights) -> Result<()> {
        weights.write(&self.weights())
    }

    /// Writes another artifact `name` (a verifier's bytecode, a proof) into the directory atomically; returns
    /// its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.root.join(name);
        crate::fsutil::write_atomic(&path, bytes)?;
        Ok(path)
    }

    /// The size of file `name` in bytes (0 when it is missing).
    pub fn size(&self, name: &str) -> u64 {
        std::fs::metadata(self.root.join(name)).map(|m| m.len()).unwrap_or(0)
    }
}

impl From<&Path> for ModelDir {
    fn from(root: &Path) -> Self {
        Self::new(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_atomic_writes_stay_inside_the_directory() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = ModelDir::new(tmp.path().join("m"));
        assert_eq!(dir.circuit(), tmp.path().join("m/circuit.json"));
        assert_eq!(dir.pk().file_name().and_then(|n| n.to_str()), Some(files::PK));
        let path = dir.write("Verifier.bytecode", b"0x00").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"0x00");
        assert_eq!(dir.size("Verifier.bytecode"), 4);
        assert_eq!(dir.size("missing"), 0);
        let leftovers: Vec<_> = std::fs::read_dir(dir.root())
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}
