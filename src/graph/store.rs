//! The graph's storage: nodes and edges in slots that keep their ids until removed, with
//! per-node outgoing and incoming edge lists and O(1) edge removal.
//!
//! petgraph's `StableGraph` was the first choice, but its edge lists are singly linked, so
//! removing an edge walks the endpoints' lists: on Django, replacing a test `models.py` unlinks
//! edges from `Model`, which thousands of classes inherit from, and one update took 515 ms.
//! Here each edge remembers its position in both endpoints' lists and removal swaps it out.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NodeIx(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct EdgeIx(pub u32);

#[derive(Clone, Debug)]
struct EdgeSlot<E> {
    from: NodeIx,
    to: NodeIx,
    weight: E,
    /// Position of this edge in `outgoing[from]` and `incoming[to]`.
    out_pos: u32,
    in_pos: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct Store<N, E> {
    nodes: Vec<Option<N>>,
    free_nodes: Vec<u32>,
    edges: Vec<Option<EdgeSlot<E>>>,
    free_edges: Vec<u32>,
    outgoing: Vec<Vec<EdgeIx>>,
    incoming: Vec<Vec<EdgeIx>>,
    node_count: usize,
    edge_count: usize,
}

impl<N, E> Default for Store<N, E> {
    fn default() -> Self {
        Store {
            nodes: Vec::new(),
            free_nodes: Vec::new(),
            edges: Vec::new(),
            free_edges: Vec::new(),
            outgoing: Vec::new(),
            incoming: Vec::new(),
            node_count: 0,
            edge_count: 0,
        }
    }
}

impl<N, E> Store<N, E> {
    pub fn node_count(&self) -> usize {
        self.node_count
    }

    pub fn edge_count(&self) -> usize {
        self.edge_count
    }

    /// One past the largest node id in use: ids are below this.
    pub fn node_bound(&self) -> usize {
        self.nodes.len()
    }

    pub fn add_node(&mut self, weight: N) -> NodeIx {
        self.node_count += 1;
        match self.free_nodes.pop() {
            Some(i) => {
                self.nodes[i as usize] = Some(weight);
                NodeIx(i)
            }
            None => {
                self.nodes.push(Some(weight));
                self.outgoing.push(Vec::new());
                self.incoming.push(Vec::new());
                NodeIx(self.nodes.len() as u32 - 1)
            }
        }
    }

    pub fn add_edge(&mut self, from: NodeIx, to: NodeIx, weight: E) -> EdgeIx {
        let out_pos = self.outgoing[from.0 as usize].len() as u32;
        let in_pos = self.incoming[to.0 as usize].len() as u32;
        let slot = EdgeSlot { from, to, weight, out_pos, in_pos };
        let id = match self.free_edges.pop() {
            Some(i) => {
                self.edges[i as usize] = Some(slot);
                EdgeIx(i)
            }
            None => {
                self.edges.push(Some(slot));
                EdgeIx(self.edges.len() as u32 - 1)
            }
        };
        self.outgoing[from.0 as usize].push(id);
        self.incoming[to.0 as usize].push(id);
        self.edge_count += 1;
        id
    }

    /// Removes an edge in O(1); removing an edge that is gone already does nothing.
    pub fn remove_edge(&mut self, id: EdgeIx) {
        let Some(slot) = self.edges.get_mut(id.0 as usize).and_then(Option::take) else { return };
        let out = &mut self.outgoing[slot.from.0 as usize];
        out.swap_remove(slot.out_pos as usize);
        if let Some(&moved) = out.get(slot.out_pos as usize)
            && let Some(m) = self.edges[moved.0 as usize].as_mut()
        {
            m.out_pos = slot.out_pos;
        }
        let inc = &mut self.incoming[slot.to.0 as usize];
        inc.swap_remove(slot.in_pos as usize);
        if let Some(&moved) = inc.get(slot.in_pos as usize)
            && let Some(m) = self.edges[moved.0 as usize].as_mut()
        {
            m.in_pos = slot.in_pos;
        }
        self.free_edges.push(id.0);
        self.edge_count -= 1;
    }

