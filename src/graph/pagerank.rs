//! Personalized PageRank over the symbol graph: sparse power iteration, warm-started from a
//! previous result so that an update costs a few iterations instead of a full run.

use super::{
    Edge, EdgeKind, Node, NodeId,
    store::{NodeIx, Store},
};

const DAMPING: f64 = 0.85;
const TOLERANCE: f64 = 1e-6;
const MAX_ITERATIONS: usize = 100;

/// Scores by node; they sum to 1.
#[derive(Clone, Debug, Default)]
pub struct Ranks {
    scores: rustc_hash::FxHashMap<NodeId, f64>,
    pub iterations: usize,
}

impl Ranks {
    pub fn get(&self, node: NodeId) -> f64 {
        self.scores.get(&node).copied().unwrap_or(0.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = (NodeId, f64)> + '_ {
        self.scores.iter().map(|(&n, &s)| (n, s))
    }
}

/// Edge weight for the random walk: structure edges count less than uses.
fn weight(edge: &Edge) -> f64 {
    let kind = match edge.kind {
        EdgeKind::Contains => 0.3,
        EdgeKind::Imports => 0.5,
        EdgeKind::Inherits => 1.0,
        EdgeKind::Calls | EdgeKind::References => 1.0,
        EdgeKind::Tests => 0.2,
    };
    kind * edge.confidence as f64 * (1.0 + (edge.count as f64).ln())
}

/// PageRank where the walk restarts at `seeds` (weighted), or uniformly when there are none.
/// Walks follow edges in both directions — a function matters if it uses or is used by what
/// matters — with the used side weighted higher.
pub(super) fn pagerank(graph: &Store<Node, Edge>, seeds: &[(NodeId, f64)], warm: Option<&Ranks>) -> Ranks {
    let indices: Vec<NodeIx> = graph.nodes().map(|(ix, _)| ix).collect();
    let n = indices.len();
    if n == 0 {
        return Ranks::default();
    }
    // Dense positions for the node ids in use (ids have holes where nodes were removed).
    let mut dense = vec![usize::MAX; graph.node_bound()];
    for (i, ix) in indices.iter().enumerate() {
        dense[ix.0 as usize] = i;
    }
    let out = Adjacency::new(graph, &dense, n);
    let mut restart = vec![0.0; n];
    let seed_total: f64 = seeds.iter().map(|(_, w)| w.max(0.0)).sum();
    if seed_total > 0.0 {
        for (node, w) in seeds {
            if let Some(&i) = dense.get(node.0 as usize).filter(|&&i| i != usize::MAX) {
                restart[i] += w.max(0.0) / seed_total;
            }
        }
    }
    if restart.iter().all(|&r| r == 0.0) {
        restart.fill(1.0 / n as f64);
    }
    let mut rank: Vec<f64> = match warm {
        Some(previous) => {
            let mut v: Vec<f64> = indices.iter().map(|&ix| previous.get(NodeId(ix.0))).collect();
            let total: f64 = v.iter().sum();
            if total > 0.0 {
                v.iter_mut().for_each(|x| *x /= total);
                v
            } else {
                restart.clone()
            }
        }
        None => restart.clone(),
    };
    let mut next = vec![0.0; n];
    let mut iterations = 0;
    for _ in 0..MAX_ITERATIONS {
        iterations += 1;
        next.iter_mut().zip(&restart).for_each(|(x, r)| *x = (1.0 - DAMPING) * r);
        let mut dangling = 0.0;
        for (i, list) in out.lists().enumerate() {
            if list.is_empty() {
                dangling += rank[i];
                continue;
            }
            for &(j, w) in list {
                next[j as usize] += DAMPING * rank[i] * w;
            }
        }
        if dangling > 0.0 {
            next.iter_mut().zip(&restart).for_each(|(x, r)| *x += DAMPING * dangling * r);
        }
        let delta: f64 = next.iter().zip(&rank).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut rank, &mut next);
        if delta < TOLERANCE {
            break;
        }
    }
    Ranks { scores: indices.iter().zip(rank).map(|(&ix, s)| (NodeId(ix.0), s)).collect(), iterations }
}

/// Each node's neighbours with the share of its rank it passes them (an edge both ways, the
/// backward direction at half weight; shares sum to 1), in one flat array: on Django's 56k nodes
/// and 215k edges, a vector per node cost more to build than the iterations took.
struct Adjacency {
    /// `offsets[i]..offsets[i + 1]` is node `i`'s slice of `targets`.
    offsets: Vec<u32>,
    targets: Vec<(u32, f64)>,
}

