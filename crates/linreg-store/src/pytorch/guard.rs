//! Limits checked on a `.pth` before burn-store reads it.
//!
//! burn-store's PyTorch reader interprets the pickle (it never imports or calls Python code:
//! `GLOBAL` only records a name and `REDUCE` only rebuilds tensors and dictionaries), but it
//! trusts the sizes the file declares: a string length becomes an allocation before it is read,
//! a zip entry's declared size becomes a buffer's capacity, and each memo fetch copies a whole
//! object. A crafted file of a few hundred bytes could ask for gigabytes. This module checks,
//! without building any value, that a file stays within fixed bounds, so that reading it cannot
//! exhaust memory, time or the stack:
//!
//! - the archive: a zip as `torch.save` writes it (PyTorch ≥ 1.6), every entry stored
//!   uncompressed with consistent sizes and a valid CRC, at most [`MAX_ENTRIES`] entries, one
//!   `data.pkl` of at most [`MAX_PICKLE_BYTES`];
//! - the pickle: only the opcodes burn-store reads, every declared length inside the pickle,
//!   integers in `0..=`[`MAX_INT`], nesting at most [`MAX_DEPTH`] deep, and the bytes of all the
//!   objects the reader would build or copy at most [`MAX_PICKLE_WORK`].

use std::collections::HashMap;
use std::io::{Cursor, Read};

use zip::{CompressionMethod, ZipArchive};

/// Most entries in a `.pth` archive (a state_dict of two tensors has eight).
pub const MAX_ENTRIES: usize = 1024;
/// Largest `data.pkl` (a linear model's is about 330 bytes).
pub const MAX_PICKLE_BYTES: u64 = 1 << 20;
/// Largest integer in the pickle (offsets, shapes and strides of tensors up to 2⁴⁰ elements).
pub const MAX_INT: i64 = 1 << 40;
/// Deepest nesting of containers in the pickle.
pub const MAX_DEPTH: u32 = 64;
/// Bytes of objects the reader may build or copy while reading the pickle, estimated
/// generously (each object counted as [`OBJECT_BYTES`] plus its text).
pub const MAX_PICKLE_WORK: u64 = 64 << 20;
/// The estimated size of one pickle object in burn-store's reader.
pub const OBJECT_BYTES: u64 = 160;

/// Why a `.pth` was refused before reading, in words that finish "the file …".
pub type Refusal = String;

/// The archive's data entries (name → bytes) once the whole file has passed the checks; the
/// caller compares tensors with them.
#[derive(Debug)]
pub struct Checked {
    /// Every entry under a `data/` folder, the tensors' storages.
    pub storages: HashMap<String, Vec<u8>>,
}

/// Checks a `.pth` file's bytes.
pub fn check(bytes: &[u8]) -> Result<Checked, Refusal> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(
            "is not a zip archive, so not a .pth written by torch.save since PyTorch 1.6 \
             (older formats and bare pickles are not read)"
                .into(),
        );
    }
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("is a damaged zip archive ({e})"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!(
            "holds {} entries, more than the {MAX_ENTRIES} a state_dict needs",
            archive.len()
        ));
    }
    let mut pickle: Option<Vec<u8>> = None;
    let mut storages = HashMap::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("is a damaged zip archive ({e})"))?;
        let name = entry.name().to_string();
        if entry.compression() != CompressionMethod::Stored
            || entry.size() != entry.compressed_size()
        {
            return Err(format!(
                "stores {name} compressed; torch.save stores every entry uncompressed"
            ));
        }
        if entry.size() > bytes.len() as u64 {
            return Err(format!("declares {name} larger than the file"));
        }
        let is_pickle = name.ends_with("data.pkl");
        let is_storage = !is_pickle && !name.ends_with('/') && is_storage_name(&name);
        if is_pickle && entry.size() > MAX_PICKLE_BYTES {
            return Err(format!(
                "has a {} byte {name}, larger than the {MAX_PICKLE_BYTES} bytes of any linear model's state_dict",
                entry.size()
            ));
        }
        if !(is_pickle || is_storage) {
            continue;
        }
        // Reading checks the CRC: a damaged entry is refused here, not read as numbers.
        let size = entry.size();
        let mut content = Vec::with_capacity(size as usize);
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut content)
            .map_err(|e| format!("has a damaged entry {name} ({e})"))?;
        if is_pickle {
            // burn-store reads data.pkl or archive/data.pkl first, then the first *data.pkl.
            let preferred = name == "data.pkl" || name == "archive/data.pkl";
            if pickle.is_none() || preferred {
                pickle = Some(content);
            }
        } else {
            storages.insert(name, content);
        }
    }
    let pickle = pickle.ok_or("has no data.pkl, so it is not a PyTorch file")?;
    check_pickle(&pickle)?;
    Ok(Checked { storages })
}

