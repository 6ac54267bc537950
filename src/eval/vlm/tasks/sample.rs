//! Seeded sample selection equal to CPython's `random.seed(seed); random.sample(items, k)`
//! (Mersenne Twister MT19937, `init_by_array`, `_randbelow` by rejection on `getrandbits`, and
//! `sample`'s pool/set switch), so `--limit 100 --seed 42` picks the items the authors' scripts
//! pick from the same list. Checked against CPython 3.11 in tests/vlm_parse.rs.

const N: usize = 624;
const M: usize = 397;

struct Mt {
    mt: [u32; N],
    i: usize,
}

impl Mt {
    fn init_genrand(s: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = s;
        for i in 1..N {
            mt[i] = 1812433253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt { mt, i: N }
    }

    /// CPython `random_seed` for a non-negative int: the key is its 32-bit words, least first.
    fn from_seed(seed: u64) -> Self {
        let mut key = vec![seed as u32];
        if seed >> 32 != 0 {
            key.push((seed >> 32) as u32);
        }
        let mut m = Mt::init_genrand(19650218);
        let (mut i, mut j) = (1usize, 0usize);
        let mut k = N.max(key.len());
        while k > 0 {
            m.mt[i] = (m.mt[i] ^ (m.mt[i - 1] ^ (m.mt[i - 1] >> 30)).wrapping_mul(1664525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                m.mt[0] = m.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
            k -= 1;
        }
        k = N - 1;
        while k > 0 {
            m.mt[i] = (m.mt[i] ^ (m.mt[i - 1] ^ (m.mt[i - 1] >> 30)).wrapping_mul(1566083941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                m.mt[0] = m.mt[N - 1];
                i = 1;
            }
            k -= 1;
        }
        m.mt[0] = 0x8000_0000;
        m.i = N;
        m
    }

    fn next_u32(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        if self.i >= N {
            for kk in 0..N {
                let y = (self.mt[kk] & UPPER) | (self.mt[(kk + 1) % N] & LOWER);
                let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
                self.mt[kk] = self.mt[(kk + M) % N] ^ (y >> 1) ^ mag;
            }
            self.i = 0;
        }
        let mut y = self.mt[self.i];
        self.i += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `getrandbits(k)` for 1 <= k <= 32.
    fn getrandbits(&mut self, k: u32) -> u32 {
        self.next_u32() >> (32 - k)
    }

    /// `_randbelow_with_getrandbits(n)`, n >= 1.
    fn randbelow(&mut self, n: usize) -> usize {
        let k = usize::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(k) as usize;
            if r < n {
                return r;
            }
        }
    }
}

/// Indices of `random.sample(range(n), min(k, n))` after `random.seed(seed)` (k = n is a
/// permutation, as in Python).
pub fn python_sample(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let k = k.min(n);
    let mut rng = Mt::from_seed(seed);
    let mut setsize = 21usize;
    if k > 5 {
        let e = ((k as f64 * 3.0).ln() / 4f64.ln()).ceil() as u32;
        setsize += 4usize.pow(e);
    }
    let mut out = Vec::with_capacity(k);
    if n <= setsize {
        let mut pool: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = rng.randbelow(n - i);
            out.push(pool[j]);
            pool[j] = pool[n - i - 1];
        }
    } else {
        let mut selected = std::collections::HashSet::new();
        for _ in 0..k {
            let mut j = rng.randbelow(n);
            while selected.contains(&j) {
                j = rng.randbelow(n);
            }
            selected.insert(j);
            out.push(j);
        }
    }
    out
}
