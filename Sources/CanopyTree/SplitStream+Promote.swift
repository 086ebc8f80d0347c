import CanopyCore
import CanopyPastry

extension SplitStream {
    /// Joins take the first node on their route with room, however deep, so a forwarder that
    /// joins late can end up many levels down, its whole subtree with it, while nodes near
    /// the top feed leaves. Once its stripes all have parents, a forwarder at least
    /// `promoteDepth` deep asks to sit higher (`tree.promote`), once per `promoteInterval`
    /// (doubled after each ask that found no place, up to 16 times). It runs as a move
    /// (`handleMove`): the old parent feeds us until the new one's first chunk is here, and
    /// an offer no higher than where we are is declined.
    ///
    /// Asks start `promoteAfter` after the join, not after the first chunk: the forest joins
    /// build before the stream starts is what the stream's first seconds run on, and a move
    /// then costs nobody a chunk (`handleAccept` switches on the offer). At 3,000 nodes the
    /// first 10 s of stream had continuity at 1 s of 0.866 against 0.9975 and more after, as
    /// promotions only began with the stream; 0.915 with them started at the join (and the
    /// source passing on asks, `redirectFromSource`). The backoff is not cleared when the
    /// stream arrives: every node's first chunk comes within a second or so, and clearing it
    /// sent them all up at once. At 10,000 nodes (seed 7) the asks the source passed on then
    /// took 197 kB of its upload in 2 s and held its queue at 250–450 ms; continuity at 1 s
    /// was 0.878 with the clearing and 0.925 without.
    mutating func promote(_ kbr: inout KBRContext) {
        guard !isSource, config.promoteInterval > .zero, let since = firstData ?? joinedAt,
              kbr.now - since >= config.promoteAfter, kbr.now >= nextPromotion, settled, kbr.uploadBacklog <= config.fillBacklog else { return }
        // The deep stripe with the most children (the first on a tie). A loop, not a filtered
        // copy: this runs on every tick of every node.
        var best: Int?
        for j in trees.indices where j != groupIndex && !trees[j].children.isEmpty
            && trees[j].depth >= config.promoteDepth && trees[j].movingUntil == nil
            && trees[j].children.count > best.map({ trees[$0].children.count }) ?? 0 {
            best = j
        }
        guard let i = best, let parent = trees[i].parent else { return }
        nextPromotion = kbr.now + config.promoteInterval * Int64(1 << min(promotionsRefused, 4))
        trees[i].movingUntil = kbr.now + Self.moveWindow
        trees[i].promotingFrom = trees[i].depth
        // Up to the source, which passes it on to a child that feeds only leaves
        // (`redirectFromSource`).
        var ask = joinRequest(i, kbr)
        ask.budget = UInt8(clamping: trees[i].depth - 1)
        send(.tree(.promote(ask)), to: parent, &kbr)
    }

    /// A promotion ask goes up the asker's path: its parent passes it on, and each ancestor
    /// above takes the asker into a free slot, or in place of a leaf child that it hands down
    /// (the asker brings a subtree, which moves up with it), or passes it on while `budget`
    /// lasts. Where it ends unplaced nobody answers: the asker's move window runs out.
    mutating func climb(_ ask: TreeJoin, _ kbr: inout KBRContext) {
        guard let i = index(of: ask.topic), trees[i].stripe != nil, ask.joiner.id != kbr.local.id else { return }
        if !trees[i].hasChild(ask.joiner.id) && mayTake(i, ask.joiner, kbr) {
            if hasRoom(kbr) {
                addChild(i, ask.joiner, spare: Int(ask.spare), load: Int(ask.children), &kbr)
                return
            }
            if isSource {
                redirectFromSource(i, ask, &kbr)
                return
            }
            // The child handed down may go below the asker if none of ours can take it.
            if pushDown(i, ask, swapOnly: true, fallback: ask.spare > 0 ? ask.joiner : nil, &kbr) { return }
        }
        guard ask.budget > 0, let parent = trees[i].parent else { return }
        var onward = ask
        onward.budget -= 1
        send(.tree(.promote(onward)), to: parent, &kbr)
    }

    /// A climb follows the asker's own path, and the nodes near the top of it feed
    /// forwarders (the asker's ancestor among them), while leaves sit one level below the
    /// source under other nodes. At 3,000 nodes four in five asks that reached the top of
    /// their path found no child there to trade. A full source (`climb` takes the asker
    /// into a free slot) passes such an ask, with no budget left, to one of the three of its
    /// children in the stripe with the fewest nodes below them (a child that feeds only
    /// leaves has as many below it as it has children). Children placed within
    /// `consolidateAfter` are not asked: their own children are newer still, too new to
    /// hand down.
    mutating func redirectFromSource(_ i: Int, _ ask: TreeJoin, _ kbr: inout KBRContext) {
        let fewest = trees[i].children.filter { kbr.now - $0.since >= config.consolidateAfter }
            .sorted { ($0.load, $0.ref.id) < ($1.load, $1.ref.id) }.prefix(3).map(\.ref)
        guard !fewest.isEmpty else { return }
        var onward = ask
        onward.budget = 0
        send(.tree(.promote(onward)), to: fewest[Int(kbr.rng.next() % UInt64(fewest.count))], &kbr)
    }
}
