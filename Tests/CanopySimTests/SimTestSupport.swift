import CanopySim
import Foundation
import XCTest

/// Runs scenario JSON text and returns the report.
func runScenario(_ json: String, baseDirectory: String = ".", seed: UInt64? = nil,
                 file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
    let scenario = try Scenario.parse(json, baseDirectory: baseDirectory)
    return try SimRunner.run(scenario, seed: seed).report
}

/// The number at a key path of a report; fails the test if it is absent or null.
func number(_ report: JSONValue, _ path: String..., file: StaticString = #filePath, line: UInt = #line) -> Double {
    var node: JSONValue? = report
    for key in path { node = node?[key] }
    guard case .number(let n)? = node else {
        XCTFail("no number at \(path.joined(separator: ".")): \(node.map { $0.shortDescription } ?? "absent")", file: file, line: line)
        return .nan
    }
    return n
}

/// The report without its `sim` block (wall time and memory differ between runs).
func withoutSimBlock(_ report: JSONValue) -> String {
    guard case .object(let pairs) = report else { return report.serialized() }
    return JSONValue.object(pairs.filter { $0.0 != "sim" }).serialized()
}

/// The error message a scenario text is rejected with, or nil if it is accepted.
func scenarioError(_ json: String, baseDirectory: String = ".") -> String? {
    do {
        let scenario = try Scenario.parse(json, baseDirectory: baseDirectory)
        _ = try Simulation(scenario: scenario)
        return nil
    } catch let error as ScenarioError {
        return error.message
    } catch {
        return "unexpected error: \(error)"
    }
}

/// A fresh empty folder under the temporary directory.
func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "canopy-sim-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
