//! Leaderboards: an order-statistic treap of (score desc, offset reached asc, member), so an update and
//! a rank lookup each cost O(log n) on boards of any size. No IO: rebuilt and fed from events.

use std::collections::HashMap;
use std::hash::Hash;

/// A position on the board: higher score first; on a tie, the member who reached it first (lower offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key<M: Ord> {
    neg_score: i64,
    reached_at: i64,
    member: M,
}

#[derive(Debug, Clone)]
struct Node<M: Ord> {
    key: Key<M>,
    priority: u64,
    size: u32,
    left: Option<u32>,
    right: Option<u32>,
}

/// A board of members `M` (team or player ids) with their score and the offset at which they reached it.
#[derive(Debug, Clone)]
pub struct Board<M: Ord + Copy + Hash> {
    nodes: Vec<Node<M>>,
    free: Vec<u32>,
    root: Option<u32>,
    current: HashMap<M, (i64, i64)>,
    seed: u64,
}

impl<M: Ord + Copy + Hash> Default for Board<M> {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            free: Vec::new(),
            root: None,
            current: HashMap::new(),
            seed: 0x2545_f491_4f6c_dd1d,
        }
    }
}

/// One row of a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing<M> {
    /// 1 for the leader.
    pub rank: u32,
    pub member: M,
    pub score: i64,
    /// Event offset at which the member reached this score.
    pub reached_at: i64,
}

