import Builder
import Foundation

/// One spec, checked: a control and an experiment build; when they differ, both rebuilt to
/// files and compared, a second control to tell variation from plain nondeterminism, then one
/// `bisect-<name>` build per variation to name the culprits.
struct SpecChecker: Sendable {
    var planner: BuildEnvironmentPlanner
    var executor: BuildExecutor
    var slots: BuildSlots
    /// `--keep-artifacts`: every build of a spec goes to `<dir>/<spec>/<role>.tar`.
    var keepArtifacts: String?
    var onBuild: @Sendable (BuildRole) -> Void

    /// The builds' verdict, then the spec's `expectDigest` judged against the control build.
    /// The children ignore the pin, so a rebuild that misses it still yields its digests.
    func check(specPath: String, summary: SpecSummary, slot: String) -> SpecResult {
        var checker = self
        if summary.expectDigest != nil { checker.planner.buildArguments.append("--ignore-pin") }
        var result = checker.checkBuilds(specPath: specPath, summary: summary, slot: slot)
        Self.judgePin(summary.expectDigest, &result)
        return result
    }

    /// A control build that succeeded but not with the pinned digest fails the spec, whatever
    /// the experiment gave: the image is not the one published.
    static func judgePin(_ pin: Digest?, _ result: inout SpecResult) {
        guard let pin, let control = result.builds.first(where: { $0.role == .control }), control.succeeded,
            let actual = control.pinnedDigest, actual != pin
        else { return }
        let mismatch = PinMismatch(
            expected: pin, actual: actual, digestName: control.format.isOCI ? "manifest digest" : "image ID")
        result.pinMismatch = mismatch
        result.passed = false
        result.explanation = "Pin: \(mismatch.summary).\n" + result.explanation
    }

    private func checkBuilds(specPath: String, summary: SpecSummary, slot: String) -> SpecResult {
        let expectation = Expectation(rawValue: summary.expectation) ?? .reproducible
        var result = SpecResult(
            specName: summary.name, specPath: specPath, specDigest: summary.inputDigest, expectation: expectation,
            outcome: .buildError, passed: false)
        let everything = Set(planner.activeNames)
        let artifactDirectory = keepArtifacts.map { "\($0)/\(Self.safeName(summary.name))" }
        if let artifactDirectory {
            try? FileManager.default.createDirectory(atPath: artifactDirectory, withIntermediateDirectories: true)
        }
        func artifact(_ role: BuildRole) -> String? { artifactDirectory.map { "\($0)/\(role).tar" } }

        let first = build([(.control, [], artifact(.control)), (.experiment, everything, artifact(.experiment))], specPath, slot)
        let control = first[0], experiment = first[1]
        result.builds = [control.result, experiment.result]
        guard control.result.succeeded, experiment.result.succeeded else {
            result.outcome = control.result.timedOut || experiment.result.timedOut ? .timeout : .buildError
            result.explanation = [control.result.error, experiment.result.error].compactMap { $0 }.joined(separator: "\n")
            return result
        }
        if control.result.imageDigest == experiment.result.imageDigest {
            result.outcome = .reproducible
            result.passed = expectation == .reproducible
            result.explanation = "Reproducible: both builds gave \(control.result.imageDigest?.description ?? "?")"
                + Self.variationNote(experiment.result) + "."
            if !result.passed {
                result.explanation += " The spec expects to be unreproducible, so the variations no longer catch what it plants."
            }
            return result
        }

        // They differ. Files to explain the difference from, and a second control meanwhile.
        result.outcome = .unreproducible
        result.passed = expectation == .unreproducible
        var controlFile = control.archivePath
        var experimentFile = experiment.archivePath
        var temporaries: [String] = []
        defer { for path in temporaries { try? FileManager.default.removeItem(atPath: path) } }
        let secondControl: ExecutedBuild
        if controlFile != nil && experimentFile != nil {
            secondControl = build([(.secondControl, [], artifact(.secondControl))], specPath, slot)[0]
        } else {
            let controlPath = "\(planner.workRoot)/\(slot)-control-2.tar"
            let experimentPath = "\(planner.workRoot)/\(slot)-experiment-again.tar"
            temporaries = [controlPath, experimentPath]
            let again = build(
                [(.secondControl, [], controlPath), (BuildRole(rawValue: "experiment-again"), everything, experimentPath)],
                specPath, slot)
            secondControl = again[0]
            controlFile = again[0].archivePath
            experimentFile = again[1].archivePath
        }
        result.builds.append(secondControl.result)

        if let controlFile, let experimentFile {
            do {
                result.differences = try ArchiveDiff.compare(
                    control: controlFile, experiment: experimentFile,
                    compressors: (control.result.compressorVersions, experiment.result.compressorVersions))
            } catch {
                result.differences = []
                result.explanation = "The outputs differ, but comparing them failed: \(error)\n"
            }
        }

        if !secondControl.result.succeeded {
            result.culpritVerdict = .unknown
            result.explanation += "The second control build failed, so the culprit is unknown: \(secondControl.result.error ?? "")\n"
        } else if secondControl.result.imageDigest != control.result.imageDigest {
            result.culpritVerdict = .nondeterministic
        } else {
            let culprit = searchCulprit(
                control: control.result, specPath: specPath, slot: slot, artifact: artifact, into: &result)
            result.culprits = culprit.variations
            result.culpritVerdict = culprit.verdict
        }
        if result.passed {
            // A negative control did what it is for; its differences are expected, so one line says it.
            result.explanation = Self.expectedDifference(result)
        } else {
            result.explanation = Self.explainDifference(result, control: control.result, experiment: experiment.result)
                + result.explanation
        }
        // The verdict stands, but a spec whose builds cannot finish in time needs attention first.
        if result.builds.contains(where: \.timedOut) {
            result.outcome = .timeout
            result.passed = false
        }
        return result
    }

