/// How sure the culprit search is about the variations it names.
///
/// A variation is only named after it reproduced the difference twice on its own: one
/// differing build may be plain nondeterminism that happened to land on that variation.
public enum CulpritVerdict: String, Sendable, Codable, CaseIterable {
    /// Each named variation alone reproduced the difference, and again on a repeat.
    case confirmed
    /// A variation reproduced the difference once but not on the repeat; the named ones are suspects only.
    case flaky
    /// Two control builds differ: the build is nondeterministic without any variation.
    case nondeterministic
    /// No single variation reproduces the difference; only their combination does.
    case combination
    /// The search could not finish (a second control or bisect build failed).
    case unknown
}

/// The culprit search's finding as data: the variations it names and how sure it is.
public struct Culprit: Sendable, Codable, Equatable {
    public var variations: [String]
    public var verdict: CulpritVerdict

    public init(variations: [String], verdict: CulpritVerdict) {
        self.variations = variations
        self.verdict = verdict
    }

    /// One phrase for people, made only at the edges (CLI line, reports).
    public var summary: String {
        let names = variations.joined(separator: ", ")
        switch verdict {
        case .confirmed: return "\(names) (confirmed on a repeat)"
        case .flaky: return names.isEmpty ? "flaky" : "flaky: \(names) reproduced it once, not on a repeat"
        case .nondeterministic: return "none: differs even without variation"
        case .combination: return "no single variation; only their combination"
        case .unknown: return "unknown (the search could not finish)"
        }
    }
}

extension SpecResult {
    /// The culprit search's finding, or nil when the builds did not differ.
    public var culprit: Culprit? {
        culpritVerdict.map { Culprit(variations: culprits, verdict: $0) }
    }
}
