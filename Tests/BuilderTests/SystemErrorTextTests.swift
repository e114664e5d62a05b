import Builder
import Foundation
import Testing

@Suite("System error text")
struct SystemErrorTextTests {
    struct OwnError: Error, CustomStringConvertible {
        var description: String { "spec.json: something specific" }
    }

    @Test("renders Foundation's file errors as the path and the errno wording")
    func foundationErrors() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/file"
        do {
            _ = try Data(contentsOf: URL(fileURLWithPath: missing))
            Issue.record("read a missing file")
        } catch {
            #expect(SystemErrorText.message(error) == "\(missing): No such file or directory")
            #expect(SystemErrorText.reason(error) == "No such file or directory")
        }
        do {
            try FileManager.default.createDirectory(atPath: "/proc/\(UUID().uuidString)", withIntermediateDirectories: false)
            Issue.record("created a directory in /proc")
        } catch {
            #expect(!SystemErrorText.message(error).contains("NSCocoaErrorDomain"))
            #expect(!SystemErrorText.message(error).contains("permission to save"))
        }
    }

    @Test("leaves our own errors as they describe themselves")
    func ownErrors() {
        #expect(SystemErrorText.message(OwnError()) == "spec.json: something specific")
        #expect(SystemErrorText.message(IOError.open("x", errno: ENOENT)) == "cannot open x: No such file or directory")
    }
}
