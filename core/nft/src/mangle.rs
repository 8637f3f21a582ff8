//! Rulesets cut, repeated and changed at random places, for the plugins' tests that
//! the reader never panics (built with the `mangle` feature, for tests only).

/// A source of mangled copies of rulesets: a xorshift generator, and the pieces it
/// inserts besides single characters.
pub struct Mangler {
    state: u64,
    pieces: Vec<&'static str>,
}

impl Mangler {
    /// A mangler starting from `seed` (not 0), inserting `pieces` (tokens of the
    /// syntax under test).
    pub fn new(seed: u64, pieces: &[&'static str]) -> Mangler {
        Mangler {
            state: seed.max(1),
            pieces: pieces.to_vec(),
        }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// `text` with one to four changes: a run of up to 8 characters cut, a piece
    /// inserted, or a character replaced by a printable one.
    pub fn mangle(&mut self, text: &str) -> String {
        let mut t: Vec<char> = text.chars().collect();
        for _ in 0..1 + self.next() % 4 {
            let at = (self.next() as usize) % (t.len() + 1);
            match self.next() % 3 {
                0 => {
                    let end = (at + (self.next() as usize) % 8).min(t.len());
                    t.drain(at..end);
                }
                1 => {
                    let i = (self.next() as usize) % self.pieces.len();
                    let p = self.pieces[i];
                    for (k, c) in p.chars().enumerate() {
                        t.insert((at + k).min(t.len()), c);
                    }
                }
                _ => {
                    if at < t.len() {
                        t[at] = char::from(b' ' + (self.next() % 95) as u8);
                    }
                }
            }
        }
        t.into_iter().collect()
    }
}
