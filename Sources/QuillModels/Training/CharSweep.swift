import Foundation
import QuillIO
import QuillNN
import QuillNumerics

/// A comparison of char models (`quill char sweep`): every combination of cells, layer counts and widths trained on
/// the same text with the same options and the same budget (steps, minutes or both), each in its own run directory
/// `DIR/<cell>-<layers>x<hidden>`, then tabulated by best validation loss (note 003's table).
///
/// A sweep is resumable: a run that reached its budget is left as it is, one that was interrupted continues exactly
/// (`--resume`) with what is left of its budget (its steps, and its minutes less the training time it already had),
/// and one not started starts. The sweep's options are saved in DIR/sweep.json with the table; a second sweep over
/// the same directory must give the same options, except the budget (a larger one trains every run further).
public struct CharSweep {
    /// One combination.
    public struct Point: Hashable, Codable, Sendable {
        public var cell: CellKind
        public var layers: Int
        public var hidden: Int
        public init(cell: CellKind, layers: Int, hidden: Int) {
            self.cell = cell; self.layers = layers; self.hidden = hidden
        }
        /// The run directory's name: "lstm-2x128".
        public var name: String { "\(cell.rawValue)-\(layers)x\(hidden)" }

        /// Sets `config`'s cell, layers and units to this point's; a TCN of L blocks gets dilations 1, 2, …, 2^(L−1).
        public func apply(to config: inout CharModelConfig) {
            config.cell = cell; config.layers = layers; config.hidden = hidden
            config.dilations = cell == .tcn ? (0..<layers).map { 1 << $0 } : nil
        }
    }

    /// One row of the table.
    public struct Row: Codable, Equatable, Sendable {
        public var cell: CellKind
        public var layers: Int
        public var hidden: Int
        public var parameters: Int
        public var steps: Int
        /// Training time, minutes.
        public var minutes: Double
        /// Best validation loss, nats and bits per character, and its step; nil without a validation.
        public var bestNatsPerChar: Double?
        public var bestBitsPerChar: Double?
        public var bestStep: Int?
    }

    /// What the sweep runs: the shared options (data, batching, optimiser, seed, validation, the architecture's
    /// other fields in `base.model`), the grid and the budget.
    public struct Plan: Codable, Equatable, Sendable {
        public var base: CharTrainOptions
        public var cells: [CellKind]
        public var layers: [Int]
        public var hidden: [Int]
        /// Budget per run: steps, minutes of training, or both (the first reached ends the run).
        public var steps: Int?
        public var minutes: Double?

        public init(base: CharTrainOptions, cells: [CellKind], layers: [Int], hidden: [Int], steps: Int?, minutes: Double?) {
            self.base = base; self.cells = cells; self.layers = layers; self.hidden = hidden
            self.steps = steps; self.minutes = minutes
        }

        /// Every combination, cells outermost.
        public var points: [Point] {
            cells.flatMap { c in layers.flatMap { l in hidden.map { Point(cell: c, layers: l, hidden: $0) } } }
        }

        /// Why the plan is nonsense, or nil.
        public var problem: String? {
            if cells.isEmpty || layers.isEmpty || hidden.isEmpty { return "give at least one cell, layer count and width" }
            if Set(points).count != points.count { return "a cell, layer count or width is listed twice" }
            if steps == nil && minutes == nil { return "give the budget of each run: --steps, --minutes or both" }
            for p in points {
                var o = base
                p.apply(to: &o.model)
                o.steps = steps; o.minutes = minutes
                if let m = o.validate() { return "\(p.name): \(m)" }
            }
            return nil
        }
    }

    public private(set) var plan: Plan
    public let outDir: String
    public static let file = "sweep.json"

    public init(plan: Plan, outDir: String) {
        self.plan = plan
        self.outDir = outDir
    }

    public func runDirectory(_ p: Point) -> String { (outDir as NSString).appendingPathComponent(p.name) }

