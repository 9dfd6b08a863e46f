//! [`MemoryBudget`]: how much memory a run may use for the table, which decides what is cached.

use std::fmt;
use std::str::FromStr;

/// The memory a run may spend on the table's rows (`--memory-limit`).
///
/// A table whose selected columns fit in it (at [`MemoryBudget::IN_MEMORY_BYTES_PER_CELL`]
/// bytes per cell: the rows in f64 and f32 and their tensor copies) is read into memory once;
/// a larger one is streamed from disk, and the budget then sizes the shuffle buffer and the
/// read-ahead. The fixed costs of the program (about 30 MB) come on top.
///
/// Written as a number of bytes with an optional unit: `KiB`, `MiB`, `GiB`, `TiB` (powers of
/// 1024) or `K`, `KB`, `M`, `MB`, `G`, `GB`, `T`, `TB` (powers of 1000).
///
/// ```
/// use linreg_stream::MemoryBudget;
///
/// let b: MemoryBudget = "1.5GiB".parse()?;
/// assert_eq!(b.bytes(), 1_610_612_736);
/// assert_eq!("512M".parse::<MemoryBudget>()?.bytes(), 512_000_000);
/// assert!("lots".parse::<MemoryBudget>().is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemoryBudget(u64);

impl MemoryBudget {
    /// The default: 1 GiB.
    pub const DEFAULT: Self = Self(1 << 30);

    /// Bytes per selected cell when a table is held in memory: the f64 rows an exact fit
    /// reads, the f32 rows a model trains on, and their copy on the device.
    pub const IN_MEMORY_BYTES_PER_CELL: u64 = 16;

    /// Smallest budget accepted: a shuffle buffer needs room.
    pub const MIN: Self = Self(16 << 20);

    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Result<Self, String> {
        if bytes < Self::MIN.0 {
            return Err(format!(
                "a memory limit of {bytes} bytes is too small; give at least 16MiB, such as 1GiB"
            ));
        }
        Ok(Self(bytes))
    }

    /// The budget in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Whether `cells` selected cells are held in memory rather than streamed.
    pub fn fits(self, cells: u64) -> bool {
        cells.saturating_mul(Self::IN_MEMORY_BYTES_PER_CELL) <= self.0
    }

    /// Rows of `row_bytes` bytes the shuffle buffer may hold: half the budget (the other half
    /// is for the units read ahead and their decoded pages), at least `at_least`.
    pub fn buffer_rows(self, row_bytes: usize, at_least: usize) -> usize {
        let rows = (self.0 / 2) / row_bytes.max(1) as u64;
        usize::try_from(rows).unwrap_or(usize::MAX).max(at_least)
    }
}

impl Default for MemoryBudget {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl FromStr for MemoryBudget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let value: f64 = num.replace('_', "").parse().map_err(|_| {
            format!("'{s}' is not a memory size; write it like 1GiB, 512MiB or 2000000000")
        })?;
        let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "m" | "mb" => 1e6,
            "g" | "gb" => 1e9,
            "t" | "tb" => 1e12,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            other => {
                return Err(format!(
                    "'{other}' is not a unit of memory; use KiB, MiB, GiB (or K, M, G)"
                ))
            }
        };
        let bytes = value * scale;
        if !(bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64) {
            return Err(format!("'{s}' is out of range"));
        }
        Self::new(bytes.round() as u64)
    }
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gib = self.0 as f64 / (1u64 << 30) as f64;
        if gib >= 1.0 {
            write!(f, "{gib:.2} GiB")
        } else {
            write!(f, "{:.0} MiB", self.0 as f64 / (1u64 << 20) as f64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_too_small_is_refused() {
        assert_eq!("2GiB".parse::<MemoryBudget>().unwrap().bytes(), 2 << 30);
        assert_eq!(
            "100_000_000".parse::<MemoryBudget>().unwrap().bytes(),
            100_000_000
        );
        assert_eq!(
            " 64 mib ".parse::<MemoryBudget>().unwrap().bytes(),
            64 << 20
        );
        assert!("1KiB"
            .parse::<MemoryBudget>()
            .unwrap_err()
            .contains("too small"));
        assert!("1 parsec".parse::<MemoryBudget>().is_err());
        assert!("-1G".parse::<MemoryBudget>().is_err());
        assert_eq!(MemoryBudget::DEFAULT.to_string(), "1.00 GiB");
        let b = MemoryBudget::new(1 << 30).unwrap();
        assert!(b.fits(1 << 26) && !b.fits((1 << 26) + 1));
        assert_eq!(b.buffer_rows(64, 1024), 1 << 23);
        assert_eq!(MemoryBudget::MIN.buffer_rows(1 << 30, 1024), 1024);
    }
}
