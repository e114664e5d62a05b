import Builder

/// Inline SVG charts: static markup with `<title>` tooltips, so they need no script and no network.
enum SVGCharts {
    private static let width = 760.0

    /// Two rows of dots (control, experiment), one column per run, coloured by image digest;
    /// changes of the control digest are marked with a vertical line. One chart per output:
    /// `label` names the spec, and the output when it has several.
    static func digestTimeline(_ history: OutputHistory, label chartLabel: String) -> String {
        let entries = history.digests
        let left = 96.0
        let right = 24.0
        let height = 104.0
        let rows: [(label: String, y: Double, digest: (DigestHistoryEntry) -> Digest?)] = [
            ("control", 38, \.controlDigest), ("experiment", 66, \.experimentDigest),
        ]
        let x = xPositions(count: entries.count, left: left, right: right)
        let radius = entries.count > 60 ? 3.0 : 6.0
        var svg = open(height: height, label: "Image digest history of \(chartLabel)")
        for row in rows {
            svg += "<text class=\"axis\" x=\"8\" y=\"\(f(row.y + 4))\">\(row.label)</text>"
            svg += "<line class=\"rail\" x1=\"\(f(left - 10))\" y1=\"\(f(row.y))\" x2=\"\(f(width - right + 10))\" y2=\"\(f(row.y))\"/>"
        }
        for change in history.changes {
            let at = change.index > 0 ? (x[change.index - 1] + x[change.index]) / 2 : x[change.index]
            let kind: String
            switch change.kind {
            case .drift: kind = "drift"
            case .hostChanged: kind = "host-change"
            case .inputChanged: kind = "input-change"
            }
            let label = change.kind.rawValue
            svg += "<g class=\"\(kind)\"><title>\(ReportFormat.html("\(change.kind.rawValue): \(change.from) → \(change.to)"))</title>"
            svg += "<line x1=\"\(f(at))\" y1=\"22\" x2=\"\(f(at))\" y2=\"80\"/>"
            svg += "<text x=\"\(f(at))\" y=\"16\" text-anchor=\"middle\">\(label)</text></g>"
        }
        for (index, entry) in entries.enumerated() {
            for row in rows {
                let digest = row.digest(entry)
                let tip = "run #\(entry.runID) · \(ReportFormat.utc(entry.startedAt)) · \(entry.host) · \(entry.toolVersion)\n\(row.label): \(digest?.description ?? "no image")"
                let fill = digest == nil ? "none" : ReportFormat.color(digest)
                svg += "<circle cx=\"\(f(x[index]))\" cy=\"\(f(row.y))\" r=\"\(f(radius))\" fill=\"\(fill)\" stroke=\"\(ReportFormat.color(digest))\" stroke-width=\"1.5\"><title>\(ReportFormat.html(tip))</title></circle>"
            }
        }
        svg += dateLabels(entries.map(\.startedAt), x: x, y: 96, marked: history.changes.map(\.index))
        return svg + "</svg>"
    }

