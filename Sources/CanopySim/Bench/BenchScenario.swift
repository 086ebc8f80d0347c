import Foundation

/// The network every mode of a comparison runs on, so that a difference in the table is a
/// difference between the modes and nothing else.
public enum BenchScenario {
    /// Failures injected into a comparison.
    public enum Churn: String, CaseIterable, Sendable {
        case none, steady, mass
    }

    /// The default base: clustered latencies, 64 kbit/s Opus, 30% of peers with no upload
    /// and the rest at 118 or 352 kbit/s (mean 164 kbit/s). That is 1.5× the 109.6 kbit/s a
    /// listener needs on the wire with 20 ms chunks, and 2.4× the 68.6 kbit/s of 200 ms chunks:
    /// tight for small chunks, room to spare for large ones.
    public static func defaultText(nodes: Int, seed: UInt64, chunkMs: Double, seconds: Double, joinOverSeconds: Double = 10) -> String {
        """
        {
          "seed": \(seed),
          "nodes": \(nodes),
          "mode": "direct",
          "topology": {"kind": "clusters", "clusters": 5, "plane_ms": 150, "spread_ms": 15, "access_ms": [1, 10]},
          "upload_kbps": [[0.3, 0], [0.35, 118], [0.35, 352]],
          "source_upload_kbps": 100000,
          "loss": 0,
          "stream": {"bitrate_kbps": 64, "chunk_ms": \(JSONValue.format(chunkMs)), "seconds": \(JSONValue.format(seconds))},
          "join": {"over_s": \(JSONValue.format(joinOverSeconds))},
          "playout_delays_s": [0.25, 0.5, 1, 2, 5],
          "lookups": 0
        }
        """
    }

    /// Churn events for a run of `scenario`: steady sessions of mean 5 minutes, or 25% of
    /// the peers crashing at once 20 s into the stream. Returns the failure instants too.
    public static func apply(_ churn: Churn, to scenario: inout Scenario) -> [Double] {
        switch churn {
        case .none:
            return []
        case .steady:
            scenario.churn = [.sessions(meanSeconds: 300, graceful: false)]
            return []
        case .mass:
            let at = scenario.joinOverSeconds + min(20, scenario.stream.seconds / 3)
            scenario.churn = [.crash(atSeconds: at, fraction: 0.25)]
            return [at]
        }
    }

    /// What `churn` does, in words, for the report and the plots.
    public static func label(_ churn: Churn) -> String {
        switch churn {
        case .none: "none"
        case .steady: "steady (sessions of mean 5 min, crashed peers replaced)"
        case .mass: "25% of the peers crash at once"
        }
    }

    /// Multiplies every peer's upload (not the source's): how much spare upload the
    /// audience has is the knob that decides whether peer-to-peer delivery keeps up.
    public static func scaleUploads(_ scenario: inout Scenario, by factor: Double) {
        scenario.upload = scenario.upload.map { (fraction: $0.fraction, kbps: $0.kbps * factor) }
    }

    /// The names of the four contenders, in run order.
    public static let modeNames = ["direct", "tree", "mesh-donet", "mesh-chainsaw"]

    /// The four contenders. Each is the base with its mode and mode block set; blocks the
    /// base already has (`tree`, `mesh`, `pastry`) are kept, so a user's tuning carries over.
    public static func variants(of base: Scenario) -> [(name: String, scenario: Scenario)] {
        func with(mode: String, _ change: (inout Scenario) -> Void = { _ in }) -> Scenario {
            var s = base
            s.mode = mode
            s.blocks = [:]
            change(&s)
            return s
        }
        func meshBlock(_ scheduler: String) -> JSONValue {
            var pairs: [(String, JSONValue)] = []
            if case .object(let existing)? = base.blocks["mesh"] { pairs = existing.filter { $0.0 != "scheduler" } }
            return .object([("scheduler", .string(scheduler))] + pairs)
        }
        return [
            ("direct", with(mode: "direct")),
            ("tree", with(mode: "tree") {
                $0.blocks["tree"] = base.blocks["tree"] ?? .object([])
                $0.blocks["pastry"] = base.blocks["pastry"] ?? .object([])
            }),
            ("mesh-donet", with(mode: "mesh") { $0.blocks["mesh"] = meshBlock("donet") }),
            ("mesh-chainsaw", with(mode: "mesh") { $0.blocks["mesh"] = meshBlock("chainsaw") }),
        ]
    }
}