    /// One `bisect-<name>` build per active variation; each that differs from the control is
    /// built once more (`repeat-<name>`) and named only if it differs again, because one
    /// differing build may be chance that happened to land on that variation.
    private func searchCulprit(
        control: BuildResult, specPath: String, slot: String, artifact: (BuildRole) -> String?,
        into result: inout SpecResult
    ) -> Culprit {
        let names = planner.activeNames
        let bisects = build(names.map { (BuildRole.bisect($0.rawValue), [$0], artifact(.bisect($0.rawValue))) }, specPath, slot)
        result.builds += bisects.map(\.result)
        let blamed = zip(names, bisects).filter { $0.1.result.succeeded && $0.1.result.imageDigest != control.imageDigest }.map(\.0)
        let failed = zip(names, bisects).filter { !$0.1.result.succeeded }.map(\.0.rawValue)
        if !failed.isEmpty {
            result.explanation += "bisect builds failed for \(failed.joined(separator: ", ")), so they could not be judged.\n"
        }
        let repeats = build(blamed.map { (Self.repeatRole($0), [$0], nil) }, specPath, slot)
        result.builds += repeats.map(\.result)
        let confirmed = zip(blamed, repeats)
            .filter { $0.1.result.succeeded && $0.1.result.imageDigest != control.imageDigest }.map(\.0.rawValue)
        let flaky = blamed.map(\.rawValue).filter { !confirmed.contains($0) }
        if !confirmed.isEmpty {
            if !flaky.isEmpty {
                result.explanation += "Flaky: \(flaky.joined(separator: ", ")) reproduced the difference once but not on a repeat.\n"
            }
            return Culprit(variations: confirmed, verdict: .confirmed)
        }
        if !flaky.isEmpty { return Culprit(variations: flaky, verdict: .flaky) }
        return Culprit(variations: [], verdict: failed.isEmpty ? .combination : .unknown)
    }

    static func repeatRole(_ variation: Variation.Name) -> BuildRole { BuildRole(rawValue: "repeat-\(variation.rawValue)") }

    private func build(
        _ requests: [(BuildRole, Set<Variation.Name>, String?)], _ specPath: String, _ slot: String
    ) -> [ExecutedBuild] {
        let planner = self.planner, executor = self.executor, slots = self.slots, onBuild = self.onBuild
        let inputs = SpecInputs.relativeReferences(ofSpecAt: specPath)
        return Parallel.run(requests.map { request in
            { @Sendable in
                let (role, varied, file) = request
                let plan = planner.plan(role: role, varied: varied, specPath: specPath, slot: "\(slot)-\(role)", inputs: inputs)
                return slots.with {
                    onBuild(role)
                    return executor.run(plan, archivePath: file)
                }
            }
        })
    }

    static func explainDifference(_ result: SpecResult, control: BuildResult, experiment: BuildResult) -> String {
        var text = "Unreproducible: the control gave \(control.imageDigest?.description ?? "?") and the experiment "
            + "\(experiment.imageDigest?.description ?? "?")\(variationNote(experiment)).\n"
        if let culprit = result.culprit { text += "Culprit: \(culprit.summary).\n" }
        if !result.differences.isEmpty {
            text += ArchiveDiff.explain(Array(result.differences.prefix(20)))
            if result.differences.count > 20 { text += "… and \(result.differences.count - 20) more.\n" }
        }
        let values = experiment.variationValues.sorted { $0.key < $1.key }
            .filter { experiment.variationsApplied.contains($0.key) }.map { "\($0.key)=\($0.value)" }
        if !values.isEmpty { text += "Experiment values: \(values.joined(separator: "; "))\n" }
        return text
    }

    /// A negative control's expected difference, in one line.
    static func expectedDifference(_ result: SpecResult) -> String {
        var text = "Unreproducible, as this negative control expects"
        let count = result.differences.count
        if let first = result.primaryDifference {
            text += ": \(count) difference\(count == 1 ? "" : "s"), first \(first.summary)"
        }
        if let culprit = result.culprit { text += "; culprit: \(culprit.summary)" }
        return text + "."
    }

    static func variationNote(_ experiment: BuildResult) -> String {
        var parts: [String] = []
        if !experiment.variationsApplied.isEmpty {
            parts.append("varied: \(experiment.variationsApplied.joined(separator: ", "))")
        }
        let skipped = experiment.variationsSkipped.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
        if !skipped.isEmpty { parts.append("skipped: \(skipped.joined(separator: ", "))") }
        return parts.isEmpty ? "" : " (\(parts.joined(separator: "; ")))"
    }

    static func safeName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }
}

extension SpecResult {
    /// The difference that says most: an entry inside a layer, else the first cause (causes come
    /// before what follows from them).
    public var primaryDifference: Difference? {
        differences.first { $0.kind.isEntry } ?? differences.first { $0.kind != .derived } ?? differences.first
    }
}
