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
        guard !isSource, config.promoteInterval > .zero, let firstData,
              kbr.now - firstData >= config.promoteAfter, kbr.now >= nextPromotion else { return }
        let deep = trees.indices.filter {
            $0 != groupIndex && !trees[$0].children.isEmpty && trees[$0].depth >= config.promoteDepth
                && trees[$0].movingUntil == nil
        }
        guard let i = deep.max(by: { (trees[$0].children.count, $1) < (trees[$1].children.count, $0) }),
              let parent = trees[i].parent, settled, kbr.uploadBacklog <= config.fillBacklog else { return }
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
                addChild(i, ask.joiner, spare: Int(ask.spare), forwards: ask.children > 0, &kbr)
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
