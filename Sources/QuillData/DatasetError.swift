import Foundation

/// Where in an input a problem was found: the file, and the line and byte column (1-based) when known.
public struct SourcePosition: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, leaving out what is unknown (the form compilers and editors understand).
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if let column { text += ":\(column)" }
        return text
    }
}

/// Everything that can go wrong while importing, preparing or loading a dataset.
///
/// Each message names the file and the position, says what was wrong and what to do about it.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// A JSON document or JSON line is not valid JSON (truncated, bad token, wrong type).
    case malformedJSON(SourcePosition, String)
    /// An XML or InkML document is not well formed, or lacks a required element.
    case malformedXML(SourcePosition, String)
    /// A record lacks a required field, or the field has the wrong type.
    case missingField(SourcePosition, String)
    /// The transcription file a stroke file needs is absent.
    case missingTranscription(SourcePosition, expected: String)
    /// A stroke with no points, or a sample with no strokes.
    case emptyStroke(SourcePosition, stroke: Int)
    /// A coordinate that is NaN, infinite or absurdly large.
    case badCoordinate(SourcePosition, String)
    /// `data import` was given a format it does not know.
    case unknownFormat(String)
    /// A file could not be read or written.
    case io(String, String)
    /// The import produced no usable samples.
    case noSamples(String)
    /// A prepared file is damaged: bad magic, bad checksum, inconsistent tables, or cut short.
    case corruptPrepared(String, String)
    /// A prepared file written by a newer, incompatible version of the format.
    case unsupportedVersion(String, UInt32)
    /// A preprocessing option is out of range.
    case invalidOption(String)
    /// The Hershey font file (`--hershey`) is not one, or lacks a font or glyph asked for; the text names the file.
    case invalidFont(String)
    /// One import mixes inputs that must not be combined (raw and simplified QuickDraw drawings).
    case mixedInputs(SourcePosition, String)

    /// The message with any invisible or control character (quoted from a file, or in its name) shown by code point.
    public var description: String { TextPreparation.shown(text: message) }

    /// The message for a command that reads one file and has no `--skip-invalid` (`write --prime-inkml`,
    /// `style add --inkml`): the same words without the advice to skip.
    public var withoutSkipAdvice: String {
        description.replacingOccurrences(of: #",? or pass --skip-invalid to skip [a-z ]+\."#, with: ".",
                                         options: .regularExpression)
    }

    var message: String {
        switch self {
        case let .malformedJSON(pos, why):
            return "\(pos): malformed JSON: \(why). Fix or remove this record, or pass --skip-invalid to skip it."
        case let .malformedXML(pos, why):
            return "\(pos): malformed XML: \(why). Fix the file, or pass --skip-invalid to skip it."
        case let .missingField(pos, field):
            return "\(pos): missing or mistyped field \(field). Add it, or pass --skip-invalid to skip this record."
        case let .missingTranscription(pos, expected):
            return "\(pos): no transcription file \(expected). Put the ascii/ tree beside lineStrokes/ "
                + "(or name it with --ascii), or pass --skip-invalid to skip these lines."
        case let .emptyStroke(pos, stroke):
            return "\(pos): stroke \(stroke) has no points. Remove it, or pass --skip-invalid to skip this sample."
        case let .badCoordinate(pos, why):
            return "\(pos): bad coordinate: \(why). Fix the value, or pass --skip-invalid to skip this sample."
        case let .unknownFormat(name):
            return "unknown format '\(name)'. Use one of: \(ImportFormat.allCases.map(\.rawValue).joined(separator: ", "))."
        case let .io(file, why):
            return "\(file): \(why)"
        case let .noSamples(why):
            return "no samples to write: \(why). Check the inputs and the format name."
        case let .corruptPrepared(file, why):
            return "\(file): not a valid prepared dataset: \(why). Re-create it with `quill data import`."
        case let .unsupportedVersion(file, version):
            return "\(file): prepared format version \(version) is newer than this quill reads "
                + "(\(PreparedFormat.version)). Update quill or re-import the data."
        case let .invalidOption(why):
            return "invalid preprocessing option: \(why)"
        case let .invalidFont(why):
            return why
        case let .mixedInputs(pos, why):
            return "\(pos): \(why). Import each kind separately, with one `quill data import` per kind."
        }
    }
}
