import CanopyCore

/// A stripe's parent was declared lost (silent too long, or it said goodbye); the node is
/// cut off from that stripe until `TreeRepaired`.
public struct TreeParentLost: Observation {
    public let stripe: Int
    public init(stripe: Int) { self.stripe = stripe }
}

/// A node that had lost its parent in `stripe` has a new one; `duration` runs from the loss
/// to the new parent's accept (the simulator reports its p90 as `tree.repair_ms_p90`).
public struct TreeRepaired: Observation {
    public let stripe: Int
    public let duration: TimeSpan
    public init(stripe: Int, duration: TimeSpan) {
        self.stripe = stripe
        self.duration = duration
    }
}

/// A join had to climb the fallback ladder: `attempt` 1 is an anycast to the
/// spare-capacity group, 2 a direct ask to the source. Counts how often the plain Scribe
/// join (attempt 0) was not enough.
public struct TreeJoinEscalated: Observation {
    public let stripe: Int?
    public let attempt: Int
    public init(stripe: Int?, attempt: Int) {
        self.stripe = stripe
        self.attempt = attempt
    }
}