    /// Where a run stands: its step and training seconds, from its resume point; nil when it has none.
    func progress(_ p: Point) throws -> (step: Int, elapsed: Double)? {
        let last = RunFiles.path(runDirectory(p), RunFiles.last)
        guard FileManager.default.fileExists(atPath: last) else { return nil }
        let (state, _) = try RunFiles.trainerState(CharTrainerState.self, from: try SafeTensors.read(last), path: last)
        return (state.step, state.elapsed)
    }

    /// Whether a run with this progress has used its budget (a minute budget counts as used within a second).
    func isDone(_ progress: (step: Int, elapsed: Double)) -> Bool {
        if let s = plan.steps, progress.step >= s { return true }
        if let m = plan.minutes, progress.elapsed >= m * 60 - 1 { return true }
        return false
    }

    /// The options of point `p`'s run: a new run, or (`resume`) the saved one with what is left of the budget.
    func options(_ p: Point, resume: (step: Int, elapsed: Double)?) throws -> CharTrainOptions {
        var o: CharTrainOptions
        if let resume {
            o = try CharTrainOptions.saved(outDir: runDirectory(p))
            o.minutes = plan.minutes.map { max($0 - resume.elapsed / 60, 1.0 / 60) }
        } else {
            o = plan.base
            p.apply(to: &o.model)
            o.outDir = runDirectory(p)
            o.minutes = plan.minutes
        }
        o.steps = plan.steps
        return o
    }

