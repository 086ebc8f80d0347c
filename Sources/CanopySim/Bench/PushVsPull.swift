/// Runs the same scenario in every mode and gathers the reports: the comparison users
/// come for. Each run is an ordinary `SimRunner.run`, so its report is byte for byte what
/// `canopy sim` prints for that mode's scenario and seed (wall time aside).
public struct PushVsPull {
    public let base: Scenario
    public let churn: BenchScenario.Churn

    public init(base: Scenario, churn: BenchScenario.Churn) {
        self.base = base
        self.churn = churn
    }

    public struct Result {
        public var reports: [(name: String, report: JSONValue)]
        public var scenarios: [(name: String, scenario: Scenario)]
        /// When the injected failures happened (s), for the plots.
        public var failureTimes: [Double]

        /// `results.json`: every mode's full report, in run order.
        public var json: JSONValue {
            .object([
                ("nodes", .int(scenarios.first?.scenario.nodes)),
                ("seed", .number(Double(scenarios.first?.scenario.seed ?? 0))),
                ("churn_marks", .array(failureTimes.map { .number($0) })),
                ("modes", .object(reports.map { ($0.name, $0.report) })),
            ])
        }
    }

    /// Runs each mode in turn; `progress(mode, simulation)` is called now and then.
    public func run(progress: ((String, Simulation) -> Void)? = nil,
                    finished: ((String, JSONValue) -> Void)? = nil) throws -> Result {
        var scenario = base
        let failures = BenchScenario.apply(churn, to: &scenario)
        let variants = BenchScenario.variants(of: scenario)
        var reports: [(String, JSONValue)] = []
        for (name, variant) in variants {
            let (_, report) = try SimRunner.run(variant, progress: progress.map { callback in { callback(name, $0) } })
            finished?(name, report)
            reports.append((name, report))
        }
        return Result(reports: reports, scenarios: variants, failureTimes: failures)
    }
}
