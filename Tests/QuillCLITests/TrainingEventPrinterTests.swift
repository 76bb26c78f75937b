import XCTest
import QuillNN
@testable import QuillCLI

/// What the training banner and progress lines print.
final class TrainingEventPrinterTests: XCTestCase {
    /// A char model's sample reaches the terminal as one line without control characters.
    func testSampleLineShowsControlCharactersAsPictures() {
        XCTAssertEqual(TrainingEventPrinter.oneLine("to be\nor not"), "to be⏎ or not")
        XCTAssertEqual(TrainingEventPrinter.oneLine("a\u{1B}[31mb\u{07}\r\u{00}\u{7F}"), "a␛[31mb␇␍␀␡")
        XCTAssertEqual(TrainingEventPrinter.oneLine("é ü ∑"), "é ü ∑")
    }

    /// The banner names OpenBLAS's core and threads, and Quill's kernels where they run.
    func testThreadsLineNamesBLASAndKernels() {
        let line = TrainingEventPrinter.threadsLine
        XCTAssertTrue(line.hasPrefix("BLAS "), line)
        XCTAssertEqual(line.contains("Quill's kernels"), FusedKernels.available, line)
    }
}
