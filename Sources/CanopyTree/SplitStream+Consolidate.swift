import CanopyCore
import CanopyPastry

extension SplitStream {
    /// SplitStream wants each node to forward in one stripe tree, but while the forest forms
    /// or repairs, orphans are placed by anycast and push-down wherever there is room. Once
    /// the forest has settled, a node that forwards in more than one stripe asks one child of
    /// its smallest other stripe per `consolidateInterval` to move (`tree.move`). The child
    /// sends an ordinary routed join, which SplitStream steers to the nodes whose ids share
    /// the stripe's digit (they forward in it as their own) and which may push a child
    /// without that digit down, and walks the spare-capacity group for a node already
    /// forwarding in the stripe (`handleMove`). The first node to accept it replaces us once
    /// its data flows (`completeMove`), so the child is fed throughout. A join and a walk
    /// nobody takes, or an adopter that sends nothing, change nothing: the child stays.
    ///
    /// The stripe kept is the node's own (the one whose id shares its first digit) when it
    /// forwards there, else its largest. `TreeConfig.consolidateInterval` says what moves
    /// gain.
    mutating func consolidate(_ kbr: inout KBRContext) {
        guard !isSource, config.consolidateInterval > .zero, let firstData,
              kbr.now - firstData >= config.consolidateAfter, kbr.now >= nextConsolidation else { return }
        let stripes = trees.indices.filter { $0 != groupIndex && !trees[$0].children.isEmpty }
        guard stripes.count > 1, settled, kbr.uploadBacklog <= config.fillBacklog else { return }
        nextConsolidation = kbr.now + config.consolidateInterval
        let own = stripes.first { DigitBase.hex.sharedPrefixLength(trees[$0].id, kbr.local.id) > 0 }
        let keep = own ?? stripes.max { (trees[$0].children.count, $1) < (trees[$1].children.count, $0) }!
        let smallest = stripes.filter { $0 != keep }.min { (trees[$0].children.count, $0) < (trees[$1].children.count, $1) }!
        let children = trees[smallest].children
        send(.tree(.move(topic: trees[smallest].id)), to: children[Int(kbr.rng.next() % UInt64(children.count))].ref, &kbr)
    }

    /// Every stripe has its parent (no repair under way): moving children now would only
    /// compete with repairs for the free slots.
    var settled: Bool {
        trees.indices.allSatisfy { $0 == groupIndex || trees[$0].parent != nil || trees[$0].isTop }
    }

    /// Our parent in `topic` asks us to move: we join again, routed like a first join, and
    /// walk the spare-capacity group at the same time for a member that already forwards in
    /// the stripe (or in none); for `moveWindow` the first node to accept us becomes our next
    /// parent (`handleAccept`), and a later accept is declined.
    ///
    /// The walk is for the stripes whose own nodes cannot carry everyone: there the routed
    /// join meets only full nodes, and every node that took one of the stripe's orphans
    /// while the forest formed kept forwarding in it beside its own stripe. On
    /// scenarios/tree-1k.json, seeds 7–18, nodes interior in at most one stripe went from
    /// 0.890–0.989 to 0.945–0.993 (seed 8: 163 children of stripe 15 sat with 83 nodes of
    /// other stripes, whose routed moves had all failed); continuity at 1 s and delivery
    /// did not change on average, and tree-1k-crash.json still recovered on all twelve.
    mutating func handleMove(topic: NodeID, from sender: NodeRef, _ kbr: inout KBRContext) {
        guard let i = index(of: topic), trees[i].stripe != nil, trees[i].parent?.id == sender.id,
              trees[i].movingUntil == nil else { return }
        trees[i].movingUntil = kbr.now + Self.moveWindow
        route(trees[i].id, .tree(.join(joinRequest(i, kbr))), &kbr)
        let group = trees[groupIndex].id
        route(group, .tree(.anycast(TreeAnycast(group: group, target: trees[i].id, requester: kbr.local, move: true))), &kbr)
    }

    /// The next parent's first chunk is here: it becomes our parent, and we leave the old one.
    mutating func completeMove(_ i: Int, _ kbr: inout KBRContext) {
        guard let next = trees[i].nextParent else { return }
        if let old = trees[i].parent { send(.tree(.leave(topic: trees[i].id)), to: old, &kbr) }
        attach(i, to: next.ref, path: next.path, &kbr)
    }

    /// The move is over (its window passed without data from the next parent, or another
    /// parent was attached): the next parent, if any, is left.
    mutating func endMove(_ i: Int, _ kbr: inout KBRContext) {
        if let next = trees[i].nextParent { send(.tree(.leave(topic: trees[i].id)), to: next.ref, &kbr) }
        if let from = trees[i].promotingFrom {
            promotionsRefused = trees[i].depth < from ? 0 : promotionsRefused + 1
        }
        trees[i].movingUntil = nil
        trees[i].nextParent = nil
        trees[i].promotingFrom = nil
    }

    /// Long enough for a routed join, a push-down or two, the accept and the new parent's
    /// first chunk of the stripe.
    static let moveWindow: TimeSpan = .seconds(3)
}
