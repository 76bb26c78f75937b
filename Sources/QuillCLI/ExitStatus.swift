import ArgumentParser
import Foundation
import QuillData
import QuillIO
import QuillModels
import QuillRender
import QuillWriting

/// `quill`'s exit status, after BSD's sysexits.h: the same kind of failure gives the same status in every command.
enum ExitStatus: Int32, CaseIterable {
    case success = 0
    /// The work itself failed: a training run diverged, a model's output was not finite, the memory a job needs is
    /// not there, an interrupted or unforeseen failure.
    case failure = 1
    /// The command line is wrong: an unknown or out-of-range option, options that conflict or do not fit the run
    /// directory (`--resume`, `--force`). ArgumentParser prints the usage.
    case usage = 64
    /// An input is malformed or unusable: a corrupt checkpoint, a bad dataset, style or InkML file, text with
    /// characters the model cannot write, strokes with nothing to draw.
    case dataError = 65
    /// An input does not exist or cannot be read.
    case noInput = 66
    /// An output could not be written (no such directory, permission denied, disk full).
    case ioError = 74

    /// What each status means, for the help.
    static let summary = "Exit status: 0 success; 1 the work failed (a run diverged, non-finite output, not enough "
        + "memory); 64 a usage error; 65 a malformed input (a corrupt checkpoint, a bad data or style file, text the "
        + "model cannot write); 66 an input that is missing or unreadable; 74 an output that could not be written."

    /// The status for `error` (Quill's own, found inside ArgumentParser's wrapping when a `validate()` threw it).
    static func of(_ error: Error) -> ExitStatus {
        switch error {
        case let e as FileSystemError: return e.operation == .read ? .noInput : .ioError
        case let e as RunDirectoryError:
            if case .writeFailed = e { return .ioError }
            // --resume where there is no resume point: the input is missing.
            if case .nothingToResume = e { return .noInput }
            return .usage
        case let e as TrainingError:
            switch e {
            case .invalidOption, .outputExists: return .usage
            case .resumeMismatch: return .dataError
            case .missingInput: return .noInput
            case .nonFinite, .diverged: return .failure
            }
        case let e as CheckpointError:
            switch e {
            case .missing, .unreadable: return .noInput
            default: return .dataError
            }
        case let e as CharModelError:
            switch e {
            case .dataMissing: return .noInput
            case .invalidOption: return .usage
            default: return .dataError
            }
        case let e as DatasetError:
            switch e {
            case .io: return .noInput
            case .unknownFormat, .invalidOption: return .usage
            default: return .dataError
            }
        case let e as RenderError:
            switch e {
            case .unwritableOutput, .cairo: return .ioError
            case .unknownExtension, .invalidArgument: return .usage
            default: return .dataError
            }
        case let e as CLIError: return e.status
        case let e as TextError: return e.isUnreadableFile ? .noInput : .dataError
        case let e as MetricsError:
            switch e {
            case .missing, .unreadable: return .noInput
            default: return .dataError
            }
        case let e as HandError: return e.isUnknownStyle ? .usage : .dataError
        case let e as HistogramLogError:
            switch e {
            case .unknownParameter: return .usage   // --parameter names none of the run's
            case .noHistograms, .notLogged, .malformed: return .dataError
            }
        case is StyleError, is AlphabetError, is EvaluationError: return .dataError
        case is NonFiniteOutputError, is MemoryBudgetError, is MemoryTaskDivergence: return .failure
        default:
            let ns = error as NSError
            if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
                return [NSFileReadNoSuchFileError, NSFileNoSuchFileError, NSFileReadNoPermissionError].contains(ns.code)
                    || ns.code == Int(ENOENT) ? .noInput : .ioError
            }
            return .failure
        }
    }
}
