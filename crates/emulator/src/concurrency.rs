//! Lambda's concurrency model (Lambda Developer Guide, "Understanding Lambda function scaling"
//! and "Configuring reserved concurrency for a function"): the account has a concurrency limit
//! per region; a function with reserved concurrency runs at most that many invocations at once
//! (0: none, every invocation throttled), and the others share the account's unreserved
//! concurrency (the limit less every reservation). Past its share an invocation is throttled
//! with `TooManyRequestsException` and the `Reason` of the API reference (`Invoke`, errors):
//! `ReservedFunctionConcurrentInvocationLimitExceeded` or `ConcurrentInvocationLimitExceeded`.
//!
//! A slot is held by a [`Permit`] for the invocation's whole life, whatever ends it (an answer,
//! a timeout, a caller that went away), and given back when the permit is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::lock;

/// Why an invocation was throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// The function's reserved concurrency is in use (or 0).
    Reserved,
    /// The account's unreserved concurrency is in use.
    Account,
}

impl Throttle {
    /// `TooManyRequestsException.Reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Throttle::Reserved => "ReservedFunctionConcurrentInvocationLimitExceeded",
            Throttle::Account => "ConcurrentInvocationLimitExceeded",
        }
    }
}

#[derive(Debug, Default)]
struct InFlight {
    /// Invocations of functions without a reservation.
    unreserved: u32,
    /// Invocations by function.
    by_function: HashMap<String, u32>,
    /// All invocations now, and the most there were at once.
    total: u32,
    peak: u32,
}

/// The account's concurrency and the invocations in flight.
#[derive(Debug)]
pub struct Concurrency {
    /// The account's limit (`AccountLimit.ConcurrentExecutions`); 0 is no limit.
    limit: u32,
    in_flight: Mutex<InFlight>,
}

/// A slot taken by one invocation, given back when dropped.
#[derive(Debug)]
pub struct Permit {
    concurrency: Arc<Concurrency>,
    function: String,
    reserved: bool,
}

impl Concurrency {
    /// An account with `limit` concurrent executions (0: unlimited).
    pub fn new(limit: u32) -> Arc<Concurrency> {
        Arc::new(Concurrency {
            limit,
            in_flight: Mutex::new(InFlight::default()),
        })
    }

    /// The account's limit (0: unlimited).
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Takes a slot for an invocation of `function`: within its `reserved` concurrency when it
    /// has one, else within the account's unreserved concurrency (the limit less
    /// `reserved_total`, every function's reservation).
    pub fn acquire(
        self: &Arc<Self>,
        function: &str,
        reserved: Option<u32>,
        reserved_total: u32,
    ) -> Result<Permit, Throttle> {
        let mut in_flight = lock(&self.in_flight);
        let running = in_flight.by_function.get(function).copied().unwrap_or(0);
        match reserved {
            Some(limit) if running >= limit => return Err(Throttle::Reserved),
            Some(_) => {}
            None => {
                let unreserved = self.limit.saturating_sub(reserved_total);
                if self.limit > 0 && in_flight.unreserved >= unreserved {
                    return Err(Throttle::Account);
                }
                in_flight.unreserved += 1;
            }
        }
        *in_flight
            .by_function
            .entry(function.to_string())
            .or_insert(0) += 1;
        in_flight.total += 1;
        in_flight.peak = in_flight.peak.max(in_flight.total);
        Ok(Permit {
            concurrency: self.clone(),
            function: function.to_string(),
            reserved: reserved.is_some(),
        })
    }

    /// Invocations in flight now.
    pub fn in_flight(&self) -> u32 {
        lock(&self.in_flight).total
    }

    /// The most invocations in flight at once so far.
    pub fn peak(&self) -> u32 {
        lock(&self.in_flight).peak
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.concurrency.in_flight);
        if let Some(n) = in_flight.by_function.get_mut(&self.function) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                in_flight.by_function.remove(&self.function);
            }
        }
        if !self.reserved {
            in_flight.unreserved = in_flight.unreserved.saturating_sub(1);
        }
        in_flight.total = in_flight.total.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_unreserved_shares() {
        let account = Concurrency::new(10);
        // f reserves 3; the others share 10 - 3 = 7.
        let f: Vec<Permit> = (0..3)
            .map(|_| account.acquire("f", Some(3), 3).expect("within f's 3"))
            .collect();
        assert_eq!(
            account.acquire("f", Some(3), 3).err(),
            Some(Throttle::Reserved)
        );
        let g: Vec<Permit> = (0..7)
            .map(|_| account.acquire("g", None, 3).expect("within 7"))
            .collect();
        assert_eq!(account.acquire("h", None, 3).err(), Some(Throttle::Account));
        assert_eq!((account.in_flight(), account.peak()), (10, 10));
        drop(f);
        // f's slots are f's: the unreserved pool is still full.
        assert_eq!(account.acquire("h", None, 3).err(), Some(Throttle::Account));
        drop(g);
        assert_eq!(account.in_flight(), 0);
        assert!(account.acquire("h", None, 3).is_ok());
        // Reserved 0: never.
        assert_eq!(
            account.acquire("z", Some(0), 3).err(),
            Some(Throttle::Reserved)
        );
        assert_eq!(
            Throttle::Reserved.reason(),
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        );
        // No limit.
        let unlimited = Concurrency::new(0);
        let many: Vec<Permit> = (0..5000)
            .map(|_| unlimited.acquire("f", None, 0).expect("unlimited"))
            .collect();
        assert_eq!(unlimited.peak(), 5000);
        drop(many);
    }
}
