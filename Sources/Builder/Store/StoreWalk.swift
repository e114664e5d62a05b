/// The one walk of a store tree that everything shares (layer writing, sizes, digests of
/// inputs): pre-order, children sorted bytewise, symlinks never followed. That order is the
/// component-wise sort of all paths that nixpkgs' stream script performs, produced without
/// holding the whole list.
public enum StoreWalk {
    public struct Entry {
        /// Host path, as read.
        public var host: [UInt8]
        /// Path relative to the walk's root (empty for the root itself).
        public var relative: [UInt8]
        public var status: FileSystem.Status
    }

    public static func forEach(root: [UInt8], _ body: (Entry) throws -> Void) throws {
        try visit(host: root, relative: [], body)
    }

    private static func visit(host: [UInt8], relative: [UInt8], _ body: (Entry) throws -> Void) throws {
        let status = try FileSystem.lstatus(host)
        try body(Entry(host: host, relative: relative, status: status))
        guard status.isDirectory else { return }
        for name in try FileSystem.sortedEntries(host) {
            try visit(host: host + [0x2F] + name, relative: relative.isEmpty ? name : relative + [0x2F] + name, body)
        }
    }

    /// Total bytes of regular files: our stand-in for Nix's narSize when no graph gives one.
    public static func size(of root: String) throws -> UInt64 {
        var total: UInt64 = 0
        try forEach(root: Array(root.utf8)) { entry in
            if entry.status.isRegular { total += entry.status.size }
        }
        return total
    }
}
