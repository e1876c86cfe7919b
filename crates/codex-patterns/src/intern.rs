//! Goals as small integer ids, so the hot paths hash each string once.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A goal's id: its index in the interner.
pub(crate) type Sym = u32;

/// Goal strings to ids and back, with how often each was seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    ids: HashMap<String, Sym>,
    names: Vec<String>,
    counts: Vec<u32>,
}

impl Interner {
    /// The id of `name`, creating it if new; counts one more use.
    pub(crate) fn intern(&mut self, name: &str) -> Sym {
        let id = match self.ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as Sym;
                self.ids.insert(name.to_owned(), id);
                self.names.push(name.to_owned());
                self.counts.push(0);
                id
            }
        };
        self.counts[id as usize] += 1;
        id
    }

    /// The string behind an id.
    pub(crate) fn name(&self, id: Sym) -> &str {
        &self.names[id as usize]
    }

    /// How many times an id was interned.
    pub(crate) fn count(&self, id: Sym) -> u32 {
        self.counts[id as usize]
    }
}

/// A hasher for keys that are already well-mixed u64s: hashing them again is wasted time.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = mix(u64::from(n));
    }
}

/// A map keyed by pre-mixed u64 hashes.
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// A map keyed by goal ids.
pub(crate) type SymMap<V> = HashMap<Sym, V, BuildHasherDefault<IdHasher>>;

/// splitmix64's finaliser: spreads every input bit over the output.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a: a stable string hash (unlike std's, the same on every run and version).
pub(crate) fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
