import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import QuillData
import XCTest
@testable import QuillRender

/// The timeline of a page's strokes, the animated SVG (one animation per stroke, in writing order) and the GIF
/// (its frames, delays and size, read back block by block).
final class StrokeAnimationTests: RenderTestCase {
    func page() -> PlacedPage {
        let lines: [[Stroke]] = [
            [[Point(x: 10, y: 10), Point(x: 20, y: 15), Point(x: 30, y: 10)], [Point(x: 35, y: 5)]],
            [],
            [[Point(x: 10, y: 40), Point(x: 40, y: 45)]],
        ]
        return PlacedPage(layout: PageLayout(size: Size(width: 60, height: 60), lines: []), lines: lines)
    }

    func testTimelineCountsAStepPerPointAndPenUp() {
        let t = StrokeTimeline(page: page())
        XCTAssertEqual(t.strokes.map(\.start), [0, 4, 6])
        XCTAssertEqual(t.totalSteps, 7)
        XCTAssertEqual(t.ink(at: 0).map(\.count), [1])
        XCTAssertEqual(t.ink(at: 1.5).map(\.count), [2])
        XCTAssertEqual(t.ink(at: 4).map(\.count), [3, 1])
        XCTAssertEqual(t.ink(at: 7).map(\.count), [3, 1, 2])
    }

    func testAnimatedSVGDrawsEachStrokeInTurn() throws {
        var options = AnimationOptions()
        options.duration = 7
        let svg = StrokeAnimation.svg(page(), style: StrokeStyle(width: 2), options: options)
        XCTAssertEqual(svg.components(separatedBy: "<animate ").count - 1, 2)
        XCTAssertEqual(svg.components(separatedBy: "<set ").count - 1, 1)
        let begins = svg.components(separatedBy: "begin=\"").dropFirst().compactMap { Double($0.prefix { $0 != "s" }) }
        XCTAssertEqual(begins, [0, 4, 6])  // one second a step
        XCTAssertTrue(svg.contains("dur=\"2.000s\"") && svg.contains("dur=\"1.000s\""))
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "well-formed XML")
    }

    /// Blocks of a GIF: (left, top, width, height, delay) of each frame, and the screen size.
    func frames(_ data: [UInt8]) throws -> (screen: (Int, Int), frames: [(Int, Int, Int, Int, Int)]) {
        XCTAssertEqual(Array(data.prefix(6)), Array("GIF89a".utf8))
        func u16(_ i: Int) -> Int { Int(data[i]) | Int(data[i + 1]) << 8 }
        var i = 13 + (data[10] & 0x80 != 0 ? 3 << (Int(data[10] & 7) + 1) : 0)
        var frames: [(Int, Int, Int, Int, Int)] = [], delay = -1
        func skipSubBlocks() { while data[i] != 0 { i += Int(data[i]) + 1 }; i += 1 }
        while i < data.count {
            switch data[i] {
            case 0x21:
                if data[i + 1] == 0xF9 { delay = u16(i + 4) }
                i += 2; skipSubBlocks()
            case 0x2C:
                frames.append((u16(i + 1), u16(i + 3), u16(i + 5), u16(i + 7), delay))
                let local = data[i + 9] & 0x80 != 0 ? 3 << (Int(data[i + 9] & 7) + 1) : 0
                i += 10 + local + 1  // descriptor, local colour table, LZW minimum code size
                skipSubBlocks()
            case 0x3B: return ((u16(6), u16(8)), frames)
            default: throw XCTSkip("unexpected block \(data[i]) at \(i)")
            }
        }
        XCTFail("no trailer")
        return ((0, 0), frames)
    }

    func testGIFFramesDelaysAndSize() throws {
        var options = AnimationOptions()
        options.duration = 0.7
        options.fps = 10
        options.hold = 1.5
        let count = try StrokeAnimation.gif(page(), style: StrokeStyle(width: 2), options: options, pixelScale: 2,
                                            to: file("a.gif"))
        let gif = try frames([UInt8](try Data(contentsOf: URL(fileURLWithPath: file("a.gif")))))
        XCTAssertEqual(gif.screen.0, 120)
        XCTAssertEqual(gif.screen.1, 120)
        XCTAssertEqual(gif.frames.count, count)
        XCTAssertEqual(count, 8)  // 0.7 s at 10 frames a second, and the finished page
        XCTAssertEqual(gif.frames[0].2, 120, "the first frame is whole")
        XCTAssertEqual(gif.frames.dropLast().map(\.4), [Int](repeating: 10, count: 7))
        XCTAssertEqual(gif.frames.last?.4, 150)
        XCTAssertTrue(gif.frames.dropFirst().allSatisfy { $0.0 + $0.2 <= 120 && $0.1 + $0.3 <= 120 })
        XCTAssertEqual(try listing(), ["a.gif"])
    }

    func testGIFWriteFailureLeavesNothing() {
        XCTAssertThrowsError(try StrokeAnimation.gif(page(), style: StrokeStyle(), pixelScale: 1, to: file("no/a.gif")))
        XCTAssertEqual(try listing(), [])
    }

    func testRampIndex() {
        XCTAssertEqual(StrokeAnimation.rampIndex(0xFFFF_FFFF, ink: .ink, levels: 64), 0)
        XCTAssertEqual(StrokeAnimation.rampIndex(0xFF1A_1F3A, ink: .ink, levels: 64), 63)
        XCTAssertEqual(StrokeAnimation.rampIndex(0xFF8D_8F9C, ink: .ink, levels: 64), 32, accuracy: 1)
    }
}
