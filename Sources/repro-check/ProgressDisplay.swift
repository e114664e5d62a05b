import Builder
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr, only when stderr is a terminal; pipes and CI logs stay clean.
enum ProgressDisplay {
    static func forStderr() -> (@Sendable (BuildProgress) -> Void)? {
        guard isatty(2) != 0 else { return nil }
        let start = Date()
        return { event in
            let line: String
            switch event {
            case let .measured(layer, total):
                line = "measuring layers: \(layer) of \(total)"
            case let .writing(layer, total, bytes):
                let seconds = max(Date().timeIntervalSince(start), 0.001)
                line = "writing layer \(layer) of \(total): \(ByteCount.format(bytes)) (\(ByteCount.format(UInt64(Double(bytes) / seconds)))/s)"
            case let .finished(bytes):
                FileHandleStderr.write("\r\u{1B}[Kwrote \(ByteCount.format(bytes)) in \(String(format: "%.2f", Date().timeIntervalSince(start))) s\n")
                return
            }
            FileHandleStderr.write("\r\u{1B}[K" + line)
        }
    }
}

enum ByteCount {
    static func format(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
