import Builder

/// JUnit XML for CI systems: one `<testsuite>`, one `<testcase>` per spec.
///
/// A spec that did not meet its expectation is a `<failure>`; a spec whose builds failed is
/// an `<error>`, because it says nothing about reproducibility either way.
public enum JUnitReport {
    public static func render(_ results: [SpecResult], runInfo: RunInfo) -> String {
        let sorted = results.sorted { $0.specName < $1.specName }
        let errors = sorted.filter { $0.outcome == .buildError }.count
        let failures = sorted.filter { !$0.passed && $0.outcome != .buildError }.count
        let totalMilliseconds = sorted.reduce(0) { $0 + milliseconds($1) }

        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuite name=\"repro-check\" tests=\"\(sorted.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"0\""
        xml += " time=\"\(ReportFormat.junitSeconds(totalMilliseconds))\""
        xml += " timestamp=\"\(ReportFormat.utc(runInfo.startedAt, separator: "T", suffix: ""))\""
        xml += " hostname=\(attribute(runInfo.host))>\n"
        xml += "  <properties>\n"
        xml += property("tool_version", runInfo.toolVersion, indent: 4)
        if let commit = runInfo.gitCommit { xml += property("git_commit", commit, indent: 4) }
        xml += property("host", runInfo.host, indent: 4)
        xml += property("options", runInfo.options, indent: 4)
        xml += "  </properties>\n"
        for result in sorted { xml += testcase(result) }
        xml += "</testsuite>\n"
        return xml
    }

    private static func testcase(_ result: SpecResult) -> String {
        var xml = "  <testcase classname=\"repro-check\" name=\(attribute(result.specName)) time=\"\(ReportFormat.junitSeconds(milliseconds(result)))\">\n"
        xml += "    <properties>\n"
        xml += property("spec_path", result.specPath, indent: 6)
        xml += property("spec_digest", result.specDigest.description, indent: 6)
        xml += property("expectation", result.expectation.rawValue, indent: 6)
        xml += property("outcome", result.outcome.rawValue, indent: 6)
        if !result.culprits.isEmpty { xml += property("culprits", result.culprits.joined(separator: ", "), indent: 6) }
        for build in result.builds {
            if let digest = build.imageDigest { xml += property("\(build.role.rawValue).image_digest", digest.description, indent: 6) }
            if let digest = build.configDigest { xml += property("\(build.role.rawValue).config_digest", digest.description, indent: 6) }
            if let digest = build.manifestDigest { xml += property("\(build.role.rawValue).manifest_digest", digest.description, indent: 6) }
        }
        xml += "    </properties>\n"
        if result.outcome == .buildError {
            let failed = result.builds.filter { !$0.succeeded }
            let lines = failed.map { build in
                "\(build.role.rawValue) build exited with status \(build.exitStatus)\(build.error.map { ": \($0)" } ?? "")"
            }
            let message = result.explanation.isEmpty ? (lines.first ?? "build error") : result.explanation
            xml += "    <error message=\(attribute(message)) type=\"build-error\">\(ReportFormat.html(lines.joined(separator: "\n")))</error>\n"
        } else if !result.passed {
            let message = result.explanation.isEmpty
                ? "expected \(result.expectation.rawValue), got \(result.outcome.rawValue)" : result.explanation
            var body = [message]
            if !result.culprits.isEmpty { body.append("culprits: \(result.culprits.joined(separator: ", "))") }
            body += result.differences.map(\.summary)
            xml += "    <failure message=\(attribute(message)) type=\(attribute(result.outcome.rawValue))>\(ReportFormat.html(body.joined(separator: "\n")))</failure>\n"
        }
        xml += "  </testcase>\n"
        return xml
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
