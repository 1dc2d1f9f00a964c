//! A function's instruction set architecture (Lambda's `Architectures`), which decides its price
//! and its monthly duration tiers (SPEC §3.6, §8).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of Lambda's two architectures, spelt as the Lambda API spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Architecture {
    /// `x86_64` (Lambda's default).
    #[serde(rename = "x86_64")]
    X86_64,
    /// `arm64` (Graviton).
    #[serde(rename = "arm64")]
    Arm64,
}

/// An architecture power-tuning has no price for: `Unsupported architecture: <arch>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unsupported architecture: {0}")]
pub struct UnsupportedArchitecture(pub String);

impl Architecture {
    /// Both, in Lambda's order.
    pub const ALL: [Architecture; 2] = [Architecture::X86_64, Architecture::Arm64];

    /// The Lambda API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

impl FromStr for Architecture {
    type Err = UnsupportedArchitecture;

    fn from_str(name: &str) -> Result<Architecture, UnsupportedArchitecture> {
        Architecture::ALL
            .into_iter()
            .find(|a| a.as_str() == name)
            .ok_or_else(|| UnsupportedArchitecture(name.to_string()))
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for arch in Architecture::ALL {
            assert_eq!(arch.as_str().parse::<Architecture>(), Ok(arch));
            assert_eq!(
                serde_json::to_value(arch).expect("json"),
                serde_json::json!(arch.as_str())
            );
        }
        assert_eq!(
            "riscv64"
                .parse::<Architecture>()
                .expect_err("unknown")
                .to_string(),
            "Unsupported architecture: riscv64"
        );
        assert!(serde_json::from_str::<Architecture>("\"x86-64\"").is_err());
    }
}
