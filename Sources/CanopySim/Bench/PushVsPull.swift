/// Runs the same scenario in every mode and gathers the reports: the comparison users
/// come for. Each run is an ordinary `SimRunner.run`, so its report is byte for byte what
/// `canopy sim` prints for that mode's scenario and seed (wall time aside).
public struct PushVsPull {
    public let base: Scenario
    public let churn: BenchScenario.Churn
    /// The contenders to run (all four by default), by name.
    public let modes: [String]

    public init(base: Scenario, churn: BenchScenario.Churn, modes: [String] = BenchScenario.modeNames) {
        self.base = base
        self.churn = churn
        self.modes = modes
    }

    /// The base with the churn applied, its failure instants, and the four contenders.
    public var plan: (scenario: Scenario, failureTimes: [Double], variants: [(name: String, scenario: Scenario)]) {
        var scenario = base
        let failures = BenchScenario.apply(churn, to: &scenario)
        return (scenario, failures, BenchScenario.variants(of: scenario).filter { modes.contains($0.name) })
    }

    /// One mode's outcome: its full report and the per-second continuity of the survivors
    /// at each playout delay (the "dip and recovery" plot).
    public struct Run {
        public var name: String
        public var report: JSONValue
        public var perSecond: JSONValue

        public init(name: String, report: JSONValue, perSecond: JSONValue) {
            self.name = name
            self.report = report
            self.perSecond = perSecond
        }
    }

    public struct Result {
        public var scenario: Scenario
        public var churn: BenchScenario.Churn
        /// "simulated" or "udp-loopback".
        public var transport: String
        public var runs: [Run]
        /// When the injected failures happened (s from the start of the run), for the plots.
        public var failureTimes: [Double]

        public init(scenario: Scenario, churn: BenchScenario.Churn, transport: String, runs: [Run], failureTimes: [Double]) {
            self.scenario = scenario
            self.churn = churn
            self.transport = transport
            self.runs = runs
            self.failureTimes = failureTimes
        }

        /// `results.json`: every mode's full report, in run order, and what the plots need.
        public var json: JSONValue {
            .object([
                ("nodes", .int(scenario.nodes)),
                ("seed", .number(Double(scenario.seed))),
                ("transport", .string(transport)),
                ("churn", .string(churn.rawValue)),
                ("churn_marks", .array(failureTimes.map { .number($0) })),
                ("churn_label", .string(BenchScenario.label(churn))),
                ("stream_start_s", .number(scenario.joinOverSeconds)),
                ("modes", .object(runs.map { ($0.name, $0.report) })),
                ("continuity_per_second", .object(runs.map { ($0.name, $0.perSecond) })),
            ])
        }

        /// The comparison table alone, as printed.
        public var table: String {
            ComparisonTable.markdown(runs.map { ($0.name, $0.report) },
                                     playoutDelays: scenario.playoutDelaysSeconds.map { JSONValue.format($0) })
        }

        /// `report.md`: what was run, then the table.
        public var markdown: String {
            let s = scenario
            let uploads = s.upload.map { "\(JSONValue.format($0.fraction * 100))% at \(JSONValue.format($0.kbps)) kbit/s" }
            var lines = [
                "# Push versus pull: \(s.nodes) nodes (\(transport)), seed \(s.seed), churn \(churn.rawValue)",
                "",
                "Chunks of \(JSONValue.format(s.stream.chunkMilliseconds)) ms at \(JSONValue.format(s.stream.bitrateKbps)) kbit/s for \(JSONValue.format(s.stream.seconds)) s, after \(JSONValue.format(s.joinOverSeconds)) s of joins. Peer uploads: \(uploads.joined(separator: ", ")).",
            ]
            if churn != .none { lines.append("Churn: \(BenchScenario.label(churn)).") }
            if transport != "simulated" {
                lines.append("Measured on real UDP over loopback, one process, each node's upload paced to its capacity. RDP is n/a: the direct one-way delay on loopback is microseconds, so delays are absolute.")
            }
            return (lines + ["", table, ""]).joined(separator: "\n")
        }
    }

    /// Runs each mode in turn; `progress(mode, simulation)` is called now and then.
    public func run(progress: ((String, Simulation) -> Void)? = nil,
                    finished: ((String, JSONValue) -> Void)? = nil) throws -> Result {
        let (scenario, failures, variants) = plan
        var runs: [Run] = []
        for (name, variant) in variants {
            let (simulation, report) = try SimRunner.run(variant, progress: progress.map { callback in { callback(name, $0) } })
            finished?(name, report)
            runs.append(Run(name: name, report: report,
                            perSecond: Self.perSecond(simulation, delays: variant.playoutDelaysSeconds)))
        }
        return Result(scenario: scenario, churn: churn, transport: "simulated", runs: runs, failureTimes: failures)
    }

    /// The per-second continuity of a run measured on real sockets, in the same shape.
    public static func perSecond(_ measured: MeasuredStream) -> JSONValue {
        perSecond(measured, delays: measured.scenario.playoutDelaysSeconds)
    }

    private static func perSecond(_ ledger: some PlayoutLedger, delays: [Double]) -> JSONValue {
        .object(delays.map { delay in
            (JSONValue.format(delay), .array(ledger.continuityPerSecond(delayMs: Int64((delay * 1000).rounded())).map { .number($0) }))
        })
    }
}
