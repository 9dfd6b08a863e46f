//! PyTorch's CPU summation order, reproduced.
//!
//! `torch.sum` on a CPU float tensor does not add its values left to right: ATen's
//! `cascade_sum` (`aten/src/ATen/native/cpu/SumKernel.cpp`) keeps several vector accumulators
//! and folds them into one another in a fixed pattern, which is both accurate and fast. The
//! result depends on that pattern, so a port that wants PyTorch's numbers to the last bit (the
//! tutorial's L1 bias gradient is such a sum) has to add in the same order. [`Cascade`] does,
//! for one contiguous run of values that arrives in order, without storing the run:
//!
//! - runs of `LANES` (8) or more values: the first `⌊len/8⌋·8` values are read as vectors of 8
//!   lanes, four vectors at a time (PyTorch's instruction-level parallelism), each group of
//!   four added into level-0 accumulators; after every `2^p` groups the levels cascade upward
//!   (`p = max(4, ⌈log2 groups⌉ / 4)`); then the levels fold down, the leftover vectors are
//!   added, the four vectors are added together lane by lane; finally the scalar tail is summed
//!   from 0 and the 8 lanes are added to it one by one;
//! - shorter runs: the same pattern with lanes of width 1 and no tail.
//!
//! Eight lanes is what this ATen kernel uses on x86-64 even on AVX-512 machines (the sum
//! kernel is dispatched at AVX2 width); it was checked against PyTorch 2.15 on thousands of
//! random arrays of every length below PyTorch's parallel grain (32768 elements), by
//! `tools/pytorch_reference.py` and `tests/fixtures/pytorch_sums.json`. Longer sums in PyTorch
//! are split across threads; this crate splits long runs its own way (see `cpu.rs`).

use crate::element::KernelFloat;

/// Vector width of PyTorch's float sum kernel on x86-64.
pub const LANES: usize = 8;
/// PyTorch's instruction-level parallelism: vectors added per group.
const ILP: usize = 4;
/// Cascade levels.
const LEVELS: usize = 4;
/// Values per group when lanes are vectors.
const GROUP_MAX: usize = ILP * LANES;

/// A sum of `len` values in PyTorch's order, fed one value or one block at a time.
#[derive(Debug, Clone)]
pub struct Cascade<E> {
    /// Lanes per accumulator: `LANES`, or 1 for runs shorter than `LANES`.
    lanes: usize,
    /// Values per group (`ILP · lanes`).
    group: usize,
    /// Values summed through the grouped accumulators.
    grouped: usize,
    /// Values summed as whole vectors (grouped ones plus leftover vectors).
    vectors: usize,
    /// Groups after which the levels cascade (whole super-blocks only).
    cascading_groups: usize,
    level_power: u32,
    level_step: usize,
    /// `acc[level][k · lanes + lane]`.
    acc: [[E; GROUP_MAX]; LEVELS],
    folded: bool,
    tail: E,
    seen: usize,
    len: usize,
    /// Position in the current group (grouped region) or vector (leftover vectors).
    pos: usize,
    /// Groups completed.
    groups_done: usize,
}

/// PyTorch's `CeilLog2`: 1 for `x ≤ 2`, else the number of bits of `x − 1`.
fn ceil_log2(x: usize) -> u32 {
    if x <= 2 {
        1
    } else {
        usize::BITS - (x - 1).leading_zeros()
    }
}

impl<E: KernelFloat> Cascade<E> {
    /// A sum that will receive exactly `len` values.
    pub fn new(len: usize) -> Self {
        let lanes = if len >= LANES { LANES } else { 1 };
        let vector_count = len / lanes;
        let groups = vector_count / ILP;
        let level_power = (ceil_log2(groups) / LEVELS as u32).max(4);
        let level_step = 1usize << level_power;
        Self {
            lanes,
            group: ILP * lanes,
            grouped: groups * ILP * lanes,
            vectors: vector_count * lanes,
            cascading_groups: groups / level_step * level_step,
            level_power,
            level_step,
            acc: [[E::ZERO; GROUP_MAX]; LEVELS],
            folded: false,
            tail: E::ZERO,
            seen: 0,
            len,
            pos: 0,
            groups_done: 0,
        }
    }

