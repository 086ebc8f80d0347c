import CanopyCore
import CanopyPastry

extension SplitStream {
    /// Whether this node can adopt `requester` in tree `target` right now: Scribe anycast's
    /// predicate for the spare-capacity group. A move's walk (`TreeAnycast.move`) also asks
    /// that the adoption not make us forward in one more stripe, or the move would only shift
    /// the second stripe from one node to another, and, like every other optional transfer
    /// (fills, patches), that our upload queue be short.
    func canAdopt(_ target: Int, _ requester: NodeRef, move: Bool, _ kbr: KBRContext) -> Bool {
        requester.id != kbr.local.id && hasRoom(kbr) && trees[target].isAttached
            && !trees[target].path.contains(requester.id) && !trees[target].hasChild(requester.id)
            && (!move || (!trees[target].children.isEmpty || interiorStripes == 0) && kbr.uploadBacklog <= config.fillBacklog)
    }

    /// One step of the depth-first walk over the spare-capacity group: adopt the requester
    /// if this node can; otherwise push this node's group children (best last, so visited
    /// first) and then its parent, and pass the walk to the next node on the stack. A walk
    /// that runs out tells the requester, unless it was a move's: that requester keeps the
    /// parent it has.
    ///
    /// A node whose upload queue is past `shedBacklog` lets a walk it cannot serve end
    /// here: the requester's join timeout moves it to its next rung. A move's walk ends
    /// already past `fillBacklog`: the mover is fed, and relaying it would delay our stream.
    /// A walk carries its two lists on every hop, and after a crash hundreds reach the
    /// group's upper nodes at once; relaying them held a 118 kbit/s node's queue at 1.4 s,
    /// and the stripe subtree it fed 2 s late (scenarios/tree-1k-crash.json seed 13, moves
    /// on: 183 of 899 survivors short of a stripe 10 s after the crash, none with this).
    mutating func runAnycast(_ walk: TreeAnycast, _ kbr: inout KBRContext) {
        guard let target = index(of: walk.target), trees[target].stripe != nil,
              let group = index(of: walk.group), trees[group].stripe == nil else { return }
        let me = kbr.local
        var walk = walk
        if !walk.visited.contains(me.id) { walk.visited.append(me.id) }
        if canAdopt(target, walk.requester, move: walk.move, kbr) {
            addChild(target, walk.requester, spare: 0, &kbr)
            return
        }
        guard kbr.uploadBacklog <= (walk.move ? config.fillBacklog : config.shedBacklog) else { return }
        func fresh(_ ref: NodeRef) -> Bool {
            ref.id != walk.requester.id && !walk.visited.contains(ref.id) && !walk.stack.contains(ref)
        }
        if let parent = trees[group].parent, fresh(parent) { walk.stack.append(parent) }
        for child in trees[group].children.sorted(by: { $0.spare < $1.spare }) where fresh(child.ref) {
            walk.stack.append(child.ref)
        }
        if walk.stack.count > config.anycastStack { walk.stack.removeFirst(walk.stack.count - config.anycastStack) }
        if walk.visited.count < config.anycastVisits, let next = walk.stack.popLast() {
            send(.tree(.anycast(walk)), to: next, &kbr)
        } else if !walk.move {
            send(.tree(.anycastFailed(group: walk.group, target: walk.target)), to: walk.requester, &kbr)
        }
    }

    /// Keeps this node in the spare-capacity group while it has room for a child.
    /// The source stays out: it is every orphan's last resort anyway, and its upload is
    /// the whole stream's bottleneck.
    mutating func updateSpareMembership(_ kbr: inout KBRContext) {
        guard started, !trees.isEmpty, !isSource else { return }
        let g = groupIndex
        // Hysteresis: join with room and a short queue, leave only when full or swamped, so
        // a queue that comes and goes does not turn into a stream of group joins and leaves.
        let wants = trees[g].member ? spareSlots > 0 && kbr.uploadBacklog <= config.shedBacklog
                                    : hasRoom(kbr)
        guard wants != trees[g].member else { return }
        trees[g].member = wants
        if wants {
            if !isInTree(g) { beginJoin(g, attempt: 0, &kbr) }
        } else {
            pruneIfUseless(g, &kbr)
        }
    }
}