    /// Wall time of each successful control build, with the slowdown (if any) marked.
    static func buildTimeTrend(_ history: SpecHistory) -> String {
        let points = history.controlTimes
        let left = 64.0
        let right = 24.0
        let top = 18.0
        let bottom = 30.0
        let height = 170.0
        guard !points.isEmpty else {
            return open(height: 32, label: "No control build wall time for \(history.label)")
                + "<text class=\"axis\" x=\"\(f(left))\" y=\"20\">no successful control build yet</text></svg>"
        }
        var svg = open(height: height, label: "Control build wall time of \(history.label)")
        let maxWall = Double(points.map(\.wallMilliseconds).max() ?? 0)
        let yMax = niceCeiling(max(maxWall, history.slowdown?.medianMilliseconds ?? 0) * 1.1)
        let plotHeight = height - top - bottom
        func y(_ ms: Double) -> Double { top + plotHeight * (1 - ms / yMax) }
        let x = xPositions(count: points.count, left: left, right: right)
        for fraction in [0.0, 0.5, 1.0] {
            let value = yMax * fraction
            svg += "<line class=\"grid\" x1=\"\(f(left))\" y1=\"\(f(y(value)))\" x2=\"\(f(width - right))\" y2=\"\(f(y(value)))\"/>"
            svg += "<text class=\"axis\" x=\"\(f(left - 8))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(axisLabel(value, max: yMax))</text>"
        }
        if let slowdown = history.slowdown {
            let median = y(slowdown.medianMilliseconds)
            svg += "<line class=\"median\" x1=\"\(f(left))\" y1=\"\(f(median))\" x2=\"\(f(width - right))\" y2=\"\(f(median))\"><title>median of runs \(ReportData.runList(slowdown.comparedRunIDs)): \(ReportFormat.duration(slowdown.medianMilliseconds))</title></line>"
        }
        let coordinates = points.enumerated().map { "\(f(x[$0.offset])),\(f(y(Double($0.element.wallMilliseconds))))" }
        svg += "<polyline class=\"trend\" points=\"\(coordinates.joined(separator: " "))\"/>"
        for (index, point) in points.enumerated() {
            let slow = history.slowdown?.runID == point.runID && index == points.count - 1
            let tip = "run #\(point.runID) · \(ReportFormat.utc(point.startedAt)) · \(point.host)\nwall \(ReportFormat.duration(point.wallMilliseconds)), cpu \(ReportFormat.duration(point.cpuMilliseconds)), peak RSS \(point.peakRSSKiB) KiB"
            svg += "<circle class=\"\(slow ? "slow" : "point")\" cx=\"\(f(x[index]))\" cy=\"\(f(y(Double(point.wallMilliseconds))))\" r=\"\(slow ? "6" : "3.5")\"><title>\(ReportFormat.html(tip))</title></circle>"
            if slow, let slowdown = history.slowdown {
                svg += "<text class=\"slow-label\" x=\"\(f(x[index] - 8))\" y=\"\(f(y(Double(point.wallMilliseconds)) - 10))\" text-anchor=\"end\">\(ReportFormat.decimal(slowdown.ratio))× median</text>"
            }
        }
        svg += dateLabels(points.map(\.startedAt), x: x, y: height - 8, marked: [])
        return svg + "</svg>"
    }

    // MARK: Helpers

    private static func open(height: Double, label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\" aria-label=\"\(ReportFormat.html(label))\">"
    }

    /// Evenly spaced columns: runs are compared by order, not by wall-clock gaps.
    private static func xPositions(count: Int, left: Double, right: Double) -> [Double] {
        let span = width - left - right
        guard count > 1 else { return count == 1 ? [left + span / 2] : [] }
        return (0..<count).map { left + span * Double($0) / Double(count - 1) }
    }

    /// A date label is about 70 wide at the chart's font size, and the end labels hang to one side.
    static let labelSpacing = 110.0

    /// The day each column's run started, under the first and last column, then the marked
    /// ones (digest changes), then evenly spread ones, skipping any that would overlap a label
    /// already placed; a day already labelled just before is not repeated.
    private static func dateLabels(_ times: [Double], x: [Double], y: Double, marked: [Int]) -> String {
        guard !times.isEmpty else { return "" }
        let last = times.count - 1
        let step = max(1, times.count / 6)
        let candidates = [0, last] + marked + Array(stride(from: step, to: last, by: step))
        var placed: [Int] = []
        for index in candidates where index >= 0 && index <= last && !placed.contains(index) {
            if placed.allSatisfy({ abs(x[$0] - x[index]) >= labelSpacing }) { placed.append(index) }
        }
        var out = ""
        var previousDay: String?
        for index in placed.sorted() {
            let day = ReportFormat.date(times[index])
            if day == previousDay { continue }
            previousDay = day
            let anchor = index == 0 && placed.count > 1 ? "start" : index == last && placed.count > 1 ? "end" : "middle"
            out += "<text class=\"axis\" x=\"\(f(x[index]))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\">\(day)</text>"
        }
        return out
    }

    /// One unit per axis: seconds if the top label needs them, else milliseconds.
    private static func axisLabel(_ milliseconds: Double, max: Double) -> String {
        max >= 1000 ? "\(ReportFormat.decimal(milliseconds / 1000)) s" : "\(Int64(milliseconds.rounded())) ms"
    }

    /// Rounds up to 1, 2, 2.5 or 5 × a power of ten, so the half-way label is round too.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1000 }
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    private static func f(_ value: Double) -> String { ReportFormat.decimal(value) }
}
