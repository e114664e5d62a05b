import Foundation
import Testing

@Suite("subcommand suggestions and help")
struct SubcommandSuggestionTests {
    @Test("a misspelt subcommand names the nearest one and exits 2")
    func typo() throws {
        let output = try CLI.run(["chek", "Corpus"])
        #expect(output.status == 2)
        #expect(output.stderr == "repro-check: unknown subcommand 'chek'; did you mean 'check'?\n")
        let transposed = try CLI.run(["rpeort"])
        #expect(transposed.stderr == "repro-check: unknown subcommand 'rpeort'; did you mean 'report'?\n")
        let far = try CLI.run(["frobnicate"])
        #expect(far.status == 2)
        #expect(far.stderr.hasPrefix("repro-check: unknown subcommand 'frobnicate'; the subcommands are build, plan, check"))
    }

    @Test("check's help lists every variation name --vary accepts")
    func varyHelp() throws {
        let output = try CLI.run(["check", "--help"])
        let help = String(decoding: output.stdout, as: UTF8.self).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for name in ["environment", "build_path", "user_group", "fileordering", "domain_host", "aslr", "num_cpus"] {
            #expect(help.contains(name), "\(name) missing from: \(help)")
        }
    }
}
