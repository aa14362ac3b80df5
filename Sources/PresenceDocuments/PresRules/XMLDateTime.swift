import Foundation

/// Reads `xs:dateTime` values (XML Schema Part 2 §3.2.7), as used by `validity`'s `from` and
/// `until` (RFC 4745 §7.3): `YYYY-MM-DDThh:mm:ss`, optional fractional seconds, and `Z` or a
/// `±hh:mm` offset. A value without a time zone is taken as UTC (the schema leaves it
/// "local"; the server has no better local time to use). Pure arithmetic, no calendar or
/// formatter state, so the result never depends on the machine's settings.
enum XMLDateTime {
    static func parse(_ text: String) -> Date? {
        var scanner = DigitScanner(Array(text.trimmedXMLWhitespace.utf8))
        guard let year = scanner.number(digits: 4), scanner.skip("-"),
              let month = scanner.number(digits: 2), scanner.skip("-"),
              let day = scanner.number(digits: 2), scanner.skip("T"),
              let hour = scanner.number(digits: 2), scanner.skip(":"),
              let minute = scanner.number(digits: 2), scanner.skip(":"),
              let second = scanner.number(digits: 2)
        else { return nil }
        var fraction = 0.0
        if scanner.skip(".") {
            guard let digits = scanner.fractionDigits() else { return nil }
            fraction = digits
        }
        var offsetSeconds = 0
        if scanner.skip("Z") {
            offsetSeconds = 0
        } else if let sign = scanner.sign() {
            guard let offsetHours = scanner.number(digits: 2), scanner.skip(":"),
                  let offsetMinutes = scanner.number(digits: 2),
                  offsetMinutes < 60, offsetHours * 60 + offsetMinutes <= 14 * 60
            else { return nil }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        }
        guard scanner.atEnd, (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
              minute < 60, second < 60
        else { return nil }
        // 24:00:00 is the end of the day, the same instant as 00:00:00 of the next.
        guard hour < 24 || (hour == 24 && minute == 0 && second == 0 && fraction == 0) else { return nil }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: Self.isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (the "days from civil" algorithm).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Reads ASCII digits and punctuation from the front of a byte array.
    private struct DigitScanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { self.index == self.bytes.count }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: character) else { return false }
            self.index += 1
            return true
        }

        mutating func number(digits count: Int) -> Int? {
            guard self.index + count <= self.bytes.count else { return nil }
            var value = 0
            for offset in 0..<count {
                let byte = self.bytes[self.index + offset]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            self.index += count
            return value
        }

        /// One or more digits after the decimal point, as a fraction of a second.
        mutating func fractionDigits() -> Double? {
            var value = 0.0
            var scale = 1.0
            let start = self.index
            while self.index < self.bytes.count, self.bytes[self.index] >= UInt8(ascii: "0"),
                  self.bytes[self.index] <= UInt8(ascii: "9") {
                scale /= 10
                value += Double(self.bytes[self.index] - UInt8(ascii: "0")) * scale
                self.index += 1
            }
            return self.index > start ? value : nil
        }

        mutating func sign() -> Int? {
            if self.skip("+") { return 1 }
            if self.skip("-") { return -1 }
            return nil
        }
    }
}
