#if canImport(Glibc)
import Glibc
#endif

/// glibc functions Swift's Glibc module hides behind `_GNU_SOURCE`, looked up at run time.
/// Each is needed for correctness, not convenience: `pipe2` makes pipe ends close-on-exec
/// atomically, so a child started concurrently on another thread cannot inherit them and keep
/// our reads from ever seeing EOF; `addchdir_np` lets the child start in its folder without a
/// shell in between; `sched_getaffinity` gives the CPUs `nproc` in a child will see.
enum GNUFunctions {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias GetAffinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32

    static func lookup<T>(_ name: String, as type: T.Type) -> T? {
        // RTLD_DEFAULT is the null handle on glibc.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }

    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        if let function = lookup("pipe2", as: Pipe2.self) { return function(fds, flags) }
        guard Glibc.pipe(fds) == 0 else { return -1 }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return 0
    }

    static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Bool {
        guard let function = lookup("posix_spawn_file_actions_addchdir_np", as: AddChdir.self) else { return false }
        return function(actions, path) == 0
    }

    /// The number of CPUs this process may run on, or nil when unknown.
    static func allowedCPUs() -> Int? {
        guard let function = lookup("sched_getaffinity", as: GetAffinity.self) else { return nil }
        var mask = [UInt8](repeating: 0, count: 128)
        let count = mask.count
        let status = mask.withUnsafeMutableBytes { buffer in buffer.baseAddress.map { function(0, count, $0) } ?? -1 }
        guard status == 0 else { return nil }
        return mask.reduce(0) { $0 + $1.nonzeroBitCount }
    }
}