    /// Checks DIR against the plan: refuses a directory that holds another sweep's plan, or files that are not a
    /// sweep's. Writes the plan (with an empty table) when DIR is new.
    public func prepareDirectory() throws {
        let path = (outDir as NSString).appendingPathComponent(Self.file)
        if FileManager.default.fileExists(atPath: path) {
            let saved: Saved
            do { saved = try JSONDecoder().decode(Saved.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw TrainingError.invalidOption("\(path) is not a sweep's record (\(error.localizedDescription)); give a new --out")
            }
            var mine = plan, theirs = saved.plan
            // Paths may be spelt differently on a second invocation (the runs check the data's fingerprint), and a
            // larger budget continues every run.
            mine.base.dataPaths = []; theirs.base.dataPaths = []
            (mine.steps, mine.minutes, theirs.steps, theirs.minutes) = (nil, nil, nil, nil)
            guard mine == theirs else {
                let what = mine.base.dataFingerprint != theirs.base.dataFingerprint ? "over another text (--data)"
                    : "with other options" + (Self.firstDifference(mine, theirs).map { " (\($0))" } ?? "")
                throw TrainingError.invalidOption("\(outDir) holds a sweep \(what); give the same text and options to continue it, or a new --out")
            }
        } else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: outDir, isDirectory: &isDir),
               (try? FileManager.default.contentsOfDirectory(atPath: outDir).isEmpty) == false {
                throw TrainingError.invalidOption("\(outDir) is not empty and holds no sweep; give a new or empty --out")
            }
            try FileSystemError.createDirectory(outDir)
            try save(rows: [])
        }
    }

    /// The first field (in key order) where two plans differ, as "FIELD: A there, B here", from their JSON.
    static func firstDifference(_ mine: Plan, _ theirs: Plan) -> String? {
        func flat(_ plan: Plan) -> [String: String] {
            guard let data = try? JSONEncoder().encode(plan), let object = try? JSONSerialization.jsonObject(with: data) else { return [:] }
            var out: [String: String] = [:]
            func walk(_ value: Any, _ path: String) {
                if let d = value as? [String: Any] {
                    for (k, v) in d { walk(v, path.isEmpty ? k : "\(path).\(k)") }
                } else if let a = value as? [Any] {
                    out[path] = a.map { "\($0)" }.joined(separator: ",")
                } else {
                    out[path] = "\(value)"
                }
            }
            walk(object, "")
            return out
        }
        let a = flat(mine), b = flat(theirs)
        guard let key = Set(a.keys).union(b.keys).sorted().first(where: { a[$0] != b[$0] }) else { return nil }
        let name = ["cells": "--cell", "layers": "--layers", "hidden": "--hidden"][key] ?? key
        return "\(name): \(b[key] ?? "none") there, \(a[key] ?? "none") here"
    }

    struct Saved: Codable {
        var plan: Plan
        var rows: [Row]
    }

    func save(rows: [Row]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicOutput.write(try encoder.encode(Saved(plan: plan, rows: rows)),
                               to: (outDir as NSString).appendingPathComponent(Self.file))
    }

    /// What `run` reports as it goes.
    public enum Event {
        /// A run begins (`resumedAt`: the step it continues from, nil for a new run); `index` counts from 1.
        case starting(Point, index: Int, of: Int, resumedAt: Int?)
        /// A run had already used its budget.
        case alreadyDone(Point, index: Int, of: Int)
    }

    /// Trains every run that has budget left, in order, then tabulates all of them (also saved in DIR/sweep.json).
    /// `makeRun` builds each training run (the CLI attaches its printer and Ctrl-C); `shouldStop`, asked between runs,
    /// ends the sweep early (a run interrupted by Ctrl-C stops it too, its table covering what is finished).
    public func run(onEvent: (Event) -> Void = { _ in },
                    makeRun: (CharTrainOptions, Bool) -> TrainingRun = { TrainingRun(options: $0, resume: $1) },
                    shouldStop: () -> Bool = { false }) throws -> [Row] {
        // The text first (missing, empty, not UTF-8: refused before anything is written), and its fingerprint goes
        // into the plan, so a second invocation over other text is refused like any other changed option.
        var sweep = self
        sweep.plan.base.dataFingerprint = try CharCorpus(paths: plan.base.dataPaths).fingerprint
        return try sweep.runChecked(onEvent: onEvent, makeRun: makeRun, shouldStop: shouldStop)
    }

    private func runChecked(onEvent: (Event) -> Void, makeRun: (CharTrainOptions, Bool) -> TrainingRun,
                            shouldStop: () -> Bool) throws -> [Row] {
        try prepareDirectory()
        let points = plan.points
        for (i, p) in points.enumerated() {
            if shouldStop() { break }
            let progress = try self.progress(p)
            if let progress, isDone(progress) {
                onEvent(.alreadyDone(p, index: i + 1, of: points.count))
                continue
            }
            onEvent(.starting(p, index: i + 1, of: points.count, resumedAt: progress?.step))
            try makeRun(try options(p, resume: progress), progress != nil).run()
        }
        let rows = try table()
        try save(rows: rows)
        return rows
    }

    /// The rows of every run that has a resume point, in the plan's order.
    public func table() throws -> [Row] {
        try plan.points.compactMap { p -> Row? in
            guard let progress = try self.progress(p) else { return nil }
            let last = RunFiles.path(runDirectory(p), RunFiles.last)
            let (state, _) = try RunFiles.trainerState(CharTrainerState.self, from: try SafeTensors.read(last), path: last)
            let model = try CharCheckpoint.load(RunFiles.path(runDirectory(p), RunFiles.best))
            return Row(cell: p.cell, layers: p.layers, hidden: p.hidden, parameters: model.model.trainableScalarCount,
                       steps: progress.step, minutes: progress.elapsed / 60, bestNatsPerChar: state.bestValLoss,
                       bestBitsPerChar: state.bestValLoss.map { $0 / log(2) }, bestStep: state.bestStep)
        }
    }

    /// The table as Markdown: one row per run, best validation in bits and nats per character.
    public static func markdown(_ rows: [Row]) -> String {
        var lines = ["| cell | layers | hidden | parameters | steps | minutes | best val (bits/char) | best val (nats/char) | at step |",
                     "|---|---|---|---|---|---|---|---|---|"]
        for r in rows {
            let bits = r.bestBitsPerChar.map { String(format: "%.4f", $0) } ?? "—"
            let nats = r.bestNatsPerChar.map { String(format: "%.4f", $0) } ?? "—"
            lines.append("| \(r.cell.rawValue) | \(r.layers) | \(r.hidden) | \(r.parameters) | \(r.steps) | "
                         + String(format: "%.1f", r.minutes) + " | \(bits) | \(nats) | \(r.bestStep.map(String.init) ?? "—") |")
        }
        return lines.joined(separator: "\n")
    }
}
