//! `Slots`: counted concurrent holders per key (connections per address, WebSocket sessions per
//! player and per address); a slot is released when its guard drops.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// Holders per key, each key at most `max`.
#[derive(Debug)]
pub struct Slots<K: Hash + Eq + Copy> {
    name: &'static str,
    max: usize,
    held: Mutex<HashMap<K, usize>>,
}

/// One held slot; dropping it releases the slot.
#[derive(Debug)]
pub struct Slot<K: Hash + Eq + Copy> {
    slots: Arc<Slots<K>>,
    key: K,
}

impl<K: Hash + Eq + Copy> Slots<K> {
    /// At most `max` holders per key.
    pub fn new(name: &'static str, max: usize) -> Arc<Self> {
        Arc::new(Self {
            name,
            max,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `key`, or `None` when the key holds `max` already.
    pub fn acquire(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let n = held.entry(key).or_insert(0);
        if *n >= self.max {
            if *n == 0 {
                held.remove(&key);
            }
            return None;
        }
        *n += 1;
        Some(Slot {
            slots: self.clone(),
            key,
        })
    }

    /// Slots held, all keys together.
    pub fn held(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }

    /// The name in metrics.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<K: Hash + Eq + Copy> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_holds_at_most_max_slots_until_one_is_released() {
        let slots = Slots::new("t", 2);
        let a = slots.acquire(1).unwrap();
        let _b = slots.acquire(1).unwrap();
        assert!(slots.acquire(1).is_none());
        assert!(slots.acquire(2).is_some());
        drop(a);
        assert!(slots.acquire(1).is_some());
        assert_eq!(slots.held(), 1);
    }
}
