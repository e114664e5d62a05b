import Builder

/// JUnit XML for CI systems: one `<testsuite>`, one `<testcase>` per spec (with `file` and a
/// classname from the spec's folder), one per skipped variation, and one for the run itself
/// when it was interrupted, so a cut-short run is never green.
///
/// Failure types: `unreproducible` (expected reproducible), `reproducible` (a negative control
/// that reproduced), `drift`, `slowdown` (with `--fail-on-slowdown`), `skipped-variation`
/// (with `--require-all-variations`); errors: `build-error`, `timeout`, `interrupted`.
public enum JUnitReport {
    /// One testcase's verdict.
    struct Verdict {
        enum Kind: String {
            case failure
            case error
            case skipped
        }

        var kind: Kind
        var type: String
        var message: String
        var body: String
    }

    /// `relativeTo`: the folder spec paths are shown relative to (the checkout, in CI), so
    /// `file` and the classname match the repository's layout rather than the runner's.
    public static func render(_ report: CheckReport, relativeTo base: String? = nil) -> String {
        let runInfo = report.runInfo
        let sorted = report.results.sorted { $0.specName < $1.specName }
        var cases: [(xml: String, verdict: Verdict?)] = sorted.map { result in
            let verdict = verdict(result, report: report)
            return (testcase(result, path: displayPath(result.specPath, relativeTo: base), verdict: verdict), verdict)
        }
        for (name, reason) in report.skippedVariations.sorted(by: { $0.key < $1.key }) {
            let verdict = report.requireAllVariations
                ? Verdict(kind: .failure, type: "skipped-variation", message: "\(name) was not applied: \(reason)", body: reason)
                : Verdict(kind: .skipped, type: "skipped-variation", message: "\(name) was not applied: \(reason)", body: "")
            cases.append((plainCase(classname: "repro-check.variations", name: name, verdict: verdict), verdict))
        }
        if report.interrupted {
            let verdict = Verdict(
                kind: .error, type: "interrupted",
                message: "the run was interrupted after \(sorted.count) spec\(sorted.count == 1 ? "" : "s"); the rest were not checked",
                body: "")
            cases.append((plainCase(classname: "repro-check", name: "run", verdict: verdict), verdict))
        }
        let totalMilliseconds = sorted.reduce(0) { $0 + milliseconds($1) }
        func count(_ kind: Verdict.Kind) -> Int { cases.filter { $0.verdict?.kind == kind }.count }

        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuite name=\"repro-check\" tests=\"\(cases.count)\" failures=\"\(count(.failure))\" errors=\"\(count(.error))\" skipped=\"\(count(.skipped))\""
        xml += " time=\"\(ReportFormat.junitSeconds(totalMilliseconds))\""
        xml += " timestamp=\"\(ReportFormat.utc(runInfo.startedAt, separator: "T", suffix: ""))\""
        xml += " hostname=\(attribute(runInfo.host))>\n"
        xml += "  <properties>\n"
        xml += property("tool_version", runInfo.toolVersion, indent: 4)
        if let commit = runInfo.gitCommit { xml += property("git_commit", commit, indent: 4) }
        xml += property("host", runInfo.host, indent: 4)
        if let group = runInfo.runGroup { xml += property("run_group", group, indent: 4) }
        xml += property("options", runInfo.options, indent: 4)
        for (name, reason) in report.skippedVariations.sorted(by: { $0.key < $1.key }) {
            xml += property("skipped_variation.\(name)", reason, indent: 4)
        }
        xml += "  </properties>\n"
        for testcase in cases { xml += testcase.xml }
        xml += "</testsuite>\n"
        return xml
    }

