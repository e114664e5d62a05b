import Builder

/// The tar header fields two entries are compared on, each rendered as people read it.
enum EntryFields {
    struct FieldDifference: Equatable {
        var field: String
        var control: String?
        var experiment: String?
    }

    /// Pax records that only restate a header field; a difference there is reported under
    /// the field, and under the record only when the decoded fields agree.
    private static let paxFieldOf: [String: String] = [
        "linkpath": "linkname", "uname": "uname", "gname": "gname", "uid": "uid", "gid": "gid",
        "size": "size", "mtime": "mtime", "GNU.sparse.size": "size", "GNU.sparse.realsize": "size",
    ]

    static func differences(_ a: TarHeader, _ b: TarHeader, includeSize: Bool = true) -> [FieldDifference] {
        var out: [FieldDifference] = []
        func check(_ field: String, _ x: String, _ y: String) {
            if x != y { out.append(FieldDifference(field: field, control: x, experiment: y)) }
        }
        check("type", typeName(a.typeflag), typeName(b.typeflag))
        check("mode", octal(a.mode), octal(b.mode))
        check("uid", String(a.uid), String(b.uid))
        check("gid", String(a.gid), String(b.gid))
        check("uname", text(a.uname), text(b.uname))
        check("gname", text(a.gname), text(b.gname))
        check("mtime", time(a.mtime), time(b.mtime))
        if includeSize { check("size", String(a.size), String(b.size)) }
        check("linkname", text(a.linkname), text(b.linkname))
        check("devmajor", String(a.devmajor), String(b.devmajor))
        check("devminor", String(a.devminor), String(b.devminor))

        let reported = Set(out.map(\.field))
        var keywords = a.paxRecords.map(\.keyword)
        for record in b.paxRecords where !keywords.contains(record.keyword) { keywords.append(record.keyword) }
        for keyword in keywords where keyword != "path" {
            if let field = paxFieldOf[keyword], reported.contains(field) || (field == "size" && !includeSize) { continue }
            let x = a.paxRecords.first { $0.keyword == keyword }.map { text($0.value) }
            let y = b.paxRecords.first { $0.keyword == keyword }.map { text($0.value) }
            if x != y { out.append(FieldDifference(field: "pax \(keyword)", control: x, experiment: y)) }
        }
        return out
    }

    /// What an entry is, for an entry present in only one build.
    static func describe(_ header: TarHeader) -> String {
        switch header.typeflag {
        case TarType.symlink: "symlink to \(text(header.linkname))"
        case TarType.hardlink: "hard link to \(text(header.linkname))"
        case TarType.directory: "directory"
        default:
            header.carriesData ? "\(typeName(header.typeflag)), \(header.size) bytes" : typeName(header.typeflag)
        }
    }

    static func typeName(_ flag: UInt8) -> String {
        switch flag {
        case TarType.regular, TarType.regularOld: "regular file"
        case TarType.hardlink: "hard link"
        case TarType.symlink: "symlink"
        case TarType.character: "character device"
        case TarType.block: "block device"
        case TarType.directory: "directory"
        case TarType.fifo: "fifo"
        case TarType.contiguous: "contiguous file"
        default:
            (0x21...0x7E).contains(flag) ? "type '\(Character(Unicode.Scalar(flag)))'" : "type 0x\(Hex.encode([flag]))"
        }
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Epoch seconds with the UTC time beside them: `1700000000 (2023-11-14T22:13:20Z)`.
    /// Outside years 1 to 9999 only the seconds are shown.
    static func time(_ seconds: Int) -> String {
        guard (-62_135_596_800...253_402_300_799).contains(seconds) else { return String(seconds) }
        var utc = PythonDateTime.fromEpoch(microseconds: seconds * 1_000_000)
        utc.offsetMicroseconds = nil
        return "\(seconds) (\(utc.isoformat())Z)"
    }
}
