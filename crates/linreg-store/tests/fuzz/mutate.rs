//! A small, seeded mutation engine: the same seed gives the same inputs on every machine.

use linreg_data::rng::SplitMix64;

/// Values that break sizes, signs and offsets.
const INTERESTING_U64: [u64; 12] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// Numbers written as text (JSON, CSV) that break parsers and bounds.
const INTERESTING_TEXT: [&str; 16] = [
    "0",
    "-1",
    "1",
    "-0",
    "1e308",
    "-1e308",
    "1e-320",
    "NaN",
    "inf",
    "18446744073709551615",
    "18446744073709551616",
    "4294967296",
    "9007199254740993",
    "1.7976931348623157e309",
    "\"x\"",
    "null",
];

/// The mutator.
pub struct Mutator {
    rng: SplitMix64,
}

impl Mutator {
    /// A mutator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
        }
    }

    /// A number in `0..n` (`n` ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.below(n.max(1))
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn byte(&mut self) -> u8 {
        (self.rng.next_u64() & 0xff) as u8
    }

    /// Random bytes of a random length up to `max`.
    pub fn random_bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.byte()).collect()
    }

    /// One to four byte-level mutations of `input`; `other` is spliced in sometimes.
    pub fn bytes(&mut self, input: &[u8], other: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..1 + self.below(4) {
            self.one_byte_mutation(&mut v, other);
        }
        v
    }

    fn one_byte_mutation(&mut self, v: &mut Vec<u8>, other: &[u8]) {
        let len = v.len();
        match self.below(10) {
            0 if len > 0 => {
                // Flip a bit.
                let i = self.below(len);
                v[i] ^= 1 << self.below(8);
            }
            1 if len > 0 => {
                let i = self.below(len);
                v[i] = [0, 0xff, 0x7f, 0x80, b'.', b'(', 0x8a][self.below(7)];
            }
            2 if len > 0 => {
                // Overwrite 1, 2, 4 or 8 bytes with an interesting integer, either endianness.
                let width = [1, 2, 4, 8][self.below(4)];
                let x = INTERESTING_U64[self.below(INTERESTING_U64.len())];
                let bytes = if self.one_in(2) {
                    x.to_le_bytes()
                } else {
                    x.to_be_bytes()
                };
                let at = self.below(len);
                let n = width.min(len - at);
                v[at..at + n].copy_from_slice(&bytes[..n]);
            }
            3 if len > 0 => {
                // Delete a range.
                let at = self.below(len);
                let n = 1 + self.below((len - at).min(64));
                v.drain(at..at + n);
            }
            4 => {
                // Insert random bytes.
                let at = self.below(len + 1);
                let ins = self.random_bytes(16);
                v.splice(at..at, ins);
            }
            5 if len > 0 => {
                // Duplicate a range.
                let at = self.below(len);
                let n = 1 + self.below((len - at).min(64));
                let copy = v[at..at + n].to_vec();
                let to = self.below(len + 1);
                v.splice(to..to, copy);
            }
            6 if len > 0 => {
                // Truncate.
                v.truncate(self.below(len));
            }
            7 if !other.is_empty() && len > 0 => {
                // Splice in part of another input.
                let at = self.below(len);
                let from = self.below(other.len());
                let n = 1 + self.below((other.len() - from).min(256));
                let end = (at + n).min(len);
                v.splice(at..end, other[from..from + n].iter().copied());
            }
            8 if len > 0 => {
                // Swap two bytes.
                let (a, b) = (self.below(len), self.below(len));
                v.swap(a, b);
            }
            _ => {
                // Change a random byte.
                if len > 0 {
                    let i = self.below(len);
                    v[i] = self.byte();
                } else {
                    v.push(self.byte());
                }
            }
        }
    }

    /// One to three mutations of a text (JSON, CSV) that keep most of it readable: numbers and
    /// tokens replaced with interesting ones, lines deleted or repeated, characters inserted.
    pub fn text(&mut self, input: &[u8], other: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..1 + self.below(3) {
            match self.below(6) {
                0 | 1 => self.replace_number(&mut v),
                2 => self.line_edit(&mut v),
                3 => {
                    let at = self.below(v.len() + 1);
                    let chars = b"\",:{}[]\n\r\t;-. e0";
                    let c = chars[self.below(chars.len())];
                    v.insert(at, c);
                }
                _ => self.one_byte_mutation(&mut v, other),
            }
        }
        v
    }

    fn replace_number(&mut self, v: &mut Vec<u8>) {
        // Find the digit runs, pick one, replace it (with its sign and exponent) by another.
        let mut runs = Vec::new();
        let mut i = 0;
        while i < v.len() {
            if v[i].is_ascii_digit() {
                let start = if i > 0 && v[i - 1] == b'-' { i - 1 } else { i };
                while i < v.len() && (v[i].is_ascii_digit() || b".eE+-".contains(&v[i])) {
                    i += 1;
                }
                runs.push((start, i));
            } else {
                i += 1;
            }
        }
        if runs.is_empty() {
            return;
        }
        let (a, b) = runs[self.below(runs.len())];
        let text = if self.one_in(4) {
            (self.rng.next_u64() >> self.below(64)).to_string()
        } else {
            INTERESTING_TEXT[self.below(INTERESTING_TEXT.len())].to_string()
        };
        v.splice(a..b, text.into_bytes());
    }

    fn line_edit(&mut self, v: &mut Vec<u8>) {
        let lines: Vec<usize> = std::iter::once(0)
            .chain(
                v.iter()
                    .enumerate()
                    .filter(|(_, &c)| c == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        if lines.len() < 2 {
            return;
        }
        let k = self.below(lines.len() - 1);
        let (a, b) = (lines[k], lines[k + 1]);
        if self.one_in(2) {
            v.drain(a..b);
        } else {
            let copy = v[a..b].to_vec();
            for _ in 0..1 + self.below(3) {
                v.splice(a..a, copy.iter().copied());
            }
        }
    }
}