    /// Adds the next value.
    #[inline]
    pub fn push(&mut self, v: E) {
        let e = self.seen;
        debug_assert!(e < self.len, "more values than announced");
        self.seen += 1;
        if e < self.grouped {
            self.acc[0][self.pos] += v;
            self.pos += 1;
            if self.pos == self.group {
                self.pos = 0;
                self.groups_done += 1;
                self.after_group(self.groups_done);
            }
        } else if e < self.vectors {
            // The grouped region ends on a group boundary, so `pos` is 0 here at first.
            if !self.folded {
                self.fold();
            }
            self.acc[0][self.pos] += v;
            self.pos += 1;
            if self.pos == self.lanes {
                self.pos = 0;
            }
        } else {
            self.tail += v;
        }
    }

    /// Adds the next values, in order. Whole groups go through a loop the compiler vectorizes.
    #[inline]
    pub fn push_all(&mut self, values: &[E]) {
        let mut rest = values;
        // Whole groups, while aligned and inside the grouped region.
        if self.lanes == LANES && self.pos == 0 {
            while rest.len() >= GROUP_MAX && self.seen + GROUP_MAX <= self.grouped {
                let (head, tail) = rest.split_at(GROUP_MAX);
                for (a, &v) in self.acc[0].iter_mut().zip(head) {
                    *a += v;
                }
                self.seen += GROUP_MAX;
                self.groups_done += 1;
                self.after_group(self.groups_done);
                rest = tail;
            }
        }
        for &v in rest {
            self.push(v);
        }
    }

    /// PyTorch's level cascade after `groups` groups (`i` in ATen's `multi_row_sum`).
    fn after_group(&mut self, groups: usize) {
        if groups > self.cascading_groups || !groups.is_multiple_of(self.level_step) {
            return;
        }
        let mask = self.level_step - 1;
        for j in 1..LEVELS {
            for p in 0..self.group {
                let lower = self.acc[j - 1][p];
                self.acc[j][p] += lower;
                self.acc[j - 1][p] = E::ZERO;
            }
            if groups & (mask << (j as u32 * self.level_power)) != 0 {
                break;
            }
        }
    }

    /// Folds the levels into level 0 (the end of ATen's `multi_row_sum`).
    fn fold(&mut self) {
        self.folded = true;
        for j in 1..LEVELS {
            for p in 0..self.group {
                let upper = self.acc[j][p];
                self.acc[0][p] += upper;
            }
        }
    }

    /// The sum. All `len` values must have been pushed.
    pub fn finish(&mut self) -> E {
        debug_assert_eq!(self.seen, self.len, "fewer values than announced");
        if !self.folded {
            self.fold();
        }
        let lanes = self.lanes;
        for k in 1..ILP {
            for lane in 0..lanes {
                let v = self.acc[0][k * lanes + lane];
                self.acc[0][lane] += v;
            }
        }
        if lanes == 1 {
            return self.acc[0][0];
        }
        let mut total = self.tail;
        for lane in 0..lanes {
            total += self.acc[0][lane];
        }
        total
    }
}

