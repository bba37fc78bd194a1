import Foundation
import XCTest
@testable import A2ATSSupport

/// Reference: RFC 8259 (JSON grammar and escapes) and hand-written expected texts.
final class JSONValueTests: XCTestCase {
    func testRoundTripKeepsKeyOrderAndTypes() throws {
        let text = #"{"zeta": 1, "alpha": [true, false, null], "mid": {"b": "x", "a": -2.5}, "e": {}, "f": []}"#
        let value = try JSONValue.parse(text)
        XCTAssertEqual(value.objectValue?.keys, ["zeta", "alpha", "mid", "e", "f"])
        XCTAssertEqual(value["mid"]?.objectValue?.keys, ["b", "a"])
        XCTAssertEqual(value.compactText, text)
        XCTAssertEqual(try JSONValue.parse(value.prettyText), value)
        XCTAssertEqual(value["zeta"], .int(1))
        XCTAssertEqual(value["mid"]?["a"], .double(-2.5))
    }

    /// json-c takes an Int32 length; a longer document used to trap in `Int32(count)`. The
    /// 2 GiB + 1 byte document is a sparse file mapped but never read.
    func testDocumentLongerThanJSONCReadsIsRefused() throws {
        let path = NSTemporaryDirectory() + "json-long-\(UUID().uuidString)"
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd); unlink(path) }
        let count = Int(Int32.max) + 1
        XCTAssertEqual(ftruncate(fd, off_t(count)), 0)
        let mapping = try XCTUnwrap(mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0))
        XCTAssertNotEqual(mapping, MAP_FAILED)
        defer { munmap(mapping, count) }
        XCTAssertThrowsError(try JSONValue.parse(bytes: UnsafeRawBufferPointer(start: mapping, count: count))) {
            XCTAssertTrue("\($0)".contains("2147483648 bytes"), "\($0)")
        }
    }

    func testNumbersKeepTheirMeaning() throws {
        // Budgets are written as asked: 256 stays an integer, fractions stay fractions.
        XCTAssertEqual(try JSONValue.parse("256"), .int(256))
        XCTAssertEqual(try JSONValue.parse("0.03"), .double(0.03))
        XCTAssertEqual(try JSONValue.parse("1e-7"), .double(1e-7))
        XCTAssertEqual(try JSONValue.parse("-0.5"), .double(-0.5))
        XCTAssertEqual(JSONValue.int(256).compactText, "256")
        XCTAssertEqual(JSONValue.double(0.03).compactText, "0.03")
        XCTAssertEqual(JSONValue.double(256.0).compactText, "256")
        XCTAssertEqual(JSONValue.double(.nan).compactText, "null")
        for d in [1e-7, 0.1, 1.0 / 3.0, 6.02e23, -1e-300, 123456.789] {
            XCTAssertEqual(try JSONValue.parse(JSONValue.double(d).compactText).doubleValue, d, "\(d)")
        }
        XCTAssertEqual(JSONValue.int(Int.min).compactText, "\(Int.min)")
        XCTAssertEqual(try JSONValue.parse("\(Int.max)"), .int(Int.max))
        XCTAssertEqual(JSONValue.double(3.0).intValue, 3)
        XCTAssertNil(JSONValue.double(3.5).intValue)
        XCTAssertEqual(JSONValue.int(7).doubleValue, 7)
    }

    func testUnicodeEscapes() throws {
        XCTAssertEqual(try JSONValue.parse(#""caf\u00e9""#), .string("café"))
        XCTAssertEqual(try JSONValue.parse(#""\ud83d\ude00""#), .string("😀"))  // surrogate pair
        XCTAssertEqual(try JSONValue.parse(#""tab\tnl\nq\"bs\\sl\/""#), .string("tab\tnl\nq\"bs\\sl/"))
        XCTAssertEqual(try JSONValue.parse("\"日本語 ✓\""), .string("日本語 ✓"))
        // Control characters are escaped on output; other text is written as UTF-8.
        let tricky = "a\u{01}b\u{1f}\"\\\n\r\t é 😀"
        XCTAssertEqual(JSONValue.string(tricky).compactText, #""a\u0001b\u001f\"\\\n\r\t é 😀""#)
        XCTAssertEqual(try JSONValue.parse(JSONValue.string(tricky).compactText), .string(tricky))
        // A NUL inside a string survives a round trip.
        XCTAssertEqual(try JSONValue.parse(JSONValue.string("a\u{0}b").compactText), .string("a\u{0}b"))
    }

    func testPrettyTextLayout() {
        let value: JSONValue = .object(["a": 1, "b": [1, 2], "c": .object([:])])
        XCTAssertEqual(value.prettyText, "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ],\n  \"c\": {}\n}\n")
    }

    func testLiteralsAndScalars() throws {
        XCTAssertEqual(try JSONValue.parse("null"), .null)
        XCTAssertEqual(try JSONValue.parse(" true "), .bool(true))
        XCTAssertEqual(try JSONValue.parse("\"s\""), .string("s"))
        XCTAssertEqual(try JSONValue.parse("0"), .int(0))
    }

    func testParseErrors() {
        for bad in ["", "   ", "{", "{\"a\": }", "[1, 2", "{} {}", "tru", "\"open"] {
            XCTAssertThrowsError(try JSONValue.parse(bad), "accepted \(bad.debugDescription)")
        }
    }

    func testObjectEditing() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["a"] = 3            // replacing keeps the position
        object["c"] = 4
        object["b"] = nil
        XCTAssertEqual(object.keys, ["a", "c"])
        XCTAssertEqual(JSONValue.object(object).compactText, #"{"a": 3, "c": 4}"#)
        XCTAssertEqual(JSONValue.string("x").typeName, "string")
        XCTAssertEqual(JSONValue.double(1).typeName, "number")
    }
}
