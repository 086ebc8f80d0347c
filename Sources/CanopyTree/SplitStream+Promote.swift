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
    mutating func promote(_ kbr: inout KBRContext) {
        guard !isSource, config.promoteInterval > .zero, let firstData, kbr.now - firstData >= config.promoteAfter,
              kbr.now >= nextPromotion, settled, kbr.uploadBacklog <= config.fillBacklog else { return }
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
        // Up to the ancestor just below the source: the source's slots are the root of
        // every stripe, and it gives them up only to repairs (`sourceMakesRoom`).
        var ask = joinRequest(i, kbr)
        ask.budget = UInt8(clamping: trees[i].depth - 2)
        send(.tree(.promote(ask)), to: parent, &kbr)
    }

    /// A promotion ask goes up the asker's path: its parent passes it on, and each ancestor
    /// above takes the asker into a free slot, or in place of a leaf child that it hands down
    /// (the asker brings a subtree, which moves up with it), or passes it on while `budget`
    /// lasts. Where it ends unplaced nobody answers: the asker's move window runs out.
    mutating func climb(_ ask: TreeJoin, _ kbr: inout KBRContext) {
        guard let i = index(of: ask.topic), trees[i].stripe != nil, !isSource, ask.joiner.id != kbr.local.id else { return }
        if !trees[i].hasChild(ask.joiner.id) && mayTake(i, ask.joiner, kbr) {
            if hasRoom(kbr) {
                addChild(i, ask.joiner, spare: Int(ask.spare), load: Int(ask.children), &kbr)
                return
            }
            if pushDown(i, ask, swapOnly: true, &kbr) { return }
        }
        guard ask.budget > 0, let parent = trees[i].parent else { return }
        var onward = ask
        onward.budget -= 1
        send(.tree(.promote(onward)), to: parent, &kbr)
    }
}
