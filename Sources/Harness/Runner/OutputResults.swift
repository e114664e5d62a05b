import Builder

/// A spec checked for several outputs (`check --format oci-archive --format dual …`): one
/// verdict per output, each comparing only builds of that output, folded into the spec's.
enum OutputResults {
    typealias Part = (output: CheckOutput, result: SpecResult)

    /// The spec's `expectDigest` is met when one output's control build gave it (an image ID
    /// is a docker-archive's, a manifest digest an OCI output's). A miss is charged to the
    /// output the pinned build was recorded as (else one of its format, else one of its kind,
    /// OCI or not), else to the first output whose control succeeded, and names the layers
    /// that changed as for a single output.
    static func judgePin(_ pin: Digest?, _ parts: inout [Part], database: ResultsDatabase) throws {
        guard let pin else { return }
        let controls = parts.compactMap { part in part.result.builds.first { $0.role == .control } }
        if controls.contains(where: { $0.succeeded && $0.pinnedDigest == pin }) { return }
        let recorded = try database.output(ofBuildPinnedAt: pin)
        let succeeded = parts.firstIndex { part in part.result.builds.contains { $0.role == .control && $0.succeeded } }
        let closest = recorded.flatMap { recorded in
            parts.firstIndex { $0.output == recorded } ?? parts.firstIndex { $0.output.format == recorded.format }
                ?? parts.firstIndex { $0.output.format.isOCI == recorded.format.isOCI }
        }
        guard let index = closest ?? succeeded else { return }
        SpecChecker.judgePin(pin, &parts[index].result)
        let output = parts[index].output.description
        CheckRunner.updatePin(of: &parts[index].result) { $0.output = output }
        try CheckRunner.nameChangedLayers(of: &parts[index].result, database: database)
    }

    /// One result: every build and difference (each difference naming its output), passed only
    /// if every output passed. The outcome is a build error or timeout if any output had one,
    /// else that of the first output that failed, else the first output's. The explanation
    /// starts with a missed pin, then says each output's verdict.
    static func combine(_ parts: [Part]) -> SpecResult {
        guard var combined = parts.first?.result else { preconditionFailure("a check has at least one output") }
        let results = parts.map(\.result)
        combined.builds = results.flatMap(\.builds)
        combined.differences = parts.flatMap { part in
            part.result.differences.map { difference in
                var labelled = difference
                labelled.output = part.output.description
                return labelled
            }
        }
        combined.passed = results.allSatisfy(\.passed)
        if let error = results.first(where: { $0.outcome == .timeout }) ?? results.first(where: { $0.outcome.isError }) {
            combined.outcome = error.outcome
        } else {
            combined.outcome = (results.first { !$0.passed } ?? combined).outcome
        }
        var culprits: [String] = []
        for culprit in results.flatMap(\.culprits) where !culprits.contains(culprit) { culprits.append(culprit) }
        combined.culprits = culprits
        combined.culpritVerdict = results.lazy.compactMap(\.culpritVerdict).first
        combined.digestDrift = results.contains(where: \.digestDrift)
        combined.pinMismatch = results.lazy.compactMap(\.pinMismatch).first
        var lines: [String] = []
        for part in parts {
            var text = part.result.explanation
            if let pin = part.result.pinMismatch {
                let line = "Pin: \(pin.summary).\n"
                if text.hasPrefix(line) { text.removeFirst(line.count) }
                lines.insert(String(line.dropLast()), at: 0)
            }
            let body = text.split(separator: "\n", omittingEmptySubsequences: false)
            while let last = lines.last, last.isEmpty { lines.removeLast() }
            lines.append("\(part.output): " + (body.first.map(String.init) ?? ""))
            lines += body.dropFirst().map(String.init)
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        combined.explanation = lines.joined(separator: "\n") + "\n"
        return combined
    }
}
