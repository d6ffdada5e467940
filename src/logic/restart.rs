//! The restart policy (SPEC: "Restart policy (opt-in)"): which slots come
//! back after dying on their own, how long after, when a crash loop is
//! given up, and which slots take the bundle down with them.

use super::machine::Millis;
use super::slot::PerSlot;

pub const DEFAULT_DELAY_MS: u32 = 500;
pub const MAX_DELAY_MS: u32 = 3_600_000;
pub const DEFAULT_LIMIT: u16 = 5;
pub const MAX_LIMIT: u16 = 1000;
/// A run that lived at least this long starts a new count of quick deaths.
pub const LONG_RUN_MS: Millis = 10_000;
/// The backoff's ceiling, unless the base delay is longer.
pub const BACKOFF_CEILING_MS: u32 = 30_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Started again whenever it dies on its own.
    pub restart: PerSlot<bool>,
    /// Down for good: the bundle shuts down.
    pub essential: PerSlot<bool>,
    /// The base delay.
    pub delay_ms: u32,
    /// Quick deaths in a row before a slot is failed; 0: no limit.
    pub limit: u16,
}

/// SPEC's defaults: no slot restarted or essential, 500 ms, limit 5.
impl Default for Policy {
    fn default() -> Self {
        Policy {
            restart: PerSlot::default(),
            essential: PerSlot::default(),
            delay_ms: DEFAULT_DELAY_MS,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl Policy {
    /// Whether `quick_deaths` in a row exceed the limit.
    pub fn exceeded(&self, quick_deaths: u32) -> bool {
        self.limit != 0 && quick_deaths > u32::from(self.limit)
    }
}

/// The quick-death count after a run that lived `lived` ms: 1 after a long
/// run, one more after a short one (a run that could not start lived 0).
pub fn count_death(quick_deaths: u32, lived: Millis) -> u32 {
    if lived >= LONG_RUN_MS {
        1
    } else {
        quick_deaths.saturating_add(1)
    }
}

/// The wait before the restart after the `c`-th quick death in a row
/// (c ≥ 1): `min(base × 2^(c−1), max(base, 30000))` ms, without overflow.
pub fn backoff_ms(base: u32, c: u32) -> u32 {
    let ceiling = base.max(BACKOFF_CEILING_MS);
    // 2^32 × base (≥ 1) is past any ceiling: more doublings change nothing.
    let doublings = c.saturating_sub(1).min(32);
    let factor = 1u64.checked_shl(doublings).unwrap_or(u64::MAX);
    let delay = u64::from(base).saturating_mul(factor).min(u64::from(ceiling));
    u32::try_from(delay).unwrap_or(ceiling)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_the_base_up_to_30_s() {
        let delays: Vec<u32> = (1..=9).map(|c| backoff_ms(500, c)).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        assert_eq!(backoff_ms(500, u32::MAX), 30000);
    }

    #[test]
    fn a_base_above_30_s_is_its_own_ceiling() {
        assert_eq!(backoff_ms(45_000, 1), 45_000);
        assert_eq!(backoff_ms(45_000, 2), 45_000);
        assert_eq!(backoff_ms(3_600_000, 1), 3_600_000);
        assert_eq!(backoff_ms(3_600_000, u32::MAX), 3_600_000, "no overflow at the largest base");
        assert_eq!(backoff_ms(30_000, 5), 30_000);
    }

    #[test]
    fn small_and_zero_bases() {
        assert_eq!((1..=4).map(|c| backoff_ms(0, c)).collect::<Vec<_>>(), [0, 0, 0, 0]);
        assert_eq!(backoff_ms(1, 1), 1);
        assert_eq!(backoff_ms(1, 15), 16384);
        assert_eq!(backoff_ms(1, 16), 30000);
        assert_eq!(backoff_ms(1, 40), 30000);
        assert_eq!(backoff_ms(100, 0), 100, "c is at least 1 in use; 0 reads as 1");
    }

    #[test]
    fn agrees_with_the_formula_in_big_integers() {
        for base in [0u32, 1, 7, 100, 500, 29_999, 30_000, 30_001, 1_000_000, 3_600_000] {
            for c in 1..=70u32 {
                let exact = u128::from(base) << (c - 1);
                let ceiling = u128::from(base.max(30_000));
                assert_eq!(u128::from(backoff_ms(base, c)), exact.min(ceiling), "base {base}, c {c}");
            }
        }
    }

    #[test]
    fn a_10_s_run_resets_the_count() {
        assert_eq!(count_death(0, 0), 1);
        assert_eq!(count_death(4, 9_999), 5);
        assert_eq!(count_death(4, 10_000), 1);
        assert_eq!(count_death(u32::MAX, 1), u32::MAX);
    }

    #[test]
    fn the_limit_is_exceeded_past_it_and_0_is_none() {
        let policy = Policy::default();
        assert!(!policy.exceeded(5));
        assert!(policy.exceeded(6));
        let none = Policy { limit: 0, ..policy };
        assert!(!none.exceeded(u32::MAX));
        let one = Policy { limit: 1, ..policy };
        assert!(!one.exceeded(1) && one.exceeded(2));
    }
}
