import Foundation

/// One batch's answer from the session script: its status and what its commands said.
struct ExecTarAnswer: Sendable, Equatable {
    var sequence: Int
    var status: Int
    /// The batch's stdout and stderr (error messages), its last `AnswerParser.messageLimit` bytes.
    var message: String
}

/// Reads the session script's stdout: message lines, then `\u{1}SEQ STATUS` ending each batch.
/// Bounded: a line or a message past `messageLimit` keeps only its end.
struct AnswerParser {
    static let messageLimit = 16 << 10
    private var line = Data()
    private var message = Data()

    /// The answers completed by `data`.
    mutating func feed(_ data: Data) -> [ExecTarAnswer] {
        var answers: [ExecTarAnswer] = []
        var rest = data[...]
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            line.append(contentsOf: rest[..<newline])
            rest = rest[rest.index(after: newline)...]
            if let answer = take(line) { answers.append(answer) }
            line = Data()
        }
        line.append(contentsOf: rest)
        if line.count > Self.messageLimit { line = Data(line.suffix(Self.messageLimit)) }
        return answers
    }

    /// What came after the last answer (the script's own last words when it ends).
    var pending: String { String(decoding: message + line, as: UTF8.self) }

    private mutating func take(_ line: Data) -> ExecTarAnswer? {
        if line.first == 1 {
            let fields = String(decoding: line.dropFirst(), as: UTF8.self).split(separator: " ")
            if fields.count == 2, let sequence = Int(fields[0]), let status = Int(fields[1]) {
                defer { message = Data() }
                let text = String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                return ExecTarAnswer(sequence: sequence, status: status, message: text)
            }
        }
        if !line.isEmpty {
            message.append(line + Data("\n".utf8))
            if message.count > Self.messageLimit { message = Data(message.suffix(Self.messageLimit)) }
        }
        return nil
    }
}
