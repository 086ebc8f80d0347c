/// A scenario that cannot be run, with a one-line message naming the field and what to
/// do about it (printed as is by `canopy sim`).
public struct ScenarioError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) { self.message = "scenario: " + message }

    public var description: String { message }
}
