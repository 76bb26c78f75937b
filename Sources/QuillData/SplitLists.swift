import Foundation

/// Assigns source splits from list files, such as rnnlib's `training_set.txt` and `validation_set.txt`
/// (Graves's IAM-OnDB split), for sources that do not carry a split themselves (IAM-OnDB XML).
///
/// Each non-blank line names one sample, by id or by a path whose file name without extension is the id
/// (`lineStrokes/a01/a01-000/a01-000u-01.xml` → `a01-000u-01`). Samples in neither list become `unassigned`.
public enum SplitLists {
    /// The ids named in a list file.
    public static func ids(in path: String) throws -> Set<String> {
        let text = String(decoding: try readFile(path), as: UTF8.self)
        var ids = Set<String>()
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let entry = line.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            ids.insert(((entry as NSString).lastPathComponent as NSString).deletingPathExtension)
        }
        return ids
    }

    /// Sets each sample's split from the two lists; an id in both lists is an error naming it.
    public static func apply(train: String, validation: String, to result: inout ImportResult) throws {
        let t = try ids(in: train), v = try ids(in: validation)
        if let both = t.intersection(v).sorted().first {
            throw DatasetError.invalidOption("\(both) is in both \(train) and \(validation); a sample has one split")
        }
        for i in result.samples.indices {
            let id = result.samples[i].id
            result.samples[i].split = t.contains(id) ? .train : v.contains(id) ? .validation : .unassigned
        }
        let unassigned = result.samples.filter { $0.split == .unassigned }
        guard !result.samples.isEmpty else { return }
        if unassigned.count == result.samples.count {
            throw DatasetError.invalidOption("neither \(train) nor \(validation) names any of the \(result.samples.count) samples "
                + "(ids such as '\(TextPreparation.shown(text: String(result.samples[0].id.prefix(80))))'); a list names a sample by its id or by a path whose file name is the id")
        }
        for (list, split) in [(train, DataSplit.train), (validation, .validation)]
            where !result.samples.contains(where: { $0.split == split }) {
            result.notes.append("\(list) names none of the samples: the \(split == .train ? "training" : "validation") split is empty")
        }
        if !unassigned.isEmpty {
            result.notes.append("\(unassigned.count) of the \(result.samples.count) samples are in neither list (such as '\(TextPreparation.shown(text: String(unassigned[0].id.prefix(80))))'): unassigned, neither trained on nor validated")
        }
    }
}
