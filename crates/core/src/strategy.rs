//! How the optimum is chosen (SPEC §3.7): the [`Strategy`] type, its names, and the choice with
//! its tie rules. Adding a strategy means adding a variant here: the compiler then points at
//! every match, and [`Strategy::ALL`] feeds the input parser and the CLI's value list.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Cheapest average price, ties → faster.
    Cost,
    /// Fastest average duration, ties → cheaper.
    Speed,
    /// Weighted normalised cost and duration.
    Balanced,
}

impl Strategy {
    /// Every strategy, in the order users see them.
    pub const ALL: [Strategy; 3] = [Strategy::Cost, Strategy::Speed, Strategy::Balanced];

    /// The input name (`"cost"`, `"speed"`, `"balanced"`).
    pub const fn name(self) -> &'static str {
        match self {
            Strategy::Cost => "cost",
            Strategy::Speed => "speed",
            Strategy::Balanced => "balanced",
        }
    }

    /// The strategy of an input name.
    pub fn parse(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Every name, for parsers and help texts.
    pub fn names() -> [&'static str; 3] {
        Strategy::ALL.map(Strategy::name)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the choice looks at of a candidate size.
pub trait Candidate {
    /// The price the strategy compares (averagePrice, or expectedPrice with a cold-start ratio).
    fn price(&self) -> f64;
    /// The average duration.
    fn duration(&self) -> f64;
}

/// `balanced`'s normalisers: the largest price and the largest duration among `candidates`.
pub fn normalisers<T: Candidate>(candidates: &[&T]) -> (f64, f64) {
    let max = |f: fn(&T) -> f64| candidates.iter().map(|c| f(c)).fold(f64::MIN, f64::max);
    (max(T::price), max(T::duration))
}

/// The chosen candidate (stable: full ties keep the candidates' order).
pub fn choose<'a, T: Candidate>(
    candidates: &[&'a T],
    strategy: Strategy,
    weight: f64,
) -> Option<&'a T> {
    let mut sorted = candidates.to_vec();
    match strategy {
        Strategy::Cost => sorted.sort_by(|a, b| {
            a.price()
                .total_cmp(&b.price())
                .then(a.duration().total_cmp(&b.duration()))
        }),
        Strategy::Speed => sorted.sort_by(|a, b| {
            a.duration()
                .total_cmp(&b.duration())
                .then(a.price().total_cmp(&b.price()))
        }),
        Strategy::Balanced => {
            let (max_cost, max_duration) = normalisers(candidates);
            // The original's expression, in its order of operations.
            let value = |s: &T| {
                weight * s.price() / max_cost + (1.0 - weight) * s.duration() / max_duration
            };
            sorted.sort_by(|a, b| value(a).total_cmp(&value(b)));
        }
    }
    sorted.first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct C(u32, f64, f64);

    impl Candidate for C {
        fn price(&self) -> f64 {
            self.1
        }
        fn duration(&self) -> f64 {
            self.2
        }
    }

    fn chosen(candidates: &[&C], strategy: Strategy, weight: f64) -> Option<u32> {
        choose(candidates, strategy, weight).map(|c| c.0)
    }

    #[test]
    fn names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(Strategy::parse(s.name()), Some(s));
            assert_eq!(s.to_string(), s.name());
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.name())
            );
        }
        assert_eq!(Strategy::names(), ["cost", "speed", "balanced"]);
        assert_eq!(Strategy::parse("fastest"), None);
    }

    #[test]
    fn strategies_and_ties() {
        let a = C(128, 2.0, 100.0);
        let b = C(256, 1.0, 80.0);
        let c = C(512, 1.0, 50.0);
        let d = C(1024, 3.0, 50.0);
        // cost: 256 and 512 tie on price → faster (512).
        assert_eq!(chosen(&[&a, &b, &c, &d], Strategy::Cost, 0.5), Some(512));
        // speed: 512 and 1024 tie on duration → cheaper (512).
        assert_eq!(chosen(&[&a, &b, &d, &c], Strategy::Speed, 0.5), Some(512));
        // balanced full ties keep the order.
        let e = C(2048, 1.0, 50.0);
        assert_eq!(chosen(&[&c, &e], Strategy::Balanced, 0.5), Some(512));
        assert_eq!(chosen(&[&e, &c], Strategy::Balanced, 0.5), Some(2048));
        // balanced weight 1 = cost only, 0 = speed only.
        let x = C(128, 1.0, 300.0);
        let y = C(1024, 4.0, 40.0);
        assert_eq!(chosen(&[&x, &y], Strategy::Balanced, 1.0), Some(128));
        assert_eq!(chosen(&[&x, &y], Strategy::Balanced, 0.0), Some(1024));
        // 0.5: x = 0.5·0.25 + 0.5·1 = 0.625; y = 0.5·1 + 0.5·0.1333 = 0.567.
        assert_eq!(chosen(&[&x, &y], Strategy::Balanced, 0.5), Some(1024));
        assert_eq!(chosen(&[], Strategy::Cost, 0.5), None);
    }
}