    /// The first thing wrong with a spec, most fundamental first; nil when it passed.
    static func verdict(_ result: SpecResult, report: CheckReport) -> Verdict? {
        let outcome = result.outcome.rawValue
        if result.outcome == .buildError || outcome == "timeout" {
            let failed = result.builds.filter { !$0.succeeded }
            let lines = failed.map { build in
                "\(build.role.rawValue) build exited with status \(build.exitStatus)\(build.error.map { ": \($0)" } ?? "")"
            }
            let message = result.explanation.isEmpty ? (lines.first ?? outcome) : result.explanation
            return Verdict(kind: .error, type: outcome, message: message, body: lines.joined(separator: "\n"))
        }
        if let pin = result.pinMismatch {
            return Verdict(kind: .failure, type: "pin", message: "expectDigest: \(pin.summary)", body: result.explanation)
        }
        var body: [String] = []
        if let culprit = result.culprit { body.append("culprit: \(culprit.summary)") }
        body += result.differences.flatMap { [$0.summaryWithOutput] + $0.diffLines.map { "    " + $0 } }
        if result.outcome.rawValue != result.expectation.rawValue {
            let message = result.explanation.isEmpty ? "expected \(result.expectation.rawValue), got \(outcome)" : result.explanation
            return Verdict(kind: .failure, type: outcome, message: message, body: ([message] + body).joined(separator: "\n"))
        }
        if let drift = report.drift[result.specPath], !drift.isEmpty {
            let several = Set(drift.map(\.output)).count > 1 || Set(result.builds.map(CheckOutput.init(of:))).count > 1
            let earlier = drift.map { "\(several ? "(\($0.output)) " : "")run \($0.runID) on \($0.host) gave \($0.imageDigest)" }
            return Verdict(
                kind: .failure, type: "drift", message: result.explanation, body: earlier.joined(separator: "\n"))
        }
        if !result.passed {
            return Verdict(kind: .failure, type: outcome, message: result.explanation, body: body.joined(separator: "\n"))
        }
        if report.failOnSlowdown, let slowdown = report.slowdowns.first(where: { $0.specPath == result.specPath }) {
            let message = "control build took \(slowdown.wallMilliseconds) ms, over the threshold of "
                + "\(Int(slowdown.thresholdMilliseconds)) ms (median \(Int(slowdown.medianMilliseconds)) ms, "
                + "MAD \(Int(slowdown.madMilliseconds)) ms of runs \(slowdown.comparedRunIDs.map(String.init).joined(separator: ", ")))"
            return Verdict(kind: .failure, type: "slowdown", message: message, body: "")
        }
        return nil
    }

    private static func testcase(_ result: SpecResult, path: String, verdict: Verdict?) -> String {
        var xml = "  <testcase classname=\(attribute(classname(path))) name=\(attribute(result.specName))"
        xml += " file=\(attribute(path)) time=\"\(ReportFormat.junitSeconds(milliseconds(result)))\">\n"
        xml += "    <properties>\n"
        xml += property("spec_path", result.specPath, indent: 6)
        xml += property("spec_digest", result.specDigest.description, indent: 6)
        xml += property("expectation", result.expectation.rawValue, indent: 6)
        xml += property("outcome", result.outcome.rawValue, indent: 6)
        if let culprit = result.culprit {
            xml += property("culprit_verdict", culprit.verdict.rawValue, indent: 6)
            if !culprit.variations.isEmpty { xml += property("culprits", culprit.variations.joined(separator: ","), indent: 6) }
        }
        // With several outputs each build's properties start with its output, so that two
        // controls (`docker-archive.control.image_id`, `oci-archive+zstd.control.image_id`) stay apart.
        let several = Set(result.builds.map(CheckOutput.init(of:))).count > 1
        for build in result.builds {
            let name = (several ? "\(CheckOutput(of: build))." : "") + build.role.rawValue
            if let digest = build.imageDigest { xml += property("\(name).archive_digest", digest.description, indent: 6) }
            if let digest = build.configDigest { xml += property("\(name).image_id", digest.description, indent: 6) }
            if let digest = build.manifestDigest { xml += property("\(name).manifest_digest", digest.description, indent: 6) }
        }
        xml += "    </properties>\n"
        if let verdict { xml += element(verdict) }
        xml += "  </testcase>\n"
        return xml
    }

    private static func plainCase(classname: String, name: String, verdict: Verdict) -> String {
        "  <testcase classname=\(attribute(classname)) name=\(attribute(name)) time=\"0.000\">\n" + element(verdict)
            + "  </testcase>\n"
    }

    private static func element(_ verdict: Verdict) -> String {
        "    <\(verdict.kind.rawValue) message=\(attribute(verdict.message)) type=\(attribute(verdict.type))>"
            + "\(ReportFormat.html(verdict.body))</\(verdict.kind.rawValue)>\n"
    }

    /// `Corpus/typical/spec.json` → `Corpus.typical`: the spec's folder, dotted as JUnit
    /// consumers group classnames; a spec at the top level is `repro-check`.
    static func classname(_ specPath: String) -> String {
        var components = specPath.split(separator: "/").map(String.init).filter { $0 != "." }
        guard !components.isEmpty else { return "repro-check" }
        components.removeLast()
        return components.isEmpty ? "repro-check" : components.joined(separator: ".")
    }

    /// `path` relative to `base` when it lies inside it; otherwise unchanged.
    public static func displayPath(_ path: String, relativeTo base: String?) -> String {
        guard let base, !base.isEmpty else { return path }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    private static func property(_ name: String, _ value: String, indent: Int) -> String {
        String(repeating: " ", count: indent) + "<property name=\(attribute(name)) value=\(attribute(value))/>\n"
    }

    private static func attribute(_ value: String) -> String {
        "\"\(ReportFormat.xmlAttribute(value))\""
    }

    /// A spec's time is the sum of its builds, which ran one after another.
    private static func milliseconds(_ result: SpecResult) -> Int {
        result.builds.reduce(0) { $0 + max(0, $1.wallMilliseconds) }
    }
}