    /// Removes an edge only if it still joins `from` to `to` (its id may have been reused).
    pub fn remove_edge_between(&mut self, id: EdgeIx, from: NodeIx, to: NodeIx) {
        let matches = self
            .edges
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .is_some_and(|e| e.from == from && e.to == to);
        if matches {
            self.remove_edge(id);
        }
    }

    /// Removes a node and every edge that touches it.
    pub fn remove_node(&mut self, id: NodeIx) {
        if self.nodes.get(id.0 as usize).is_none_or(Option::is_none) {
            return;
        }
        while let Some(&edge) = self.outgoing[id.0 as usize].last() {
            self.remove_edge(edge);
        }
        while let Some(&edge) = self.incoming[id.0 as usize].last() {
            self.remove_edge(edge);
        }
        self.nodes[id.0 as usize] = None;
        self.free_nodes.push(id.0);
        self.node_count -= 1;
    }

    pub fn node_mut(&mut self, id: NodeIx) -> Option<&mut N> {
        self.nodes.get_mut(id.0 as usize)?.as_mut()
    }

    pub fn node(&self, id: NodeIx) -> Option<&N> {
        self.nodes.get(id.0 as usize)?.as_ref()
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeIx, &N)> + '_ {
        self.nodes.iter().enumerate().filter_map(|(i, n)| Some((NodeIx(i as u32), n.as_ref()?)))
    }

    /// Every edge as `(from, to, weight)`.
    pub fn edges(&self) -> impl Iterator<Item = (NodeIx, NodeIx, &E)> + '_ {
        self.edges.iter().filter_map(|e| e.as_ref().map(|e| (e.from, e.to, &e.weight)))
    }

    pub fn outgoing(&self, id: NodeIx) -> impl Iterator<Item = (NodeIx, &E)> + '_ {
        self.outgoing.get(id.0 as usize).into_iter().flatten().filter_map(|e| {
            let slot = self.edges[e.0 as usize].as_ref()?;
            Some((slot.to, &slot.weight))
        })
    }

    pub fn incoming(&self, id: NodeIx) -> impl Iterator<Item = (NodeIx, &E)> + '_ {
        self.incoming.get(id.0 as usize).into_iter().flatten().filter_map(|e| {
            let slot = self.edges[e.0 as usize].as_ref()?;
            Some((slot.from, &slot.weight))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_keeps_the_other_edges_reachable_from_both_ends() {
        let mut store: Store<&str, u32> = Store::default();
        let hub = store.add_node("hub");
        let leaves: Vec<NodeIx> = (0..5).map(|_| store.add_node("leaf")).collect();
        let edges: Vec<EdgeIx> =
            leaves.iter().enumerate().map(|(i, &l)| store.add_edge(l, hub, i as u32)).collect();
        store.remove_edge(edges[1]);
        store.remove_edge(edges[3]);
        let mut into_hub: Vec<u32> = store.incoming(hub).map(|(_, w)| *w).collect();
        into_hub.sort();
        assert_eq!(into_hub, [0, 2, 4]);
        store.remove_node(leaves[4]);
        let mut into_hub: Vec<u32> = store.incoming(hub).map(|(_, w)| *w).collect();
        into_hub.sort();
        assert_eq!(into_hub, [0, 2]);
        assert_eq!(store.outgoing(leaves[0]).map(|(to, _)| to).collect::<Vec<_>>(), [hub]);
        assert_eq!((store.node_count(), store.edge_count()), (5, 2));
        // Freed slots are reused.
        let again = store.add_node("new");
        assert_eq!(again, leaves[4]);
        store.remove_edge(edges[1]); // already gone: no effect
        assert_eq!(store.edge_count(), 2);
    }
}