impl<M: Ord + Copy + Hash> Board<M> {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.current.len()
    }

    /// Whether the board is empty.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// A member's score and the offset at which it was reached.
    pub fn get(&self, member: M) -> Option<(i64, i64)> {
        self.current.get(&member).copied()
    }

    /// Sets a member's score, reached at event `offset` (members enter the board on first set).
    pub fn set(&mut self, member: M, score: i64, offset: i64) {
        if let Some((old_score, old_offset)) = self.current.insert(member, (score, offset)) {
            let old = Key {
                neg_score: -old_score,
                reached_at: old_offset,
                member,
            };
            self.root = self.remove(self.root, &old);
        }
        let key = Key {
            neg_score: -score,
            reached_at: offset,
            member,
        };
        let node = self.alloc(key);
        self.root = self.insert(self.root, node);
    }

    /// The member's 1-based rank.
    pub fn rank(&self, member: M) -> Option<u32> {
        let (score, offset) = self.current.get(&member)?;
        let key = Key {
            neg_score: -score,
            reached_at: *offset,
            member,
        };
        Some(self.count_less(&key) + 1)
    }

    /// Rows `from` (0-based) to `from + limit`, best first.
    pub fn page(&self, from: u32, limit: u32) -> Vec<Standing<M>> {
        let mut out = Vec::with_capacity(limit as usize);
        self.collect(self.root, from, from.saturating_add(limit), 0, &mut out);
        out
    }

    fn collect(
        &self,
        node: Option<u32>,
        from: u32,
        to: u32,
        before: u32,
        out: &mut Vec<Standing<M>>,
    ) {
        let Some(i) = node else { return };
        let n = &self.nodes[i as usize];
        let left_size = self.size(n.left);
        let here = before + left_size;
        if from < here {
            self.collect(n.left, from, to, before, out);
        }
        if here >= from && here < to {
            out.push(Standing {
                rank: here + 1,
                member: n.key.member,
                score: -n.key.neg_score,
                reached_at: n.key.reached_at,
            });
        }
        if here + 1 < to {
            self.collect(n.right, from, to, here + 1, out);
        }
    }

    fn count_less(&self, key: &Key<M>) -> u32 {
        let mut node = self.root;
        let mut count = 0;
        while let Some(i) = node {
            let n = &self.nodes[i as usize];
            if n.key < *key {
                count += self.size(n.left) + 1;
                node = n.right;
            } else {
                node = n.left;
            }
        }
        count
    }

    fn size(&self, node: Option<u32>) -> u32 {
        node.map_or(0, |i| self.nodes[i as usize].size)
    }

    fn fix(&mut self, i: u32) {
        let (l, r) = (self.nodes[i as usize].left, self.nodes[i as usize].right);
        self.nodes[i as usize].size = 1 + self.size(l) + self.size(r);
    }

    fn alloc(&mut self, key: Key<M>) -> u32 {
        // xorshift: a treap only needs well-spread priorities, not unpredictable ones.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let node = Node {
            key,
            priority: self.seed,
            size: 1,
            left: None,
            right: None,
        };
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = node;
            i
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        }
    }

    /// Splits `node` into keys < `key` and keys >= `key`.
    fn split(&mut self, node: Option<u32>, key: &Key<M>) -> (Option<u32>, Option<u32>) {
        let Some(i) = node else { return (None, None) };
        if self.nodes[i as usize].key < *key {
            let (l, r) = self.split(self.nodes[i as usize].right, key);
            self.nodes[i as usize].right = l;
            self.fix(i);
            (Some(i), r)
        } else {
            let (l, r) = self.split(self.nodes[i as usize].left, key);
            self.nodes[i as usize].left = r;
            self.fix(i);
            (l, Some(i))
        }
    }

    fn merge(&mut self, a: Option<u32>, b: Option<u32>) -> Option<u32> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(x), Some(y)) => {
                if self.nodes[x as usize].priority > self.nodes[y as usize].priority {
                    let r = self.merge(self.nodes[x as usize].right, Some(y));
                    self.nodes[x as usize].right = r;
                    self.fix(x);
                    Some(x)
                } else {
                    let l = self.merge(Some(x), self.nodes[y as usize].left);
                    self.nodes[y as usize].left = l;
                    self.fix(y);
                    Some(y)
                }
            }
        }
    }

    fn insert(&mut self, root: Option<u32>, node: u32) -> Option<u32> {
        let key = self.nodes[node as usize].key;
        let (l, r) = self.split(root, &key);
        let left = self.merge(l, Some(node));
        self.merge(left, r)
    }

    fn remove(&mut self, root: Option<u32>, key: &Key<M>) -> Option<u32> {
        let i = root?;
        let node_key = self.nodes[i as usize].key;
        if node_key == *key {
            let (l, r) = (self.nodes[i as usize].left, self.nodes[i as usize].right);
            self.free.push(i);
            return self.merge(l, r);
        }
        if *key < node_key {
            let l = self.remove(self.nodes[i as usize].left, key);
            self.nodes[i as usize].left = l;
        } else {
            let r = self.remove(self.nodes[i as usize].right, key);
            self.nodes[i as usize].right = r;
        }
        self.fix(i);
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_scores_rank_first_and_ties_go_to_who_reached_it_first() {
        let mut b = Board::default();
        b.set('a', 10, 5);
        b.set('b', 20, 6);
        b.set('c', 10, 3);
        assert_eq!(
            (b.rank('b'), b.rank('c'), b.rank('a')),
            (Some(1), Some(2), Some(3))
        );
        b.set('a', 25, 9);
        assert_eq!(
            (b.rank('a'), b.rank('b'), b.rank('c')),
            (Some(1), Some(2), Some(3))
        );
        let page: Vec<(u32, char, i64)> = b
            .page(0, 10)
            .iter()
            .map(|s| (s.rank, s.member, s.score))
            .collect();
        assert_eq!(page, vec![(1, 'a', 25), (2, 'b', 20), (3, 'c', 10)]);
        assert_eq!(b.page(1, 1)[0].member, 'b');
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn ranks_match_a_sort_after_many_random_updates() {
        let mut b = Board::default();
        let mut scores: HashMap<u32, (i64, i64)> = HashMap::new();
        let mut x = 7_u64;
        for offset in 0..5_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let member = (x >> 33) as u32 % 300;
            let score = scores.get(&member).map_or(0, |s| s.0) + ((x >> 20) % 7) as i64 - 2;
            b.set(member, score, offset);
            scores.insert(member, (score, offset));
        }
        let mut sorted: Vec<(i64, i64, u32)> =
            scores.iter().map(|(m, (s, o))| (-s, *o, *m)).collect();
        sorted.sort();
        for (i, (_, _, m)) in sorted.iter().enumerate() {
            assert_eq!(b.rank(*m), Some(i as u32 + 1));
        }
        let page = b.page(0, 1000);
        assert_eq!(page.len(), sorted.len());
        assert!(
            page.iter()
                .zip(&sorted)
                .all(|(s, (_, _, m))| s.member == *m)
        );
    }
}
