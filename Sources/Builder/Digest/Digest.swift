import Crypto

/// A content digest as the image formats spell it: `sha256:<64 lowercase hex>`.
///
/// One validated type for every digest the project handles (layer digests, diffIDs, config
/// digests, whole-archive digests), so a bare hex string never travels where a digest is meant.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The 64 lowercase hex characters.
    public let hex: String

    public init(bytes: some Sequence<UInt8>) {
        hex = Hex.encode(bytes)
    }

    /// Accepts `sha256:<hex>` or bare `<hex>`; anything else is `nil`.
    public init?(parsing text: String) {
        let body = text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text
        guard Digest.isHex64(body) else { return nil }
        hex = body
    }

    public static func isHex64(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    public var description: String { "sha256:\(hex)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    public static func of(_ bytes: some DataProtocol) -> Digest {
        Digest(bytes: SHA256.hash(data: bytes))
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = Digest(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a sha256 digest: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import Foundation