/// Whether a zip entry holds a tensor storage, as burn-store's reader decides it.
fn is_storage_name(name: &str) -> bool {
    name.starts_with("data/") || name.contains("/data/")
}

/// One item on the simulated stack: a mark, or an object with its estimated bytes and depth.
#[derive(Clone, Copy)]
enum Item {
    Mark,
    Obj { bytes: u64, depth: u32 },
}

/// Walks the pickle's opcodes as burn-store's reader would, tracking only sizes.
pub fn check_pickle(p: &[u8]) -> Result<(), Refusal> {
    let mut sim = Sim::default();
    let mut r = Bytes { p, at: 0 };
    loop {
        let op = r
            .take(1)
            .map_err(|_| "has a pickle that ends before its STOP opcode")?[0];
        match op {
            0x80 => {
                // PROTO
                if r.take(1)?[0] > 5 {
                    return Err("has a pickle of an unknown protocol".into());
                }
            }
            b'c' => {
                // GLOBAL: "module\nname\n"
                let rest = r.rest();
                let first = rest.iter().position(|&b| b == b'\n');
                let second = first.and_then(|f| {
                    rest[f + 1..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map(|s| f + 1 + s)
                });
                let end = second.ok_or("has a pickle with an unterminated GLOBAL")?;
                // burn-store's reader marks the stack with the name "mark mark"; a file that
                // names it could confuse the reader's structure, and no state_dict does.
                if &rest[..end] == b"mark\nmark" {
                    return Err("has a pickle that names a reserved class".into());
                }
                r.take(end + 1)?;
                sim.leaf(end as u64)?;
            }
            b'J' => sim.int(i64::from(i32::from_le_bytes(array(r.take(4)?))))?,
            b'K' => sim.int(i64::from(r.take(1)?[0]))?,
            b'M' => sim.int(i64::from(u16::from_le_bytes(array(r.take(2)?))))?,
            b'I' => {
                let rest = r.rest();
                let end = rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .ok_or("has a pickle with an unterminated INT")?;
                let line = r.take(end + 1)?;
                let v = std::str::from_utf8(&line[..end])
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or("has a pickle with a malformed INT")?;
                sim.int(v)?;
            }
            0x8a => {
                // LONG1: a little-endian two's-complement integer of n bytes.
                let n = r.take(1)?[0] as usize;
                let digits = r.take(n)?;
                if n > 8 {
                    return Err("has a pickle with an integer wider than 64 bits".into());
                }
                let mut v: i64 = 0;
                for (i, &b) in digits.iter().enumerate() {
                    v |= i64::from(b) << (8 * i);
                }
                if n > 0 && n < 8 && digits[n - 1] & 0x80 != 0 {
                    v |= -1i64 << (8 * n);
                }
                sim.int(v)?;
            }
            b'G' => {
                r.take(8)?;
                sim.leaf(0)?;
            }
            b'X' => {
                let n = u32::from_le_bytes(array(r.take(4)?)) as usize;
                r.take(n)?;
                sim.leaf(n as u64)?;
            }
            b'U' => {
                let n = r.take(1)?[0] as usize;
                r.take(n)?;
                sim.leaf(n as u64)?;
            }
            b'N' | 0x88 | 0x89 | b')' | b']' | b'}' => sim.leaf(0)?,
            b'(' => sim.stack.push(Item::Mark),
            b't' | b'l' | b'd' => {
                let items = sim.pop_to_mark()?;
                sim.container(&items)?;
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let items = sim.pop_n(n)?;
                sim.container(&items)?;
            }
            b'Q' => {
                // BINPERSID wraps the id.
                let items = sim.pop_n(1)?;
                sim.container(&items)?;
            }
            b'R' | b'b' | 0x81 => {
                // REDUCE, BUILD, NEWOBJ: callable and arguments become one object. The reader
                // may copy the arguments once more while rebuilding (an OrderedDict's items).
                let items = sim.pop_n(2)?;
                sim.charge(items.iter().map(bytes_of).sum())?;
                sim.container(&items)?;
            }
            b'a' => {
                let items = sim.pop_n(1)?;
                sim.add_to_top(&items)?;
            }
            b's' => {
                let items = sim.pop_n(2)?;
                sim.add_to_top(&items)?;
            }
            b'e' | b'u' => {
                let items = sim.pop_to_mark()?;
                sim.add_to_top(&items)?;
            }
            b'q' => {
                let idx = u32::from(r.take(1)?[0]);
                sim.put(idx)?;
            }
            b'r' => {
                let idx = u32::from_le_bytes(array(r.take(4)?));
                sim.put(idx)?;
            }
            0x94 => {
                let idx = u32::try_from(sim.memo.len()).unwrap_or(u32::MAX);
                sim.put(idx)?;
            }
            b'h' => {
                let idx = u32::from(r.take(1)?[0]);
                sim.get(idx)?;
            }
            b'j' => {
                let idx = u32::from_le_bytes(array(r.take(4)?));
                sim.get(idx)?;
            }
            b'.' => return Ok(()),
            other => {
                return Err(format!(
                    "has a pickle opcode 0x{other:02x} that a state_dict does not use"
                ))
            }
        }
    }
}

/// The pickle's bytes and the position read so far.
struct Bytes<'a> {
    p: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    /// The next `n` bytes, refusing a length past the end.
    fn take(&mut self, n: usize) -> Result<&'a [u8], Refusal> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.p.len())
            .ok_or_else(|| "has a pickle whose data run past its end".to_string())?;
        let s = &self.p[self.at..end];
        self.at = end;
        Ok(s)
    }

    /// What is left.
    fn rest(&self) -> &'a [u8] {
        &self.p[self.at..]
    }
}

