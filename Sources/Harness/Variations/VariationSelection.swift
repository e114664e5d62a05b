/// Which variations a check applies, parsed as reprotest spells `--vary`: a comma-separated
/// list read left to right, starting from every variation: `-name` removes one, `+name` (or
/// a bare `name`) adds one, `@none` removes all and `@all` adds all. Several `--vary` options
/// are read in order, as if joined by commas.
public struct VariationSelection: Sendable, Equatable {
    public private(set) var enabled: Set<Variation.Name>

    public init(enabled: Set<Variation.Name> = Set(Variation.Name.allCases)) {
        self.enabled = enabled
    }

    public static let all = VariationSelection()

    public static func parse(_ specs: [String]) throws(VariationSelectionError) -> VariationSelection {
        var selection = VariationSelection()
        for spec in specs {
            for rawItem in spec.split(separator: ",", omittingEmptySubsequences: false) {
                let item = rawItem.trimmingCharacters(in: " ")
                if item.isEmpty { throw .emptyItem(spec: spec) }
                switch item {
                case "@all": selection.enabled = Set(Variation.Name.allCases)
                case "@none": selection.enabled = []
                default:
                    var name = Substring(item)
                    let adding = name.first != "-"
                    if name.first == "+" || name.first == "-" { name = name.dropFirst() }
                    if name.contains("=") { throw .valuesUnsupported(item: item) }
                    guard let variation = Variation.Name(rawValue: String(name)) else {
                        throw .unknown(item: item, known: Variation.Name.allCases.map(\.rawValue))
                    }
                    if adding { selection.enabled.insert(variation) } else { selection.enabled.remove(variation) }
                }
            }
        }
        return selection
    }

    /// In reprotest's order-independent spelling: sorted names.
    public var sortedNames: [Variation.Name] { enabled.sorted() }
}

public enum VariationSelectionError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyItem(spec: String)
    case unknown(item: String, known: [String])
    case valuesUnsupported(item: String)

    public var description: String {
        switch self {
        case let .emptyItem(spec):
            "--vary \"\(spec)\" has an empty item; separate names with single commas"
        case let .unknown(item, known):
            "--vary item \"\(item)\" names no variation; use +name, -name, @all or @none with one of \(known.joined(separator: ", "))"
        case let .valuesUnsupported(item):
            "--vary item \"\(item)\" sets a value, which repro-check does not support; the values are fixed so runs stay comparable"
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var text = Substring(self)
        while text.first == character { text = text.dropFirst() }
        while text.last == character { text = text.dropLast() }
        return String(text)
    }
}
