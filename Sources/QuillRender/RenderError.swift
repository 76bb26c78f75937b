/// Errors raised while laying out or drawing a figure; each message names the file or input and the fix.
public enum RenderError: Error, CustomStringConvertible, Equatable {
    /// The output path ends in an extension that is not `.png`, `.svg` or `.pdf`.
    case unknownExtension(path: String)
    /// The output file cannot be written (missing directory, no permission, disk full).
    case unwritableOutput(path: String, reason: String)
    /// The input holds nothing to draw.
    case emptyGeometry(what: String, detail: String)
    /// The input holds NaN or an infinity.
    case nonFinite(what: String, detail: String)
    /// A matrix's values do not match its declared shape.
    case shapeMismatch(what: String, detail: String)
    /// A size, scale or option is out of range.
    case invalidArgument(what: String, detail: String)
    /// Cairo reported an error while drawing or writing.
    case cairo(path: String, status: String)

    public var description: String {
        switch self {
        case .unknownExtension(let path):
            return "\(path): unknown output format; use a file name ending in .png, .svg or .pdf"
        case .unwritableOutput(let path, let reason):
            return "\(path): cannot write the output (\(reason)); choose a path in an existing, writable directory"
        case .emptyGeometry(let what, let detail):
            return "\(what): nothing to draw (\(detail)); give at least one point"
        case .nonFinite(let what, let detail):
            return "\(what): non-finite value (\(detail)); remove NaN and infinite values before drawing"
        case .shapeMismatch(let what, let detail):
            return "\(what): shape mismatch (\(detail)); values must hold rows × cols numbers, row by row"
        case .invalidArgument(let what, let detail):
            return "\(what): \(detail)"
        case .cairo(let path, let status):
            return "\(path): Cairo failed (\(status)); check the path and free disk space"
        }
    }
}
