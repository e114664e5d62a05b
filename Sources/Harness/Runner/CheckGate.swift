/// Why a check run fails the gate, as data; the CLI says each one in its summary line so an
/// exit status of 1 is never unexplained.
public enum GateFailure: Sendable, Equatable {
    /// Specs that did not meet their expectation (digest drift included).
    case specsFailed(count: Int)
    /// Specs whose control digest drifted from an earlier run.
    case drift(specs: [String])
    /// Specs whose rebuild differs from their `expectDigest`.
    case pin(specs: [String])
    /// Slow builds, with `--fail-on-slowdown`.
    case slowdown(specs: [String])
    /// Variations that could not be applied here, with `--require-all-variations`.
    case skippedVariations([String])
    case interrupted

    public var summary: String {
        switch self {
        case let .specsFailed(count): "\(count) spec\(count == 1 ? "" : "s") failed"
        case let .drift(specs): "digest drift in \(specs.joined(separator: ", "))"
        case let .pin(specs): "expectDigest pin not met by \(specs.joined(separator: ", "))"
        case let .slowdown(specs): "--fail-on-slowdown and \(specs.joined(separator: ", ")) slowed down"
        case let .skippedVariations(names): "--require-all-variations and \(names.joined(separator: ", ")) skipped"
        case .interrupted: "interrupted"
        }
    }
}

extension CheckReport {
    /// Every reason the run fails, in a fixed order; empty when it passes.
    public var gateFailures: [GateFailure] {
        var failures: [GateFailure] = []
        if interrupted { failures.append(.interrupted) }
        let failed = results.filter { !$0.passed }.count
        if failed > 0 { failures.append(.specsFailed(count: failed)) }
        if !drift.isEmpty {
            // Drift is keyed by spec path; people read names.
            let drifted = results.filter { drift[$0.specPath] != nil }.map(\.specName)
            failures.append(.drift(specs: drifted.sorted()))
        }
        let unpinned = results.filter { $0.pinMismatch != nil }.map(\.specName)
        if !unpinned.isEmpty { failures.append(.pin(specs: unpinned.sorted())) }
        if failOnSlowdown && !slowdowns.isEmpty {
            failures.append(.slowdown(specs: slowdowns.map(\.specName).sorted()))
        }
        if requireAllVariations && !skippedVariations.isEmpty {
            failures.append(.skippedVariations(skippedVariations.keys.sorted()))
        }
        return failures
    }

    public var passed: Bool { gateFailures.isEmpty }

    /// The last line of `check`: how many specs passed, what was skipped, and why it fails.
    public var summaryLine: String {
        let failed = results.filter { !$0.passed }.count
        var text = "\(results.count - failed) of \(results.count) specs passed"
        if !skippedVariations.isEmpty {
            let names = skippedVariations.keys.sorted()
            text += "; \(names.count) variation\(names.count == 1 ? "" : "s") skipped (\(names.joined(separator: ", ")))"
        }
        if !slowdowns.isEmpty && !failOnSlowdown {
            text += "; \(slowdowns.count) slowdown\(slowdowns.count == 1 ? "" : "s") (not failing without --fail-on-slowdown)"
        }
        if unchecked > 0 { text += "; \(unchecked) not checked (--fail-fast stopped after a failure)" }
        let failures = gateFailures
        if !failures.isEmpty { text += "; FAILED: " + failures.map(\.summary).joined(separator: "; ") }
        return text
    }
}
