/// Runs a scenario start to finish and returns its report: the one entry point the
/// command line and the tests share.
public enum SimRunner {
    /// `seed` overrides the scenario's. `progress` is called now and then with the running
    /// simulation (for a terminal status line).
    public static func run(_ scenario: Scenario, seed: UInt64? = nil,
                           progress: ((Simulation) -> Void)? = nil) throws -> (simulation: Simulation, report: JSONValue) {
        var scenario = scenario
        if let seed { scenario.seed = seed }
        let started = ProcessStats.monotonicSeconds()
        let simulation = try Simulation(scenario: scenario)
        simulation.progress = progress
        simulation.run()
        let report = simulation.report(wallSeconds: ProcessStats.monotonicSeconds() - started,
                                       peakRSSMegabytes: ProcessStats.peakRSSMegabytes())
        return (simulation, report)
    }
}