impl Adjacency {
    fn new(graph: &Store<Node, Edge>, dense: &[usize], n: usize) -> Adjacency {
        let ends = |from: NodeIx, to: NodeIx| (dense[from.0 as usize], dense[to.0 as usize]);
        let mut offsets = vec![0u32; n + 1];
        for (from, to, _) in graph.edges() {
            let (a, b) = ends(from, to);
            offsets[a + 1] += 1;
            offsets[b + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        // Filled in edge order, as a list per node would be, so sums add in the same order.
        let mut fill: Vec<u32> = offsets[..n].to_vec();
        let mut targets = vec![(0u32, 0.0f64); offsets[n] as usize];
        let mut push = |node: usize, target: usize, w: f64| {
            targets[fill[node] as usize] = (target as u32, w);
            fill[node] += 1;
        };
        for (from, to, edge) in graph.edges() {
            let (a, b) = ends(from, to);
            let w = weight(edge);
            push(a, b, w);
            push(b, a, w * 0.5);
        }
        let mut adjacency = Adjacency { offsets, targets };
        for i in 0..n {
            let range = adjacency.range(i);
            let list = &mut adjacency.targets[range];
            let total: f64 = list.iter().map(|(_, w)| w).sum();
            if total > 0.0 {
                list.iter_mut().for_each(|(_, w)| *w /= total);
            }
        }
        adjacency
    }

    fn range(&self, node: usize) -> std::ops::Range<usize> {
        self.offsets[node] as usize..self.offsets[node + 1] as usize
    }

    fn lists(&self) -> impl Iterator<Item = &[(u32, f64)]> + '_ {
        self.offsets.windows(2).map(|w| &self.targets[w[0] as usize..w[1] as usize])
    }
}

/// Bounds of [`personalized_local`].
#[derive(Clone, Copy, Debug)]
pub struct LocalRankOptions {
    /// Probability of jumping back to a seed at each step (1 − damping).
    pub restart: f64,
    /// A node pushes its residual on only while the residual exceeds `epsilon` times its weighted
    /// degree: smaller explores further, at more cost.
    pub epsilon: f64,
    /// Hard cap on pushes, so that a query's cost is bounded whatever the graph looks like.
    pub max_pushes: usize,
}

impl Default for LocalRankOptions {
    fn default() -> Self {
        LocalRankOptions { restart: 1.0 - DAMPING, epsilon: 1e-5, max_pushes: 50_000 }
    }
}

/// Personalized PageRank by local push (Andersen, Chung & Lang 2006): residual mass starts at the
/// seeds and is pushed to neighbours only where it is large, so the cost depends on the seeds'
/// neighbourhood rather than on the whole graph. This is what a query can afford: the global
/// power iteration over Django's graph costs tens of milliseconds, a local push a few. The walk
/// is the same as [`pagerank`]'s (both directions, used side weighted higher); scores are an
/// approximation from below and do not sum to 1.
pub(super) fn personalized_local(
    graph: &Store<Node, Edge>,
    seeds: &[(NodeId, f64)],
    options: &LocalRankOptions,
) -> Ranks {
    use rustc_hash::FxHashMap;

    let neighbours = |u: NodeIx, out: &mut Vec<(NodeIx, f64)>| {
        out.clear();
        out.extend(graph.outgoing(u).map(|(v, e)| (v, weight(e))));
        out.extend(graph.incoming(u).map(|(v, e)| (v, weight(e) * 0.5)));
    };
    let total: f64 = seeds.iter().map(|(_, w)| w.max(0.0)).sum();
    let mut scores: FxHashMap<NodeId, f64> = FxHashMap::default();
    if total <= 0.0 {
        return Ranks { scores, iterations: 0 };
    }
    let mut residual: FxHashMap<u32, f64> = FxHashMap::default();
    let mut queue: std::collections::VecDeque<u32> = std::collections::VecDeque::new();
    for (node, w) in seeds {
        if graph.node(NodeIx(node.0)).is_some() && *w > 0.0 {
            *residual.entry(node.0).or_default() += w / total;
            queue.push_back(node.0);
        }
    }
    let mut degree_cache: FxHashMap<u32, f64> = FxHashMap::default();
    let mut degree = |u: u32| -> f64 {
        *degree_cache.entry(u).or_insert_with(|| {
            graph.outgoing(NodeIx(u)).map(|(_, e)| weight(e)).sum::<f64>()
                + graph.incoming(NodeIx(u)).map(|(_, e)| weight(e) * 0.5).sum::<f64>()
        })
    };
    let mut list = Vec::new();
    let mut pushes = 0;
    while let Some(u) = queue.pop_front() {
        if pushes >= options.max_pushes {
            break;
        }
        let r = residual.get(&u).copied().unwrap_or(0.0);
        let d = degree(u);
        if r <= 0.0 || (d > 0.0 && r < options.epsilon * d) {
            continue;
        }
        pushes += 1;
        residual.insert(u, 0.0);
        if d <= 0.0 {
            // Nowhere to go: the mass stays here.
            *scores.entry(NodeId(u)).or_default() += r;
            continue;
        }
        *scores.entry(NodeId(u)).or_default() += options.restart * r;
        let spread = (1.0 - options.restart) * r / d;
        neighbours(NodeIx(u), &mut list);
        for &(v, w) in &list {
            let entry = residual.entry(v.0).or_default();
            let before = *entry;
            *entry += spread * w;
            let dv = degree(v.0);
            if before < options.epsilon * dv && *entry >= options.epsilon * dv {
                queue.push_back(v.0);
            }
        }
    }
    Ranks { scores, iterations: pushes }
}