fn array<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    a
}

fn bytes_of(item: &Item) -> u64 {
    match item {
        Item::Mark => OBJECT_BYTES,
        Item::Obj { bytes, .. } => *bytes,
    }
}

fn depth_of(item: &Item) -> u32 {
    match item {
        Item::Mark => 0,
        Item::Obj { depth, .. } => *depth,
    }
}

#[derive(Default)]
struct Sim {
    stack: Vec<Item>,
    memo: HashMap<u32, Item>,
    work: u64,
}

impl Sim {
    fn charge(&mut self, bytes: u64) -> Result<(), Refusal> {
        self.work = self.work.saturating_add(bytes);
        if self.work > MAX_PICKLE_WORK {
            return Err(format!(
                "has a pickle that would make its reader build more than {} MiB of objects",
                MAX_PICKLE_WORK >> 20
            ));
        }
        Ok(())
    }

    fn push(&mut self, bytes: u64, depth: u32) -> Result<(), Refusal> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "has a pickle nested more than {MAX_DEPTH} levels deep"
            ));
        }
        self.charge(bytes)?;
        self.stack.push(Item::Obj { bytes, depth });
        Ok(())
    }

    fn leaf(&mut self, text: u64) -> Result<(), Refusal> {
        self.push(OBJECT_BYTES.saturating_add(text), 1)
    }

    fn int(&mut self, v: i64) -> Result<(), Refusal> {
        if !(0..=MAX_INT).contains(&v) {
            return Err(format!(
                "has a pickle integer {v} outside 0..={MAX_INT}, which no tensor offset, shape or stride needs"
            ));
        }
        self.leaf(0)
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Item>, Refusal> {
        if self.stack.len() < n {
            return Err("has a pickle that pops from an empty stack".into());
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn pop_to_mark(&mut self) -> Result<Vec<Item>, Refusal> {
        let mark = self
            .stack
            .iter()
            .rposition(|i| matches!(i, Item::Mark))
            .ok_or("has a pickle that closes a container it never opened")?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    /// A new container holding `items`: its bytes are theirs plus its own.
    fn container(&mut self, items: &[Item]) -> Result<(), Refusal> {
        let bytes = items
            .iter()
            .map(bytes_of)
            .fold(OBJECT_BYTES, u64::saturating_add);
        let depth = items.iter().map(depth_of).max().unwrap_or(0) + 1;
        // The items move into the container; only the container's own bytes are new.
        self.charge(OBJECT_BYTES)?;
        if depth > MAX_DEPTH {
            return Err(format!(
                "has a pickle nested more than {MAX_DEPTH} levels deep"
            ));
        }
        self.stack.push(Item::Obj { bytes, depth });
        Ok(())
    }

    fn add_to_top(&mut self, items: &[Item]) -> Result<(), Refusal> {
        let added: u64 = items.iter().map(bytes_of).sum();
        let child_depth = items.iter().map(depth_of).max().unwrap_or(0);
        match self.stack.last_mut() {
            Some(Item::Obj { bytes, depth }) => {
                *bytes = bytes.saturating_add(added);
                *depth = (*depth).max(child_depth + 1);
                if *depth > MAX_DEPTH {
                    return Err(format!(
                        "has a pickle nested more than {MAX_DEPTH} levels deep"
                    ));
                }
                Ok(())
            }
            _ => Err("has a pickle that adds items to nothing".into()),
        }
    }

    /// The memo keeps a copy of the top object.
    fn put(&mut self, idx: u32) -> Result<(), Refusal> {
        let top = *self
            .stack
            .last()
            .ok_or("has a pickle that memoizes from an empty stack")?;
        self.charge(bytes_of(&top))?;
        self.memo.insert(idx, top);
        Ok(())
    }

    /// A memo fetch pushes a copy.
    fn get(&mut self, idx: u32) -> Result<(), Refusal> {
        let item = *self
            .memo
            .get(&idx)
            .ok_or("has a pickle that fetches a memo entry it never stored")?;
        self.charge(bytes_of(&item))?;
        self.stack.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorials_pickle_passes() {
        let bytes = include_bytes!("../../../../tests/fixtures/lr_model_seed42.pth");
        let checked = check(bytes).unwrap();
        let mut names: Vec<_> = checked.storages.keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["lr_model/data/0", "lr_model/data/1"]);
    }

    #[test]
    fn a_declared_length_past_the_end_is_refused() {
        // BINUNICODE claiming 4 GiB, then STOP.
        let p = [0x80, 2, b'X', 0xff, 0xff, 0xff, 0xff, b'.'];
        let err = check_pickle(&p).unwrap_err();
        assert!(err.contains("run past its end"), "{err}");
    }

    #[test]
    fn memo_copies_that_double_are_stopped() {
        // [] → memo 0; then 40 times: MARK, GET 0, GET 0, LIST, PUT 0 — each round doubles.
        let mut p = vec![0x80, 2, b']', b'q', 0];
        for _ in 0..40 {
            p.extend([b'(', b'h', 0, b'h', 0, b'l', b'q', 0]);
        }
        p.push(b'.');
        let err = check_pickle(&p).unwrap_err();
        assert!(err.contains("MiB of objects"), "{err}");
    }

    #[test]
    fn deep_nesting_is_stopped() {
        let mut p = vec![0x80, 2];
        p.extend(std::iter::repeat_n(b'(', 100));
        p.extend(std::iter::repeat_n(b'l', 100));
        p.push(b'.');
        let err = check_pickle(&p).unwrap_err();
        assert!(err.contains("levels deep"), "{err}");
    }

    #[test]
    fn negative_and_huge_integers_are_refused() {
        for p in [
            vec![b'J', 0xff, 0xff, 0xff, 0xff, b'.'],
            vec![0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x7f, b'.'],
            vec![0x8a, 1, 0xff, b'.'],
            vec![b'I', b'-', b'3', b'\n', b'.'],
        ] {
            let err = check_pickle(&p).unwrap_err();
            assert!(err.contains("outside 0..="), "{err}");
        }
        check_pickle(&[0x8a, 2, 0xff, 0x00, b'.']).unwrap();
    }

    #[test]
    fn other_files_are_refused_with_a_reason() {
        assert!(check(b"\x80\x02}q\x00.").unwrap_err().contains("not a zip"));
        assert!(check(b"PK\x03\x04garbage")
            .unwrap_err()
            .contains("damaged zip"));
        assert!(check_pickle(&[0x80, 2]).unwrap_err().contains("STOP"));
        assert!(check_pickle(b"a.").unwrap_err().contains("empty stack"));
        assert!(check_pickle(b"h\x05.")
            .unwrap_err()
            .contains("never stored"));
        assert!(check_pickle(b"\x95.").unwrap_err().contains("opcode 0x95"));
    }
}
