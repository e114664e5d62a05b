import Builder
import Foundation

// Stand-in until Builder's `ImageSpec.summary(ofSpecAt:)` lands on main: it reads only the
// `name` and `expect` keys, and digests the spec file's bytes rather than the resolved spec
// and its inputs. Delete this file once Builder provides the real one; the signatures match.

/// What the harness needs to know about a spec before building it.
public struct SpecSummary: Sendable, Equatable {
    public var name: String
    /// `reproducible` or `unreproducible`.
    public var expectation: String
    /// sha256 of the resolved spec and its inputs.
    public var inputDigest: Digest

    public init(name: String, expectation: String, inputDigest: Digest) {
        self.name = name
        self.expectation = expectation
        self.inputDigest = inputDigest
    }
}

public enum ImageSpec {
    public static func summary(ofSpecAt path: String) throws -> SpecSummary {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw SpecError.invalid(file: path, key: "(file)", reason: "cannot be read: \(error.localizedDescription)")
        }
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch { throw SpecError.syntax(file: path, error) }
        guard let object = root.objectValue else { throw SpecError.notAnObject(file: path) }
        var name = Self.defaultName(path)
        if let value = object["name"] {
            guard let text = value.stringValue else {
                throw SpecError.wrongType(file: path, key: "name", expected: "a string", found: value.typeName)
            }
            name = text
        }
        var expectation = "reproducible"
        if let value = object["expect"] {
            guard let text = value.stringValue else {
                throw SpecError.wrongType(file: path, key: "expect", expected: "a string", found: value.typeName)
            }
            guard text == "reproducible" || text == "unreproducible" else {
                throw SpecError.invalid(file: path, key: "expect", reason: "must be \"reproducible\" or \"unreproducible\", not \"\(text)\"")
            }
            expectation = text
        }
        return SpecSummary(name: name, expectation: expectation, inputDigest: Digest.of(bytes))
    }

    /// `Corpus/hello/spec.json` is named `hello`; `Corpus/hello.json` too.
    static func defaultName(_ path: String) -> String {
        let components = path.split(separator: "/").map(String.init)
        guard let last = components.last else { return path }
        if last == "spec.json", components.count >= 2 { return components[components.count - 2] }
        return last.hasSuffix(".json") ? String(last.dropLast(5)) : last
    }
}