/// The sum of `values` in PyTorch's order.
pub fn sum<E: KernelFloat>(values: &[E]) -> E {
    let mut c = Cascade::new(values.len());
    c.push_all(values);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ATen's recursive description of the algorithm, written out directly (not streamed), to
    /// check the streaming version against. Indexed loops on purpose: they mirror ATen's code.
    #[allow(clippy::needless_range_loop)]
    fn direct(values: &[f32]) -> f32 {
        fn multi_row<const W: usize>(v: &[[f32; W]], groups: usize) -> [[f32; W]; ILP] {
            let level_power = (ceil_log2(groups) / LEVELS as u32).max(4);
            let step = 1usize << level_power;
            let mask = step - 1;
            let mut acc = [[[0.0f32; W]; ILP]; LEVELS];
            let mut i = 0;
            while i + step <= groups {
                for _ in 0..step {
                    for k in 0..ILP {
                        for l in 0..W {
                            acc[0][k][l] += v[i * ILP + k][l];
                        }
                    }
                    i += 1;
                }
                for j in 1..LEVELS {
                    for k in 0..ILP {
                        for l in 0..W {
                            acc[j][k][l] += acc[j - 1][k][l];
                            acc[j - 1][k][l] = 0.0;
                        }
                    }
                    if i & (mask << (j as u32 * level_power)) != 0 {
                        break;
                    }
                }
            }
            while i < groups {
                for k in 0..ILP {
                    for l in 0..W {
                        acc[0][k][l] += v[i * ILP + k][l];
                    }
                }
                i += 1;
            }
            for j in 1..LEVELS {
                for k in 0..ILP {
                    for l in 0..W {
                        acc[0][k][l] += acc[j][k][l];
                    }
                }
            }
            acc[0]
        }
        fn row_sum<const W: usize>(v: &[[f32; W]]) -> [f32; W] {
            let groups = v.len() / ILP;
            let mut ps = multi_row::<W>(v, groups);
            for item in &v[groups * ILP..] {
                for l in 0..W {
                    ps[0][l] += item[l];
                }
            }
            for k in 1..ILP {
                for l in 0..W {
                    ps[0][l] += ps[k][l];
                }
            }
            ps[0]
        }
        if values.len() < LANES {
            let v: Vec<[f32; 1]> = values.iter().map(|&x| [x]).collect();
            return row_sum::<1>(&v)[0];
        }
        let n_vec = values.len() / LANES;
        let v: Vec<[f32; LANES]> = values[..n_vec * LANES]
            .chunks_exact(LANES)
            .map(|c| c.try_into().unwrap())
            .collect();
        let lanes = row_sum::<LANES>(&v);
        let mut total = 0.0f32;
        for &x in &values[n_vec * LANES..] {
            total += x;
        }
        for l in lanes {
            total += l;
        }
        total
    }

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 3.0
            })
            .collect()
    }

    #[test]
    fn streaming_equals_atens_description_for_every_length() {
        for n in (0..600).chain([1024, 1031, 4096, 5000, 20_000, 32_767, 70_001]) {
            let v = values(n, n as u64);
            let want = direct(&v);
            assert_eq!(sum(&v).to_bits(), want.to_bits(), "len {n}");
            let mut one_by_one = Cascade::new(n);
            v.iter().for_each(|&x| one_by_one.push(x));
            assert_eq!(one_by_one.finish().to_bits(), want.to_bits(), "len {n}");
            // Blocks of odd sizes mix the fast and the slow path.
            let mut blocks = Cascade::new(n);
            for chunk in v.chunks(37) {
                blocks.push_all(chunk);
            }
            assert_eq!(blocks.finish().to_bits(), want.to_bits(), "len {n}");
        }
    }

    #[test]
    fn small_sums_by_hand() {
        // Fewer than 8 values: ((v0 + v4) + v1) + v2) + v3, tail of len % 4 added to lane 0.
        assert_eq!(sum(&[1.0f32, 2.0, 3.0]), 6.0);
        assert_eq!(sum::<f32>(&[]), 0.0);
        // 1e8 + 1 + … loses the small values only in the order PyTorch adds them.
        let v = [1e8f32, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        // 9 values: one vector of 8 (lanes 1e8, 1, …, 1) and a tail of [1.0]:
        // total = 0 + 1 = 1, then + 1e8 = 1e8 (rounded), then + 1 seven times, each lost.
        assert_eq!(sum(&v), 1e8);
    }
}
